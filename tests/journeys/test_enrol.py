"""Enrolment: re-entry, max_active, versions (running people stay, an explicit move),
triggers, and two workers claiming at once."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from peyvand.base.errors import Invalid
from peyvand.journeys.actions import do_move_waiting, do_publish, do_save_journey, enrol
from peyvand.journeys.models import Enrolment
from peyvand.journeys.runner import claim, run_due
from tests.journeys.conftest import steps

E = Enrolment.State
ONE_STEP = steps({"type": "tag", "add": "seen"})


def finish_all() -> None:
    while run_due("w")["claimed"]:
        pass


@pytest.mark.django_db
def test_re_entry_never_after_days_always(live, make_contact):
    person = make_contact()
    never = live(ONE_STEP)
    assert enrol(never, person.pk, "t")[1] == "ok"
    assert enrol(never, person.pk, "t") == (None, "already_in")
    finish_all()
    assert enrol(never, person.pk, "t") == (None, "no_re_entry")

    after = live(ONE_STEP, re_entry="after_days", re_entry_days=30)
    first, _ = enrol(after, person.pk, "t")
    finish_all()
    assert enrol(after, person.pk, "t") == (None, "too_soon")
    Enrolment.objects.filter(pk=first.pk).update(
        entered_at=timezone.now() - dt.timedelta(days=31))
    second, reason = enrol(after, person.pk, "t")
    assert reason == "ok" and second.rotation == 2

    always = live(ONE_STEP, re_entry="always")
    for rotation in (1, 2, 3):
        item, _ = enrol(always, person.pk, "t")
        assert item.rotation == rotation
        finish_all()
    assert Enrolment.objects.filter(journey=always, state=E.DONE).count() == 3


@pytest.mark.django_db
def test_max_active(live, make_contact):
    journey = live(steps({"type": "wait", "days": 1}, {"type": "exit"}), max_active=2)
    people = [make_contact() for _ in range(3)]
    results = [enrol(journey, p.pk, "t")[1] for p in people]
    assert results == ["ok", "ok", "full"]


@pytest.mark.django_db
def test_settings_are_checked(system):
    with pytest.raises(Invalid) as caught:
        do_save_journey(system, {"name": "x", "re_entry": "after_days", "re_entry_days": 0})
    assert "re_entry_days" in caught.value.errors
    with pytest.raises(Invalid) as caught:
        do_save_journey(system, {"name": ""})
    assert "name" in caught.value.errors


@pytest.mark.django_db
def test_running_people_stay_on_their_version_until_moved(live, make_contact, system):
    v1 = steps({"type": "wait", "days": 1}, {"type": "tag", "add": "one"})
    journey = live(v1)
    early = make_contact()
    item, _ = enrol(journey, early.pk, "t")
    run_due("w")  # waits at s2 on version 1
    v2 = steps({"type": "wait", "days": 1}, {"type": "tag", "add": "two"})
    do_save_journey(system, {"definition": v2}, journey)
    second = do_publish(system, journey)
    assert second.number == 2
    late, _ = enrol(journey, make_contact().pk, "t")
    run_due("w")  # waits at s2 on version 2
    assert (late.version.number, Enrolment.objects.get(pk=item.pk).version.number) == (2, 1)

    v3 = {"trigger": {"type": "manual"}, "start": "a",
          "steps": {"a": {"type": "tag", "add": "three"}}}
    do_save_journey(system, {"definition": v3}, journey)
    third = do_publish(system, journey)
    with pytest.raises(Invalid) as caught:
        do_move_waiting(system, journey, third)
    assert "s2" in str(caught.value)  # names the step the new version lacks
    assert do_move_waiting(system, journey, second) == 1
    Enrolment.objects.filter(pk=item.pk).update(next_run_at=timezone.now())
    finish_all()
    assert set(early.tags.values_list("name", flat=True)) == {"two"}


@pytest.mark.django_db
def test_segment_triggers(live, make_contact, system, django_capture_on_commit_callbacks):
    from peyvand.audiences.actions import do_create_segment, refresh_segment
    from peyvand.contacts.actions import do_tag_contacts

    segment = do_create_segment(system, "VIPs", {"field": "contact.tags", "op": "has",
                                                 "value": "vip"})
    person = make_contact()
    refresh_segment(segment)  # the baseline: nobody entered
    entered = live(steps({"type": "wait", "days": 1}, {"type": "exit"},
                         trigger={"type": "segment_entered", "segment": segment.pk}))
    left = live(steps({"type": "tag", "add": "missed"},
                      trigger={"type": "segment_left", "segment": segment.pk}))
    do_tag_contacts(system, [person.pk], "vip")
    with django_capture_on_commit_callbacks(execute=True):
        refresh_segment(segment)
    item = Enrolment.objects.get(journey=entered, contact=person)
    assert item.data["source"] == f"segment_entered:{segment.pk}"
    run_due("w")
    do_tag_contacts(system, [person.pk], "vip", remove=True)
    with django_capture_on_commit_callbacks(execute=True):
        refresh_segment(segment)
    assert Enrolment.objects.filter(journey=left, contact=person).exists()
    Enrolment.objects.filter(pk=item.pk).update(next_run_at=timezone.now())
    finish_all()
    item.refresh_from_db()
    assert (item.state, item.exit_reason) == (E.EXITED, "left_segment")


@pytest.mark.django_db
def test_first_order_and_order_triggers_once_per_order(live, make_contact, system,
                                                      django_capture_on_commit_callbacks):
    from peyvand.commerce.actions import do_upsert_order

    make_contact(email="buyer@example.com")
    first = live(steps({"type": "tag", "add": "first"}, trigger={"type": "first_order"}),
                 re_entry="always")
    every = live(steps({"type": "tag", "add": "bought"}, trigger={"type": "order"}),
                 re_entry="always")

    def order(external_id: str, total: str = "1000") -> None:
        with django_capture_on_commit_callbacks(execute=True):
            do_upsert_order(system, {"external_id": external_id, "currency": "IRR",
                                     "total": total, "customer": {"email": "buyer@example.com"}})

    order("A1")
    finish_all()
    order("A1", "2000")  # the same order changed: nothing new
    finish_all()
    order("A2")
    assert Enrolment.objects.filter(journey=first).count() == 1
    assert Enrolment.objects.filter(journey=every).count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_workers_never_claim_the_same_enrolment(live, make_contact):
    if connection.vendor != "postgresql":
        pytest.skip("SKIP LOCKED is PostgreSQL's; SQLite serialises writers")
    journey = live(steps({"type": "wait", "days": 1}, {"type": "exit"}))
    Enrolment.objects.bulk_create([Enrolment(
        journey=journey, version=journey.versions.get(), contact=make_contact(opt_in=()),
        node="s1", next_run_at=timezone.now(), entered_at=timezone.now(),
        data={"visits": {"s1": 1}}) for _ in range(60)])
    taken: dict[str, list[int]] = {"a": [], "b": []}
    barrier = threading.Barrier(2)

    def work(name: str) -> None:
        barrier.wait()
        try:
            while ids := claim(name, 5):
                taken[name] += ids
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(n,)) for n in taken]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(taken["a"]) + len(taken["b"]) == 60
    assert not set(taken["a"]) & set(taken["b"])
