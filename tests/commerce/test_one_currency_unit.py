"""One currency convention: the shop's display unit (toman or rial, set once) on every page
that shows money; stored amounts stay rial."""

import datetime as dt
import re

import pytest

from peyvand.commerce.actions import do_save_money_settings, do_upsert_order
from peyvand.commerce.models import MoneySettings, Order
from peyvand.commerce.money import format_money
from peyvand.insights import actions as insights
from tests.insights.conftest import simulate_shop

pytestmark = pytest.mark.django_db
END = dt.date(2024, 6, 30)
# Each unit as a page may write it.
TOMAN = ("تومان", "IRT")
RIAL = ("ریال", "IRR")


@pytest.fixture
def shop(system):
    simulate_shop(120, start=dt.date(2023, 1, 1), end=END)
    for i, day in enumerate(("2024-01-05", "2024-03-05", "2024-05-05")):
        order = do_upsert_order(system, {
            "external_id": f"ONE-{i}", "currency": "IRT", "placed_at": f"{day}T10:00:00Z",
            "customer": {"email": "mina@example.com", "first_name": "Mina"},
            "lines": [{"sku": "MUG-1", "name": "Mug", "quantity": 2,
                       "unit_price": "1,135,000"}]}).order
    insights.refresh_all(system, END)
    return order


def _text(html: str) -> str:
    main = html.split("<main", 1)[1] if "<main" in html else html
    main = re.sub(r"<script.*?</script>", "", main, flags=re.S)
    return re.sub(r"<[^>]+>", " ", main)


def _pages(order: Order) -> dict[str, str]:
    c = order.contact_id
    return {"contact": f"/contacts/{c}/", "orders": f"/commerce/orders/?contact={c}",
            "order": f"/commerce/orders/{order.pk}/", "products": "/commerce/products/",
            "insights": "/insights/", "customers": "/insights/customers/",
            "due": "/insights/due/", "rules": "/insights/settings/"}


def _units(text: str) -> set[str]:
    return {word for word in TOMAN + RIAL if word in text}


@pytest.mark.parametrize("lang", ["fa", "en"])
@pytest.mark.parametrize("unit", ["toman", "rial"])
def test_every_money_page_uses_one_unit(shop, client_for, system, lang, unit):
    if unit == "rial":
        do_save_money_settings(system, "rial")
    shown, other = (TOMAN, RIAL) if unit == "toman" else (RIAL, TOMAN)
    word = shown[0] if lang == "fa" else shown[1]
    client = client_for("owner", lang)
    for name, url in _pages(shop).items():
        response = client.get(url)
        assert response.status_code == 200, name
        text = _text(response.content.decode())
        found = _units(text)
        assert not found & set(other), (name, found)
        if name not in ("rules", "products", "due"):  # no costs, no products, no money
            assert word in found, (name, found)
    # The contact card: orders total and insights in the same unit, the same figure.
    page = _text(client.get(f"/contacts/{shop.contact_id}/").content.decode())
    net = 3 * 2 * 11_350_000  # three orders of two mugs at 1,135,000 toman, stored in rial
    assert format_money(net, "IRR", lang) in page
    assert Order.objects.filter(contact=shop.contact_id).first().total == 22_700_000  # rial


def test_histogram_axis_and_export_follow_the_unit(shop, client_for, system, owner_actor):
    import csv
    import io

    from peyvand.commerce.export import write_orders_export

    page = client_for("owner", "en").get("/insights/").content.decode()
    axis = re.search(r"Net revenue per customer \((\w+)\)", page).group(1)
    assert axis == "IRT"
    do_save_money_settings(system, "rial")
    assert MoneySettings.objects.get().display_unit == "rial"
    page = client_for("owner", "fa").get("/insights/").content.decode()
    assert "IRR" not in _text(page) and "تومان" not in _text(page)
    out = io.BytesIO()
    write_orders_export(owner_actor, "csv", out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue().decode("utf-8-sig"))))
    mina = next(r for r in rows if r["external_id"] == "ONE-0")
    assert mina["currency"] == "IRR" and mina["total"] == "22700000"


def test_only_the_owner_sets_the_unit_and_it_is_audited(client_for, system):
    from peyvand.base.models import AuditEntry

    assert client_for("marketer").get("/commerce/settings/").status_code == 403
    owner = client_for("owner", "en")
    page = owner.get("/commerce/settings/").content.decode()
    assert 'value="toman" checked' in page and "IRT 1,250,000" in page
    response = owner.post("/commerce/settings/", {"display_unit": "rial"})
    assert response.status_code == 302
    assert MoneySettings.objects.get().display_unit == "rial"
    assert AuditEntry.objects.filter(action="shop.money_settings").count() == 1
    assert "IRR 12,500,000" in owner.get("/commerce/settings/").content.decode()
    bad = owner.post("/commerce/settings/", {"display_unit": "dinar"})
    assert bad.status_code == 200 and "Choose toman or rial." in bad.content.decode()
