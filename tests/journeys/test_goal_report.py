"""Conversion to the goal against the holdout (queries.goal_report, the journey page and
GET /api/v1/journeys/{id}/report): planted enrolments, exact counts, and the 95% interval of
the difference checked against a hand computation (issue 18, item 8)."""

from __future__ import annotations

import math

import pytest
from django.utils import timezone

from peyvand.journeys.models import Enrolment
from peyvand.journeys.queries import Z95, goal_report
from tests.messaging.conftest import api_for, client_for  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db
GOAL = {"field": "contact.tags", "op": "has", "value": "buyer"}
SPLIT = {"trigger": {"type": "manual"}, "start": "s1", "goal": GOAL, "steps": {
    "s1": {"type": "split", "percent": 20, "a": "s4", "b": "s2"},  # a: the holdout
    "s2": {"type": "send", "template": "hello", "next": "s3"},
    "s3": {"type": "wait", "days": 7, "next": "s4"},
    "s4": {"type": "exit"}}}


def plant(journey, make_contact, system, arm, people, by_exit, by_tag_now):
    """`people` enrolments on `arm`: `by_exit` left on reaching the goal, `by_tag_now` more
    meet it now (tagged buyer), the rest did not convert."""
    from peyvand.contacts.actions import do_tag_contacts

    version = journey.versions.get()
    for i in range(people):
        contact = make_contact()
        reason = "goal" if i < by_exit else "exit"
        Enrolment.objects.create(journey=journey, version=version, contact=contact, node="s4",
                                 state="done", exit_reason=reason, entered_at=timezone.now(),
                                 data={"arms": {"s1": arm} if arm else {}})
        if by_exit <= i < by_exit + by_tag_now:
            do_tag_contacts(system, [contact.pk], "buyer")


def test_the_z_value_is_scipys():
    from scipy.stats import norm

    assert abs(Z95 - norm.ppf(0.975)) < 1e-12


def test_per_arm_the_lift_and_its_interval(live, make_contact, system):
    journey = live(SPLIT)
    plant(journey, make_contact, system, "b", 50, 4, 2)  # journey: 6 of 50 = 12%
    plant(journey, make_contact, system, "a", 40, 3, 0)  # holdout: 3 of 40 = 7.5%
    report = goal_report(journey)
    assert report["split"] == "s1"
    assert report["journey"] == {"arm": "b", "people": 50, "converted": 6, "rate": 0.12}
    assert report["holdout"] == {"arm": "a", "people": 40, "converted": 3, "rate": 0.075}
    assert report["overall"]["people"] == 90 and report["overall"]["converted"] == 9
    # By hand: se = √(0.12·0.88/50 + 0.075·0.925/40) = √0.003846375 = 0.0620192…
    se = math.sqrt(0.0021120 + 0.00173437500)
    assert se == pytest.approx(0.0620192, abs=1e-7)
    assert report["difference"] == pytest.approx(0.045)
    assert report["low"] == pytest.approx(0.045 - 1.959964 * se, abs=1e-6)  # −0.07655…
    assert report["high"] == pytest.approx(0.045 + 1.959964 * se, abs=1e-6)  # +0.16656…
    assert report["ratio"] == pytest.approx(1.6)


def test_the_page_says_it_in_words(live, make_contact, system, client_for):  # noqa: F811
    journey = live(SPLIT)
    plant(journey, make_contact, system, "b", 50, 4, 2)
    plant(journey, make_contact, system, "a", 40, 3, 0)
    page = client_for("analyst").get(f"/journeys/{journey.pk}/")
    assert page.context["goal"]["words"] == (
        "The journey's arm converted 12.0% vs 7.5% for the holdout: +4.5 points, 95% "
        "interval -7.7 to +16.7.")
    assert b'data-arm="holdout"' in page.content


def test_without_a_split_the_overall_rate_and_why_no_holdout(live, make_contact, system,
                                                             client_for, api_for):  # noqa: F811
    journey = live({"trigger": {"type": "manual"}, "start": "s1", "goal": GOAL,
                    "steps": {"s1": {"type": "wait", "days": 1}}})
    plant(journey, make_contact, system, None, 4, 1, 0)
    report = goal_report(journey)
    assert report["overall"] == {"people": 4, "converted": 1, "rate": 0.25}
    assert report["journey"] is None and report["split"] is None
    page = client_for("analyst", "en").get(f"/journeys/{journey.pk}/")
    assert "needs a split step" in page.context["goal"]["words"]
    body = api_for("analyst-2").get(f"/api/v1/journeys/{journey.pk}/report").json()
    assert body["goal"]["overall"] == {"arm": None, "people": 4, "converted": 1, "rate": 0.25}
    assert body["goal"]["holdout"] is None


def test_the_api_reports_the_arms(live, make_contact, system, api_for):  # noqa: F811
    journey = live(SPLIT)
    plant(journey, make_contact, system, "b", 5, 1, 0)
    plant(journey, make_contact, system, "a", 5, 0, 0)
    api = api_for("analyst")
    body = api.get(f"/api/v1/journeys/{journey.pk}/report").json()
    assert body["goal"]["journey"]["converted"] == 1 and body["goal"]["holdout"]["rate"] == 0
    assert body["goal"]["ratio"] is None  # the holdout converted no one
    no_goal = live({"trigger": {"type": "manual"}, "start": "s1",
                    "steps": {"s1": {"type": "exit"}}})
    assert api.get(f"/api/v1/journeys/{no_goal.pk}/report").json()["goal"] is None


def test_the_report_reads_a_fixed_number_of_queries(live, make_contact, system):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    journey = live(SPLIT)
    plant(journey, make_contact, system, "b", 2, 1, 0)
    with CaptureQueriesContext(connection) as few:
        goal_report(journey)
    plant(journey, make_contact, system, "a", 12, 2, 3)
    with CaptureQueriesContext(connection) as more:
        assert goal_report(journey)["holdout"]["converted"] == 5
    assert len(more) == len(few)
