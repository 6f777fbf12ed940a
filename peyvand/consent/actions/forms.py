"""Sign-up forms: saved and deleted by staff."""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction
from django.utils import translation
from django.utils.text import slugify
from django.utils.translation import gettext as _

from peyvand.base.actor import Actor
from peyvand.base.roles import require
from peyvand.consent.actions.common import ConsentInvalid, flag_input, text_input
from peyvand.consent.models import (
    Channel,
    ConsentChange,
    ConsentText,
    IdentityRule,
    IncentiveKind,
    SignupForm,
    Topic,
)
from peyvand.contacts.models import CustomField

# --- sign-up forms ------------------------------------------------------------------------------

def default_consent_text(language: str) -> str:
    with translation.override(language):
        return _("I want to receive the messages I chose above. I can change my choices or "
                 "unsubscribe at any time with the link in every message.")


def key_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = re.split(r"[,\s]+", value)
    return [str(v).strip() for v in value if str(v).strip()]


@transaction.atomic
def do_save_form(actor: Actor, raw: dict[str, Any], form: SignupForm | None = None) -> SignupForm:
    """Create or change a sign-up form. A changed consent text becomes a new version; the
    versions shown before stay, referenced by the consents given under them."""
    require(actor, "forms.manage")
    errors: dict[str, str] = {}
    given = (lambda name: name in raw) if form else (lambda name: True)
    values: dict[str, Any] = {}
    if given("slug"):
        slug = slugify(str(raw.get("slug") or raw.get("name") or ""))[:64]
        if not slug:
            errors["slug"] = _("Give the form an address name (Latin letters, e.g. spring).")
        elif SignupForm.objects.filter(slug=slug).exclude(pk=form.pk if form else 0).exists():
            errors["slug"] = _("Another form uses this address name.")
        values["slug"] = slug
    if given("name"):
        values["name"] = text_input(raw, "name", 100, errors, required=True)
    for name in ("title_fa", "title_en"):
        if given(name):
            values[name] = text_input(raw, name, 200, errors, required=True)
    if given("identity"):
        identity = str(raw.get("identity") or IdentityRule.EMAIL)
        if identity not in IdentityRule.values:
            errors["identity"] = _("Choose one of: %(choices)s.") % {
                "choices": ", ".join(IdentityRule.values)}
        values["identity"] = identity
    for name in ("ask_first_name", "ask_last_name", "active"):
        if name in raw:
            values[name] = flag_input(raw[name])
    if given("incentive_kind"):
        kind = str(raw.get("incentive_kind") or IncentiveKind.NONE)
        if kind not in IncentiveKind.values:
            errors["incentive_kind"] = _("Choose one of: %(choices)s.") % {
                "choices": ", ".join(IncentiveKind.values)}
        values["incentive_kind"] = kind
    for name in ("incentive_fa", "incentive_en"):
        if given(name):
            values[name] = text_input(raw, name, 300, errors)
    if values.get("incentive_kind", getattr(form, "incentive_kind", "none")) != "none":
        for name in ("incentive_fa", "incentive_en"):
            if not values.get(name, getattr(form, name, "")):
                errors[name] = _("Say what the incentive is, in both languages.")
    if given("channels"):
        channels = list(dict.fromkeys(key_list(raw.get("channels"))))
        wrong = [c for c in channels if c not in Channel.values]
        if wrong or not channels:
            errors["channels"] = _("Offer at least one channel of: %(choices)s.") % {
                "choices": ", ".join(Channel.values)}
        values["channels"] = [c for c in Channel.values if c in channels]
    identity = values.get("identity", getattr(form, "identity", IdentityRule.EMAIL))
    channels = values.get("channels", getattr(form, "channels", []))
    if identity == IdentityRule.EMAIL and any(c in (Channel.SMS, Channel.PHONE)
                                              for c in channels):
        errors.setdefault("channels", _("SMS and phone calls need a mobile number: let the "
                                        "form ask for an e-mail address or a mobile number."))
    if identity == IdentityRule.PHONE and Channel.EMAIL in channels:
        errors.setdefault("channels", _("E-mail needs an e-mail address: let the form ask for "
                                        "an e-mail address or a mobile number."))
    topics = None
    if given("topics"):
        keys = key_list(raw.get("topics"))
        topics = list(Topic.objects.filter(key__in=keys, active=True))
        missing = sorted(set(keys) - {t.key for t in topics})
        if missing:
            errors["topics"] = _("There is no active topic “%(key)s”.") % {"key": missing[0]}
        elif not topics:
            errors["topics"] = _("Offer at least one topic.")
    custom = None
    if given("custom_fields"):
        keys = key_list(raw.get("custom_fields"))
        custom = list(CustomField.objects.filter(key__in=keys))
        missing = sorted(set(keys) - {f.key for f in custom})
        if missing:
            errors["custom_fields"] = _("There is no custom field “%(key)s”.") % {
                "key": missing[0]}
    texts = {}
    for language in ("fa", "en"):
        name = f"consent_text_{language}"
        if given(name):
            text = str(raw.get(name) or "").replace("\x00", "").strip()
            if not text:
                errors[name] = _("The consent text is required in both languages.")
            elif len(text) > 2000:
                errors[name] = _("At most %(count)d characters.") % {"count": 2000}
            texts[language] = text
    if errors:
        raise ConsentInvalid(errors)

    if form is None:
        form = SignupForm.objects.create(**values)
    else:
        for name, value in values.items():
            setattr(form, name, value)
        form.save()
    if topics is not None:
        form.topics.set(topics)
    if custom is not None:
        form.custom_fields.set(custom)
    for language, text in texts.items():
        current = form.current_text(language)
        if current is None or current.text != text:
            ConsentText.objects.create(form=form, language=language, text=text,
                                       version=(current.version + 1) if current else 1,
                                       created_by=actor.label)
    return form


@transaction.atomic
def do_delete_form(actor: Actor, form: SignupForm) -> str:
    """Delete a form nobody signed up with; one with sign-ups is only closed."""
    require(actor, "forms.manage")
    if form.signups.exists() or ConsentChange.objects.filter(form=form).exists():
        form.active = False
        form.save(update_fields=["active"])
        return "closed"
    form.texts.all().delete()
    form.delete()
    return "deleted"
