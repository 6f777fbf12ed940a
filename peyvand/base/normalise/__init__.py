"""Normalisers used on every way in (UI, API, CLI, imports, demo).

Each normaliser returns the canonical value or raises `InvalidValue` naming the field and
the reason; callers show that message to the person who typed the value.
"""

from peyvand.base.normalise.email import normalise_email
from peyvand.base.normalise.errors import InvalidValue
from peyvand.base.normalise.national_id import normalise_national_id
from peyvand.base.normalise.phone import normalise_phone
from peyvand.base.normalise.text import ascii_digits, normalise_text, search_key

__all__ = [
    "InvalidValue",
    "ascii_digits",
    "normalise_email",
    "normalise_national_id",
    "normalise_phone",
    "normalise_text",
    "search_key",
]
