"""Issue 19, item 2: orders are written in bulk (commerce.BulkOrders) and give the same
orders, lines, totals, customers and timeline as one do_upsert_order per order did; the
floors above hear once per import, not once per order."""

from __future__ import annotations

import contextlib

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from peyvand.commerce.actions import do_upsert_order
from peyvand.commerce.hooks import ORDER_CHANGED_HOOKS, ORDERS_IMPORTED_HOOKS
from peyvand.commerce.models import Order, OrderLine
from peyvand.contacts.models import Contact, Identity, TimelineEvent
from peyvand.imports.orders import (
    OrderOptions,
    _orders,
    _payload,
    auto_order_mapping,
    import_orders,
)
from peyvand.imports.reader import open_table

pytestmark = pytest.mark.django_db

HEADER = ["order_id", "placed_at", "email", "phone", "first_name", "sku", "product",
          "quantity", "unit_price", "shipping", "status"]
ROWS = [
    HEADER,
    ["A-1", "1403/02/12", "ali@example.com", "09121234567", "Ali", "TEA", "Tea", "2", "100",
     "50", "completed"],
    ["A-1", "1403/02/12", "ali@example.com", "09121234567", "Ali", "CUP", "Cup", "1", "300",
     "50", "completed"],
    ["A-2", "2024-06-01 10:00", "ali@example.com", "", "", "TEA", "Tea", "1", "100", "", ""],
    ["A-3", "2024-06-02", "", "+98 935 111 2233", "Sara", "", "Gaz", "3", "80", "", ""],
    ["A-4", "2024-06-03", "known@example.com", "", "Other name", "TEA", "Tea", "1", "100", "",
     ""],
    ["A-5", "2024-06-04", "known@example.com", "09129999999", "", "TEA", "Tea", "1", "100",
     "", ""],
    ["A-6", "2024-06-05", "sara2@example.com", "+989351112233", "", "CUP", "", "1", "300",
     "", "processing"],
    ["A-7", "2024-06-06", "bad@", "", "", "TEA", "Tea", "1", "100", "", ""],
]
TOMAN = OrderOptions(currency="IRT")


@pytest.fixture
def known(operator):
    from peyvand.contacts.actions import check_contact_data, do_upsert_contact

    return do_upsert_contact(operator, check_contact_data(
        {"email": "known@example.com", "first_name": "Known"})).contact


def snapshot() -> dict:
    """Everything the import wrote, with ids replaced by what they stand for."""
    who = {c.pk: tuple(sorted(i.value for i in c.identities.all()))
           for c in Contact.objects.prefetch_related("identities")}
    names = {who[c.pk]: (c.first_name, c.last_name, c.source) for c in Contact.objects.all()}
    orders = {o.external_id: (who[o.contact_id], o.placed_at, o.status, o.currency, o.subtotal,
                              o.shipping, o.total, o.number)
              for o in Order.objects.all()}
    lines = sorted((ln.order.external_id, ln.sku, ln.name, ln.quantity, ln.unit_price,
                    ln.line_total) for ln in OrderLine.objects.select_related("order"))
    by_pk = {o.pk: o.external_id for o in Order.objects.all()}
    events = sorted((who[e.contact_id], e.kind, e.at if e.kind == "order.placed" else None,
                     e.actor_label,
                     str(sorted({**e.data, "order_id": by_pk.get(e.data.get("order_id"))}
                                .items())))
                    for e in TimelineEvent.objects.all())
    return {"names": names, "orders": orders, "lines": lines, "events": events}


def test_bulk_writes_what_one_upsert_per_order_wrote(operator, known, write_csv):
    path = write_csv(ROWS)
    # The reference: each order of the file through do_upsert_order, as before issue 19.
    with open_table(path) as table:
        targets = auto_order_mapping(table.headers)
        from peyvand.imports.order_dates import read_order_date
        for order_id, group in _orders(table.rows(), targets):
            values = [v for *_r, v in group]
            with contextlib.suppress(Exception):
                do_upsert_order(operator, _payload(order_id, values, TOMAN,
                                                   read_order_date(values[0]["placed_at"])))
    expected = snapshot()
    assert len(expected["orders"]) == 6
    Order.objects.all().delete()
    TimelineEvent.objects.exclude(contact=known).delete()
    TimelineEvent.objects.filter(contact=known).exclude(kind="contact.created").delete()
    Identity.objects.exclude(value="known@example.com").delete()
    Contact.objects.exclude(pk=known.pk).delete()
    Contact.objects.filter(pk=known.pk).update(first_name="Known")
    result = import_orders(operator, path, options=TOMAN, batch_size=3)
    t = result.totals
    assert (t.read, t.created, t.updated, t.merged, t.rejected) == (8, 6, 0, 1, 1)
    got = snapshot()
    for key in expected:
        assert got[key] == expected[key], key
    assert Contact.objects.get(pk=known.pk).first_name == "Known"  # a buyer is not renamed
    assert set(Identity.objects.filter(contact=known).values_list("value", flat=True)) == {
        "known@example.com", "+989129999999"}


def test_orders_keep_created_and_updated_times(operator, write_csv):
    before = timezone.now()
    import_orders(operator, write_csv(ROWS), options=TOMAN)
    for order in Order.objects.all():
        assert order.created_at >= before and order.updated_at >= before


def test_the_floors_above_hear_once_per_import(operator, write_csv, monkeypatch,
                                              django_capture_on_commit_callbacks):
    heard: dict[str, list] = {"imported": [], "changed": []}
    monkeypatch.setattr(ORDERS_IMPORTED_HOOKS, "_loaded",
                        [lambda ids: heard["imported"].append(ids)])
    monkeypatch.setattr(ORDER_CHANGED_HOOKS, "_loaded",
                        [lambda cid: heard["changed"].append(cid)])
    with django_capture_on_commit_callbacks(execute=True):
        import_orders(operator, write_csv(ROWS), options=TOMAN, batch_size=2)
    buyers = sorted(set(Order.objects.values_list("contact_id", flat=True)))
    assert heard == {"imported": [buyers], "changed": []}
    # Again with one order changed: one call, naming its buyer only.
    rows = [list(r) for r in ROWS]
    rows[3][8] = "120"
    heard["imported"].clear()
    with django_capture_on_commit_callbacks(execute=True):
        result = import_orders(operator, write_csv(rows), options=TOMAN, batch_size=2)
    assert result.totals.created == 0
    a2 = Order.objects.get(external_id="A-2")
    assert heard == {"imported": [[a2.contact_id]], "changed": []}
    assert a2.total == 1200


def test_customers_are_resolved_in_batches(operator, write_csv):
    rows = [HEADER] + [[f"O-{i}", "2024-06-01", f"c{i % 50}@example.com", "", "", "TEA", "Tea",
                        "1", "100", "", ""] for i in range(400)]
    path = write_csv(rows)
    with CaptureQueriesContext(connection) as queries:
        result = import_orders(operator, path, options=TOMAN, batch_size=200)
    assert result.totals.created == 400
    assert Contact.objects.count() == 50
    assert TimelineEvent.objects.filter(kind="order.placed").count() == 400
    assert len(queries) < 120, len(queries)  # a few dozen per batch, not a few per order


def test_insights_refresh_once_at_the_end(operator, write_csv, monkeypatch,
                                          django_capture_on_commit_callbacks):
    from peyvand.insights import actions as insights

    calls: list = []
    monkeypatch.setattr(insights, "refresh_after_import", calls.append)
    with django_capture_on_commit_callbacks(execute=True):
        import_orders(operator, write_csv(ROWS), options=TOMAN, batch_size=2)
    assert calls == [sorted(set(Order.objects.values_list("contact_id", flat=True)))]
    # Many buyers: one full refresh instead (the population moves with that much history).
    monkeypatch.setattr(insights, "IMPORT_FULL_REFRESH", 1)
    calls.clear()
    rows = [HEADER, ["N-1", "2024-07-01", "n1@example.com", "", "", "TEA", "Tea", "1", "100",
                     "", ""],
            ["N-2", "2024-07-01", "n2@example.com", "", "", "TEA", "Tea", "1", "100", "", ""]]
    with django_capture_on_commit_callbacks(execute=True):
        import_orders(operator, write_csv(rows), options=TOMAN)
    assert calls == [None]
