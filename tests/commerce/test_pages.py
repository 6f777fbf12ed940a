import pytest
from django.test import Client

from peyvand.commerce.actions import do_upsert_order
from peyvand.commerce.models import ShopSource, WebhookDelivery

from .conftest import woo_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_for(make_user):
    def make(role="owner", language="en"):
        client = Client()
        client.force_login(make_user(f"{role}-{language}", role, language=language))
        return client

    return make


def test_owner_adds_a_shop_in_the_ui(client_for):
    owner = client_for("owner")
    assert owner.get("/commerce/sources/").status_code == 200
    response = owner.post("/commerce/sources/", {"name": "shop-1", "currency": "IRT"})
    source = ShopSource.objects.get()
    assert response.status_code == 302 and response.url == f"/commerce/sources/{source.pk}/"
    page = owner.get(response.url).content.decode()
    # Built on PEYVAND_PUBLIC_URL (here the default), never on the request's Host header.
    assert f"http://127.0.0.1:8000/hooks/woocommerce/{source.token}/" in page
    assert source.secret in page
    again = owner.post("/commerce/sources/", {"name": "shop-1", "currency": "IRT"})
    assert again.status_code == 200 and "already" in again.content.decode()
    assert ShopSource.objects.count() == 1


@pytest.mark.parametrize("role", ["marketer", "reviewer", "support", "analyst"])
def test_shop_pages_are_owner_only(client_for, role, shop):
    client = client_for(role)
    assert client.get("/commerce/sources/").status_code == 403
    assert client.post("/commerce/sources/", {"name": "x", "currency": "IRT"}).status_code == 403
    assert client.get(f"/commerce/sources/{shop.pk}/").status_code == 403
    assert ShopSource.objects.count() == 1


def test_failures_are_listed_and_retried_from_the_ui(client_for, hook, shop,
                                                     django_capture_on_commit_callbacks):
    hook(woo_order())
    hook(woo_order(id=728, billing={"email": "x"}, customer_id=0))
    failed = WebhookDelivery.objects.get(status="failed")
    owner = client_for("owner")
    page = owner.get(f"/commerce/sources/{shop.pk}/?status=failed").content.decode()
    assert f'data-delivery="{failed.pk}"' in page and failed.last_error in page
    assert page.count("data-delivery=") == 1
    detail = owner.get(f"/commerce/deliveries/{failed.pk}/").content.decode()
    assert "&quot;id&quot;: 728" in detail and 'id="delivery-error"' in detail
    listing = owner.get("/commerce/sources/").content.decode()
    assert "?status=failed" in listing
    # The shops page itself lists recent deliveries of every shop, failures with their error.
    assert 'id="recent-deliveries"' in listing and f'data-delivery="{failed.pk}"' in listing
    assert failed.last_error in listing.replace("&#x27;", "'")

    with django_capture_on_commit_callbacks(execute=True):
        response = owner.post(f"/commerce/deliveries/{failed.pk}/retry/", {"next": "sources"})
    assert response.status_code == 302 and response.url == "/commerce/sources/"
    failed.refresh_from_db()
    assert failed.attempts == 2 and failed.status == "failed"
    assert client_for("marketer").post(
        f"/commerce/deliveries/{failed.pk}/retry/").status_code == 403


def test_order_pages(client_for, system):
    order = do_upsert_order(system, {
        "external_id": "W-1", "number": "1001", "currency": "IRT", "customer": {
            "email": "a@example.com", "first_name": "Ali"},
        "lines": [{"sku": "MUG-1", "name": "Mug", "quantity": 2, "unit_price": "125000"}]}).order
    fa = client_for("analyst", "fa")
    listing = fa.get("/commerce/orders/").content.decode()
    assert f'data-order="{order.pk}"' in listing and "۲۵۰٬۰۰۰ تومان" in listing
    detail = client_for("reviewer").get(f"/commerce/orders/{order.pk}/")
    assert detail.status_code == 200 and "IRT 250,000" in detail.content.decode()
    assert fa.get(f"/commerce/orders/?contact={order.contact_id}").status_code == 200
    assert fa.get("/commerce/orders/999999/").status_code == 404
    assert fa.get("/commerce/products/?q=mug").status_code == 200


def test_pages_need_sign_in(client):
    response = client.get("/commerce/orders/")
    assert response.status_code == 302 and "/accounts/login/" in response.url
