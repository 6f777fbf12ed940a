"""Contact input: the checked shape of what a caller wants written (ContactData), and its errors."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from peyvand.base.dates import parse_date
from peyvand.base.errors import Invalid
from peyvand.base.normalise import (
    InvalidValue,
    normalise_email,
    normalise_national_id,
    normalise_phone,
    normalise_text,
)
from peyvand.contacts.fields import fields_by_key, parse_field_value
from peyvand.contacts.models import Contact, Identity

SCALARS = ("first_name", "last_name", "language", "timezone", "birthday", "national_id",
           "source")
_TIMEZONES: set[str] = set()


class ContactInvalid(Invalid):
    """Input that cannot be saved; `errors` maps each field to what is wrong with it."""


# The API names an identity by the input field that carries it.
_IDENTITY_FIELD = {"email": "email", "phone": "phone", "external": "external_ids"}


class IdentityConflict(Invalid):
    """An identity being attached already belongs to another contact (409, naming it)."""

    status = 409

    def __init__(self, field_name: str, value: str, owner_id: int):
        message = _("%(value)s already belongs to contact #%(id)s; merge the two contacts "
                    "instead.") % {"value": value, "id": owner_id}
        super().__init__({_IDENTITY_FIELD.get(field_name, field_name): message},
                         owner_id=owner_id)
        self.field = field_name
        self.value = value
        self.owner_id = owner_id
        self.message = message

    def __str__(self) -> str:
        return str(self.message)


@dataclass
class ContactData:
    """Validated input; None means "not given" (left as it is)."""

    scalars: dict[str, Any] = field(default_factory=dict)
    emails: list[str] | None = None
    phones: list[str] | None = None
    externals: list[tuple[str, str]] | None = None
    tags: list[str] | None = None
    fields: dict[str, Any] | None = None  # key -> typed value (None clears)

    def identity_keys(self) -> list[tuple[str, str, str]]:
        keys: list[tuple[str, str, str]] = [(Identity.Kind.EMAIL, "", e)
                                            for e in self.emails or []]
        keys += [(Identity.Kind.PHONE, "", p) for p in self.phones or []]
        keys += [(Identity.Kind.EXTERNAL, s, v) for s, v in self.externals or []]
        return keys


def _as_list(value: Any) -> list:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def _check_timezone(value: str) -> str:
    if not _TIMEZONES:
        _TIMEZONES.update(zoneinfo.available_timezones())
    if value not in _TIMEZONES:
        raise InvalidValue("timezone", _("“%(value)s” is not a known time zone (e.g. "
                                         "Asia/Tehran).") % {"value": value}, value)
    return value


def check_contact_data(raw: dict[str, Any], *, require_identity: bool = False) -> ContactData:
    """Normalise and validate everything in `raw`; collects every error before raising."""
    errors: dict[str, str] = {}
    data = ContactData()

    def attempt(name: str, fn, value):
        try:
            return fn(value)
        except InvalidValue as exc:
            errors[exc.field or name] = str(exc.message)
            return None

    for name in ("first_name", "last_name"):
        if name in raw and raw[name] is not None:
            text = normalise_text(str(raw[name]))
            if len(text) > 150:
                errors[name] = _("At most 150 characters.")
            data.scalars[name] = text
    if raw.get("language") is not None:
        lang = str(raw["language"]).strip().lower()[:2]
        if lang not in Contact.Language.values:
            errors["language"] = _("Language must be fa or en.")
        data.scalars["language"] = lang
    if raw.get("timezone") is not None:
        data.scalars["timezone"] = attempt("timezone", _check_timezone, str(raw["timezone"]))
    if "birthday" in raw:
        birthday = attempt("birthday", lambda v: parse_date(v, "birthday"), raw["birthday"])
        if birthday and birthday > timezone.localdate():
            errors["birthday"] = _("A birthday cannot be in the future.")
        data.scalars["birthday"] = birthday
    if "national_id" in raw:
        value = raw["national_id"]
        data.scalars["national_id"] = (
            attempt("national_id", normalise_national_id, value) if value else "")
    if raw.get("source") is not None:
        data.scalars["source"] = normalise_text(str(raw["source"]))[:64]

    if "emails" in raw or raw.get("email"):
        values = _as_list(raw.get("emails")) + _as_list(raw.get("email"))
        data.emails = []
        for i, v in enumerate(values):
            e = attempt("email", lambda x, i=i: normalise_email(x, "email"), v)
            if e and e not in data.emails:
                data.emails.append(e)
    if "phones" in raw or raw.get("phone"):
        values = _as_list(raw.get("phones")) + _as_list(raw.get("phone"))
        data.phones = []
        for v in values:
            p = attempt("phone", lambda x: normalise_phone(x, "phone"), v)
            if p and p not in data.phones:
                data.phones.append(p)
    if "external_ids" in raw:
        data.externals = []
        for item in _as_list(raw["external_ids"]):
            if not isinstance(item, dict) or not str(item.get("id") or "").strip() \
                    or not str(item.get("source") or "").strip():
                errors["external_ids"] = _("Each external id needs a source and an id.")
                continue
            pair = (normalise_text(str(item["source"]))[:64], str(item["id"]).strip()[:320])
            if pair not in data.externals:
                data.externals.append(pair)
    if "tags" in raw and raw["tags"] is not None:
        data.tags = []
        for t in _as_list(raw["tags"]):
            name = normalise_text(str(t))
            if len(name) > 64:
                errors["tags"] = _("A tag has at most 64 characters.")
            elif name and name not in data.tags:
                data.tags.append(name)
    if raw.get("fields"):
        if not isinstance(raw["fields"], dict):
            errors["fields"] = _("Fields must be an object of key: value.")
        else:
            known = fields_by_key()
            data.fields = {}
            for key, value in raw["fields"].items():
                cf = known.get(key)
                if cf is None:
                    errors[f"fields.{key}"] = _("There is no custom field “%(key)s”.") \
                        % {"key": key}
                    continue
                data.fields[key] = attempt(f"fields.{key}",
                                           lambda v, cf=cf: parse_field_value(cf, v), value)
    if require_identity and not (data.emails or data.phones or data.externals):
        errors.setdefault("email", _("An e-mail address or a mobile number is required."))
    if errors:
        raise ContactInvalid(errors)
    return data
