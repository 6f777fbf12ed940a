from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import pytest
from django.utils import timezone

from peyvand.commerce.models import Order, OrderLine, Product, Refund
from peyvand.contacts.models import Contact

_numbers = itertools.count(1)


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def at(day: dt.date, hour: int = 12) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def contact(**values) -> Contact:
    values.setdefault("first_name", f"Person{next(_numbers)}")
    return Contact.objects.create(**values)


def order(contact_id: int, day: dt.date, total: int = 100_000, *, status="completed",
          currency="IRR", hour: int = 12, lines: list[tuple[Product, int]] | None = None,
          deleted: bool = False) -> Order:
    number = next(_numbers)
    o = Order.objects.create(source="test", external_id=str(number), contact_id=contact_id,
                             placed_at=at(day, hour), status=status, currency=currency,
                             subtotal=total, total=total,
                             deleted_at=timezone.now() if deleted else None)
    for product, qty in lines or []:
        OrderLine.objects.create(order=o, product=product, sku=product.sku, quantity=qty,
                                 unit_price=product.price, line_total=product.price * qty)
    return o


def refund(o: Order, amount: int, day: dt.date) -> Refund:
    return Refund.objects.create(order=o, amount=amount, at=at(day, 18))


def bulk_orders(rows: list[tuple[int, dt.date, int]]) -> None:
    """(contact id, day, total) rows, written at once."""
    start = next(_numbers) * 1_000_000
    Order.objects.bulk_create([
        Order(source="bulk", external_id=str(start + i), contact_id=c, placed_at=at(d),
              status="completed", currency="IRR", subtotal=t, total=t)
        for i, (c, d, t) in enumerate(rows)])


def simulate_shop(n: int, *, start: dt.date, end: dt.date, seed: int = 7,
                  r: float = 0.5, alpha: float = 6.0, a: float = 0.8, b: float = 3.0):
    """Customers buying by the BG/NBD story (gamma rates, beta dropout), first purchase in
    the first eight weeks; returns their contact ids."""
    rng = np.random.default_rng(seed)
    Contact.objects.bulk_create([Contact(first_name=f"Sim{i}") for i in range(n)])
    ids = list(Contact.objects.order_by("-pk").values_list("pk", flat=True)[:n])
    weeks = (end - start).days / 7
    rows = []
    for cid in ids:
        lam, p = rng.gamma(r, 1 / alpha), rng.beta(a, b)
        spend = rng.gamma(4, 250_000)
        t = rng.uniform(0, 8)
        while t <= weeks:
            rows.append((cid, start + dt.timedelta(days=int(t * 7)),
                         max(1000, int(spend * rng.uniform(0.7, 1.3)))))
            t += rng.exponential(1 / lam)
            # Dropout only after a repeat purchase, as the model has it.
            if len(rows) > 1 and rows[-2][0] == cid and rng.random() < p:
                break
    bulk_orders(rows)
    return ids
