"""What every writer of the permission floor shares: limits, errors, small readers of input."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.utils.translation import gettext as _

from peyvand.base.normalise import normalise_text
from peyvand.consent.models import Frequency
from peyvand.contacts.actions import ContactInvalid

FREQUENCY_ORDER: list[str] = [Frequency.WEEKLY, Frequency.MONTHLY, Frequency.QUARTERLY,
                   Frequency.ALERTS_ONLY]
PAUSE_WEEKS = (2, 4, 8, 12)
UNSUBSCRIBE_REASONS = ("too_many", "not_relevant", "never_signed_up", "other")

CONFIRM_MAX_AGE = dt.timedelta(days=7)
CODE_TTL = dt.timedelta(minutes=10)
CODE_ATTEMPTS = 5
CODES_PER_SIGNUP = 3
STARTED_MAX_AGE = dt.timedelta(days=1)
KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class ConsentInvalid(ContactInvalid):
    """Input the permission floor refuses; `errors` maps each field to the reason."""

    def __str__(self) -> str:
        return " ".join(str(v) for v in self.errors.values())


class ConsentRefused(ConsentInvalid):
    """A change that is not the actor's to make (staff adding consent back, …)."""

    def __init__(self, message: str, field_name: str = "action"):
        super().__init__({field_name: message})


class SignupThrottled(Exception):
    """Too many sign-ups from one address in the window; answer 429."""


def text_input(raw: dict, name: str, limit: int, errors: dict, *, required: bool = False) -> str:
    value = normalise_text(str(raw.get(name) or ""))
    if required and not value:
        errors[name] = _("This field is required.")
    elif len(value) > limit:
        errors[name] = _("At most %(count)d characters.") % {"count": limit}
    return value


def flag_input(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "on", "yes")
    return bool(value)
