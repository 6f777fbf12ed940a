"""The runner: each step type, exit conditions, idempotency, claims."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from peyvand.journeys.actions import enrol
from peyvand.journeys.models import Enrolment, StepRun
from peyvand.journeys.runner import claim, run_due, wake
from peyvand.messaging.models import OutboxMessage
from tests.journeys.conftest import steps

pytestmark = pytest.mark.django_db
E = Enrolment.State
SEND_WAIT_SEND = steps({"type": "send", "template": "hello"}, {"type": "wait", "days": 1},
                       {"type": "send", "template": "again"})


def later(item: Enrolment, **fields) -> None:
    """Time passes: the enrolment's timer (and timeout) are due now."""
    past = timezone.now() - dt.timedelta(seconds=1)
    Enrolment.objects.filter(pk=item.pk).update(next_run_at=past, **fields)


def sources(contact) -> list[str]:
    return list(OutboxMessage.objects.filter(contact=contact).order_by("id")
                .values_list("source", flat=True))


def test_send_wait_send_runs_each_step_once(live, make_contact):
    journey = live(SEND_WAIT_SEND)
    person = make_contact()
    item, reason = enrol(journey, person.pk, "test")
    assert reason == "ok"
    assert run_due("w1") == {"claimed": 1, "steps": 2}  # send, then the wait is set
    item.refresh_from_db()
    assert (item.state, item.node) == (E.ACTIVE, "s3")
    assert item.next_run_at > timezone.now() + dt.timedelta(hours=23)
    assert sources(person) == [f"journey:{item.pk}:s1:1"]
    row = OutboxMessage.objects.get(contact=person)
    assert (row.state, row.message_class, row.snapshot.template_name) == (
        "queued", "marketing", "hello")
    assert run_due("w1")["claimed"] == 0  # the timer is a row: nothing is due yet
    later(item)
    assert run_due("w1") == {"claimed": 1, "steps": 1}
    item.refresh_from_db()
    assert (item.state, item.exit_reason, item.lease_owner) == (E.DONE, "completed", "")
    assert len(sources(person)) == 2
    runs = list(StepRun.objects.filter(enrolment=item).values_list("node", "rotation",
                                                                   "outcome"))
    assert runs == [("s1", 1, "queued"), ("s2", 1, "waited"), ("s3", 1, "queued")]


def test_a_step_that_ran_is_never_run_again(live, make_contact):
    """A StepRun already recorded (a worker whose lease ran out finished it): the next
    worker moves on without its effect."""
    journey = live(SEND_WAIT_SEND)
    person = make_contact()
    item, _ = enrol(journey, person.pk, "test")
    StepRun.objects.create(enrolment=item, node="s1", rotation=1, started_at=timezone.now(),
                           finished_at=timezone.now(), outcome="queued",
                           detail={"next": "s2"})
    assert run_due("w1")["steps"] == 1  # only the wait ran
    item.refresh_from_db()
    assert item.node == "s3" and sources(person) == []
    assert StepRun.objects.filter(enrolment=item, node="s1").count() == 1


def test_a_lost_lease_runs_nothing(live, make_contact):
    journey = live(SEND_WAIT_SEND)
    person = make_contact()
    item, _ = enrol(journey, person.pk, "test")
    assert claim("w1", 10) == [item.pk]
    assert claim("w2", 10) == []  # leased
    Enrolment.objects.filter(pk=item.pk).update(lease_until=timezone.now()
                                                - dt.timedelta(seconds=1))
    assert run_due("w2")["steps"] == 2  # the lease ran out: w2 takes it
    from peyvand.journeys.runner import run_enrolment
    from peyvand.journeys.steps import Context

    assert run_enrolment(item.pk, "w1", Context(timezone.now())) == 0  # w1 holds nothing
    assert len(sources(person)) == 1


def test_unsubscribed_mid_journey_gets_no_further_send(live, make_contact):
    from peyvand.consent.ledger import Change, append

    journey = live(SEND_WAIT_SEND)
    person = make_contact()
    item, _ = enrol(journey, person.pk, "test")
    run_due("w1")
    append(person.pk, [Change("opt_out", "email")], source="preferences", actor_label="test")
    later(item)
    run_due("w1")
    item.refresh_from_db()
    assert item.state == E.EXITED and item.exit_reason.startswith("consent:")
    assert item.node == "s3" and len(sources(person)) == 1
    assert not StepRun.objects.filter(enrolment=item, node="s3").exists()


def test_unsubscribed_leaves_before_any_step_but_unconfirmed_goes_on(live, make_contact):
    """Before a step that sends nothing (a tag, a task), a person who withdrew from every
    channel the journey sends on leaves; one whose sign-up is not yet confirmed goes on."""
    from peyvand.consent.ledger import Change, append
    from peyvand.contacts.models import ContactTag

    journey = live(steps({"type": "tag", "add": "seen"}, {"type": "send", "template": "hi"}))
    gone, pending = make_contact(), make_contact(opt_in=())
    append(gone.pk, [Change("opt_out", "email")], source="preferences", actor_label="test")
    first, _ = enrol(journey, gone.pk, "test")
    second, _ = enrol(journey, pending.pk, "test")
    run_due("w1")
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.state == E.EXITED and first.exit_reason == "consent:opted_out"
    assert first.node == "s1" and not StepRun.objects.filter(enrolment=first).exists()
    assert not ContactTag.objects.filter(contact=gone, tag__name="seen").exists()
    assert ContactTag.objects.filter(contact=pending, tag__name="seen").exists()
    assert second.state == E.EXITED and second.node == "s2"  # refused where it would send
    assert not sources(pending)


def test_erased_and_goal_end_the_enrolment(live, make_contact):
    from peyvand.contacts.models import Contact

    vip = {"field": "contact.tags", "op": "has", "value": "vip"}
    journey = live(steps({"type": "wait", "hours": 1}, {"type": "send", "template": "hello"},
                         goal=vip))
    gone, winner = make_contact(), make_contact()
    first, _ = enrol(journey, gone.pk, "t")
    second, _ = enrol(journey, winner.pk, "t")
    run_due("w1")
    Contact.objects.filter(pk=gone.pk).update(erased_at=timezone.now())
    from peyvand.base.actor import Actor
    from peyvand.contacts.actions import do_tag_contacts

    do_tag_contacts(Actor.system("t"), [winner.pk], "vip")
    later(first)
    later(second)
    run_due("w1")
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.state, first.exit_reason) == (E.EXITED, "erased")
    assert (second.state, second.exit_reason) == (E.DONE, "goal")
    assert OutboxMessage.objects.count() == 0


def test_wait_event_wakes_on_the_open_of_its_message_or_times_out(live, make_contact):
    from peyvand.journeys.triggers import on_tracking_event

    journey = live({"trigger": {"type": "manual"}, "start": "s1", "steps": {
        "s1": {"type": "send", "template": "hello", "next": "w"},
        "w": {"type": "wait_event", "event": "opened", "timeout": {"days": 3},
              "next": "yes", "timeout_next": "no"},
        "yes": {"type": "tag", "add": "opener"},
        "no": {"type": "tag", "add": "sleeper"}}})
    opener, sleeper = make_contact(), make_contact()
    a, _ = enrol(journey, opener.pk, "t")
    b, _ = enrol(journey, sleeper.pk, "t")
    run_due("w1")
    a.refresh_from_db()
    assert (a.state, a.waiting_for, a.node) == (E.WAITING, "opened", "w")
    assert a.wait_until > timezone.now() + dt.timedelta(days=2)
    other = OutboxMessage.objects.get(contact=sleeper).pk
    assert wake(opener.pk, "opened", other) == 0  # not its message
    on_tracking_event(opener.pk, "opened", a.data["message"], False)
    a.refresh_from_db()
    assert (a.state, a.node) == (E.ACTIVE, "yes")
    later(b)  # b's timeout passes
    run_due("w1")
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.state, b.state) == (E.DONE, E.DONE)
    assert set(opener.tags.values_list("name", flat=True)) == {"opener"}
    assert set(sleeper.tags.values_list("name", flat=True)) == {"sleeper"}
    outcomes = dict(StepRun.objects.filter(node="w").values_list("enrolment_id", "outcome"))
    assert outcomes == {a.pk: "event", b.pk: "timeout"}


def test_branch_split_tag_and_exit(live, make_contact):
    vip = {"field": "contact.tags", "op": "has", "value": "vip"}
    journey = live({"trigger": {"type": "manual"}, "start": "b", "steps": {
        "b": {"type": "branch", "rule": vip, "yes": "all_a", "no": "none_a"},
        "all_a": {"type": "split", "percent": 100, "a": "tag_a", "b": "out"},
        "none_a": {"type": "split", "percent": 0, "a": "tag_a", "b": "tag_b"},
        "tag_a": {"type": "tag", "add": "arm-a", "next": "out"},
        "tag_b": {"type": "tag", "remove": "vip", "next": "out"},
        "out": {"type": "exit"}}})
    yes, no = make_contact(tags=["vip"]), make_contact()
    for person in (yes, no):
        enrol(journey, person.pk, "t")
    run_due("w1")
    rows = {e.contact_id: e for e in Enrolment.objects.all()}
    assert rows[yes.pk].data["arms"] == {"all_a": "a"}
    assert rows[no.pk].data["arms"] == {"none_a": "b"}
    assert all((e.state, e.exit_reason) == (E.DONE, "exit") for e in rows.values())
    assert set(yes.tags.values_list("name", flat=True)) == {"vip", "arm-a"}
    assert set(no.tags.values_list("name", flat=True)) == set()
    path = list(StepRun.objects.filter(enrolment=rows[yes.pk]).values_list("node", "outcome"))
    assert path == [("b", "yes"), ("all_a", "a"), ("tag_a", "added"), ("out", "exit")]


def test_split_arms_are_stable_and_near_the_percentage(live, make_contact):
    from peyvand.journeys.steps import arm_of

    items = [Enrolment(pk=i, node="s", data={}) for i in range(1, 2001)]
    arms = [arm_of(e, 10) for e in items]
    assert arms == [arm_of(e, 10) for e in items]
    assert 140 < arms.count("a") < 260


def test_no_address_goes_on_and_capped_skip(live, make_contact):
    from peyvand.contacts.models import Identity
    from peyvand.messaging.models import StrategyRule

    journey = live(steps({"type": "send", "template": "hello", "if_capped": "skip"},
                         {"type": "send", "template": "again"}))
    person, capped = make_contact(), make_contact()
    Identity.objects.filter(contact=person).delete()
    StrategyRule.objects.create(kind="spacing", spacing_minutes=600)
    OutboxMessage.objects.create(source="earlier", contact=capped, channel="email",
                                 to_address="x@example.com", message_class="marketing",
                                 state="sent", sent_at=timezone.now())
    for p in (person, capped):
        enrol(journey, p.pk, "t")
    run_due("w1")
    outcomes = list(StepRun.objects.order_by("enrolment_id", "id")
                    .values_list("enrolment__contact_id", "node", "outcome"))
    assert outcomes == [(person.pk, "s1", "no_address"), (person.pk, "s2", "no_address"),
                        (capped.pk, "s1", "skipped_capped"), (capped.pk, "s2", "queued")]
    assert Enrolment.objects.filter(state=E.DONE).count() == 2


def test_paused_journey_runs_nothing_until_published_again(live, make_contact, system):
    from peyvand.journeys.actions import do_pause, do_publish

    journey = live(SEND_WAIT_SEND)
    item, _ = enrol(journey, make_contact().pk, "t")
    do_pause(system, journey)
    assert run_due("w1")["claimed"] == 0
    assert enrol(journey, make_contact().pk, "t") == (None, "not_live")
    version = do_publish(system, journey)
    assert version.number == 1  # the draft did not change: no new version
    assert run_due("w1")["claimed"] == 1


def test_the_tracking_drain_wakes_a_waiting_enrolment(live, make_contact,
                                                      django_capture_on_commit_callbacks):
    import secrets

    from peyvand.tracking import events
    from peyvand.tracking.links import KIND_CLICK
    from tests.tracking.report_data import BROWSER

    journey = live(steps({"type": "send", "template": "hello"},
                         {"type": "wait_event", "event": "clicked", "timeout": {"days": 1},
                          "next": "s3", "timeout_next": "s3"},
                         {"type": "tag", "add": "clicker"}))
    person = make_contact()
    item, _ = enrol(journey, person.pk, "t")
    run_due("w1")
    sent = timezone.now() - dt.timedelta(hours=2)
    OutboxMessage.objects.filter(contact=person).update(state="sent", sent_at=sent)
    message = OutboxMessage.objects.get(contact=person)
    with django_capture_on_commit_callbacks(execute=True):
        events._store([(secrets.token_hex(16), KIND_CLICK, message.pk, person.pk,
                        int(sent.timestamp()), "https://shop.example/a", "", BROWSER,
                        timezone.now().timestamp())])
    item.refresh_from_db()
    assert (item.state, item.node) == (E.ACTIVE, "s3")
    run_due("w1")
    assert set(person.tags.values_list("name", flat=True)) == {"clicker"}


def test_a_step_that_raises_fails_alone(live, make_contact, monkeypatch):
    """One enrolment's effect raises: it fails with its step rolled back; the others of the
    same round go on, and a batch of sends that raises is sent one by one."""
    from peyvand.journeys import steps as steps_module

    journey = live(steps({"type": "tag", "add": "seen"}, {"type": "send", "template": "hello"}))
    people = [make_contact() for _ in range(3)]
    items = [enrol(journey, p.pk, "t")[0] for p in people]
    real_tag, real_many = steps_module._tag, steps_module.send_many

    def tag(item, *args):
        if item.pk == items[1].pk:
            raise RuntimeError("boom")
        return real_tag(item, *args)

    def many(batch, ctx):
        if len(batch) > 1:
            raise RuntimeError("the batch breaks")
        return real_many(batch, ctx)

    monkeypatch.setitem(steps_module.EFFECTS, "tag", tag)
    monkeypatch.setattr("peyvand.journeys.runner.send_many", many)
    assert run_due("w1") == {"claimed": 3, "steps": 4}
    states = {e.pk: (e.state, e.exit_reason, e.lease_owner) for e in Enrolment.objects.all()}
    assert states[items[1].pk] == (E.FAILED, "error", "")
    assert states[items[0].pk] == states[items[2].pk] == (E.DONE, "completed", "")
    assert not StepRun.objects.filter(enrolment=items[1]).exists()
    assert [len(sources(p)) for p in people] == [1, 0, 1]
    assert set(people[1].tags.values_list("name", flat=True)) == set()


def test_a_round_costs_the_same_queries_for_many_enrolments(live, make_contact):
    """The queries of a run do not grow with the enrolments claimed."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    journey = live(SEND_WAIT_SEND)
    counts = []
    for n in (2, 12):
        for _ in range(n):
            enrol(journey, make_contact().pk, "t")
        with CaptureQueriesContext(connection) as queries:
            assert run_due("w1") == {"claimed": n, "steps": 2 * n}
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert OutboxMessage.objects.count() == 14
