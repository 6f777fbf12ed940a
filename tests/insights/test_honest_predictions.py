"""Predictions say only what the data supports: a cycle needs two repeat intervals, P(active)
is not shown as 100% after one order, the due list says why, raw parameters sit in a fold,
and the ladder's labels agree with their rules."""

import datetime as dt
import re

import pytest
from django.utils import translation

from peyvand.insights import actions, ladder
from peyvand.insights.models import CustomerMetrics, InsightSettings
from tests.insights.conftest import contact, order, simulate_shop

pytestmark = pytest.mark.django_db
END = dt.date(2024, 6, 30)


@pytest.fixture
def shop(system):
    simulate_shop(300, start=dt.date(2023, 1, 1), end=END)
    once, twice, four = contact(first_name="Once"), contact(first_name="Twice"), \
        contact(first_name="Four")
    order(once.pk, END - dt.timedelta(days=60))
    order(twice.pk, END - dt.timedelta(days=120))
    order(twice.pk, END - dt.timedelta(days=60))
    for k in range(4):  # every 45 days, the last 52 days ago
        order(four.pk, END - dt.timedelta(days=52 + 45 * (3 - k)))
    actions.refresh_all(system, END)
    return {"once": once, "twice": twice, "four": four}


def _panel(client, contact_id: int) -> str:
    page = client.get(f"/contacts/{contact_id}/").content.decode()
    return page.split('id="insights-panel"', 1)[1].split("</section>", 1)[0]


def test_cycle_needs_two_repeat_intervals(shop, client_for):
    m = {k: CustomerMetrics.objects.get(contact=c) for k, c in shop.items()}
    assert m["once"].cycle_days is None and m["once"].due_status == ""
    assert m["twice"].cycle_days is None and m["twice"].next_due_date is None
    assert m["four"].cycle_days is not None and m["four"].due_status != ""
    client = client_for("owner", "en")
    for who in ("once", "twice"):
        panel = _panel(client, shop[who].pk)
        cycle = re.search(r'id="purchase-cycle">(.*?)</dd>', panel, re.S).group(1)
        assert "not enough purchases yet" in cycle and "every" not in cycle
        assert "a cycle needs 3 purchases on different days" in cycle
    assert "about every" in _panel(client, shop["four"].pk)


def test_one_order_customer_has_no_p_alive_of_100_percent(shop, client_for):
    m = CustomerMetrics.objects.get(contact=shop["once"])
    assert m.frequency == 0
    client = client_for("owner", "en")
    panel = _panel(client, shop["once"].pk)
    p_alive = re.search(r'id="p-alive">(.*?)</dd>', panel, re.S).group(1)
    assert "100%" not in p_alive and "%" not in p_alive
    assert "not estimated after a single purchase" in p_alive
    four = _panel(client, shop["four"].pk)
    p_four = re.search(r'id="p-alive">(.*?)</dd>', four, re.S).group(1).strip()
    m4 = CustomerMetrics.objects.get(contact=shop["four"])
    assert p_four == f"{round(m4.p_alive * 100)}%"


def test_due_list_explains_each_row(shop, client_for):
    m = CustomerMetrics.objects.get(contact=shop["four"])
    InsightSettings.objects.filter(pk=1).update(due_window_days=30)
    page = client_for("owner", "en").get("/insights/due/").content.decode()
    rows = re.findall(r'<tr data-contact="(\d+)">(.*?)</tr>', page, re.S)
    assert rows
    for contact_id, row in rows:
        basis = re.search(r'class="due-basis small">(.*?)</td>', row, re.S).group(1)
        mm = CustomerMetrics.objects.get(contact_id=int(contact_id))
        assert basis == (f"every ~{round(mm.cycle_days)} days over {mm.purchase_days} "
                         f"purchases; last {mm.recency_days} days ago")
    assert m.due_status in ("due", "overdue")
    row = dict(rows)[str(shop["four"].pk)]
    assert "over 4 purchases; last 52 days ago" in row
    fa = client_for("owner", "fa").get("/insights/due/").content.decode()
    basis = re.search(r'class="due-basis small">(.*?)</td>', fa, re.S).group(1)
    assert not re.search(r"[0-9]", basis)  # Persian digits


def test_raw_parameters_sit_in_a_model_details_fold(shop, client_for):
    page = client_for("owner", "en").get("/insights/").content.decode()
    model = page.split('id="model"', 1)[1]
    summary, rest = model.split('id="model-details"', 1)
    assert "r =" not in summary and "Log-likelihood" not in summary
    assert "<summary>Model details (for analysts)</summary>" in rest
    details = rest.split("</details>", 1)[0]
    assert "r =" in details and "Log-likelihood" in details and "γ =" in details
    assert "Expected spend per purchase of a new customer" in summary


def test_ladder_labels_match_their_rules():
    with translation.override("en"):
        rules = {d["stage"]: (d["label"], d["rule"]) for d in
                 ladder.definitions(InsightSettings())}
    label, rule = rules["suspect"]
    assert label == "Suspect"
    assert rule.startswith("On our contact list, but nothing more is known")
    assert "Known to us" not in rule
