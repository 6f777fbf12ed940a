"""The journey builder and test mode in Chromium, in Persian and English: a wait step edited
in place (a fault shown next to its field first, then saved), and a dry run for a contact
found by name.

Screenshots: test-artifacts/screens/journeys-builder-<lang>.png (a step's form open, with a
fault) and journeys-test-<lang>.png (a test-mode result).
"""

from __future__ import annotations

import pytest

from peyvand.journeys.models import Journey
from tests.fixtures.browser import chromium_missing

_missing = chromium_missing()
if _missing:
    pytest.skip(_missing, allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]
DEFINITION = {
    "trigger": {"type": "manual"}, "start": "s1",
    "goal": {"field": "contact.tags", "op": "has", "value": "buyer"},
    "steps": {"s1": {"type": "send", "template": "hello", "next": "s2"},
              "s2": {"type": "wait", "days": 2, "next": "s3"},
              "s3": {"type": "wait_event", "event": "opened", "timeout": {"days": 3},
                     "next": "s4", "timeout_next": "s4"},
              "s4": {"type": "tag", "add": "welcomed"}}}


def _world() -> Journey:
    from peyvand.base.actor import Actor
    from peyvand.consent.ledger import Change, append
    from peyvand.contacts.actions import do_create_contact
    from peyvand.journeys.actions import do_save_journey
    from peyvand.messaging.models import MessageTemplate

    MessageTemplate.objects.create(name="hello", language="fa", subject="سلام",
                                   html="<p>سلام</p>", message_class="marketing")
    contact = do_create_contact(Actor.system("test"), {
        "first_name": "Sara", "last_name": "Karimi", "email": "sara@example.com"})
    append(contact.pk, [Change("opt_in", "email", None)], source="preferences",
           actor_label="test")
    return do_save_journey(Actor.system("test"), {"name": "Welcome",
                                                  "definition": DEFINITION})


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_edit_a_wait_in_place_then_test_with_a_contact(page, live_server, sign_in, shot,
                                                       lang):
    journey = _world()
    base = live_server.url
    sign_in(page, lang, role="owner")
    page.goto(f"{base}/journeys/{journey.pk}/")

    page.click('summary[data-edit="s2"]')
    assert page.locator("#id_s2_amount").is_visible()
    page.fill("#id_s2_amount", "-1")
    page.click('[data-save="s2"]')
    assert page.locator("#id_s2_amount_error").is_visible()  # next to the field, form open
    page.locator("#step-s2").scroll_into_view_if_needed()
    shot(page, f"journeys-builder-{lang}")
    page.fill("#id_s2_amount", "5")
    page.select_option("#id_s2_unit", "hours")
    page.click('[data-save="s2"]')
    page.wait_for_url(f"{base}/journeys/{journey.pk}/#step-s2")
    journey.refresh_from_db()
    assert journey.definition["steps"]["s2"] == {"type": "wait", "hours": 5, "next": "s3"}
    summary = page.locator("#step-s2 .step-head strong").inner_text()
    assert ("۵" if lang == "fa" else "5 hours") in summary

    page.click("#test-journey")
    page.fill("#id_q", "Sara")
    page.click("#find-contact")
    page.click("#test-found a[data-contact]")
    rows = page.locator("#test-result tbody tr")
    expect(rows).to_have_count(4)  # s1 s2 s3 s4, then the journey ends (waits for the page)
    assert page.locator('#test-result tr[data-node="s1"]').get_attribute("data-outcome") \
        == "queued"
    assert page.locator('#test-result tr[data-node="s3"]').get_attribute("data-outcome") \
        == "timeout"
    shot(page, f"journeys-test-{lang}")


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_the_goal_against_the_holdout(page, live_server, sign_in, shot, lang):
    from django.utils import timezone

    from peyvand.base.actor import Actor
    from peyvand.contacts.actions import do_create_contact
    from peyvand.journeys.actions import do_publish, do_save_journey
    from peyvand.journeys.models import Enrolment

    journey = _world()
    definition = {**DEFINITION, "start": "s0", "steps": {
        **DEFINITION["steps"], "s0": {"type": "split", "percent": 50, "a": "s4", "b": "s1"}}}
    do_save_journey(Actor.system("test"), {"definition": definition}, journey)
    version = do_publish(Actor.system("test"), journey)
    for i, (arm, goal) in enumerate([("b", True)] * 3 + [("b", False)] * 7
                                    + [("a", True)] + [("a", False)] * 9):
        contact = do_create_contact(Actor.system("test"), {"first_name": f"P{i}",
                                                           "email": f"p{i}@example.com"})
        Enrolment.objects.create(journey=journey, version=version, contact=contact,
                                 node="s4", state="done", entered_at=timezone.now(),
                                 exit_reason="goal" if goal else "exit",
                                 data={"arms": {"s0": arm}})
    sign_in(page, lang, role="analyst")
    page.goto(f"{live_server.url}/journeys/{journey.pk}/")
    words = page.locator("#goal-words").inner_text()
    assert ("۳۰٫۰" in words or "۳۰.۰" in words) if lang == "fa" else \
        words.startswith("The journey's arm converted 30.0% vs 10.0% for the holdout: +20.0")
    page.locator("#journey-goal").scroll_into_view_if_needed()
    shot(page, f"journeys-goal-{lang}")
