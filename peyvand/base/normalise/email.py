"""E-mail addresses: syntax checked, IDNA domain, lower-cased; never a DNS lookup."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from email_validator import EmailNotValidError, validate_email

from peyvand.base.normalise.errors import InvalidValue
from peyvand.base.normalise.text import ascii_digits


def normalise_email(value: str | None, field: str = "email") -> str:
    raw = ascii_digits((value or "").strip()).replace("\u200c", "")
    raw = raw.strip("<>").strip()
    if not raw:
        raise InvalidValue(field, _("An e-mail address is required."), value)
    try:
        result = validate_email(raw, check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError as exc:
        raise InvalidValue(field, _("“%(value)s” is not a valid e-mail address: %(reason)s")
                           % {"value": raw, "reason": str(exc)}, value)
    # Local parts are case-sensitive in theory; in practice every provider folds them,
    # and treating them so is what makes duplicates findable.
    domain = result.ascii_domain or result.domain
    return f"{result.local_part.lower()}@{domain.lower()}"
