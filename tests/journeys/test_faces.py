"""The API and the CLI of journeys."""

from __future__ import annotations

import json

import pytest

from peyvand.journeys.models import Enrolment, Journey
from tests.journeys.conftest import steps
from tests.messaging.conftest import post

pytestmark = pytest.mark.django_db
DEFINITION = steps({"type": "send", "template": "hello"}, {"type": "wait", "hours": 2},
                   {"type": "tag", "add": "done"})


def test_draft_publish_enrol_report_through_the_api(api_for, template, make_contact):
    template("hello")
    owner, marketer, viewer = api_for("owner"), api_for("marketer"), api_for("analyst")
    made = post(marketer, "/api/v1/journeys", {"name": "Welcome", "definition": DEFINITION,
                                               "re_entry": "always"})
    assert made.status_code == 201, made.json()
    journey = made.json()
    assert (journey["status"], journey["version"]) == ("draft", None)
    url = f"/api/v1/journeys/{journey['id']}"
    bad = dict(DEFINITION, start="nowhere")
    refused = post(marketer, url, {"definition": bad}, method="patch")
    assert refused.status_code == 400 and "start" in refused.json()["errors"]
    assert post(marketer, f"{url}/publish", {}).status_code == 403  # the owner's call
    people = [make_contact(), make_contact()]
    early = post(marketer, f"{url}/enrol", {"contacts": [people[0].pk]})
    assert early.status_code == 409  # not live yet
    published = post(owner, f"{url}/publish", {})
    assert published.status_code == 200
    assert (published.json()["status"], published.json()["version"]) == ("live", 1)
    enrolled = post(marketer, f"{url}/enrol", {"contacts": [p.pk for p in people] + [999999]})
    assert enrolled.json() == {"enrolled": 2, "refused": {"no_contact": 1}}
    from peyvand.journeys.runner import run_due

    run_due("w")
    report = viewer.get(f"{url}/report").json()
    assert report["enrolments"]["active"] == 2
    assert {s["node"]: (s["waiting"], s["done"]) for s in report["steps"]} == {
        "s1": (0, 2), "s2": (0, 2), "s3": (2, 0)}
    mine = viewer.get(f"/api/v1/contacts/{people[0].pk}/journeys").json()
    assert [(j["name"], j["state"], j["node"], j["version"]) for j in mine] == [
        ("Welcome", "active", "s3", 1)]
    assert viewer.get("/api/v1/contacts/999999/journeys").status_code == 404
    paused = post(owner, f"{url}/pause", {})
    assert paused.json()["status"] == "paused"
    listed = viewer.get("/api/v1/journeys").json()
    assert listed["count"] == 1 and listed["items"][0]["name"] == "Welcome"


def test_cli_list_and_run_due(live, make_contact, capsys):
    from peyvand.cli import main
    from peyvand.journeys.actions import enrol

    journey = live(steps({"type": "tag", "add": "cli"}))
    enrol(journey, make_contact().pk, "t")
    assert main(["journeys", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(j["id"], j["status"], j["version"]) for j in listed] == [(journey.pk, "live", 1)]
    assert main(["journeys", "run-due", "--limit", "10"]) == 0
    assert capsys.readouterr().out.strip() == "claimed=1 steps=1"
    assert Enrolment.objects.get().state == "done"
    assert main(["journeys", "list"]) == 0
    assert "live" in capsys.readouterr().out
    assert Journey.objects.count() == 1


def test_the_tick_runs_until_nothing_is_due(live, make_contact):
    from peyvand.journeys.actions import enrol
    from peyvand.journeys.tasks import run_until_done

    journey = live(steps({"type": "tag", "add": "a"}, {"type": "tag", "add": "b"}))
    for _ in range(5):
        enrol(journey, make_contact().pk, "t")
    assert run_until_done("w", limit=2) == {"claimed": 5, "steps": 10}
    assert Enrolment.objects.filter(state="done").count() == 5
    assert run_until_done("w") == {"claimed": 0, "steps": 0}


def test_enrol_refuses_numbers_no_database_holds(live, make_contact, system):
    from peyvand.journeys.actions import do_enrol

    journey = live(steps({"type": "tag", "add": "a"}))
    assert do_enrol(system, journey, [2**70, -1, make_contact().pk]) == {
        "enrolled": 1, "refused": {"no_contact": 2}}
