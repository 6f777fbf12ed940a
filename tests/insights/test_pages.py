"""The dashboard, due list, customer list, rules page and contact panel, in fa and en."""

import datetime as dt
import re

import pytest
from django.template import Context, Template
from django.utils import translation

from peyvand.insights import actions
from peyvand.insights.models import CustomerMetrics
from tests.insights.conftest import contact, simulate_shop

pytestmark = pytest.mark.django_db
PERSIAN = re.compile("[۰-۹]")


@pytest.fixture
def shop(system):
    ids = simulate_shop(300, start=dt.date(2023, 1, 1), end=dt.date(2024, 6, 30))
    actions.refresh_all(system, dt.date(2024, 6, 30))
    return ids


def svg(page: str, cls: str) -> str:
    match = re.search(rf'<svg class="chart {cls}".*?</svg>', page, re.S)
    assert match, f"no {cls} chart"
    return match.group(0)


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_dashboard_draws_every_chart_in_the_page_language(shop, client_for, lang):
    page = client_for("reviewer", lang).get("/insights/").content.decode()
    for cls in ("pyramid", "heatmap", "histogram", "funnel", "holdout"):
        chart = svg(page, cls)
        assert 'role="img"' in chart and "<title>" in chart
        assert ('data-dir="rtl"' in chart) == (lang == "fa")
        assert ('direction="rtl"' in chart) == (lang == "fa")
    heat = svg(page, "heatmap")
    counts = [int(n) for n in re.findall(r'data-count="(\d+)"', heat)]
    assert len(counts) == 25 and sum(counts) == 300
    if lang == "fa":
        assert PERSIAN.search(heat) and not re.search(r">[0-9]+<", heat)
    else:
        assert not PERSIAN.search(page.split("<main", 1)[1])
    for section in ("pyramid", "rfm", "segments", "tiers", "value-distribution", "ladder",
                    "due", "model"):
        assert f'id="{section}"' in page
    assert "Refresh now" not in page or lang == "fa"  # reviewers cannot refresh


def test_rtl_charts_are_mirrored():
    from peyvand.insights.charts import heatmap

    data = {"bins": 2, "counts": [[1, 2], [3, 4]]}
    ltr, rtl = str(heatmap(data, "en")), str(heatmap(data, "fa"))

    def x(svg: str, f: int) -> float:
        return float(re.search(rf'<rect x="([0-9.]+)"[^>]*data-r="1" data-f="{f}"', svg)
                     .group(1))

    assert x(ltr, 1) < x(ltr, 2)  # F grows to the right in English
    assert x(rtl, 1) > x(rtl, 2)  # and to the left in Persian
    assert 'text-anchor="end"' in rtl and 'direction="rtl"' in rtl


def test_empty_dashboard_invites_a_refresh(client_for):
    page = client_for("owner").get("/insights/").content.decode()
    assert 'id="insights-empty"' in page and "Refresh now" in page


def test_due_and_customer_lists(shop, client_for):
    client = client_for("support")
    page = client.get("/insights/due/").content.decode()
    due = CustomerMetrics.objects.filter(due_status__in=["due", "overdue"]).count()
    assert page.count("data-contact=") == min(due, 50)
    page = client.get("/insights/customers/?tier=most_valuable").content.decode()
    rows = CustomerMetrics.objects.filter(value_tier="most_valuable").count()
    assert page.count("data-contact=") == min(rows, 50)
    assert client.get("/insights/customers/?tier=nonsense").status_code == 200  # ignored


def test_rules_page_edits_settings_for_configuring_roles(client_for):
    assert client_for("support").get("/insights/settings/").status_code == 403
    client = client_for("analyst", "fa")
    assert client.get("/insights/settings/").status_code == 200
    form = {name: value for name, value in {
        "rfm_bins": "۴", "top_percent": "۱۰", "growable_ratio": "۰٫۷۵", "cost_per_order": "۵۰٬۰۰۰",
        "cost_per_return": "0", "cost_per_ticket": "0", "horizon_weeks": "52",
        "discount_rate": "0.1", "holdout_weeks": "26", "min_repeaters": "50",
        "engagement_half_life_days": "30", "relational_engagement": "1",
        "relational_orders": "4", "optin_tags": "خبرنامه", "supporter_tags": "promoter",
        "advocate_tags": "advocate", "referral_field": "referred_by",
        "referral_source": "referral", "due_window_days": "7", "crosssell_days": "365",
        "crosssell_min_orders": "3"}.items()}
    response = client.post("/insights/settings/", form)
    assert response.status_code == 302
    s = actions.get_settings()
    # Costs are typed in the shop's display unit (toman) and stored in rial.
    assert (s.rfm_bins, s.top_percent, s.growable_ratio, s.cost_per_order) == (4, 10, 0.75,
                                                                             500_000)
    page = client.get("/insights/settings/").content.decode()
    assert re.search(r'name="cost_per_order" value="50000"', page), \
        re.search(r'<input[^>]*cost_per_order[^>]*>', page).group(0)
    assert "تومان" in page and "ریال" not in page
    assert s.optin_tags == "خبرنامه"
    bad = client.post("/insights/settings/", {**form, "top_percent": "150"})
    assert bad.status_code == 200 and 'id="id_top_percent_error"' in bad.content.decode()


def test_refresh_button_queues_a_job(client_for, django_capture_on_commit_callbacks):
    c = contact()
    client = client_for("marketer")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/insights/refresh/")
    assert response.status_code == 302
    assert CustomerMetrics.objects.filter(contact=c).exists()
    assert client_for("reviewer").post("/insights/refresh/").status_code == 403


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_contact_panel(shop, lang):
    cid = CustomerMetrics.objects.filter(order_count__gte=3).first().contact_id
    with translation.override(lang):
        html = Template("{% load insights %}{% insights_panel cid %}").render(
            Context({"cid": cid}))
    assert 'id="insights-panel"' in html and "data-segment=" in html and "data-tier=" in html
    assert ("۰" in html or "۱" in html or "۲" in html) == (lang == "fa")
    fresh = contact()
    with translation.override(lang):
        html = Template("{% load insights %}{% insights_panel cid %}").render(
            Context({"cid": fresh.pk}))
    assert "data-segment=" not in html
