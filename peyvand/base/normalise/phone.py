"""Mobile numbers to E.164; Iranian forms first (09.., 9.., 98.., 0098.., +98.., any digits)."""

from __future__ import annotations

import re

import phonenumbers
from django.utils.translation import gettext_lazy as _

from peyvand.base.normalise.errors import InvalidValue
from peyvand.base.normalise.text import ascii_digits

_JUNK = re.compile(r"[\s\-().\u061c\u200c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def normalise_phone(value: str | None, field: str = "phone", region: str = "IR",
                    mobile_only: bool = True) -> str:
    raw = _JUNK.sub("", ascii_digits((value or "").strip()))
    if not raw:
        raise InvalidValue(field, _("A mobile number is required."), value)
    # phonenumbers would read letters as keypad digits ("0912-CALL-NOW") and drop "tel:" or
    # extensions; a mobile typed into a CRM is digits and at most a leading +.
    if not re.fullmatch(r"\+?\d+", raw):
        raise InvalidValue(field, _("“%(value)s” is not a phone number.") % {"value": value}, value)
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    elif region == "IR" and raw.startswith("98") and len(raw) == 12:
        raw = "+" + raw
    elif region == "IR" and raw.startswith("9") and len(raw) == 10:
        raw = "0" + raw
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
