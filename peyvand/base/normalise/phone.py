"""Mobile numbers to E.164; Iranian forms first (09.., 9.., 98.., 0098.., +98.., any digits)."""

from __future__ import annotations

import functools
import re

import phonenumbers
from django.utils.translation import gettext_lazy as _

from peyvand.base.normalise.errors import InvalidValue
from peyvand.base.normalise.text import ascii_digits

_JUNK = re.compile(r"[\s\-().\u061c\u200c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_DIGITS = re.compile(r"\+?\d+")
# An Iranian number as the prefixes below leave it: +98 or the national 0, then 9 and nine
# ASCII digits (its national significant number).
_IR_MOBILE_FORM = re.compile(r"(?:\+98|0)(9[0-9]{9})")
_NOT_MOBILE_TYPES = ("fixed_line", "premium_rate", "toll_free", "shared_cost", "voip",
                     "personal_number", "pager", "uan", "voicemail")


@functools.cache
def _ir_mobile_pattern() -> re.Pattern[str] | None:
    """Matches a 10-digit Iranian national number that phonenumbers' own metadata certainly
    types as a valid mobile: the general and mobile patterns hold, and no pattern that
    phonenumbers checks before them (a number of two types falls back to the library).
    None when the metadata does not allow such a shortcut."""
    meta = phonenumbers.PhoneMetadata.metadata_for_region("IR")
    if meta is None or meta.same_mobile_and_fixed_line_pattern:
        return None
    general, mobile = meta.general_desc, meta.mobile
    if general is None or mobile is None:
        return None
    for desc in (general, mobile):
        if not desc.national_number_pattern \
                or (desc.possible_length and 10 not in desc.possible_length):
            return None
    others = [desc.national_number_pattern
              for desc in (getattr(meta, name) for name in _NOT_MOBILE_TYPES)
              if desc is not None and desc.national_number_pattern]
    return re.compile("".join([f"(?=(?:{general.national_number_pattern})\\Z)",
                               f"(?=(?:{mobile.national_number_pattern})\\Z)",
                               *(f"(?!(?:{other})\\Z)" for other in others), r"\d{10}"]))


def iranian_mobile(raw: str) -> str | None:
    """E.164 of `raw` ("09…" or "+989…", ASCII digits) when phonenumbers certainly takes it
    for an Iranian mobile, without parsing it; None when the library must decide."""
    match = _IR_MOBILE_FORM.fullmatch(raw)
    if match is None:
        return None
    pattern = _ir_mobile_pattern()
    if pattern is None or not pattern.fullmatch(match[1]):
        return None
    return "+98" + match[1]


def normalise_phone(value: str | None, field: str = "phone", region: str = "IR",
                    mobile_only: bool = True) -> str:
    raw = _JUNK.sub("", ascii_digits((value or "").strip()))
    if not raw:
        raise InvalidValue(field, _("A mobile number is required."), value)
    # phonenumbers would read letters as keypad digits ("0912-CALL-NOW") and drop "tel:" or
    # extensions; a mobile typed into a CRM is digits and at most a leading +.
    if not _DIGITS.fullmatch(raw):
        raise InvalidValue(field, _("“%(value)s” is not a phone number.") % {"value": value}, value)
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    elif region == "IR" and raw.startswith("98") and len(raw) == 12:
        raw = "+" + raw
    elif region == "IR" and raw.startswith("9") and len(raw) == 10:
        raw = "0" + raw
    if region == "IR" and (fast := iranian_mobile(raw)):
        return fast
    return parsed_phone(raw, field, region, mobile_only, value)


def parsed_phone(raw: str, field: str = "phone", region: str = "IR", mobile_only: bool = True,
                 value: object = None) -> str:
    """phonenumbers' reading of `raw` in E.164; InvalidValue when it is not a valid
    (mobile) number."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise InvalidValue(field, _("“%(value)s” is not a phone number.") % {"value": value}, value)
    if not phonenumbers.is_valid_number(number):
        raise InvalidValue(field, _("“%(value)s” is not a valid phone number.") % {"value": value},
                           value)
    if mobile_only and phonenumbers.number_type(number) not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        raise InvalidValue(field, _("“%(value)s” is not a mobile number.") % {"value": value},
                           value)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
