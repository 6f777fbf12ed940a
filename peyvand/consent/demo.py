"""Demo data only: the sign-ups the demo's made-up people "made" through the demo form.

Consent is otherwise only ever the person's own act; here nobody exists to act, and without
subscribers the demo's broadcasts, consent pages and charts would show nothing. So this
records for them exactly what a sign-up through the form and a click on the confirmation
link record (the same ledger rows, dated in the past), and refuses every contact that the
demo loader did not make.
"""

from __future__ import annotations

import datetime as dt
import secrets

from django.db import transaction

from peyvand.consent import ledger
from peyvand.consent.actions import confirm_signup, signup_changes
from peyvand.consent.models import ConsentChange, Signup, SignupForm, Source, Topic
from peyvand.consent.queries import PROVES
from peyvand.contacts.models import Contact


@transaction.atomic
def seed_signup(form: SignupForm, contact: Contact, *, demo_sources: frozenset[str],
                channels: list[str], topics: list[Topic], language: str, at: dt.datetime,
                confirmed_after: dt.timedelta | None) -> Signup | None:
    """One past sign-up (confirmed `confirmed_after` later, or left pending); None when the
    contact already has consent history (loading the demo twice changes nothing)."""
    if contact.source not in demo_sources:
        raise ValueError(f"contact #{contact.pk} is not demo data")
    if ConsentChange.objects.filter(contact=contact).exists():
        return None
    signup = Signup.objects.create(
        form=form, contact=contact, nonce=secrets.token_urlsafe(16),
        incentive_kind=form.incentive_kind, incentive_text=form.incentive(language),
        language=language, channels=channels, topics=[t.key for t in topics], via="demo")
    Signup.objects.filter(pk=signup.pk).update(created_at=at)
    ledger.append(contact, signup_changes(signup, topics), source=Source.FORM,
                  actor_label=f"form:{form.slug}", form=form,
                  text=form.current_text(language), at=at)
    if confirmed_after is not None:  # the link in the e-mail, the code by SMS
        for proven, proves in PROVES.items():
            if proves & set(channels):
                confirm_signup(signup, proven, ip=None, user_agent="", at=at + confirmed_after)
    return signup
