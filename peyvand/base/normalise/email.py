"""E-mail addresses: syntax checked, IDNA domain, lower-cased; never a DNS lookup."""

from __future__ import annotations

import functools
import re

import email_validator
from django.utils.translation import gettext_lazy as _
from email_validator import EmailNotValidError, validate_email

from peyvand.base.normalise.errors import InvalidValue
from peyvand.base.normalise.text import ascii_digits

# Addresses almost everyone has: a dot-atom of letters, digits, "_", "+" and "-" before the
# @ (at most 64), and LDH labels of at most 63 (no "--" anywhere, so never IDNA) ending in
# an all-letter TLD after it. email-validator accepts every such address that is at most 254
# long and not on a special-use domain, and gives back exactly its lower-case form; anything
# else goes to the library.
_PLAIN = re.compile(r"(?=[A-Za-z0-9_+.-]{1,64}@)[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*"
                    r"@((?:(?=[A-Za-z0-9-]{1,63}\.)[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*\.)+"
                    r"[A-Za-z]{2,63})")


@functools.lru_cache(maxsize=4)
def _special_suffixes(names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple("." + name for name in names)


def plain_address(raw: str) -> str | None:
    """The normalised form of a plain ASCII address, or None when the library must decide."""
    if len(raw) > 254 or (match := _PLAIN.fullmatch(raw)) is None:
        return None
    # The list is part of the library's API and may be changed: read it at every call.
    special = _special_suffixes(tuple(email_validator.SPECIAL_USE_DOMAIN_NAMES))
    if ("." + match[1].lower()).endswith(special):
        return None
    return raw.lower()


# email-validator explains in English only: its common reasons, by a phrase of its message,
# in words of ours that are translated (the rare others keep the library's text).
_REASONS = (
    (("must have an @-sign",), _("it has no @ sign.")),
    (("instead of a regular at-sign",), _("its @ sign is not the plain @.")),
    (("something before the @-sign",), _("nothing comes before the @ sign.")),
    (("something after the @-sign",), _("nothing comes after the @ sign.")),
    (("too long",), _("it is too long.")),
    (("two periods in a row",), _("it has two dots in a row.")),
    (("should have a period", "not within a valid top-level domain"),
     _("after the @ sign comes no full domain name (like shop.ir).")),
    (("special-use or reserved",), _("its domain is reserved and cannot receive mail.")),
    (("period", "hyphen"), _("a dot or hyphen is out of place (at the start or end of a part).")),
    (("character",), _("it contains characters an address cannot have.")),
)


def _reason(exc: EmailNotValidError):
    text = str(exc)
    return next((reason for phrases, reason in _REASONS if any(p in text for p in phrases)),
                text)


def validated_address(raw: str, field: str = "email", value: object = None) -> str:
    """email-validator's normalised form of `raw`, lower-cased; InvalidValue if it refuses."""
    try:
        result = validate_email(raw, check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError as exc:
        raise InvalidValue(field, _("“%(value)s” is not a valid e-mail address: %(reason)s")
                           % {"value": raw, "reason": _reason(exc)}, value)
    # Local parts are case-sensitive in theory; in practice every provider folds them,
    # and treating them so is what makes duplicates findable.
    domain = result.ascii_domain or result.domain
    return f"{result.local_part.lower()}@{domain.lower()}"


def normalise_email(value: str | None, field: str = "email") -> str:
    raw = ascii_digits((value or "").strip()).replace("\u200c", "")
    raw = raw.strip("<>").strip()
    if not raw:
        raise InvalidValue(field, _("An e-mail address is required."), value)
    return plain_address(raw) or validated_address(raw, field, value)
