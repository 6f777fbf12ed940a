"""The `cart_abandoned` trigger: commerce's CART_ABANDONED_HOOKS after mark_abandoned_carts
commits; an order since entering (or the cart converted) ends the run, reason "ordered"."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from peyvand.commerce.actions import do_upsert_cart, do_upsert_order, mark_abandoned_carts
from peyvand.commerce.hooks import CART_ABANDONED_HOOKS
from peyvand.journeys.models import Enrolment
from peyvand.journeys.runner import run_due
from peyvand.journeys.triggers import on_cart_abandoned
from peyvand.messaging.models import OutboxMessage
from tests.journeys.conftest import steps
from tests.journeys.test_runner import later

pytestmark = pytest.mark.django_db
E = Enrolment.State
CART = {"type": "cart_abandoned"}
REMIND = steps({"type": "send", "template": "hello"}, {"type": "wait", "days": 1},
               {"type": "send", "template": "again"}, trigger=CART)


def leave_cart(system, capture, email: str, external_id: str = "c-1"):
    cart, _ = do_upsert_cart(system, {
        "external_id": external_id, "currency": "IRT", "customer": {"email": email},
        "updated_at": (timezone.now() - dt.timedelta(hours=3)).isoformat(),
        "lines": [{"sku": "MUG-1", "quantity": 1, "unit_price": "100000"}]})
    with capture(execute=True):
        assert mark_abandoned_carts(dt.timedelta(hours=1)) >= 1
    return cart


def order(system, capture, email: str, external_id: str = "o-1", placed=None):
    with capture(execute=True):
        return do_upsert_order(system, {
            "external_id": external_id, "currency": "IRT", "total": "100000",
            "placed_at": (placed or timezone.now()).isoformat(),
            "customer": {"email": email}}).order


def test_the_hook_is_registered():
    assert on_cart_abandoned in CART_ABANDONED_HOOKS


def test_abandon_enrols_and_an_order_exits_before_the_next_send(
        live, make_contact, system, django_capture_on_commit_callbacks):
    journey = live(REMIND)
    person = make_contact("cart@example.com")
    cart = leave_cart(system, django_capture_on_commit_callbacks, "cart@example.com")
    item = Enrolment.objects.get(journey=journey)
    assert (item.contact_id, item.data["cart"], item.data["source"]) == (
        person.pk, cart.pk, f"cart_abandoned:{cart.pk}")
    run_due("w1")  # the first reminder, then the wait
    assert OutboxMessage.objects.filter(contact=person).count() == 1
    # An order placed before entering does not count; one since does.
    order(system, django_capture_on_commit_callbacks, "cart@example.com", "old",
          placed=timezone.now() - dt.timedelta(days=30))
    later(item)
    item.refresh_from_db()
    assert Enrolment.objects.filter(pk=item.pk, state=E.ACTIVE).exists()
    order(system, django_capture_on_commit_callbacks, "cart@example.com", "new")
    run_due("w1")
    item.refresh_from_db()
    assert (item.state, item.exit_reason) == (E.DONE, "ordered")
    assert OutboxMessage.objects.filter(contact=person).count() == 1  # no second reminder


def test_a_converted_cart_ends_the_run_and_the_others_go_on(
        live, make_contact, system, django_capture_on_commit_callbacks):
    from peyvand.commerce.models import Cart

    journey = live(REMIND)
    buyer, other = make_contact("b@example.com"), make_contact("o@example.com")
    cart = leave_cart(system, django_capture_on_commit_callbacks, "b@example.com", "c-b")
    leave_cart(system, django_capture_on_commit_callbacks, "o@example.com", "c-o")
    assert Enrolment.objects.filter(journey=journey).count() == 2
    run_due("w1")
    Cart.objects.filter(pk=cart.pk).update(status=Cart.Status.CONVERTED)
    for item in Enrolment.objects.filter(journey=journey):
        later(item)
    run_due("w1")
    ended = dict(Enrolment.objects.values_list("contact_id", "exit_reason"))
    assert ended == {buyer.pk: "ordered", other.pk: "completed"}
    assert OutboxMessage.objects.filter(contact=other).count() == 2
    assert OutboxMessage.objects.filter(contact=buyer).count() == 1


def test_a_rolled_back_abandonment_enrols_nobody(live, make_contact, system,
                                                 django_capture_on_commit_callbacks):
    journey = live(REMIND)
    make_contact("r@example.com")
    do_upsert_cart(system, {
        "external_id": "c-r", "currency": "IRT", "customer": {"email": "r@example.com"},
        "updated_at": (timezone.now() - dt.timedelta(hours=3)).isoformat(), "lines": []})
    with django_capture_on_commit_callbacks(execute=False) as calls:
        mark_abandoned_carts(dt.timedelta(hours=1))
    assert len(calls) == 1  # queued for after the commit, not run inside it
    assert not Enrolment.objects.filter(journey=journey).exists()
