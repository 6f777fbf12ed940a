"""Iranian national ID (کد ملی): 10 digits with a mod-11 check digit."""

from __future__ import annotations

import re

from django.utils.translation import gettext_lazy as _

from peyvand.base.normalise.errors import InvalidValue
from peyvand.base.normalise.text import ascii_digits


def national_id_is_valid(digits: str) -> bool:
    if len(digits) != 10 or not digits.isdigit() or len(set(digits)) == 1:
        return False
    s = sum(int(digits[i]) * (10 - i) for i in range(9))
    r = s % 11
    check = r if r < 2 else 11 - r
    return int(digits[9]) == check


def normalise_national_id(value: str | None, field: str = "national_id") -> str:
    raw = re.sub(r"[\s\-]", "", ascii_digits((value or "").strip()))
    if raw.isdigit() and 8 <= len(raw) < 10:
        # Excel drops leading zeros from codes such as 0012345678.
        raw = raw.zfill(10)
    if not national_id_is_valid(raw):
        raise InvalidValue(field, _("“%(value)s” is not a valid national ID (کد ملی).")
                           % {"value": value}, value)
    return raw
