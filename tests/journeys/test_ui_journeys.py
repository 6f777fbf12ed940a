"""The journey pages: the list with its counts, one journey's published steps as a flow with
their counts and conversions, publish / pause, enrolling by number, and the draft's JSON with
its faults named by path (issue 18, item 8)."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from peyvand.journeys.actions import enrol
from peyvand.journeys.models import Enrolment, Journey
from peyvand.journeys.runner import run_due
from tests.journeys.conftest import steps
from tests.messaging.conftest import client_for  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db
E = Enrolment.State
FLOW = steps({"type": "send", "template": "hello", "best_hour": True},
             {"type": "wait", "days": 2},
             {"type": "tag", "add": "welcomed"},
             goal={"field": "contact.tags", "op": "has", "value": "buyer"})


@pytest.fixture
def journey(live, make_contact):
    journey = live(FLOW)
    people = [make_contact() for _ in range(3)]
    for person in people:
        enrol(journey, person.pk, "test")
    run_due("w1")  # each sent and waited: at s3 now, due in two days
    # One of them reached the goal meanwhile; one left the journey at s3.
    Enrolment.objects.filter(contact=people[0]).update(state=E.DONE, exit_reason="goal")
    Enrolment.objects.filter(contact=people[1]).update(state=E.EXITED, exit_reason="erased")
    return journey


@pytest.mark.parametrize("language", ["fa", "en"])
def test_the_list_shows_status_version_and_counts(journey, client_for, language):  # noqa: F811
    page = client_for("analyst", language).get("/journeys/")
    assert page.status_code == 200
    [row] = page.context["rows"]
    assert (row["journey"].pk, row["version"]) == (journey.pk, 1)
    assert row["counts"] == {"active": 1, "waiting": 0, "done": 1, "exited": 1, "failed": 0}
    assert f'data-journey="{journey.pk}"'.encode() in page.content
    assert b'id="new-journey"' not in page.content  # an analyst does not write journeys


def test_the_list_reads_counts_in_a_fixed_number_of_queries(live, client_for):  # noqa: F811
    client = client_for("owner")
    live(FLOW)
    with CaptureQueriesContext(connection) as one:
        client.get("/journeys/")
    for _ in range(4):
        live(FLOW)
    with CaptureQueriesContext(connection) as five:
        assert len(client.get("/journeys/").context["rows"]) == 5
    assert len(five) == len(one)


def test_empty_list_and_a_new_draft(client_for):  # noqa: F811
    marketer = client_for("marketer", "fa")
    assert b'id="no-journeys"' in marketer.get("/journeys/").content
    made = marketer.post("/journeys/new/", {"name": "Welcome"})
    journey = Journey.objects.get()
    assert made.status_code == 302 and made["Location"] == f"/journeys/{journey.pk}/"
    assert journey.status == "draft" and journey.created_by
    page = marketer.get(made["Location"])
    assert b'id="no-steps"' in page.content and b'id="publish-journey"' not in page.content
    assert marketer.post("/journeys/new/", {"name": " "}).status_code == 302
    assert Journey.objects.count() == 1


@pytest.mark.parametrize("language", ["fa", "en"])
def test_the_flow_in_order_with_counts_and_conversions(journey, client_for,  # noqa: F811
                                                       language):
    page = client_for("owner", language).get(f"/journeys/{journey.pk}/")
    assert page.status_code == 200
    flow = page.context["flow"]
    assert flow["version"].number == 1
    assert [(s["node"], s["type"]) for s in flow["steps"]] == [
        ("s1", "send"), ("s2", "wait"), ("s3", "tag")]
    s1, s2, s3 = flow["steps"]
    assert (s1["done"], s1["conversions"]) == (3, 1)
    assert (s2["done"], s2["waiting"], s2["exited"], s2["conversions"]) == (3, 0, 0, 1)
    assert (s3["done"], s3["waiting"], s3["exited"], s3["conversions"]) == (0, 1, 1, 0)
    html = page.content.decode()
    assert html.index('data-node="s1"') < html.index('data-node="s2"') < html.index(
        'data-node="s3"')
    assert 'id="publish-journey"' in html and 'id="pause-journey"' in html
    assert "hello" in s1["summary"]


def test_publish_and_pause_are_the_owners(journey, client_for):  # noqa: F811
    marketer, owner = client_for("marketer"), client_for("owner")
    page = marketer.get(f"/journeys/{journey.pk}/")
    assert b'id="pause-journey"' not in page.content and b'id="enrol-people"' in page.content
    assert marketer.post(f"/journeys/{journey.pk}/pause/").status_code == 403
    assert owner.post(f"/journeys/{journey.pk}/pause/").status_code == 302
    assert Journey.objects.get(pk=journey.pk).status == "paused"
    owner.post(f"/journeys/{journey.pk}/publish/")
    journey.refresh_from_db()
    assert journey.status == "live" and journey.versions.count() == 1  # nothing changed


def test_enrol_by_number(journey, client_for, make_contact):  # noqa: F811
    a, b = make_contact(), make_contact()
    marketer = client_for("marketer", "fa")
    numbers = f"{a.pk}, {b.pk}".translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    done = marketer.post(f"/journeys/{journey.pk}/enrol/", {"contacts": numbers + " 999999"},
                         follow=True)
    assert done.status_code == 200
    assert set(Enrolment.objects.filter(journey=journey, contact__in=[a, b])
               .values_list("contact_id", flat=True)) == {a.pk, b.pk}
    assert [str(m) for m in done.context["messages"]]
    assert client_for("support").post(f"/journeys/{journey.pk}/enrol/",
                                      {"contacts": str(a.pk)}).status_code == 403


def test_the_draft_editor_names_the_fault_by_path(journey, client_for):  # noqa: F811
    marketer = client_for("marketer", "en")
    url = f"/journeys/{journey.pk}/definition/"
    broken = json.loads(json.dumps(FLOW))
    broken["steps"]["s2"]["next"] = "nowhere"
    refused = marketer.post(url, {"definition": json.dumps(broken)})
    assert refused.status_code == 400
    assert list(refused.context["errors"]) == ["steps.s2.next"]
    assert b'data-path="steps.s2.next"' in refused.content
    assert b"nowhere" in refused.content  # the text written is shown again
    bad_json = marketer.post(url, {"definition": "{\"start\": "})
    assert bad_json.status_code == 400 and list(bad_json.context["errors"]) == ["definition"]
    assert Journey.objects.get(pk=journey.pk).definition == FLOW
    fixed = json.loads(json.dumps(FLOW))
    fixed["steps"]["s3"]["add"] = "welcomed-2"
    saved = marketer.post(url, {"definition": json.dumps(fixed)})
    assert saved.status_code == 302
    assert Journey.objects.get(pk=journey.pk).definition == fixed
    analyst = client_for("analyst")
    assert analyst.post(url, {"definition": "{}"}).status_code == 403
    assert b'id="definition-view"' in analyst.get(f"/journeys/{journey.pk}/").content
