"""POST /api/v1/journeys/{id}/move-waiting: the owner moves running people to a version."""

from __future__ import annotations

import pytest

from peyvand.journeys.actions import do_publish, do_save_journey, enrol
from peyvand.journeys.models import Enrolment
from tests.journeys.conftest import steps
from tests.messaging.conftest import post

pytestmark = pytest.mark.django_db
V1 = steps({"type": "wait", "days": 1}, {"type": "tag", "add": "one"})
V2 = steps({"type": "wait", "days": 1}, {"type": "tag", "add": "two"})
V3 = steps({"type": "tag", "add": "three"})


def test_move_waiting_through_the_api(api_for, live, make_contact, system):
    from peyvand.journeys.runner import run_due

    journey = live(V1)
    person = make_contact()
    item, _ = enrol(journey, person.pk, "t")
    run_due("w")  # waiting at s2's timer, on version 1
    url = f"/api/v1/journeys/{journey.pk}/move-waiting"
    owner, marketer = api_for("owner"), api_for("marketer")
    assert post(marketer, url, {}).status_code == 403
    do_save_journey(system, {"definition": V2}, journey)
    do_publish(system, journey)
    moved = post(owner, url, {})  # to the latest
    assert moved.status_code == 200, moved.json()
    assert moved.json() == {"moved": 1, "version": 2}
    item.refresh_from_db()
    assert item.version.number == 2
    back = post(owner, url, {"version": 1})
    assert back.json() == {"moved": 1, "version": 1}
    missing = post(owner, url, {"version": 9})
    assert missing.status_code == 400 and "version" in missing.json()["errors"]
    do_save_journey(system, {"definition": V3}, journey)
    do_publish(system, journey)
    refused = post(owner, url, {"version": 3})  # no step s2 there
    assert refused.status_code == 409 and "s2" in refused.json()["errors"]["version"]
    assert Enrolment.objects.get(pk=item.pk).version.number == 1


def test_a_journey_never_published_has_no_version(api_for, system):
    journey = do_save_journey(system, {"name": "Draft"})
    answer = post(api_for("owner"), f"/api/v1/journeys/{journey.pk}/move-waiting", {})
    assert answer.status_code == 409
