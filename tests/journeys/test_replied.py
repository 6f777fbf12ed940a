"""`wait_event` "replied": an inbound SMS from the person's number that is no stop/resume
keyword is kept on their timeline and wakes the enrolments waiting for a reply."""

from __future__ import annotations

import logging

import pytest

from peyvand.consent.actions import do_sms_inbound
from peyvand.consent.hooks import INBOUND_REPLY_HOOKS
from peyvand.contacts.models import TimelineEvent
from peyvand.journeys.actions import enrol
from peyvand.journeys.models import Enrolment, StepRun
from peyvand.journeys.runner import run_due
from peyvand.journeys.triggers import on_inbound_reply

pytestmark = pytest.mark.django_db
E = Enrolment.State
ASK = {"trigger": {"type": "manual"}, "start": "w", "steps": {
    "w": {"type": "wait_event", "event": "replied", "timeout": {"days": 2},
          "next": "thanks", "timeout_next": "nudge"},
    "thanks": {"type": "tag", "add": "answered"},
    "nudge": {"type": "tag", "add": "silent"}}}
PHONE = "09351234567"


def test_the_hook_is_registered():
    assert on_inbound_reply in INBOUND_REPLY_HOOKS


def test_a_reply_wakes_and_is_kept_on_the_timeline(live, make_contact, caplog,
                                                   django_capture_on_commit_callbacks):
    journey = live(ASK)
    person = make_contact(phone=PHONE, opt_in=("sms",))
    other = make_contact(phone="09121111111", opt_in=("sms",))
    item, _ = enrol(journey, person.pk, "t")
    waiting, _ = enrol(journey, other.pk, "t")
    run_due("w1")
    item.refresh_from_db()
    assert (item.state, item.waiting_for) == (E.WAITING, "replied")
    words = "سلام، بله می‌خواهم"
    caplog.set_level(logging.DEBUG)
    with django_capture_on_commit_callbacks(execute=True):
        assert do_sms_inbound("default", "+98 935 123 4567", words) == "replied"
    assert words not in caplog.text  # the person's words go to no log
    item.refresh_from_db()
    assert (item.state, item.node) == (E.ACTIVE, "thanks")
    assert StepRun.objects.get(enrolment=item, node="w").outcome == "event"
    event = TimelineEvent.objects.get(contact=person, kind="sms.replied")
    assert event.data == {"channel": "sms", "text": words, "gateway": "default"}
    run_due("w1")
    assert set(person.tags.values_list("name", flat=True)) == {"answered"}
    waiting.refresh_from_db()
    assert waiting.state == E.WAITING  # someone else's reply wakes nobody else


@pytest.mark.parametrize("sender,text,result", [
    (PHONE, "لغو ۱۱", "opted_out"),  # a keyword changes consent, it is no reply
    (PHONE, "   ", "ignored"),
    ("09000000000", "hello", "ignored"),  # nobody we know
    ("garbage", "hello", "ignored"),
])
def test_keywords_and_strangers_wake_nobody(live, make_contact, sender, text, result,
                                            django_capture_on_commit_callbacks):
    journey = live(ASK)
    person = make_contact(phone=PHONE, opt_in=("sms",))
    item, _ = enrol(journey, person.pk, "t")
    run_due("w1")
    with django_capture_on_commit_callbacks(execute=True):
        assert do_sms_inbound("default", sender, text) == result
    item.refresh_from_db()
    assert item.state == E.WAITING
    assert not TimelineEvent.objects.filter(kind="sms.replied").exists()


def test_erasure_empties_the_reply(make_contact, system):
    from peyvand.contacts.actions import do_erase_contact

    person = make_contact(phone=PHONE, opt_in=("sms",))
    assert do_sms_inbound("default", PHONE, "my secret words") == "replied"
    do_erase_contact(system, person)
    assert TimelineEvent.objects.get(contact=person, kind="sms.replied").data == {}
