"""A person confirming a sign-up: by the mailed link or the texted code."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _

from peyvand.base.normalise import ascii_digits
from peyvand.base.signing import LinkInvalid, read_token
from peyvand.consent import ledger
from peyvand.consent.actions.common import (
    CODE_ATTEMPTS,
    CODES_PER_SIGNUP,
    CONFIRM_MAX_AGE,
    STARTED_MAX_AGE,
    ConsentInvalid,
)
from peyvand.consent.actions.preferences import PERSON
from peyvand.consent.actions.signup import code_hash, pending_channels, send_code
from peyvand.consent.ledger import Change
from peyvand.consent.models import Action, Signup, Source
from peyvand.consent.queries import PROVES
from peyvand.contacts.models import Identity

# --- confirmation ---------------------------------------------------------------------------

@dataclass
class ConfirmResult:
    status: str  # "confirmed", "already", "nothing" (unsubscribed since, or nothing pending)
    signup: Signup
    channels: list[str] = field(default_factory=list)


def signup_for_token(purpose: str, token: str, max_age: dt.timedelta) -> Signup:
    """The sign-up a confirm/code token stands for; LinkInvalid when there is none."""
    data = read_token(purpose, token, max_age)
    signup = (Signup.objects.select_related("form", "contact")
              .filter(nonce=str(data.get("n") or "")).first())
    if signup is None or signup.contact.erased_at is not None:
        raise LinkInvalid
    return signup


def confirm_signup(signup: Signup, proven: str, *, ip: str | None, user_agent: str,
             at: dt.datetime | None = None) -> ConfirmResult:
    channels = [c for c in signup.channels if c in PROVES[proven]]
    pending = set(pending_channels(signup.contact_id, channels))
    if not pending:
        if signup.confirmed_at:
            return ConfirmResult("already", signup)
        return ConfirmResult("nothing", signup)
    changes = [Change(Action.CONFIRM, c, None, {"signup": signup.pk, "by": proven})
               for c in channels if c in pending]
    # The person confirms, with the link or code only their address received.
    ledger.append(signup.contact, changes, source=Source.FORM, actor_label=PERSON,
                  form=signup.form, text=signup.form.current_text(signup.language), ip=ip,
                  user_agent=user_agent, at=at,
                  provenance={"link": "confirm" if proven == Identity.Kind.EMAIL else "code"})
    if signup.confirmed_at is None:
        signup.confirmed_at = at or timezone.now()
        signup.save(update_fields=["confirmed_at"])
    return ConfirmResult("confirmed", signup, sorted(pending))


@transaction.atomic
def do_confirm_email(token: str, *, ip: str | None = None, user_agent: str = "") \
        -> ConfirmResult:
    """The person opened the link in their confirmation e-mail and pressed the button."""
    signup = signup_for_token("confirm", token, CONFIRM_MAX_AGE)
    return confirm_signup(signup, Identity.Kind.EMAIL, ip=ip, user_agent=user_agent)


def do_confirm_code(token: str, code: str, *, ip: str | None = None, user_agent: str = "") \
        -> ConfirmResult:
    """The person typed the code we texted them (any digit script, spaces allowed)."""
    signup = signup_for_token("signup_code", token, STARTED_MAX_AGE)
    error = ""
    # A wrong try must count even though the call fails: commit it, then raise.
    with transaction.atomic():
        signup = Signup.objects.select_for_update(of=("self",)).select_related("form", "contact") \
            .get(pk=signup.pk)
        typed = re.sub(r"\s+", "", ascii_digits(str(code or "")))
        if not signup.code_hash or signup.code_attempts >= CODE_ATTEMPTS:
            error = _("This code can no longer be used. Ask for a new one.")
        elif signup.code_expires_at is None or signup.code_expires_at < timezone.now():
            error = _("This code has expired. Ask for a new one.")
        elif not constant_time_compare(code_hash(signup.nonce, typed), signup.code_hash):
            signup.code_attempts += 1
            signup.save(update_fields=["code_attempts"])
            left = CODE_ATTEMPTS - signup.code_attempts
            error = (_("Wrong code. %(count)d tries left.") % {"count": left} if left > 0
                     else _("Wrong code, and no tries are left. Ask for a new one."))
        else:
            signup.code_hash = ""
            signup.save(update_fields=["code_hash"])
            return confirm_signup(signup, Identity.Kind.PHONE, ip=ip, user_agent=user_agent)
    raise ConsentInvalid({"code": error})


@transaction.atomic
def do_resend_code(token: str) -> Signup:
    signup = signup_for_token("signup_code", token, STARTED_MAX_AGE)
    signup = (Signup.objects.select_for_update(of=("self",)).select_related("contact")
              .get(pk=signup.pk))
    if signup.codes_sent >= CODES_PER_SIGNUP:
        raise ConsentInvalid({"code": _("No more codes can be sent for this sign-up. Sign up "
                                        "again later.")})
    phone = (Identity.objects.filter(contact=signup.contact, kind=Identity.Kind.PHONE)
             .order_by("-is_primary", "id").values_list("value", flat=True).first())
    if not phone:
        raise LinkInvalid
    send_code(signup, signup.contact, phone, signup.language)
    return signup
