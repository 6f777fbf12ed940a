"""Test mode: a dry run of a journey for one contact, time compressed (testrun.py): waits move
the clock on, a send asks the gate, a branch reads the person, a split shows its arm, a
wait_event follows its timeout (or the event, assumed), the goal ends it; and nothing is
written (issue 18, item 8)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.apps import apps

from peyvand.journeys.actions import do_save_journey
from peyvand.journeys.testrun import dry_arm, dry_run
from tests.messaging.conftest import client_for  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
DEFINITION = {
    "trigger": {"type": "manual"}, "start": "s1",
    "goal": {"field": "contact.tags", "op": "has", "value": "buyer"},
    "steps": {
        "s1": {"type": "send", "template": "hello", "next": "s2"},
        "s2": {"type": "wait", "days": 2, "next": "s3"},
        "s3": {"type": "wait_event", "event": "opened", "timeout": {"days": 3},
               "next": "s4", "timeout_next": "s5"},
        "s4": {"type": "branch", "rule": {"field": "contact.tags", "op": "has",
                                          "value": "vip"}, "yes": "s6", "no": "s7"},
        "s5": {"type": "split", "percent": 50, "a": "s6", "b": "s7"},
        "s6": {"type": "tag", "add": "engaged", "next": "s7"},
        "s7": {"type": "exit"}}}
APPS = ("journeys", "messaging", "contacts", "audiences", "tracking", "consent", "base")


def counts() -> dict[str, int]:
    return {m._meta.label: m.objects.count() for label in APPS
            for m in apps.get_app_config(label).get_models()}


@pytest.fixture
def person(make_contact, template):  # noqa: F811
    template("hello")
    return make_contact()


def test_the_timeout_way_with_the_clock_moved_on_and_nothing_written(person):
    before = counts()
    run = dry_run(person.pk, DEFINITION, now=NOW)
    assert counts() == before
    arm = dry_arm(person.pk, "s5", 1, 50)
    nodes = ["s1", "s2", "s3", "s5"] + (["s6"] if arm == "a" else []) + ["s7"]
    assert [r["node"] for r in run["rows"]] == nodes
    rows = {r["node"]: r for r in run["rows"]}
    assert rows["s1"]["outcome"] == "queued" and rows["s1"]["at"] == NOW
    assert "email" in rows["s1"]["reason"]
    assert rows["s2"]["reason"] == "Waits 2 days: the clock moves on."
    assert rows["s3"]["at"] == NOW + dt.timedelta(days=2)
    assert rows["s3"]["outcome"] == "timeout"
    assert rows["s3"]["reason"].startswith("If the event (opened) comes → s4; else after 3 "
                                           "days → s5.")
    assert rows["s5"]["at"] == NOW + dt.timedelta(days=5) and rows["s5"]["outcome"] == arm
    assert rows["s7"]["outcome"] == "exit" and run["at"] == NOW + dt.timedelta(days=5)


def test_assuming_the_event_follows_it_and_the_branch_reads_the_person(person, system):
    from peyvand.contacts.actions import do_tag_contacts

    run = dry_run(person.pk, DEFINITION, assume_events=True, now=NOW)
    assert [(r["node"], r["outcome"]) for r in run["rows"]] == [
        ("s1", "queued"), ("s2", "waited"), ("s3", "event"), ("s4", "no"), ("s7", "exit")]
    assert run["at"] == NOW + dt.timedelta(days=2)
    do_tag_contacts(system, [person.pk], "vip")
    run = dry_run(person.pk, DEFINITION, assume_events=True, now=NOW)
    assert [(r["node"], r["outcome"]) for r in run["rows"]][3:] == [
        ("s4", "yes"), ("s6", "added"), ("s7", "exit")]
    assert run["rows"][4]["reason"] == "Would add the tag “engaged”."


def test_the_goal_ends_it_before_the_first_step(person, system):
    from peyvand.contacts.actions import do_tag_contacts

    do_tag_contacts(system, [person.pk], "buyer")
    run = dry_run(person.pk, DEFINITION, now=NOW)
    assert [(r["node"], r["outcome"]) for r in run["rows"]] == [("s1", "ended")]
    assert "goal" in run["end"]


def test_a_send_the_gate_refuses_says_why(make_contact, template):  # noqa: F811
    template("hello")
    nobody = make_contact(opt_in=())  # no consent to marketing e-mail
    row = dry_run(nobody.pk, DEFINITION, now=NOW)["rows"][0]
    assert row["outcome"] == "denied" and row["reason"].startswith("The gate refuses it")


def test_a_step_type_it_does_not_know_goes_on_by_its_first_way_out(person):
    definition = {"trigger": {"type": "manual"}, "start": "s1",
                  "steps": {"s1": {"type": "task", "next": "s2"}, "s2": {"type": "exit"}}}
    run = dry_run(person.pk, definition, now=NOW)
    assert [(r["node"], r["outcome"]) for r in run["rows"]] == [
        ("s1", "not_simulated"), ("s2", "exit")]


@pytest.mark.parametrize("language", ["fa", "en"])
def test_the_page_finds_a_contact_and_shows_the_run(person, system, client_for,  # noqa: F811
                                                    language):
    journey = do_save_journey(system, {"name": "T", "definition": DEFINITION})
    client = client_for("marketer", language)
    found = client.get(f"/journeys/{journey.pk}/test/", {"q": person.first_name})
    assert [c.pk for c in found.context["found"]] == [person.pk]
    before = counts()
    page = client.get(f"/journeys/{journey.pk}/test/",
                      {"contact": person.pk, "version": "draft", "assume": "1"})
    assert counts() == before
    assert [r["node"] for r in page.context["result"]["rows"]] == ["s1", "s2", "s3", "s4",
                                                                   "s7"]
    assert b'id="test-result"' in page.content and b'data-outcome="queued"' in page.content


def test_a_published_version_uses_its_frozen_words(live, person):
    journey = live(DEFINITION)
    version = journey.versions.get()
    run = dry_run(person.pk, version.definition, snapshots=version.snapshots, now=NOW)
    assert run["rows"][0]["outcome"] == "queued"
    missing = dry_run(person.pk, {**DEFINITION, "steps": {
        **DEFINITION["steps"], "s1": {"type": "send", "template": "gone", "next": "s2"}}},
        now=NOW)
    assert missing["rows"][0]["outcome"] == "no_template"
