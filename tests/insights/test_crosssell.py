"""Bought together: a generated shop with planted pairs, and the checkout API."""

import datetime as dt

import numpy as np
import pytest
from django.test import Client
from django.utils import timezone

from peyvand.commerce.models import Order, OrderLine, Product
from peyvand.insights import actions, crosssell
from peyvand.insights.models import ProductAssociation
from tests.insights.conftest import contact

pytestmark = pytest.mark.django_db
PAIRS = [("TEA", "CUP"), ("PHONE", "CASE"), ("BOOK", "LAMP")]


@pytest.fixture
def planted(system):
    """600 orders: each planted pair bought together often, 14 fillers at random."""
    rng = np.random.default_rng(42)
    products = {sku: Product.objects.create(sku=sku, name_en=sku.title(), name_fa=f"کالای {sku}",
                                            price=100_000)
                for sku in [s for pair in PAIRS for s in pair] + [f"F{i}" for i in range(14)]}
    people = [contact() for _ in range(150)]
    today = timezone.localdate()
    orders, lines = [], []
    for i in range(600):
        skus = set(rng.choice([f"F{k}" for k in range(14)], size=rng.integers(1, 3)).tolist())
        if rng.random() < 0.5:
            a, b = PAIRS[rng.integers(len(PAIRS))]
            skus |= {a, b} if rng.random() < 0.85 else {a}
        orders.append((Order(source="gen", external_id=str(i), contact=people[i % 150],
                             placed_at=timezone.make_aware(dt.datetime.combine(
                                 today - dt.timedelta(days=int(rng.integers(1, 300))),
                                 dt.time(12))),
                             status="completed", currency="IRR", total=100_000), skus))
    Order.objects.bulk_create([o for o, _ in orders])
    for o, skus in orders:
        lines += [OrderLine(order=o, product=products[s], sku=s, quantity=1,
                            unit_price=100_000, line_total=100_000) for s in skus]
    OrderLine.objects.bulk_create(lines)
    actions.refresh_all(system)
    return products, people


def test_planted_pairs_are_recovered_with_support_confidence_and_lift(planted):
    products, _people = planted
    for a, b in PAIRS:
        top = crosssell.for_product(products[a], 3)
        assert top[0].related.sku == b, (a, [t.related.sku for t in top])
        rule = top[0]
        assert rule.lift > 3 and rule.confidence > 0.6
        assert 0 < rule.support < 0.25
        reverse = crosssell.for_product(products[b], 1)[0]
        assert reverse.related.sku == a
    # Fillers are bought at random: nothing beyond chance among them.
    strong_fillers = ProductAssociation.objects.filter(product__sku__startswith="F",
                                                       related__sku__startswith="F",
                                                       lift__gt=2)
    assert not strong_fillers.exists()


def test_counts_match_a_direct_count(planted):
    products, _people = planted
    tea, cup = products["TEA"], products["CUP"]
    with_tea = set(OrderLine.objects.filter(product=tea).values_list("order_id", flat=True))
    with_cup = set(OrderLine.objects.filter(product=cup).values_list("order_id", flat=True))
    baskets = Order.objects.filter(lines__product__isnull=False).distinct().count()
    rule = ProductAssociation.objects.get(product=tea, related=cup)
    assert rule.orders_together == len(with_tea & with_cup)
    assert rule.confidence == pytest.approx(len(with_tea & with_cup) / len(with_tea))
    assert rule.lift == pytest.approx(rule.confidence / (len(with_cup) / baskets))
    assert rule.support == pytest.approx(len(with_tea & with_cup) / baskets)


def test_contact_gets_what_goes_with_their_products_but_not_what_they_own(planted, system):
    products, _people = planted
    buyer = contact()
    o = Order.objects.create(source="gen", external_id="own-1", contact=buyer,
                             placed_at=timezone.now(), status="completed", currency="IRR",
                             total=100_000)
    OrderLine.objects.create(order=o, product=products["PHONE"], sku="PHONE", quantity=1)
    recs = crosssell.for_contact(buyer.pk, 5)
    assert recs[0]["product"].sku == "CASE" and recs[0]["because"].sku == "PHONE"
    assert "PHONE" not in {r["product"].sku for r in recs}
    OrderLine.objects.create(order=o, product=products["CASE"], sku="CASE", quantity=1)
    assert "CASE" not in {r["product"].sku for r in crosssell.for_contact(buyer.pk, 5)}


def test_recommendations_api_for_the_shop(planted, api_for):
    products, people = planted
    shop = api_for("support")  # the shop's token; any role may read recommendations
    body = shop.get("/api/v1/recommendations?product=TEA&limit=2").json()
    assert body["product"] == "TEA" and len(body["items"]) <= 2
    first = body["items"][0]
    assert first["sku"] == "CUP" and first["lift"] > 3
    assert {"support", "confidence", "lift", "name_fa", "name_en", "product_id"} <= set(first)
    owner = people[0]
    owned = set(OrderLine.objects.filter(order__contact=owner).values_list("sku", flat=True))
    body = shop.get(f"/api/v1/recommendations?contact={owner.pk}").json()
    assert body["contact_id"] == owner.pk
    assert not owned & {i["sku"] for i in body["items"]}
    # Inactive products are never offered.
    Product.objects.filter(sku="CUP").update(active=False)
    skus = [i["sku"] for i in shop.get("/api/v1/recommendations?product=TEA").json()["items"]]
    assert "CUP" not in skus
    assert shop.get("/api/v1/recommendations?product=NOPE").status_code == 404
    assert shop.get("/api/v1/recommendations").status_code == 400
    assert shop.get("/api/v1/recommendations?product=TEA&contact=1").status_code == 400
    assert shop.get("/api/v1/recommendations?contact=999999").status_code == 404
    assert Client().get("/api/v1/recommendations?product=TEA").status_code == 401
