"""The `tag_added` trigger: contacts' TAG_ADDED_HOOKS, called after the tagging commits."""

from __future__ import annotations

import pytest

from peyvand.base.errors import Invalid
from peyvand.contacts.actions import do_tag_contacts, do_update_contact
from peyvand.contacts.hooks import TAG_ADDED_HOOKS
from peyvand.journeys.definition import check_definition
from peyvand.journeys.models import Enrolment
from peyvand.journeys.triggers import on_tag_added
from tests.journeys.conftest import steps

pytestmark = pytest.mark.django_db(transaction=True)
VIP = {"type": "tag_added", "tag": "vip"}


def entered(journey) -> list[int]:
    return sorted(Enrolment.objects.filter(journey=journey).values_list("contact_id", flat=True))


def test_the_hook_is_registered():
    assert on_tag_added in TAG_ADDED_HOOKS


def test_tagging_enrols_once_the_tag_is_added(live, make_contact, system):
    a, b, c = make_contact(), make_contact(), make_contact(tags=["vip"])
    journey = live(steps({"type": "wait", "days": 1}, trigger=VIP))
    other = live(steps({"type": "wait", "days": 1}, trigger={"type": "tag_added",
                                                              "tag": "other"}))
    assert do_tag_contacts(system, [a.pk, b.pk, c.pk], "vip") == 2  # c had it already
    assert entered(journey) == sorted([a.pk, b.pk])
    assert Enrolment.objects.get(contact=a).data["source"] == "tag_added:vip"
    assert entered(other) == []
    do_tag_contacts(system, [a.pk], "vip", remove=True)
    do_tag_contacts(system, [a.pk], "vip")  # again: re-entry never, already in
    assert entered(journey) == sorted([a.pk, b.pk])
    # An update that adds the tag among others enrols too.
    do_update_contact(system, c, {"tags": ["x"]})
    do_update_contact(system, c, {"tags": ["vip", "y"]})
    assert entered(journey) == sorted([a.pk, b.pk, c.pk])


def test_a_rolled_back_tagging_enrols_nobody(live, make_contact, system):
    from django.db import transaction

    a = make_contact()
    journey = live(steps({"type": "wait", "days": 1}, trigger=VIP))
    with pytest.raises(RuntimeError), transaction.atomic():
        do_tag_contacts(system, [a.pk], "vip")
        raise RuntimeError
    assert entered(journey) == []


@pytest.mark.parametrize("tag", [None, "", "  ", 5, "x" * 65])
def test_the_grammar_wants_a_tag(tag):
    trigger = {"type": "tag_added"} if tag is None else {"type": "tag_added", "tag": tag}
    with pytest.raises(Invalid) as refused:
        check_definition(steps({"type": "exit"}, trigger=trigger), templates=False)
    assert list(refused.value.errors) == ["trigger.tag"]
