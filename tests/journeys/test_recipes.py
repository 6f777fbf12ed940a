"""Journey recipes (recipes.py, actions.do_use_recipe): every recipe in both languages makes
a journey that passes the check, templates in that language that render, and the journeys
behave: G1 welcomes a confirmed sign-up, G3 stops at an order, G6 hands a silent person to
staff."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from peyvand.base.actor import Actor
from peyvand.base.errors import Invalid
from peyvand.journeys.actions import do_use_recipe, enrol
from peyvand.journeys.definition import check_definition, send_steps
from peyvand.journeys.models import Enrolment, Journey
from peyvand.journeys.recipes import RECIPES
from peyvand.journeys.runner import run_due
from peyvand.messaging.models import MessageTemplate, OutboxMessage
from peyvand.messaging.queries import preview
from peyvand.support.models import StaffTask
from tests.consent.conftest import signup_form, started, topics  # noqa: F401 (fixtures)
from tests.journeys.test_runner import later
from tests.journeys.test_signup_trigger import confirm, sign_up  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db
IDS = [r.id for r in RECIPES]
LATIN_DIGIT = re.compile(r"[0-9]")


@pytest.fixture
def owner_actor(make_user):
    return Actor.for_user(make_user("boss", "owner"), "test")


@pytest.fixture
def marketer_actor(make_user):
    return Actor.for_user(make_user("mina", "marketer"), "test")


def test_there_are_eleven_recipes_with_unique_ids():
    assert len(IDS) == len(set(IDS)) == 11


@pytest.mark.parametrize("language", ["fa", "en"])
@pytest.mark.parametrize("recipe_id", IDS)
def test_each_recipe_makes_a_checked_journey_and_templates_that_render(
        owner_actor, make_contact, recipe_id, language):
    contact = make_contact(first_name="Sara", language=language)
    used = do_use_recipe(owner_actor, recipe_id, language, publish=False)
    journey = used.journey
    assert journey.status == Journey.Status.DRAFT
    assert check_definition(journey.definition) == journey.definition
    names = set(send_steps(journey.definition).values())
    assert names == {t.name for t in used.templates}
    for template in used.templates:
        assert template.language == language
        assert template.message_class == "marketing"
        shown = preview(owner_actor, template, contact.pk)
        assert shown["text"].strip()
        assert "Sara" in shown["subject"] + shown["text"]
        if template.channel == "email":
            assert shown["subject"] and shown["html"]
        if language == "fa":
            for block_text in _author_words(template):
                assert not LATIN_DIGIT.search(block_text), (template.name, block_text)
    if recipe_id == "re_permission":
        assert used.segment is not None
        assert journey.definition["trigger"] == {"type": "segment_entered",
                                                 "segment": used.segment.pk}
        assert "unsubscribe" not in str(journey.definition)


def _author_words(template: MessageTemplate) -> list[str]:
    """What the author wrote (subject, blocks' words, SMS text), merge fields left out."""
    words = [template.subject, template.text if template.channel == "sms" else ""]
    for block in template.blocks:
        words += [str(block.get(k, "")) for k in ("text", "title", "label")]
    return [re.sub(r"\{\{.*?\}\}|\{%.*?%\}", "", w) for w in words]


def test_publishing_needs_the_capability(owner_actor, marketer_actor):
    with pytest.raises(PermissionDenied):
        do_use_recipe(marketer_actor, "welcome", "fa", publish=True)
    assert not Journey.objects.exists() and not MessageTemplate.objects.exists()
    draft = do_use_recipe(marketer_actor, "welcome", "fa", publish=False).journey
    assert draft.status == Journey.Status.DRAFT
    live = do_use_recipe(owner_actor, "welcome", "en", publish=True).journey
    assert live.status == Journey.Status.LIVE and live.versions.count() == 1


def test_unknown_recipe_or_language_is_refused(owner_actor):
    with pytest.raises(Invalid) as exc:
        do_use_recipe(owner_actor, "nope", "fa", publish=False)
    assert "recipe" in exc.value.errors
    with pytest.raises(Invalid) as exc:
        do_use_recipe(owner_actor, "welcome", "de", publish=False)
    assert "language" in exc.value.errors


def test_names_stay_unique_when_used_twice(owner_actor):
    first = do_use_recipe(owner_actor, "re_permission", "en", publish=False)
    second = do_use_recipe(owner_actor, "re_permission", "en", publish=False)
    assert first.templates[0].name != second.templates[0].name
    assert second.templates[0].name.endswith(" (2)")
    assert first.segment.name != second.segment.name
    assert first.journey.name != second.journey.name
    assert second.journey.definition["trigger"]["segment"] == second.segment.pk


def test_g1_a_confirmed_signup_is_welcomed(owner_actor, sign_up,  # noqa: F811
                                           django_capture_on_commit_callbacks):
    journey = do_use_recipe(owner_actor, "welcome", "fa", publish=True).journey
    signup = sign_up("new@example.com")
    confirm(signup, django_capture_on_commit_callbacks)
    item = Enrolment.objects.get(journey=journey, contact_id=signup.contact_id)
    run_due("w")
    queued = OutboxMessage.objects.get(contact_id=signup.contact_id,
                                       source__startswith="journey:")
    assert queued.source == f"journey:{item.pk}:welcome_1:1"
    item.refresh_from_db()
    assert item.node == "welcome_2"  # after the wait: three days on
    assert dt.timedelta(days=2, hours=23) < item.next_run_at - timezone.now() \
        <= dt.timedelta(days=3)


def test_g3_an_abandoned_cart_is_reminded_and_an_order_ends_it(
        owner_actor, make_contact, system, django_capture_on_commit_callbacks):
    from tests.journeys.test_cart_trigger import leave_cart, order

    journey = do_use_recipe(owner_actor, "abandoned_cart", "en", publish=True).journey
    person = make_contact("cart@example.com")
    leave_cart(system, django_capture_on_commit_callbacks, "cart@example.com")
    item = Enrolment.objects.get(journey=journey, contact=person)
    run_due("w1")
    assert OutboxMessage.objects.filter(contact=person).count() == 1
    order(system, django_capture_on_commit_callbacks, "cart@example.com")
    later(item)
    run_due("w2")
    item.refresh_from_db()
    assert item.state == Enrolment.State.DONE
    assert item.exit_reason in ("ordered", "goal")
    assert OutboxMessage.objects.filter(contact=person).count() == 1


def test_g6_no_reply_makes_one_call_task(owner_actor, make_contact):
    journey = do_use_recipe(owner_actor, "replenishment", "fa", publish=True).journey
    person = make_contact(phone="09351234567", opt_in=("sms",))
    item, reason = enrol(journey, person.pk, "test")
    assert reason == "ok"
    run_due("w1")
    assert OutboxMessage.objects.get(contact=person).channel == "sms"
    item.refresh_from_db()
    assert (item.state, item.waiting_for) == (Enrolment.State.WAITING, "replied")
    later(item)  # the three days pass without a reply
    run_due("w2")
    task = StaffTask.objects.get()
    assert (task.contact_id, task.kind) == (person.pk, "call")
    item.refresh_from_db()
    assert item.state == Enrolment.State.DONE
