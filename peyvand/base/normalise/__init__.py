"""Normalisers used on every way in (UI, API, CLI, imports, demo).

Each normaliser returns the canonical value or raises `InvalidValue` naming the field and
the reason; callers show that message to the person who typed the value.

The e-mail and phone normalisers load email-validator and phonenumbers' metadata (~45 ms):
they are imported when first asked for, so a process that never normalises (the sender)
does not pay for them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from peyvand.base.normalise.errors import InvalidValue
from peyvand.base.normalise.national_id import normalise_national_id
from peyvand.base.normalise.text import (
    ascii_digits,
    check_storable_text,
    normalise_text,
    search_key,
)

if TYPE_CHECKING:
    from peyvand.base.normalise.email import normalise_email
    from peyvand.base.normalise.phone import normalise_phone

_LAZY = {"normalise_email": "email", "normalise_phone": "phone"}

__all__ = [
    "InvalidValue",
    "ascii_digits",
    "check_storable_text",
    "normalise_email",
    "normalise_national_id",
    "normalise_phone",
    "normalise_text",
    "search_key",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
