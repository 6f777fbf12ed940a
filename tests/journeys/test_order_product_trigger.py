"""The `order_product` trigger: an order with a line of the SKU, once per order."""

from __future__ import annotations

import pytest

from peyvand.base.errors import Invalid
from peyvand.journeys.definition import check_definition
from peyvand.journeys.models import Enrolment
from tests.journeys.conftest import steps

pytestmark = pytest.mark.django_db
MUG = {"type": "order_product", "sku": "MUG-1"}


def test_an_order_of_the_sku_enrols_once_per_order(live, make_contact, system,
                                                   django_capture_on_commit_callbacks):
    from peyvand.commerce.actions import do_upsert_order

    buyer = make_contact(email="buyer@example.com")
    journey = live(steps({"type": "wait", "days": 1}, trigger=MUG), re_entry="always")

    def order(external_id: str, *skus: str) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            do_upsert_order(system, {
                "external_id": external_id, "currency": "IRR", "total": "3000",
                "customer": {"email": "buyer@example.com"},
                "lines": [{"sku": sku, "name": sku, "quantity": 1, "unit_price": "1000"}
                          for sku in skus]})

    def sources() -> list[str]:
        return [e.data["source"] for e in Enrolment.objects.filter(journey=journey)
                .order_by("id")]

    order("A1", "TEA-9")
    assert sources() == []
    order("A2", "TEA-9", "MUG-1")
    assert Enrolment.objects.get(journey=journey).contact_id == buyer.pk
    Enrolment.objects.update(state=Enrolment.State.DONE)
    order("A2", "MUG-1")  # the same order changed: nothing new
    assert len(sources()) == 1
    order("A3", "MUG-1")
    assert len(sources()) == 2 and sources()[0] != sources()[1]
    assert all(s.startswith("order_product:") for s in sources())


@pytest.mark.parametrize("sku", [None, "", " MUG", 7, "x" * 101])
def test_the_grammar_wants_a_sku(sku):
    trigger = {"type": "order_product"} if sku is None else {"type": "order_product", "sku": sku}
    with pytest.raises(Invalid) as refused:
        check_definition(steps({"type": "exit"}, trigger=trigger), templates=False)
    assert list(refused.value.errors) == ["trigger.sku"]
