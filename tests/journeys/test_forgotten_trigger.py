"""F7 wired: the `forgotten` trigger (daily, from the journeys tick) and the list page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from peyvand.base.errors import Invalid
from peyvand.contacts.models import Contact
from peyvand.journeys.definition import check_definition
from peyvand.journeys.models import Enrolment, Journey
from peyvand.journeys.tasks import journeys_tick
from peyvand.journeys.triggers import enrol_forgotten
from peyvand.messaging.models import OutboxMessage
from tests.journeys.conftest import steps
from tests.messaging.conftest import client_for  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db
FORGOTTEN = {"type": "forgotten", "days": 90}


def old(contact, days: int = 200) -> None:
    Contact.objects.filter(pk=contact.pk).update(
        created_at=timezone.now() - dt.timedelta(days=days))


def sent(contact, days_ago: int) -> None:
    OutboxMessage.objects.create(
        source=f"test:{contact.pk}:{days_ago}", contact=contact, channel="email",
        to_address="x@example.com", message_class="marketing", state="sent",
        sent_at=timezone.now() - dt.timedelta(days=days_ago))


@pytest.fixture
def people(make_contact):
    quiet, mailed = make_contact(first_name="Quiet"), make_contact(first_name="Mailed")
    no_consent = make_contact(first_name="NoConsent", opt_in=())
    for one in (quiet, mailed, no_consent):
        old(one)
    sent(mailed, 10)
    return quiet, mailed, no_consent


def entered(journey) -> list[int]:
    return sorted(Enrolment.objects.filter(journey=journey).values_list("contact_id", flat=True))


def test_the_trigger_enrols_the_forgotten_once_a_day(live, people, monkeypatch):
    quiet, _mailed, _no_consent = people
    journey = live(steps({"type": "wait", "days": 30}, trigger=FORGOTTEN))
    now = timezone.now()
    assert enrol_forgotten(now) == {journey.pk: 1}
    assert entered(journey) == [quiet.pk]
    assert Enrolment.objects.get(journey=journey).data["source"] == "forgotten:90"
    assert enrol_forgotten(now + dt.timedelta(hours=5)) == {}  # the day is taken
    # A day later: still forgotten but already in the journey, so nobody new.
    assert enrol_forgotten(now + dt.timedelta(days=1, minutes=1)) == {journey.pk: 0}
    assert entered(journey) == [quiet.pk]


def test_re_entry_rules_apply(live, people):
    quiet = people[0]
    journey = live(steps({"type": "exit"}, trigger=FORGOTTEN))  # never: the default
    again = live(steps({"type": "exit"}, trigger=FORGOTTEN), re_entry="always")
    now = timezone.now()
    enrol_forgotten(now)
    Enrolment.objects.update(state=Enrolment.State.DONE, finished_at=now)
    later = now + dt.timedelta(days=2)
    assert enrol_forgotten(later) == {journey.pk: 0, again.pk: 1}
    assert Enrolment.objects.filter(journey=again, contact=quiet).count() == 2
    assert Enrolment.objects.filter(journey=journey, contact=quiet).count() == 1


def test_the_tick_runs_the_trigger_and_other_triggers_are_left_alone(live, people):
    journey = live(steps({"type": "wait", "days": 30}, trigger=FORGOTTEN))
    manual = live(steps({"type": "wait", "days": 30}))
    paused = live(steps({"type": "wait", "days": 30}, trigger=FORGOTTEN))
    Journey.objects.filter(pk=paused.pk).update(status=Journey.Status.PAUSED)
    journeys_tick.call_local()
    assert entered(journey) == [people[0].pk]
    assert entered(manual) == entered(paused) == []
    assert Journey.objects.get(pk=journey.pk).checked_at is not None


@pytest.mark.parametrize("days", [None, 0, 3651, "90", True])
def test_the_grammar_wants_the_days(days):
    trigger = {"type": "forgotten"} if days is None else {"type": "forgotten", "days": days}
    with pytest.raises(Invalid) as refused:
        check_definition(steps({"type": "exit"}, trigger=trigger), templates=False)
    assert list(refused.value.errors) == ["trigger.days"]


@pytest.mark.parametrize("language", ["fa", "en"])
def test_the_forgotten_page(people, client_for, language):  # noqa: F811
    quiet, mailed, _no_consent = people
    client = client_for("support", language)
    page = client.get("/journeys/forgotten/")
    assert page.status_code == 200
    rows = page.context["rows"]
    assert [r["contact"].pk for r in rows] == [quiet.pk] and rows[0]["last_sent"] is None
    assert f'data-contact="{quiet.pk}"'.encode() in page.content
    assert page.context["days"] == 90
    # 5 days: the one mailed 10 days ago is forgotten too, and shows when.
    five = client.get("/journeys/forgotten/?days=5")
    assert {r["contact"].pk for r in five.context["rows"]} == {quiet.pk, mailed.pk}
    assert [r["last_sent"] is not None for r in five.context["rows"]
            if r["contact"].pk == mailed.pk] == [True]
    assert client.get("/journeys/forgotten/?days=x").context["days"] == 90
    assert client.get("/journeys/forgotten/?days=0").context["days"] == 90
    sent(quiet, 1)
    empty = client.get("/journeys/forgotten/")
    assert b'id="no-forgotten"' in empty.content and not empty.context["rows"]
    assert f'<html lang="{language}"'.encode() in empty.content


def test_the_forgotten_page_pages(make_contact, client_for):  # noqa: F811
    made = [make_contact(first_name=f"P{i}") for i in range(53)]
    for one in made:
        old(one)
    client = client_for("owner", "en")
    first = client.get("/journeys/forgotten/?days=30")
    assert len(first.context["rows"]) == 50 and first.context["page"].paginator.count == 53
    second = client.get("/journeys/forgotten/?days=30&page=2")
    assert [r["contact"].pk for r in second.context["rows"]] == [m.pk for m in made[50:]]
    assert b"days=30" in first.content  # page links keep the filter
