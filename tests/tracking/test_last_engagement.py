"""LastEngagement stays what the hits say: each person's latest human open and click, through
the drain, a burst that re-flags stored clicks as a scanner's, a merge, an erasure and a
rebuild."""

from __future__ import annotations

import pytest
from django.db.models import Max, Q

from peyvand.base.actor import Actor
from peyvand.tracking import last_engagement
from peyvand.tracking.events import drain_spool
from peyvand.tracking.fastpath import wrap
from peyvand.tracking.models import LastEngagement, TrackingEvent

from .helpers import call, click_token, environ, open_token

pytestmark = pytest.mark.django_db
APP = wrap(lambda environ, start_response: [])
SCANNER = "Mozilla/5.0 (compatible; proofpoint URL scanner)"


def kept() -> dict[int, tuple]:
    return {r.contact_id: (r.last_opened_at, r.last_clicked_at)
            for r in LastEngagement.objects.all()}


def from_hits() -> dict[int, tuple]:
    rows = (TrackingEvent.objects.filter(machine=False, contact__isnull=False)
            .values("contact_id").annotate(o=Max("at", filter=Q(kind="open")),
                                           c=Max("at", filter=Q(kind="click"))))
    return {r["contact_id"]: (r["o"], r["c"]) for r in rows}


def hit(path: str, ua: str | None = None) -> None:
    call(APP, environ(path, **({"ua": ua} if ua else {})))


def test_the_drain_keeps_the_latest_human_open_and_click(contact, other_contact):
    hit(f"/t/o/{open_token(1, contact.pk)}.gif")
    hit(f"/t/o/{open_token(1, other_contact.pk)}.gif", ua="Mozilla/5.0")  # privacy proxy
    drain_spool()
    first = kept()
    assert set(first) == {contact.pk} and first[contact.pk][1] is None
    hit(f"/t/o/{open_token(2, contact.pk)}.gif")
    hit(f"/t/c/{click_token(2, contact.pk, 'https://a.example/')}")
    hit(f"/t/c/{click_token(3, other_contact.pk, 'https://a.example/')}", ua=SCANNER)
    drain_spool()
    assert kept() == from_hits()
    assert kept()[contact.pk][0] > first[contact.pk][0]
    assert other_contact.pk not in kept()  # only machines' hits: no row


def test_clicks_found_to_be_a_scanners_later_stop_counting(contact):
    hit(f"/t/c/{click_token(9, contact.pk, 'https://a.example/0')}")
    drain_spool()
    assert kept()[contact.pk][1] is not None
    for i in range(1, 4):  # every link of the message within a blink: a scanner's
        hit(f"/t/c/{click_token(9, contact.pk, f'https://a.example/{i}')}")
    drain_spool()
    assert not TrackingEvent.objects.filter(machine=False).exists()
    assert kept() == from_hits() == {}


def test_a_merge_gives_the_survivor_the_later_of_both(contact, other_contact):
    from peyvand.contacts.actions import do_merge_contacts

    hit(f"/t/o/{open_token(1, contact.pk)}.gif")
    drain_spool()
    hit(f"/t/c/{click_token(2, other_contact.pk, 'https://a.example/')}")
    hit(f"/t/o/{open_token(2, other_contact.pk)}.gif")
    drain_spool()
    do_merge_contacts(Actor.system("test"), contact, [other_contact])
    assert set(kept()) == {contact.pk}
    assert kept() == from_hits()
    assert kept()[contact.pk][1] is not None


def test_an_erasure_keeps_the_times_and_a_rebuild_counts_the_same(contact, other_contact):
    from peyvand.contacts.actions import do_erase_contact

    hit(f"/t/o/{open_token(1, contact.pk)}.gif")
    hit(f"/t/c/{click_token(1, other_contact.pk, 'https://a.example/')}")
    drain_spool()
    before = kept()
    do_erase_contact(Actor.system("test"), contact)
    assert kept() == before == from_hits()
    LastEngagement.objects.all().delete()
    assert last_engagement.rebuild() == 2
    assert kept() == before


def test_recount_of_people_without_hits_removes_their_rows(contact):
    LastEngagement.objects.create(contact=contact, last_opened_at=None,
                                  last_clicked_at=None)
    last_engagement.recount([contact.pk, 0])
    assert kept() == {}
