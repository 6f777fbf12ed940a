"""Which column feeds which contact field: guessed from Persian or English headers, and
overridden by whoever imports (UI selects, `--map COLUMN=field`, the API's mapping JSON)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from peyvand.base.normalise import ascii_digits, search_key
from peyvand.contacts.models import CustomField

IGNORE = ""
FIELD_PREFIX = "fields."
# Fixed targets, in the order the mapping page lists them.
TARGETS = {
    "first_name": gettext_lazy("First name"),
    "last_name": gettext_lazy("Last name"),
    "email": gettext_lazy("E-mail"),
    "phone": gettext_lazy("Mobile"),
    "national_id": gettext_lazy("National ID"),
    "birthday": gettext_lazy("Birthday"),
    "tags": gettext_lazy("Tags"),
    "language": gettext_lazy("Language"),
}
# Subscriptions from another tool (imports.subscriptions): chosen by whoever imports, never
# guessed from headers, and only an owner may import them.
CONSENT_PREFIX = "consent."
CONSENT_TARGETS = {
    CONSENT_PREFIX + "status": gettext_lazy("Subscription status"),
    CONSENT_PREFIX + "channel": gettext_lazy("Subscription channel"),
    CONSENT_PREFIX + "topics": gettext_lazy("Subscription topics"),
    CONSENT_PREFIX + "opted_in_at": gettext_lazy("Opted in on"),
    CONSENT_PREFIX + "evidence": gettext_lazy("Consent evidence (IP, form, list …)"),
}
# Several columns may feed these (a second e-mail, a second mobile); the rest take one column.
LIST_TARGETS = frozenset({"email", "phone", "tags"})
IDENTITY_TARGETS = frozenset({"email", "phone"})

# Header spellings seen in shop exports; compared after header_key(), so case, spaces,
# ZWNJ, punctuation and ي/ك variants do not matter.
SYNONYMS = {
    "first_name": ["first name", "firstname", "first", "given name", "name", "fname",
                   "نام", "اسم", "نام کوچک"],
    "last_name": ["last name", "lastname", "last", "surname", "family name", "family", "lname",
                  "نام خانوادگی", "فامیل", "فامیلی", "نام فامیل"],
    "email": ["email", "e-mail", "mail", "email address", "e-mail address", "emails",
              "ایمیل", "ای میل", "پست الکترونیک", "پست الکترونیکی", "رایانامه", "آدرس ایمیل"],
    "phone": ["phone", "mobile", "mobile number", "mobile phone", "phone number", "cell",
              "cellphone", "cell phone", "tel", "telephone", "phones", "mobiles",
              "موبایل", "شماره موبایل", "تلفن همراه", "شماره تلفن همراه", "همراه",
              "شماره همراه", "تلفن", "شماره تلفن", "شماره تماس", "تلفن تماس"],
    "national_id": ["national id", "national code", "national number", "nid", "کد ملی",
                    "شماره ملی", "کدملی"],
    "birthday": ["birthday", "birth date", "birthdate", "date of birth", "dob", "born",
                 "تاریخ تولد", "تولد", "روز تولد"],
    "tags": ["tags", "tag", "labels", "برچسب", "برچسب ها", "برچسبها", "تگ", "تگ ها"],
    "language": ["language", "lang", "زبان"],
}
_NOT_WORD = re.compile(r"[\W_]+")
_COLUMN_NUMBER = re.compile(r"^#?(\d+)$")


class MappingError(ValueError):
    """A mapping that cannot be used; the message says which column or field is wrong."""


def header_key(text: str) -> str:
    """One spelling for a header: normalised, case-folded, without spaces or punctuation."""
    return _NOT_WORD.sub("", search_key(text))


def _lookup(custom_fields: Iterable[CustomField]) -> dict[str, str]:
    table: dict[str, str] = {}
    for target, words in SYNONYMS.items():
        for word in [target, *words]:
            table.setdefault(header_key(word), target)
    for cf in custom_fields:
        for word in (cf.key, cf.label_fa, cf.label_en, FIELD_PREFIX + cf.key):
            table.setdefault(header_key(word), FIELD_PREFIX + cf.key)
    return table


def target_choices(custom_fields: Iterable[CustomField], language: str, *,
                   consent: bool = False) -> list[tuple[str, Any]]:
    """The choices of the mapping page; `consent`: with the subscription columns (owners)."""
    choices: list[tuple[str, Any]] = [(IGNORE, _("— do not import —"))]
    choices += [(k, str(v)) for k, v in TARGETS.items()]
    choices += [(FIELD_PREFIX + cf.key, cf.label(language)) for cf in custom_fields]
    if consent:
        choices.append((_("Subscription from another tool"),
                        [(k, str(v)) for k, v in CONSENT_TARGETS.items()]))
    return choices


def auto_mapping(headers: list[str], custom_fields: Iterable[CustomField]) -> list[str]:
    """A target for each column, or IGNORE; a single-value field takes its first column only."""
    table = _lookup(custom_fields)
    targets, taken = [], set()
    for header in headers:
        key = header_key(header)
        target = table.get(key, IGNORE)
        if not target and table.get(key.rstrip("0123456789")) in LIST_TARGETS:
            target = table[key.rstrip("0123456789")]  # "Email 2", «موبایل ۲»
        if target and target not in LIST_TARGETS and target in taken:
            target = IGNORE
        taken.add(target)
        targets.append(target)
    return targets


def parse_target(name: str, custom_fields: Iterable[CustomField]) -> str:
    """The target a person typed: a field name, one of its header spellings, or a custom
    field's key or label; empty, "-" or "ignore" skip the column."""
    text = (name or "").strip()
    if text in ("", "-") or header_key(text) in ("ignore", "skip"):
        return IGNORE
    if text in CONSENT_TARGETS:  # only ever named in full
        return text
    target = _lookup(custom_fields).get(header_key(text))
    if target is None:
        known = ", ".join([*TARGETS, *(FIELD_PREFIX + cf.key for cf in custom_fields),
                           *CONSENT_TARGETS])
        raise MappingError(_("Unknown field “%(name)s”; use one of: %(known)s.")
                           % {"name": name, "known": known})
    return target


def _column_index(headers: list[str], column: str) -> int:
    if column in headers:
        return headers.index(column)
    key = header_key(column)
    for i, header in enumerate(headers):
        if header_key(header) == key:
            return i
    number = _COLUMN_NUMBER.match(ascii_digits(column.strip()))
    if number and 1 <= int(number.group(1)) <= len(headers):
        return int(number.group(1)) - 1
    raise MappingError(_("The file has no column “%(column)s”; its columns are: %(headers)s.")
                       % {"column": column, "headers": "، ".join(headers)})


def resolve_mapping(headers: list[str], overrides: dict[str, str] | None,
                    custom_fields: list[CustomField]) -> list[str]:
    """Auto-mapping with `overrides` ({column header or #number: field}) applied on top."""
    targets = auto_mapping(headers, custom_fields)
    for column, name in (overrides or {}).items():
        index = _column_index(headers, str(column))
        target = parse_target(str(name or ""), custom_fields)
        if target and target not in LIST_TARGETS:
            # Naming a column for a single-value field takes it from the guessed column.
            targets = [IGNORE if t == target else t for t in targets]
        targets[index] = target
    return check_mapping(headers, targets, custom_fields)


def check_mapping(headers: list[str], targets: list[str],
                  custom_fields: Iterable[CustomField]) -> list[str]:
    """Validate a complete mapping (one target per column)."""
    if len(targets) != len(headers):
        raise MappingError(_("Give one field for each of the %(count)d columns.")
                           % {"count": len(headers)})
    valid = {IGNORE, *TARGETS, *(FIELD_PREFIX + cf.key for cf in custom_fields),
             *CONSENT_TARGETS}
    seen: dict[str, str] = {}
    for header, target in zip(headers, targets, strict=True):
        if target not in valid:
            raise MappingError(_("Unknown field “%(name)s”.") % {"name": target})
        if target and target not in LIST_TARGETS and target in seen:
            raise MappingError(_("Both “%(first)s” and “%(second)s” are mapped to the same "
                                 "field; a field takes one column.")
                               % {"first": seen[target], "second": header})
        seen.setdefault(target, header)
    if not IDENTITY_TARGETS & set(targets):
        raise MappingError(_("Map at least one column to E-mail or Mobile: every contact "
                             "needs one of them."))
    return list(targets)
