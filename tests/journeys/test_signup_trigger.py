"""The `signup_confirmed` trigger: consent's SIGNUP_CONFIRMED_HOOKS, called by the ledger
after a confirmation commits, through the real sign-up and confirm path."""

from __future__ import annotations

import pytest

from peyvand.base.errors import Invalid
from peyvand.consent import ledger
from peyvand.consent.actions import do_submit_signup
from peyvand.consent.actions.confirm import do_confirm_email
from peyvand.consent.actions.signup import SignupRequest, confirm_path
from peyvand.consent.hooks import SIGNUP_CONFIRMED_HOOKS
from peyvand.consent.ledger import Change
from peyvand.consent.models import Action, Source
from peyvand.journeys.definition import check_definition
from peyvand.journeys.models import Enrolment
from peyvand.journeys.triggers import on_signup_confirmed
from tests.consent.conftest import signup_form, started, topics  # noqa: F401 (fixtures)
from tests.journeys.conftest import steps

WAIT = {"type": "wait", "days": 1}


@pytest.fixture
def sign_up(signup_form, started, django_capture_on_commit_callbacks):  # noqa: F811
    """A person signs up on the form (e-mail, topics given); returns the sign-up."""

    def make(email: str, keys=("news",)):
        with django_capture_on_commit_callbacks(execute=True):
            result = do_submit_signup(signup_form, {
                "email": email, "topics": list(keys), "channels": ["email"],
                "channels_shown": "1"}, SignupRequest(ip="203.0.113.9",
                                                      started=started(signup_form)))
        return result.signup

    return make


def confirm(signup, capture) -> None:
    token = confirm_path(signup).rstrip("/").rsplit("/", 1)[1]
    with capture(execute=True):
        assert do_confirm_email(token).status == "confirmed"


def entered(journey) -> list[int]:
    return sorted(Enrolment.objects.filter(journey=journey).values_list("contact_id", flat=True))


def test_the_hook_is_registered():
    assert on_signup_confirmed in SIGNUP_CONFIRMED_HOOKS


def test_confirming_by_the_mailed_link_enrols(db, live, sign_up,
                                              django_capture_on_commit_callbacks):
    any_signup = live(steps(WAIT, trigger={"type": "signup_confirmed"}))
    news = live(steps(WAIT, trigger={"type": "signup_confirmed", "topic": "news"}))
    offers = live(steps(WAIT, trigger={"type": "signup_confirmed", "topic": "offers"}))
    sms = live(steps(WAIT, trigger={"type": "signup_confirmed", "channel": "sms"}))
    signup = sign_up("sara@example.com")
    assert entered(any_signup) == []  # pending: not confirmed yet
    confirm(signup, django_capture_on_commit_callbacks)
    assert entered(any_signup) == [signup.contact_id]
    assert entered(news) == [signup.contact_id]
    assert entered(offers) == [] and entered(sms) == []
    item = Enrolment.objects.get(journey=news)
    assert item.data["source"] == "signup_confirmed:email:news"
    # Confirming again is "already": nothing new.
    token = confirm_path(signup).rstrip("/").rsplit("/", 1)[1]
    with django_capture_on_commit_callbacks(execute=True) as calls:
        assert do_confirm_email(token).status == "already"
    assert not calls


def test_a_topic_added_later_enrols_its_journey(db, live, sign_up,
                                                django_capture_on_commit_callbacks):
    offers = live(steps(WAIT, trigger={"type": "signup_confirmed", "topic": "offers"}))
    first = sign_up("ali@example.com", keys=("news",))
    confirm(first, django_capture_on_commit_callbacks)
    assert entered(offers) == []
    second = sign_up("ali@example.com", keys=("offers",))
    confirm(second, django_capture_on_commit_callbacks)
    assert entered(offers) == [first.contact_id]


def test_imports_and_rollbacks_enrol_nobody(db, live, make_contact, topics,  # noqa: F811
                                            django_capture_on_commit_callbacks):
    journey = live(steps(WAIT, trigger={"type": "signup_confirmed"}))
    person = make_contact(opt_in=())
    with django_capture_on_commit_callbacks(execute=True):
        ledger.append(person, [Change(Action.OPT_IN, "email")], source=Source.IMPORT,
                      actor_label="test")
    assert entered(journey) == []
    other = make_contact(opt_in=())
    with django_capture_on_commit_callbacks(execute=False) as calls:
        ledger.append(other, [Change(Action.OPT_IN, "email")], source=Source.PREFERENCES,
                      actor_label="test")  # subscribed at once: its callback is queued
    assert len(calls) == 1


@pytest.mark.parametrize("trigger,path", [
    ({"type": "signup_confirmed", "topic": "nope"}, "trigger.topic"),
    ({"type": "signup_confirmed", "topic": 3}, "trigger.topic"),
    ({"type": "signup_confirmed", "channel": "fax"}, "trigger.channel"),
    ({"type": "signup_confirmed", "form": "x"}, "trigger.form"),
])
def test_the_grammar(db, topics, trigger, path):  # noqa: F811
    with pytest.raises(Invalid) as refused:
        check_definition(steps({"type": "exit"}, trigger=trigger), templates=False)
    assert list(refused.value.errors) == [path]
    check_definition(steps({"type": "exit"}, trigger={"type": "signup_confirmed",
                                                      "topic": "news"}), templates=False)
