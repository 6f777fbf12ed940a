"""A CSV import's tags fire TAG_ADDED_HOOKS (once per tag for the batch's new people, after
the batch commits), so tag_added journeys take the people an import tags."""

from __future__ import annotations

import functools

import pytest

from peyvand.base.actor import Actor
from peyvand.imports.contacts import import_contacts
from peyvand.journeys.models import Enrolment
from peyvand.journeys.triggers import on_tag_added
from tests.imports.conftest import import_dir, write_csv  # noqa: F401 (fixtures)
from tests.journeys.conftest import steps

pytestmark = pytest.mark.django_db
WAIT = {"type": "wait", "days": 1}


def test_an_import_enrols_the_people_it_tags(live, make_contact, write_csv,  # noqa: F811
                                             import_dir,  # noqa: F811
                                             django_capture_on_commit_callbacks):
    vip = live(steps(WAIT, trigger={"type": "tag_added", "tag": "vip"}))
    fair = live(steps(WAIT, trigger={"type": "tag_added", "tag": "fair"}))
    known = make_contact("known@example.com")
    path = write_csv([["email", "tags"], ["a@example.com", "vip"], ["b@example.com", "vip"],
                      ["c@example.com", ""], ["known@example.com", "vip"]])
    with django_capture_on_commit_callbacks(execute=False) as calls:
        import_contacts(Actor.operator(), path, tag="fair")
    hooks = [c for c in calls if isinstance(c, functools.partial) and c.func is on_tag_added]
    # New people: one call per tag for the batch; the known person: their upsert's own call.
    new_calls = [c for c in hooks if known.pk not in c.args[0]]
    assert sorted(len(c.args[0]) for c in new_calls) == [2, 3]  # vip: a, b; fair: a, b, c
    for callback in calls:
        callback()
    people = dict(Enrolment.objects.filter(journey=vip).values_list("contact__identities__value",
                                                                     "journey_id"))
    assert sorted(people) == ["a@example.com", "b@example.com", "known@example.com"]
    assert Enrolment.objects.filter(journey=fair).count() == 4
    assert {e.data["source"] for e in Enrolment.objects.filter(journey=vip)} == {
        "tag_added:vip"}


def test_a_second_run_adds_no_tag_and_enrols_nobody_again(live, write_csv,  # noqa: F811
                                                          import_dir,  # noqa: F811
                                                          django_capture_on_commit_callbacks):
    journey = live(steps(WAIT, trigger={"type": "tag_added", "tag": "vip"}),
                   re_entry="always")
    path = write_csv([["email", "tags"], ["a@example.com", "vip"]])
    with django_capture_on_commit_callbacks(execute=True):
        import_contacts(Actor.operator(), path)
    with django_capture_on_commit_callbacks(execute=True) as calls:
        import_contacts(Actor.operator(), path)
    assert not [c for c in calls if isinstance(c, functools.partial)
                and c.func is on_tag_added]
    assert Enrolment.objects.filter(journey=journey).count() == 1
