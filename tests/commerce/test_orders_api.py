import pytest

from peyvand.commerce.models import Order, OrderLine, Product, Refund
from peyvand.contacts.actions import do_upsert_contact
from peyvand.contacts.models import Contact, Identity, TimelineEvent

from .conftest import ROLES, post_json

pytestmark = pytest.mark.django_db


def order_payload(**overrides):
    payload = {
        "source": "pos", "external_id": "A-100", "number": "100",
        "placed_at": "2024-05-01T10:00:00+03:30", "status": "completed", "currency": "IRT",
        "customer": {"email": "Reza@Example.com", "phone": "09121112233",
                     "first_name": "رضا", "last_name": "کریمی"},
        "lines": [{"sku": "MUG-1", "name": "Mug", "quantity": 2, "unit_price": "250,000"},
                  {"sku": "TEE-1", "name": "Tee", "quantity": "۱", "unit_price": "۷۵۰٬۰۰۰"}],
        "shipping": "50000", "discount": 10000,
    }
    payload.update(overrides)
    return payload


def test_same_order_twice_is_one_order(api):
    first = post_json(api, "/api/v1/orders", order_payload())
    assert first.status_code == 201, first.content
    body = first.json()
    assert body["created"] is True
    assert body["currency"] == "IRR"  # toman stored as rial
    assert body["subtotal"] == 12_500_000
    assert body["total"] == 12_500_000 - 100_000 + 500_000
    assert [ln["line_total"] for ln in body["lines"]] == [5_000_000, 7_500_000]

    second = post_json(api, "/api/v1/orders", order_payload())
    assert second.status_code == 200
    assert second.json()["created"] is False and second.json()["changed"] == []
    assert second.json()["id"] == body["id"]
    assert Order.objects.count() == 1 and OrderLine.objects.count() == 2
    assert TimelineEvent.objects.filter(kind__startswith="order.").count() == 1


def test_changed_payload_updates_the_order(api):
    order_id = post_json(api, "/api/v1/orders", order_payload()).json()["id"]
    changed = order_payload(status="cancelled",
                            lines=[{"sku": "MUG-1", "quantity": 1, "unit_price": "250000"}])
    response = post_json(api, "/api/v1/orders", changed)
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == order_id
    assert set(body["changed"]) >= {"status", "subtotal", "total", "lines"}
    order = Order.objects.get()
    assert order.status == "cancelled" and order.subtotal == 2_500_000
    assert list(order.lines.values_list("sku", "quantity")) == [("MUG-1", 1)]
    event = TimelineEvent.objects.get(kind="order.updated")
    assert event.data["number"] == "100" and "status" in event.data["changed"]


def test_unknown_customer_becomes_a_contact(api):
    post_json(api, "/api/v1/orders", order_payload())
    contact = Contact.objects.get()
    assert (contact.first_name, contact.last_name) == ("رضا", "کریمی")
    assert set(contact.identities.values_list("value", flat=True)) == {
        "reza@example.com", "+989121112233"}
    assert Order.objects.get().contact == contact


def test_known_customer_is_matched_and_not_renamed(api, owner_actor):
    known = do_upsert_contact(owner_actor, {"phone": "+989121112233", "first_name": "Reza"}) \
        .contact
    post_json(api, "/api/v1/orders", order_payload())
    assert Contact.objects.count() == 1
    known.refresh_from_db()
    assert known.first_name == "Reza"  # a billing name never renames a known customer
    assert known.last_name == "کریمی"  # but fills what was blank
    assert Identity.objects.filter(contact=known, value="reza@example.com").exists()
    assert Order.objects.get().contact == known


def test_order_for_an_existing_contact_id(api, owner_actor):
    contact = do_upsert_contact(owner_actor, {"email": "x@example.com"}).contact
    response = post_json(api, "/api/v1/orders", order_payload(customer={"contact_id": contact.pk}))
    assert response.status_code == 201
    assert response.json()["contact_id"] == contact.pk


def test_invalid_order_names_every_field_and_saves_nothing(api):
    bad = order_payload(external_id="", currency="XX1", customer={"email": "not-an-email"},
                        delivery={"promised_at": "1403/13/40"})
    response = post_json(api, "/api/v1/orders", bad)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert {"external_id", "currency", "customer.email", "delivery.promised_at"} <= set(errors)
    assert not Order.objects.exists() and not Contact.objects.exists()


def test_ambiguous_amount_is_refused(api):
    response = post_json(api, "/api/v1/orders", order_payload(shipping="12,50"))
    assert response.status_code == 400
    assert "shipping" in response.json()["errors"]


def test_delivery_state_from_dates(api):
    payload = order_payload(delivery={"promised_at": "1403/02/15"})  # 2024-05-04, past
    body = post_json(api, "/api/v1/orders", payload).json()
    assert body["delivery"] == {"status": "late", "promised_at": "2024-05-04",
                                "delivered_at": None}
    payload = order_payload(delivery={"status": "back_ordered"})
    assert post_json(api, "/api/v1/orders", payload).json()["delivery"]["status"] == \
        "back_ordered"


def test_list_and_detail(api, api_for):
    a = post_json(api, "/api/v1/orders", order_payload()).json()
    b = post_json(api, "/api/v1/orders", order_payload(
        external_id="A-101", customer={"email": "other@example.com"})).json()
    listing = api.get("/api/v1/orders", {"contact": a["contact_id"]}).json()
    assert listing["count"] == 1 and listing["items"][0]["id"] == a["id"]
    everything = api.get("/api/v1/orders", {"page_size": 1, "page": 2}).json()
    assert everything["count"] == 2 and len(everything["items"]) == 1
    detail = api_for("analyst").get(f"/api/v1/orders/{b['id']}")
    assert detail.status_code == 200 and detail.json()["external_id"] == "A-101"
    assert api.get("/api/v1/orders/999999").status_code == 404


def test_list_costs_a_fixed_number_of_queries(api, django_assert_max_num_queries):
    for i in range(5):
        post_json(api, "/api/v1/orders", order_payload(external_id=f"Q{i}"))
    with django_assert_max_num_queries(6):
        assert api.get("/api/v1/orders").json()["count"] == 5


def test_refunds(api):
    order = post_json(api, "/api/v1/orders", order_payload()).json()
    url = f"/api/v1/orders/{order['id']}/refunds"
    first = post_json(api, url, {"amount": "100000", "currency": "IRT", "reason": "broken",
                                 "external_id": "R1", "lines": [{"sku": "MUG-1"}]})
    assert first.status_code == 201 and first.json()["amount"] == 1_000_000
    again = post_json(api, url, {"amount": "100000", "currency": "IRT", "external_id": "R1"})
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    too_much = post_json(api, url, {"amount": order["total"]})  # in rial, the order's unit
    assert too_much.status_code == 400 and "amount" in too_much.json()["errors"]
    wrong_unit = post_json(api, url, {"amount": "1", "currency": "USD"})
    assert wrong_unit.status_code == 400
    refund = Refund.objects.get()
    assert refund.lines.get().order_line.sku == "MUG-1"
    detail = api.get(f"/api/v1/orders/{order['id']}").json()
    assert detail["refunded"] == 1_000_000 and detail["net"] == order["total"] - 1_000_000
    event = TimelineEvent.objects.get(kind="order.refunded")
    assert event.data["amount"] == 1_000_000 and event.data["currency"] == "IRR"


def test_products_upsert_by_sku(api):
    created = post_json(api, "/api/v1/products", {"sku": "MUG-1", "name_fa": "ماگ",
                                                  "name_en": "Mug", "category": "kitchen",
                                                  "price": "250,000", "cost": "120000",
                                                  "currency": "IRT"})
    assert created.status_code == 201
    assert created.json()["price"] == 2_500_000 and created.json()["currency"] == "IRR"
    updated = post_json(api, "/api/v1/products", {"sku": "MUG-1", "price": "260000",
                                                  "currency": "IRT"})
    assert updated.status_code == 200 and updated.json()["created"] is False
    product = Product.objects.get()
    assert product.price == 2_600_000 and product.name_en == "Mug"  # the rest kept
    listing = api.get("/api/v1/products", {"q": "mug"}).json()
    assert listing["count"] == 1
    # Order lines find the product by SKU.
    post_json(api, "/api/v1/orders", order_payload())
    assert OrderLine.objects.get(sku="MUG-1").product == product


def test_product_needs_sku_and_name(api):
    response = post_json(api, "/api/v1/products", {"name_en": "x"})
    assert response.status_code == 400 and "sku" in response.json()["errors"]
    response = post_json(api, "/api/v1/products", {"sku": "X"})
    assert response.status_code == 400 and not Product.objects.exists()


@pytest.mark.parametrize("role", ROLES)
def test_roles_on_the_api(role, api_for, system):
    from peyvand.commerce.actions import do_upsert_order

    existing = do_upsert_order(system, order_payload(external_id="E1")).order
    client = api_for(role)
    may_edit = role in ("owner", "marketer")
    before = (Order.objects.count(), Product.objects.count(), Refund.objects.count(),
              Contact.objects.count(), TimelineEvent.objects.count())

    responses = [
        post_json(client, "/api/v1/orders", order_payload(external_id="E2",
                                                          customer={"email": "n@example.com"})),
        post_json(client, "/api/v1/products", {"sku": "P1", "name_en": "P"}),
        post_json(client, f"/api/v1/orders/{existing.pk}/refunds", {"amount": "1000"}),
        post_json(client, "/api/v1/orders", order_payload(external_id="E1", status="failed")),
    ]
    if may_edit:
        assert [r.status_code for r in responses] == [201, 201, 201, 200]
    else:
        assert [r.status_code for r in responses] == [403, 403, 403, 403]
        after = (Order.objects.count(), Product.objects.count(), Refund.objects.count(),
                 Contact.objects.count(), TimelineEvent.objects.count())
        assert after == before
        existing.refresh_from_db()
        assert existing.status == "completed"
    # Every role may read.
    assert client.get("/api/v1/orders").status_code == 200
    assert client.get(f"/api/v1/orders/{existing.pk}").status_code == 200
    assert client.get("/api/v1/products").status_code == 200


def test_no_token_is_401(client):
    assert client.get("/api/v1/orders").status_code == 401
    assert post_json(client, "/api/v1/orders", order_payload()).status_code == 401
    assert not Order.objects.exists()


def test_openapi_describes_the_commerce_endpoints(api):
    schema = api.get("/api/v1/openapi.json").json()
    assert {"/api/v1/orders", "/api/v1/orders/{order_id}", "/api/v1/orders/{order_id}/refunds",
            "/api/v1/products", "/api/v1/carts"} <= set(schema["paths"])
