"""A journey in Chromium, in Persian and English: the owner creates a draft, writes its JSON
(a fault is named by its path first), publishes it, enrols people by number, and reads the
flow with its counts once the runner has taken them through.

Screenshots: test-artifacts/screens/journeys-<lang>.png (one journey's page).
"""

from __future__ import annotations

import json

import pytest

from peyvand.journeys.models import Enrolment, Journey
from tests.fixtures.browser import chromium_missing

_missing = chromium_missing()
if _missing:
    pytest.skip(_missing, allow_module_level=True)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]
NAMES = {"fa": "خوش‌آمد", "en": "Welcome"}


def _people() -> list[int]:
    from peyvand.base.actor import Actor
    from peyvand.consent.ledger import Change, append
    from peyvand.contacts.actions import do_create_contact
    from peyvand.messaging.models import MessageTemplate

    MessageTemplate.objects.create(name="hello", language="fa", subject="سلام",
                                   html="<p>سلام</p>", message_class="marketing")
    made = []
    for i, name in enumerate(("Sara", "Reza", "Mina")):
        contact = do_create_contact(Actor.system("test"), {
            "first_name": name, "email": f"p{i}@example.com"})
        append(contact.pk, [Change("opt_in", "email", None)], source="preferences",
               actor_label="test")
        made.append(contact.pk)
    return made


def _definition(wait_next: str) -> str:
    return json.dumps({
        "trigger": {"type": "manual"}, "start": "s1",
        "steps": {"s1": {"type": "send", "template": "hello", "best_hour": True,
                         "next": "s2"},
                  "s2": {"type": "wait", "days": 2, "next": wait_next},
                  "s3": {"type": "tag", "add": "welcomed"}}}, indent=2)


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_write_publish_enrol_and_read_the_flow(page, live_server, sign_in, shot, lang):
    from peyvand.journeys.runner import run_due

    people = _people()
    base = live_server.url
    sign_in(page, lang, role="owner")
    page.goto(f"{base}/journeys/")
    assert page.locator("#no-journeys").is_visible()
    page.fill("#id_name", NAMES[lang])
    page.click("#new-journey button[type=submit]")
    page.wait_for_url(f"{base}/journeys/*/")
    journey = Journey.objects.get(name=NAMES[lang])

    page.fill("#id_definition", _definition("nowhere"))
    page.click("#save-definition")
    assert page.locator('#definition-errors li[data-path="steps.s2.next"]').is_visible()
    page.fill("#id_definition", _definition("s3"))
    page.click("#save-definition")
    page.wait_for_url(f"{base}/journeys/{journey.pk}/")
    page.click("#publish-journey")
    page.wait_for_url(f"{base}/journeys/{journey.pk}/")
    assert page.locator("#journey-flow > li").count() == 3

    page.fill("#id_contacts", " ".join(str(pk) for pk in people))
    page.click("#enrol-people")
    page.wait_for_url(f"{base}/journeys/{journey.pk}/")
    assert Enrolment.objects.filter(journey=journey).count() == 3
    run_due("browser")
    page.reload()
    here = page.locator('#journey-flow > li[data-node="s3"] [data-count="waiting"]')
    assert here.inner_text().endswith("۳" if lang == "fa" else "3")
    assert page.locator('html').get_attribute("lang") == lang
    shot(page, f"journeys-{lang}")

    page.goto(f"{base}/journeys/")
    assert page.locator(f'#journey-table tr[data-journey="{journey.pk}"]').is_visible()
