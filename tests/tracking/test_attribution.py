"""Orders are attributed to the sending of the buyer's last human click before the order,
within that sending's window; one sending at most per order."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from peyvand.commerce.models import Order
from peyvand.tracking import attribution
from peyvand.tracking.attribution import attributed, register_window

from .report_data import SCANNER, T0, drain, hit, message, person

pytestmark = pytest.mark.django_db
B1, B2 = "broadcast:1", "broadcast:2"
_numbers = itertools.count(1)


def order(contact, at: dt.datetime, total: int = 1000, currency: str = "IRR",
          status: str = Order.Status.COMPLETED) -> Order:
    return Order.objects.create(source="test", external_id=str(next(_numbers)), contact=contact,
                                placed_at=at, status=status, currency=currency, total=total,
                                subtotal=total)


def clicks(contact, *when: tuple[str, dt.datetime] | tuple[str, dt.datetime, str]) -> None:
    msgs: dict[str, object] = {}
    rows = []
    for source, at, *agent in when:
        if source not in msgs:
            msgs[source] = message(contact, source=source)
        rows.append(hit("click", msgs[source], at, url=f"https://shop.example/{source}",
                        **({"ua": agent[0]} if agent else {})))
    drain(*rows)


@pytest.fixture
def windows():
    saved = list(attribution._lookups)
    yield
    attribution._lookups[:] = saved


def test_the_last_human_click_within_the_window_wins(windows):
    day, hour = dt.timedelta(days=1), dt.timedelta(hours=1)
    sara, ali, mina, reza, neda, omid = (person(n) for n in (
        "Sara", "Ali", "Mina", "Reza", "Neda", "Omid"))
    clicks(sara, (B1, T0))
    order(sara, T0 + day, total=1000)
    order(sara, T0 + 2 * day, total=5, currency="USD")  # two currencies, never added
    order(sara, T0 + day, total=777, status=Order.Status.CANCELLED)  # not a sale
    order(sara, T0 + day, total=888, status=Order.Status.REFUNDED)
    deleted = order(sara, T0 + day, total=999)
    Order.objects.filter(pk=deleted.pk).update(deleted_at=T0 + 3 * day)
    clicks(ali, (B1, T0))
    order(ali, T0 - hour, total=50)  # before the click
    clicks(mina, (B1, T0))
    order(mina, T0 + 6 * day, total=60)  # after the 5-day window
    clicks(reza, (B1, T0), (B2, T0 + hour))
    order(reza, T0 + 2 * hour, total=70)  # his last click was on the second sending
    clicks(neda, (B1, T0), (B2, T0 + hour, SCANNER))
    order(neda, T0 + 2 * hour, total=80)  # a scanner's click is nobody's last click
    clicks(omid, (B2, T0), (B1, T0 + hour))
    order(omid, T0 + 4 * day, total=90)
    order(omid, T0 + 7 * day, total=100)  # past B1's window: not B2's either (not the last)

    assert attributed([B1, B2]) == {
        B1: {"orders": 4, "revenue": {"IRR": 1000 + 80 + 90, "USD": 5}, "contacts": 3},
        B2: {"orders": 1, "revenue": {"IRR": 70}, "contacts": 1}}
    assert attributed([B2]) == {B2: {"orders": 1, "revenue": {"IRR": 70}, "contacts": 1}}

    register_window(lambda sources: {s: 7 for s in sources if s == B1})
    assert attributed([B1])[B1] == {"orders": 6, "revenue": {"IRR": 1000 + 80 + 90 + 60 + 100,
                                                             "USD": 5}, "contacts": 4}


def test_nothing_without_clicks_or_sendings():
    sara = person("Sara")
    message(sara, source=B1)
    order(sara, T0)
    assert attributed([B1]) == {B1: {"orders": 0, "revenue": {}, "contacts": 0}}
    assert attributed(["broadcast:404"]) == {
        "broadcast:404": {"orders": 0, "revenue": {}, "contacts": 0}}
