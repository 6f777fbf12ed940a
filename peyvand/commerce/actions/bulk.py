"""Many orders written at once, batch after batch: what an order import writes.

A BulkOrders is one session (an import's run). Each `write()` takes a batch of raw orders (as
do_upsert_order takes them) and, in one transaction:
1. checks each order (check_order); a bad one is refused with its errors, the rest go on;
2. finds the orders that exist already in one query; those, an order named twice in the
   batch and anything beyond what a file brings (refunds, carts, deletions, versions) go
   through do_upsert_order one by one, as before;
3. resolves the new orders' customers in batches: the owners of every identity in one query
   (contacts.find_owners); people nobody holds yet are written by contacts' bulk action
   (BulkUpsert: COPY on PostgreSQL), a person named by several orders once; a customer that
   would change a known contact (a new address, a blank name filled) or join several goes
   through resolve_customer, exactly as do_upsert_order would;
4. writes the new orders, their lines and an "order.placed" timeline entry each in bulk
   (contacts.bulk_insert: COPY on PostgreSQL, bulk_create elsewhere), with created_at and
   updated_at set (RecentSales finds changed buyers by updated_at).

ORDER_CHANGED_HOOKS do not run per order during a session: `finish()` runs
ORDERS_IMPORTED_HOOKS once with every buyer whose orders changed, after the commit.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from peyvand.base.actor import Actor
from peyvand.base.db import find_by_unique_key
from peyvand.base.roles import require
from peyvand.commerce.actions.checks import product_for, products_for
from peyvand.commerce.actions.orders import (
    OrderData,
    _collecting,
    check_order,
    do_upsert_order,
)
from peyvand.commerce.hooks import ORDERS_IMPORTED_HOOKS
from peyvand.commerce.models import Order, OrderLine
from peyvand.contacts.actions import (
    BulkItem,
    BulkUpsert,
    ContactData,
    ContactInvalid,
    IdentityConflict,
    find_owners,
)
from peyvand.contacts.bulk_insert import insert_rows
from peyvand.contacts.models import Contact
from peyvand.contacts.timeline import append_event_rows

Key = tuple[str, str, str]

_NEW_ORDER = {f.attname: f.get_default() for f in Order._meta.concrete_fields
              if not f.primary_key}
_NAMES = ("first_name", "last_name")


@dataclass
class OrderOutcome:
    """What became of one order of a batch: created or updated (False: existed, changed or
    not), or refused with {field: reason}."""

    created: bool = False
    errors: dict[str, str] = field(default_factory=dict)


@dataclass
class _New:
    index: int
    data: OrderData
    item: int = -1  # the new person (index into the batch's BulkItems), or
    contact_id: int | None = None  # the contact it belongs to


class BulkOrders:
    """One bulk session by `actor`: write() batches, then finish() once."""

    def __init__(self, actor: Actor):
        require(actor, "commerce.edit")
        require(actor, "contacts.edit")  # unknown customers become contacts
        self.actor = actor
        self.people = BulkUpsert(actor, source=actor.via)
        self.changed: set[int] = set()  # buyers whose orders changed, for finish()

    @transaction.atomic
    def write(self, batch: list[dict[str, Any]]) -> list[OrderOutcome]:
        outcomes = [OrderOutcome() for _raw in batch]
        checked: list[tuple[int, OrderData]] = []
        for i, raw in enumerate(batch):
            try:
                checked.append((i, check_order(raw)))
            except ContactInvalid as exc:
                outcomes[i].errors = dict(exc.errors)
        by_source: dict[tuple[str], set[str]] = {}
        for _i, d in checked:
            by_source.setdefault((d.source,), set()).add(d.external_id)
        existing = set(find_by_unique_key(Order, ("source",), "external_id", by_source,
                                          ("source", "external_id")))
        slow: list[tuple[int, OrderData]] = []
        new: list[_New] = []
        seen: set[tuple[str, str]] = set()
        for i, data in checked:
            key = (data.source, data.external_id)
            if key in existing or key in seen or not _plain(data):
                slow.append((i, data))
            else:
                new.append(_New(i, data))
            seen.add(key)
        late = self._customers(new)
        slow += [(n.index, n.data) for n in late]
        late_ids = {id(n) for n in late}
        new = [n for n in new if id(n) not in late_ids]
        try:
            with transaction.atomic():
                self._insert(new)
        except IntegrityError:
            # Someone saved one of these orders meanwhile: take them the careful way.
            slow += [(n.index, n.data) for n in new]
        else:
            for n in new:
                outcomes[n.index].created = True
        for i, data in sorted(slow, key=lambda pair: pair[0]):
            outcomes[i] = self._one(data)
        return outcomes

    def finish(self) -> None:
        """Tell the floors above, once, whose orders changed (after the last commit)."""
        ids = sorted(self.changed)
        self.changed = set()
        if ids:
            for hook in ORDERS_IMPORTED_HOOKS:
                transaction.on_commit(functools.partial(hook, ids))

    # --- one by one -------------------------------------------------------------------------

    def _one(self, data: OrderData) -> OrderOutcome:
        token = _collecting.set(self.changed)
        try:
            with transaction.atomic():
                result = do_upsert_order(self.actor, data)
        except ContactInvalid as exc:
            return OrderOutcome(errors=dict(exc.errors))
        except IdentityConflict as exc:
            return OrderOutcome(errors={"customer": str(exc)})
        finally:
            _collecting.reset(token)
        return OrderOutcome(created=result.created)

    # --- customers in batches ---------------------------------------------------------------

    def _customers(self, new: list[_New]) -> list[_New]:
        """Give each new order its contact or new person; returns the orders whose customer
        must be resolved one by one (do_upsert_order does it)."""
        late: list[_New] = []
        wanted = [n for n in new if n.data.contact_id is None and n.data.customer_data]
        for n in new:
            if n.data.contact_id is not None or n.data.customer_data is None:
                late.append(n)  # a contact named by id, or no customer: the careful way
        owners = find_owners(k for n in wanted if n.data.customer_data
                             for k in n.data.customer_data.identity_keys())
        names = {c["pk"]: c for c in Contact.objects.filter(pk__in=set(owners.values()))
                 .values("pk", *_NAMES)}
        items: list[BulkItem] = []
        by_key: dict[Key, int] = {}
        for n in wanted:
            person = n.data.customer_data
            assert person is not None
            keys = person.identity_keys()
            held = {owners.get(k) for k in keys}
            if held == {None}:
                pending = {by_key.get(k) for k in keys}
                if pending == {None}:
                    n.item = len(items)
                    items.append(BulkItem(n.index + 1, _copy(person)))
                    by_key.update(dict.fromkeys(keys, n.item))
                elif len(pending) == 1:
                    n.item = pending.pop()  # type: ignore[assignment]
                    _fill_blanks(items[n.item].data, person)
                else:
                    late.append(n)  # would join people: resolve_customer merges them
            elif len(held) == 1:
                pk = held.pop()
                assert pk is not None
                known = names.get(pk, {})
                if any(person.scalars.get(k) and not known.get(k) for k in person.scalars):
                    late.append(n)  # fills a blank of a known contact
                else:
                    n.contact_id = pk
            else:
                late.append(n)  # a new address for a known contact, or several contacts
        if items:
            written = self.people.write(items, owners={})
            for n in new:
                if n.item >= 0:
                    n.contact_id = written.outcomes[n.item].contact_id
                    if n.contact_id is None:
                        late.append(n)
        return late

    # --- orders, lines and timeline in bulk -------------------------------------------------

    def _insert(self, new: list[_New]) -> None:
        if not new:
            return
        now = timezone.now()
        rows = []
        for n in new:
            values = {"placed_at": now, "status": Order.Status.COMPLETED, **n.data.values}
            rows.append({**_NEW_ORDER, "source": n.data.source, "external_id": n.data.external_id,
                         "contact_id": n.contact_id, "created_at": now, "updated_at": now,
                         **values})
        ids = insert_rows(Order, rows, with_ids=True)
        found = products_for([ln for n in new for ln in n.data.lines or []])
        lines, events = [], []
        for pk, n, row in zip(ids, new, rows, strict=True):
            for ln in n.data.lines or []:
                product = product_for(found, ln)
                lines.append({"order_id": pk, "product_id": product.pk if product else None,
                              "sku": ln["sku"],
                              "name": ln["name"] or (product.name() if product else ""),
                              "quantity": ln["quantity"], "unit_price": ln["unit_price"],
                              "line_total": ln["line_total"]})
            # _event_data's fields, read from the row (no model instance per order).
            events.append({"contact_id": n.contact_id, "kind": "order.placed",
                           "at": row["placed_at"], "actor_label": self.actor.label,
                           "data": {"order_id": pk,
                                    "number": row["number"] or row["external_id"],
                                    "total": row["total"], "currency": row["currency"],
                                    "status": row["status"], "source": row["source"]}})
            self.changed.add(n.contact_id)  # type: ignore[arg-type]
        insert_rows(OrderLine, lines)
        append_event_rows(events)


def _plain(data: OrderData) -> bool:
    """An order the bulk path writes: what a file brings (no refunds, cart, deletion or
    version), with lines."""
    return (data.lines is not None and data.refunds is None and not data.deleted
            and not data.cart_id and data.modified_at is None and "total" in data.values)


def _copy(person: ContactData) -> ContactData:
    return ContactData(scalars=dict(person.scalars), emails=list(person.emails or []) or None,
                       phones=list(person.phones or []) or None,
                       externals=list(person.externals or []) or None)


def _fill_blanks(into: ContactData, person: ContactData) -> None:
    """A later order of the same new person: its names fill blanks only (resolve_customer)."""
    for name, value in person.scalars.items():
        if value and not into.scalars.get(name):
            into.scalars[name] = value
