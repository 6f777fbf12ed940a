"""The counters the drain keeps per sending agree with a recount of the events, whatever
happens to the hits after they were stored: repeated opens, machines, bursts flagged in a
later drain, retried batches, racing drains, erasure, merge, a rebuild."""

from __future__ import annotations

import datetime as dt
import threading
from types import SimpleNamespace

import pytest
from django.db import connection, transaction

from peyvand.base.actor import Actor
from peyvand.contacts.actions import do_erase_contact, do_merge_contacts
from peyvand.tracking import counters, events
from peyvand.tracking.counters import read, rebuild_counters, recount
from peyvand.tracking.models import (
    LinkTally,
    MessageTally,
    SourceCounter,
    SourceLink,
    TrackingEvent,
)

from .report_data import APPLE_PROXY, SCANNER, drain, hit, message, minutes, person

pytestmark = pytest.mark.django_db
SOURCE = "broadcast:1"


def agree(source: str = SOURCE) -> dict:
    counted = read([source])
    assert counted == recount(source)
    return counted


@pytest.fixture
def sending():
    """Four recipients of one sending and one of another."""
    people = [person("Sara"), person("Ali", zone="Europe/London"), person("Mina"),
              person("Reza")]
    msgs = [message(p) for p in people]
    other = message(people[0], source="broadcast:2")
    return people, msgs, other


def test_opens_and_clicks_are_counted_as_the_recount_counts_them(sending):
    people, (sara, ali, mina, reza), other = sending
    drain(hit("open", sara, minutes(0)), hit("open", sara, minutes(5)),  # one person twice
          hit("open", ali, minutes(0), ua=APPLE_PROXY),  # a machine only
          hit("open", mina, minutes(1), ua=APPLE_PROXY),
          hit("click", sara, minutes(6), url="https://shop.example/tea"),
          hit("click", sara, minutes(7), url="https://shop.example/tea"),
          hit("click", ali, minutes(8), url="https://shop.example/tea", ua=SCANNER),
          hit("click", other, minutes(9), url="https://shop.example/other"))
    counted = agree()
    assert (counted["opens"], counted["human_opens"]) == (4, 2)
    assert (counted["opened"], counted["machine_opened"]) == (1, 2)
    assert (counted["clicks"], counted["human_clicks"], counted["clicked"]) == (3, 2, 1)
    assert counted["links"] == [{"url": "https://shop.example/tea", "clicks": 2, "unique": 1}]
    # Sara reads in Tehran (08:00 UTC is 11:30 there): her two opens are at 11 local.
    assert counted["hours"]["open"][11] == 2 and sum(counted["hours"]["open"]) == 2
    assert counted["hours"]["click"][11] == 2

    # Mina opens it herself later: no longer opened by a machine only.
    drain(hit("open", mina, minutes(90)))
    counted = agree()
    assert (counted["opened"], counted["machine_opened"]) == (2, 1)
    assert counted["hours"]["open"][13] == 1  # 09:30 UTC is 13:00 in Tehran
    assert agree("broadcast:2")["clicked"] == 1


def test_local_hour_follows_the_person_time_zone(sending):
    _people, (_sara, ali, *_rest), _other = sending
    drain(hit("open", ali, minutes(0)))
    assert TrackingEvent.objects.get().local_hour == 8  # London, winter: UTC
    assert agree()["hours"]["open"][8] == 1


def test_a_burst_found_in_a_later_drain_takes_its_clicks_back(sending):
    _people, (sara, ali, *_rest), _other = sending
    start = minutes(30)
    drain(hit("click", sara, start, url="https://shop.example/a"),
          hit("click", sara, start + dt.timedelta(seconds=0.5), url="https://shop.example/b"),
          hit("click", ali, start, url="https://shop.example/a"))
    before = agree()
    assert (before["human_clicks"], before["clicked"]) == (3, 2)
    # A third link within 2 s: a scanner followed them all, the first two included.
    drain(hit("click", sara, start + dt.timedelta(seconds=1), url="https://shop.example/c"))
    after = agree()
    assert TrackingEvent.objects.filter(machine_reason="all-links").count() == 3
    assert (after["clicks"], after["human_clicks"], after["clicked"]) == (4, 1, 1)
    assert after["links"] == [{"url": "https://shop.example/a", "clicks": 1, "unique": 1}]
    assert after["hours"]["click"][11] == 0 and after["hours"]["click"][8] == 1


def test_a_hit_flagged_by_another_drain_meanwhile_is_not_taken_back_twice(sending):
    """Two drains finding the same burst both flag the stored clicks: the second reads them
    again under a row lock, finds them flagged and changes nothing."""
    _people, (sara, *_rest), _other = sending
    drain(hit("click", sara, minutes(1), url="https://shop.example/a"))
    stale = list(TrackingEvent.objects.all())  # what the second drain read, still human
    events._reflag(stale)
    once = agree()
    events._reflag(stale)
    assert agree() == once
    assert (once["human_clicks"], once["clicked"], once["links"]) == (0, 0, [])


def test_a_retried_batch_counts_nothing_twice(sending):
    _people, (sara, *_rest), _other = sending
    rows = (hit("open", sara, minutes(0)), hit("click", sara, minutes(1), url="https://x.example/"))
    assert drain(*rows) == 2
    assert drain(*rows) == 0  # the drain stopped before saving its offset: read again
    counted = agree()
    assert (counted["opens"], counted["clicks"], counted["opened"], counted["clicked"]) == (
        1, 1, 1, 1)


def test_hits_on_unknown_messages_are_not_counted(sending):
    _people, (sara, *_rest), _other = sending
    ghost = SimpleNamespace(pk=10_000_000, contact_id=sara.contact_id)
    drain(hit("open", ghost, minutes(0)))
    assert TrackingEvent.objects.count() == 1
    assert not SourceCounter.objects.exists() and not MessageTally.objects.exists()


def test_erasure_moves_the_person_clicks_to_an_empty_link(sending):
    people, (sara, ali, *_rest), _other = sending
    mine = "https://shop.example/account?u=sara@example.com"  # a link made for her
    drain(hit("click", sara, minutes(1), url="https://shop.example/tea"),
          hit("click", sara, minutes(9), url=mine),
          hit("click", ali, minutes(2), url="https://shop.example/tea"))
    do_erase_contact(Actor.system("test"), people[0])
    counted = agree()
    assert (counted["human_clicks"], counted["clicked"]) == (3, 2)
    assert counted["links"] == [
        {"url": "", "clicks": 2, "unique": 1},
        {"url": "https://shop.example/tea", "clicks": 1, "unique": 1}]
    # Nothing keeps her link, not even as a key: it named her.
    assert not SourceLink.objects.filter(url=mine).exists()
    assert not LinkTally.objects.filter(url_key=counters.url_key(mine)).exists()
    # Late hits of the erased person are stored without their link, and counted so.
    drain(hit("click", sara, minutes(20), url="https://shop.example/tea"))
    assert agree()["links"][0] == {"url": "", "clicks": 3, "unique": 1}


def test_merge_keeps_counts_and_drops_the_merged_copy_of_a_shared_message(sending):
    people, (sara, ali, mina, _reza), _other = sending
    drain(hit("open", sara, minutes(0)), hit("open", ali, minutes(0)),
          hit("click", ali, minutes(1), url="https://shop.example/"),
          hit("open", mina, minutes(2)))
    assert agree()["opened"] == 3
    # Sara and Ali are one person: Ali's copy of the sending is dropped by messaging (the
    # survivor's stays), so it stops counting; Mina merged into someone the sending did not
    # go to keeps hers.
    do_merge_contacts(Actor.system("test"), people[0], [people[1]])
    do_merge_contacts(Actor.system("test"), person("Neda"), [people[2]])
    counted = agree()
    assert (counted["opened"], counted["clicked"], counted["links"]) == (2, 0, [])


def test_rebuild_gives_back_the_same_counters(sending):
    people, (sara, ali, mina, _reza), other = sending
    drain(hit("open", sara, minutes(0)), hit("open", ali, minutes(0), ua=APPLE_PROXY),
          hit("click", mina, minutes(3), url="https://shop.example/a"),
          hit("click", other, minutes(4), url="https://shop.example/b"))
    before = {s: read([s]) for s in (SOURCE, "broadcast:2")}
    TrackingEvent.objects.filter(kind="open").update(local_hour=None)  # before hours were kept
    SourceCounter.objects.update(opened=99)
    assert rebuild_counters([SOURCE]) == 1
    assert read([SOURCE]) == before[SOURCE] == recount(SOURCE)
    MessageTally.objects.all().delete()
    assert rebuild_counters() == 2
    assert {s: read([s]) for s in before} == before


def test_two_sources_add_up(sending):
    _people, (sara, *_rest), other = sending
    url = "https://shop.example/a"
    drain(hit("click", sara, minutes(1), url=url), hit("click", other, minutes(2), url=url))
    both = read([SOURCE, "broadcast:2"])
    assert (both["clicked"], both["links"]) == (2, [{"url": url, "clicks": 2, "unique": 2}])


@pytest.mark.django_db(transaction=True)
def test_racing_drains_count_each_message_once():
    """Two drains store hits on the same messages at the same time, each the first human
    click of a message for all it can see: on PostgreSQL the second waits on the counters'
    rows the first holds, then its upsert returns the first's values, so a message is
    clicked once; on SQLite the second waits to begin."""
    sara, ali = person("Sara"), person("Ali")
    first, second = message(sara), message(ali)
    stored, release = threading.Event(), threading.Event()
    errors = []

    def run(rows, hold: bool) -> None:
        try:
            with transaction.atomic():
                events._store(rows)
                if hold:
                    stored.set()
                    release.wait(10)
        except Exception as exc:  # noqa: BLE001 - reported by the assert below
            errors.append(exc)
        finally:
            connection.close()

    a = threading.Thread(target=run, args=([hit("open", first, minutes(0)),
                                            hit("click", second, minutes(1), url="https://a/")],
                                           True))
    b = threading.Thread(target=run, args=([hit("click", first, minutes(2), url="https://b/"),
                                            hit("click", second, minutes(3), url="https://a/"),
                                            hit("open", second, minutes(4), ua=APPLE_PROXY)],
                                           False))
    a.start()
    assert stored.wait(10)
    b.start()
    b.join(0.5)  # b is waiting for a's rows (or a's write lock on SQLite)
    assert b.is_alive()
    release.set()
    a.join(10)
    b.join(10)
    assert not errors
    counted = agree()
    assert (counted["opens"], counted["opened"], counted["machine_opened"]) == (2, 1, 1)
    assert (counted["clicks"], counted["clicked"]) == (3, 2)
    assert counted["links"] == [{"url": "https://a/", "clicks": 2, "unique": 1},
                                {"url": "https://b/", "clicks": 1, "unique": 1}]
