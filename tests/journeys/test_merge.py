"""Merging contacts moves the merged one's enrolments to the survivor; where both run in a
journey the merged run ends ("merged"); rotations are numbered again, unique per journey."""

from __future__ import annotations

import pytest

from peyvand.contacts.actions import do_merge_contacts
from peyvand.contacts.hooks import MERGE_HOOKS
from peyvand.contacts.models import TimelineEvent
from peyvand.journeys.actions import enrol
from peyvand.journeys.merge import move_enrolments
from peyvand.journeys.models import Enrolment, StepRun
from peyvand.journeys.runner import run_due
from tests.journeys.conftest import steps

pytestmark = pytest.mark.django_db
E = Enrolment.State
LONG = steps({"type": "tag", "add": "in"}, {"type": "wait", "days": 3},
             {"type": "tag", "add": "out"})
QUICK = steps({"type": "tag", "add": "quick"})


def rows(contact):
    return sorted(Enrolment.objects.filter(contact=contact).values_list(
        "journey_id", "rotation", "state", "exit_reason"))


def test_the_hook_is_registered():
    assert move_enrolments in MERGE_HOOKS


def test_merge_moves_ends_and_renumbers(live, make_contact, system):
    both = live(LONG)
    only_theirs = live(LONG)
    history = live(QUICK, re_entry="always")
    survivor, merged = make_contact(), make_contact()
    kept, _ = enrol(both, survivor.pk, "t")
    gone, _ = enrol(both, merged.pk, "t")
    moved, _ = enrol(only_theirs, merged.pk, "t")
    for person in (merged, survivor, merged):  # finished runs on both sides
        enrol(history, person.pk, "t")
        run_due("w1")
    runs_before = StepRun.objects.filter(enrolment=moved).count()
    do_merge_contacts(system, survivor, [merged])
    assert not Enrolment.objects.filter(contact_id=merged.pk).exists()
    assert rows(survivor) == sorted([
        (both.pk, 1, E.EXITED, "merged"), (both.pk, 2, E.ACTIVE, ""),
        (only_theirs.pk, 1, E.ACTIVE, ""),
        (history.pk, 1, E.DONE, "completed"), (history.pk, 2, E.DONE, "completed"),
        (history.pk, 3, E.DONE, "completed")])
    kept.refresh_from_db()
    gone.refresh_from_db()
    assert (kept.state, kept.rotation) == (E.ACTIVE, 2)  # the running one is the latest
    assert (gone.state, gone.next_run_at, gone.lease_owner) == (E.EXITED, None, "")
    assert StepRun.objects.filter(enrolment=moved).count() == runs_before  # history kept
    left = TimelineEvent.objects.get(contact=survivor, kind="journey.left",
                                     data__reason="merged")
    assert left.data["journey"] == both.pk
    # The survivor's running enrolment stops a new entry; the moved one runs on.
    assert enrol(both, survivor.pk, "t")[1] == "already_in"
    assert enrol(only_theirs, survivor.pk, "t")[1] == "already_in"
    assert enrol(history, survivor.pk, "t")[0].rotation == 4


def test_a_merged_contact_without_enrolments_changes_nothing(live, make_contact, system):
    journey = live(LONG)
    survivor, merged = make_contact(), make_contact()
    enrol(journey, survivor.pk, "t")
    do_merge_contacts(system, survivor, [merged])
    assert rows(survivor) == [(journey.pk, 1, E.ACTIVE, "")]
