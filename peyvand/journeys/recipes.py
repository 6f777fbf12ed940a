"""Journey recipes (issue 18 item 5, SPEC G1–G9): ready journeys an owner turns on in two
clicks. Each recipe names what it does in words (gettext), its templates (words in
recipe_content.py, made in the one language chosen), the segment it needs, and a function
building its definition from the names those got. `actions.do_use_recipe` makes them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from peyvand.journeys.recipe_content import TASKS

Names = dict[str, str]  # content key -> the template's name


def _ordered_within(days: int) -> dict[str, Any]:
    """The goal "ordered in the last N days"."""
    return {"field": "orders.last_at", "op": "within_last", "value": {"days": days}}


def _send(names: Names, key: str, nxt: str | None = None) -> dict[str, Any]:
    step: dict[str, Any] = {"type": "send", "template": names[key]}
    if nxt:
        step["next"] = nxt
    return step


def _wait(days: int, nxt: str) -> dict[str, Any]:
    return {"type": "wait", "days": days, "next": nxt}


def _welcome(n: Names, language: str, segment: int | None) -> dict[str, Any]:
    return {"trigger": {"type": "signup_confirmed", "channel": "email"}, "start": "welcome_1",
            "steps": {"welcome_1": _send(n, "welcome_1", "wait_3d"),
                      "wait_3d": _wait(3, "welcome_2"),
                      "welcome_2": _send(n, "welcome_2", "wait_7d"),
                      "wait_7d": _wait(7, "welcome_3"),
                      "welcome_3": _send(n, "welcome_3")}}


def _after_first_order(n: Names, language: str, segment: int | None) -> dict[str, Any]:
    return {"trigger": {"type": "first_order"}, "start": "thanks",
            "steps": {"thanks": _send(n, "first_order_thanks", "wait_delivery"),
                      # about the time an order has arrived and been tried
                      "wait_delivery": _wait(10, "feedback"),
                      "feedback": _send(n, "first_order_feedback")}}


def _abandoned_cart(n: Names, language: str, segment: int | None) -> dict[str, Any]:
    return {"trigger": {"type": "cart_abandoned"}, "start": "remind_1",
            "steps": {"remind_1": _send(n, "cart_1", "wait_1d"),
                      "wait_1d": _wait(1, "remind_2"),
                      "remind_2": _send(n, "cart_2")},
            "goal": _ordered_within(3)}


def _repeat_nudge(n: Names, language: str, segment: int | None) -> dict[str, Any]:
    return {"trigger": {"type": "overdue", "status": "due"}, "start": "nudge_1",
            "steps": {"nudge_1": _send(n, "repeat_1", "wait_7d"),
                      "wait_7d": _wait(7, "nudge_2"),
                      "nudge_2": _send(n, "repeat_2")},
            "goal": _ordered_within(7)}


def _win_back(n: Names, language: str, segment: int | None) -> dict[str, Any]:
    return {"trigger": {"type": "p_alive_below", "threshold": 0.3}, "start": "miss_you",
            "steps": {"miss_you": _send(n, "win_back_1", "wait_10d"),
                      "wait_10d": _wait(10, "still_here"),
                      "still_here": _send(n, "win_back_2")},
            "goal": _ordered_within(30)}


def _replenishment(n: Names, language: str, segment: int | None) -> dict[str, Any]:
    return {"trigger": {"type": "overdue", "status": "overdue"}, "start": "remind",
            "steps": {"remind": _send(n, "replenish_sms", "answer"),
                      "answer": {"type": "wait_event", "event": "replied",
                                 "timeout": {"days": 3}, "next": "follow_reply",
                                 "timeout_next": "call"},
                      "follow_reply": {"type": "task", "title": TASKS["reply"][language],
                                       "kind": "other", "due_hours": 24},
                      "call": {"type": "task", "title": TASKS["call"][language],
                               "kind": "call", "due_hours": 48}},
            "goal": _ordered_within(7)}


def _resend(n: Names, language: str, segment: int | None) -> dict[str, Any]:
    return {"trigger": {"type": "manual"}, "start": "send",
            "steps": {"send": _send(n, "resend_1", "opened"),
                      "opened": {"type": "wait_event", "event": "opened",
                                 "timeout": {"days": 3}, "timeout_next": "resend"},
                      "resend": _send(n, "resend_2")}}


def _by_response(n: Names, language: str, segment: int | None) -> dict[str, Any]:
    return {"trigger": {"type": "manual"}, "start": "offer",
            "steps": {"offer": _send(n, "response_intro", "wait_3d"),
                      "wait_3d": _wait(3, "by_response"),
                      "by_response": {"type": "branch", "on": "response",
                                      "clicked": "interested", "opened": "at_a_glance",
                                      "none": "not_now"},
                      "interested": {"type": "tag", "add": "interested", "next": "more"},
                      "more": _send(n, "response_clicked"),
                      "at_a_glance": _send(n, "response_opened"),
                      "not_now": {"type": "tag", "add": "not-now", "next": "end"},
                      "end": {"type": "exit"}}}


def _monthly(n: Names, language: str, segment: int | None) -> dict[str, Any]:
    steps: dict[str, Any] = {}
    for month in range(1, 7):
        steps[f"wait_{month}"] = _wait(30, f"letter_{month}")
        steps[f"letter_{month}"] = _send(n, "monthly_letter",
                                         f"wait_{month + 1}" if month < 6 else None)
    return {"trigger": {"type": "first_order"}, "start": "wait_1", "steps": steps}


def _birthday(n: Names, language: str, segment: int | None) -> dict[str, Any]:
    return {"trigger": {"type": "date", "field": "birthday", "offset_days": 0},
            "start": "greet", "steps": {"greet": _send(n, "birthday")}}


def _re_permission(n: Names, language: str, segment: int | None) -> dict[str, Any]:
    # The preference link is a consent link, never tracked, so a visit to it is no click:
    # any human open or click of the question counts as an answer.
    return {"trigger": {"type": "segment_entered", "segment": segment}, "start": "ask",
            "steps": {"ask": _send(n, "re_permission", "wait_14d"),
                      "wait_14d": _wait(14, "answered"),
                      "answered": {"type": "branch", "on": "response", "clicked": "end",
                                   "opened": "end", "none": "silent"},
                      "silent": {"type": "tag", "add": "silent", "next": "end"},
                      "end": {"type": "exit"}}}


# The re-permission segment: subscribed by e-mail, sent something in the last year, and no
# human open or click in it.
SILENT_YEAR_RULES = {"all": [
    {"field": "consent.email", "op": "eq", "value": "in"},
    {"field": "engagement.received", "op": "within_last", "value": {"days": 365}},
    {"field": "engagement.opened", "op": "has_not", "value": {"days": 365}},
    {"field": "engagement.clicked", "op": "has_not", "value": {"days": 365}}]}


@dataclass(frozen=True)
class Recipe:
    id: str
    spec: str
    name: Promise
    description: Promise
    when: Promise  # the trigger in words
    templates: tuple[str, ...]  # keys of recipe_content.CONTENT
    build: Callable[[Names, str, int | None], dict[str, Any]]
    re_entry: str = "never"
    re_entry_days: int = 0
    segment: str | None = None  # key of recipe_content.SEGMENTS: made with SILENT_YEAR_RULES
    goal: Promise | None = None


RECIPES: tuple[Recipe, ...] = (
    Recipe("welcome", "G1", _("Welcome series"),
           _("Greets each new subscriber with three e-mails over ten days: a warm welcome, "
             "a little about the shop with a link to choose what they receive, then a first "
             "suggestion."),
           _("When someone confirms their e-mail sign-up"),
           ("welcome_1", "welcome_2", "welcome_3"), _welcome),
    Recipe("after_first_order", "G2", _("After the first purchase"),
           _("Thanks a new customer for their first order with products bought together "
             "with theirs, then, ten days later when the order has usually arrived, asks "
             "whether they are happy with it."),
           _("When a contact places their first order"),
           ("first_order_thanks", "first_order_feedback"), _after_first_order),
    Recipe("abandoned_cart", "G3", _("Abandoned cart"),
           _("Reminds people who left items in their cart, then once more a day later. "
             "It stops as soon as they order."),
           _("When a cart is left without an order"),
           ("cart_1", "cart_2"), _abandoned_cart, re_entry="always",
           goal=_("an order within 3 days")),
    Recipe("repeat_nudge", "G4", _("Repeat purchase nudge"),
           _("When a customer's own purchase cycle says they are due to buy again, sends a "
             "reminder with suggestions, and a second one a week later unless they order."),
           _("When a customer is due to buy again (their purchase cycle)"),
           ("repeat_1", "repeat_2"), _repeat_nudge, re_entry="always",
           goal=_("an order within 7 days")),
    Recipe("win_back", "G5", _("Win-back"),
           _("When the chance that a customer is still with you drops below 30%, sends a "
             "“we miss you” e-mail with picks for them, and a last note ten days later."),
           _("When P(alive) drops below 0.3"),
           ("win_back_1", "win_back_2"), _win_back, re_entry="always",
           goal=_("an order within 30 days")),
    Recipe("replenishment", "G6", _("Replenishment or service reminder"),
           _("When a customer is past the date they usually buy again, reminds them by SMS. "
             "If they reply, a colleague gets a task to follow the reply up; if there is no "
             "answer in three days, a task to call them."),
           _("When a customer is overdue (their purchase cycle)"),
           ("replenish_sms",), _replenishment, re_entry="always",
           goal=_("an order within 7 days")),
    Recipe("resend_non_openers", "G7", _("Resend to non-openers"),
           _("Sends a message, and three days later sends it again with a new subject to "
             "those who did not open it. Enrol people by hand, in bulk or through the API; "
             "write your news into both templates first."),
           _("When you enrol people"),
           ("resend_1", "resend_2"), _resend),
    Recipe("by_response", "G8", _("Next step by response"),
           _("Sends an offer and, three days later, chooses what follows by what the person "
             "did: those who clicked get more detail, those who only opened get a short "
             "version, the others are tagged “not-now” and left in peace."),
           _("When you enrol people"),
           ("response_intro", "response_clicked", "response_opened"), _by_response),
    Recipe("monthly_newsletter", "G9", _("Monthly personal newsletter"),
           _("For six months after a customer's first order, sends a personal letter each "
             "month with products chosen for them."),
           _("When a contact places their first order"),
           ("monthly_letter",), _monthly),
    Recipe("birthday", "H2", _("Birthday greeting"),
           _("Greets each contact on their birthday (on the Persian calendar for Persian "
             "speakers) with a gift code block, shown when the contact has a code of their "
             "own. Once a year."),
           _("On the contact's birthday"),
           ("birthday",), _birthday, re_entry="after_days", re_entry_days=300),
    Recipe("re_permission", "E3", _("Re-permission"),
           _("Creates the segment of e-mail subscribers who received messages but opened or "
             "clicked none in a year, asks them whether they still want to hear from you "
             "with a link to their preferences, and after 14 days without an answer tags "
             "them “silent”. It unsubscribes no one: whether to write to them is your "
             "choice."),
           _("When someone enters the segment “Silent for a year on e-mail”"),
           ("re_permission",), _re_permission, re_entry="after_days", re_entry_days=365,
           segment="silent_year"),
)
BY_ID = {recipe.id: recipe for recipe in RECIPES}
LANGUAGES = ("fa", "en")


def sample_definition(recipe: Recipe, language: str) -> dict[str, Any]:
    """The definition with the templates' would-be names (for showing the steps in words)."""
    from peyvand.journeys.recipe_content import CONTENT

    names = {key: CONTENT[key]["name"][language] for key in recipe.templates}
    return recipe.build(names, language, 0)

