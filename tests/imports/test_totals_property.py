"""Over generated files: every row is counted once, and a second import changes nothing."""

from __future__ import annotations

import csv

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from peyvand.base.actor import Actor
from peyvand.contacts.actions import contact_snapshot, do_upsert_contact
from peyvand.contacts.models import Contact, Tag, TimelineEvent
from peyvand.imports.contacts import import_contacts

SCRIPTS = ("0123456789", "۰۱۲۳۴۵۶۷۸۹", "٠١٢٣٤٥٦٧٨٩")
emails = st.sampled_from(["", "", "a@example.com", "B@example.com", "c@example.ir",
                          "not-mail", "d@example.com"])
phones = st.tuples(st.sampled_from(["", "", "09121111111", "09122222222", "9123333333",
                                    "+989124444444", "0912", "abc"]),
                   st.sampled_from(SCRIPTS)).map(
    lambda p: p[0].translate(str.maketrans("0123456789", p[1])))
names = st.sampled_from(["", "علي", "Ann", "سارا", "Bob"])
rows = st.lists(st.one_of(st.tuples(names, emails, phones, st.sampled_from(["", "x", "y, z"]))
                          .map(list),
                          st.just(["", "", "", ""]),   # blank line
                          st.just(["Too", "many@example.com", "", "", "cells"])),
                max_size=25)
existing = st.lists(st.tuples(st.sampled_from(["a@example.com", "c@example.ir", None]),
                              st.sampled_from(["09122222222", "09124444444", None])),
                    max_size=3)


@pytest.mark.django_db
@settings(deadline=None, max_examples=25,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rows=rows, existing=existing, batch=st.integers(1, 6))
def test_totals_add_up_and_reimport_is_idempotent(tmp_path, rows, existing, batch):
    Contact.objects.all().delete()
    Tag.objects.all().delete()
    actor = Actor.system("test")
    for email, phone in existing:
        raw = {k: v for k, v in (("email", email), ("phone", phone)) if v}
        if raw:
            do_upsert_contact(actor, raw)
    path = tmp_path / "gen.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["name", "email", "mobile", "tags"])
        writer.writerows(rows)
    non_blank = sum(1 for r in rows if any(c.strip() for c in r))

    first = import_contacts(actor, path, batch_size=batch).totals
    assert first.read == non_blank
    assert first.read == first.created + first.updated + first.merged + first.rejected
    snapshot = [contact_snapshot(c) for c in Contact.objects.order_by("pk")]
    events = TimelineEvent.objects.count()

    second = import_contacts(actor, path, batch_size=batch).totals
    assert second.read == first.read and second.rejected == first.rejected
    assert second.created == 0
    assert second.updated + second.merged + second.rejected == second.read
    assert [contact_snapshot(c) for c in Contact.objects.order_by("pk")] == snapshot
    assert TimelineEvent.objects.count() == events
