"""A repeated open pixel is one unique open of that message by that person; the totals keep
every hit. Counted when the spool is drained (the fast path only appends)."""

from __future__ import annotations

import json

import pytest
from django.db import IntegrityError, transaction

from peyvand.base.actor import Actor
from peyvand.contacts.actions import do_merge_contacts
from peyvand.contacts.models import TimelineEvent
from peyvand.tracking import events as tracking_events
from peyvand.tracking.events import drain_spool
from peyvand.tracking.fastpath import wrap
from peyvand.tracking.models import TrackingEvent
from peyvand.tracking.queries import event_totals

from .helpers import call, environ, open_token

APP = wrap(lambda env, start: [])


def pixel(message_id, person, times=1):
    for _ in range(times):
        call(APP, environ(f"/t/o/{open_token(message_id, person.pk)}.gif"))


def test_a_repeated_pixel_is_one_unique_open(api_for, contact):
    pixel(7, contact, times=3)
    drain_spool()
    pixel(7, contact, times=2)  # read again later: more hits, not another open
    drain_spool()
    body = api_for("analyst").get("/api/v1/messages/7/stats").json()
    assert (body["opens"], body["unique_opens"]) == (5, 1)
    assert TrackingEvent.objects.filter(unique_open=True).count() == 1
    opened = TimelineEvent.objects.filter(contact=contact, kind="message.opened")
    assert opened.count() == 1


def test_each_person_and_message_counts_once(api_for, contact, other_contact):
    pixel(7, contact, times=2)
    pixel(7, other_contact, times=2)  # (tests share one message id between two people)
    pixel(8, contact, times=4)
    drain_spool()
    totals = event_totals(TrackingEvent.objects.all())
    assert (totals["opens"], totals["unique_opens"]) == (8, 3)
    engagement = api_for("support").get(f"/api/v1/contacts/{contact.pk}/engagement").json()
    assert (engagement["opens"], engagement["unique_opens"]) == (6, 2)
    assert sorted(TimelineEvent.objects.filter(kind="message.opened")
                  .values_list("contact_id", "data__message_id")) == sorted(
        [(contact.pk, 7), (other_contact.pk, 7), (contact.pk, 8)])


def test_the_cli_prints_unique_opens(contact, capsys, monkeypatch):
    from peyvand.cli import main

    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    pixel(9, contact, times=4)
    drain_spool()
    capsys.readouterr()
    assert main(["tracking", "stats", "--message", "9"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert (stats["opens"], stats["unique_opens"]) == (4, 1)


def test_racing_drains_still_count_one(contact, monkeypatch):
    """Two drains storing opens of the same message at once each see no earlier open: the
    database keeps the second from counting again, and that drain retries."""
    pixel(7, contact)
    drain_spool()
    pixel(7, contact)
    real = tracking_events._mark_unique_opens
    stale_once = iter([True])

    def as_if_the_first_were_not_committed_yet(batch):
        if next(stale_once, False):
            for event in batch:
                event.unique_open = event.kind == TrackingEvent.Kind.OPEN
            return
        real(batch)

    monkeypatch.setattr(tracking_events, "_mark_unique_opens",
                        as_if_the_first_were_not_committed_yet)
    assert drain_spool() == 1
    assert TrackingEvent.objects.count() == 2
    assert TrackingEvent.objects.filter(unique_open=True).count() == 1
    assert TimelineEvent.objects.filter(kind="message.opened").count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_database_refuses_a_second_unique_open(contact):
    pixel(7, contact, times=2)
    drain_spool()
    second = TrackingEvent.objects.filter(unique_open=False).get()
    with pytest.raises(IntegrityError), transaction.atomic():
        TrackingEvent.objects.filter(pk=second.pk).update(unique_open=True)


def test_merging_two_people_keeps_one_unique_open_per_message(contact, other_contact):
    pixel(7, contact)
    pixel(7, other_contact)
    pixel(8, other_contact)
    drain_spool()
    do_merge_contacts(Actor.system("test"), contact, [other_contact])
    totals = event_totals(TrackingEvent.objects.filter(contact=contact))
    assert (totals["opens"], totals["unique_opens"]) == (3, 2)


def test_opens_drained_before_the_upgrade_get_their_unique_open(contact, other_contact):
    import datetime as dt
    import importlib

    from django.apps import apps
    from django.utils import timezone

    migration = importlib.import_module("peyvand.tracking.migrations.0002_unique_open")
    now = timezone.now()
    for n, (message, person) in enumerate([(1, contact), (1, contact), (1, other_contact),
                                           (2, contact), (2, None)]):
        TrackingEvent.objects.create(hit_id=f"h{n}", kind="open", message_id=message,
                                     contact=person, at=now + dt.timedelta(seconds=n))
    TrackingEvent.objects.create(hit_id="c", kind="click", message_id=1, contact=contact,
                                 at=now)
    migration.mark_first_opens(apps, None)
    assert sorted(TrackingEvent.objects.filter(unique_open=True)
                  .values_list("hit_id", flat=True)) == ["h0", "h2", "h3", "h4"]
