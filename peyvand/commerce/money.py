"""Money as integers in minor units plus a currency code.

Iranian shops quote toman (WooCommerce's non-ISO `IRT`) and Persian plugins add thousand-rial
(`IRHR`) and ten-thousand-rial (`IRHT`) units; all of them are stored as rial (`IRR`), which
has no minor unit in practice. Other currencies keep their ISO minor unit (USD cents).
"""

from __future__ import annotations

import re
import time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from peyvand.base.dates import persian_digits
from peyvand.base.normalise import InvalidValue, ascii_digits

RIAL = "IRR"
# Non-ISO Iranian units -> rials per unit.
_IRANIAN_UNITS = {"IRR": 1, "IRT": 10, "IRHR": 1_000, "IRHT": 10_000}
# ISO 4217 minor-unit exponents that are not 2 (IRR: 0 in practice, the dinar is unused).
_EXPONENTS = {
    "IRR": 0, "JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "UGX": 0, "XAF": 0, "XOF": 0,
    "XPF": 0, "PYG": 0, "RWF": 0, "KMF": 0, "GNF": 0, "DJF": 0, "VUV": 0, "BIF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}
# Keeps every amount (and sums of many) inside a signed 64-bit column.
MAX_MINOR = 10**17

_CODE = re.compile(r"^[A-Z]{3,4}$")
# Thousands separators people and spreadsheets use: comma, Arabic thousands sign and comma,
# apostrophe, underscore and every kind of space.
_GROUP = re.compile("[,\u066c\u060c'_\\s\u00a0\u202f\u2009]")
_INVISIBLE = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_GROUPED = re.compile(r"^\d{1,3}(\d{3})*$")
_ARABIC_DECIMAL = "\u066b"  # ٫

# In Persian, amounts read «۱٬۲۵۰٬۰۰۰ ریال»: the unit word is the fa rendering itself (like the
# digits), not an interface string, so it does not depend on a compiled catalogue.
_FA_UNITS = {"IRR": "ریال", "IRT": "تومان", "USD": "دلار", "EUR": "یورو"}


def currency_code(currency: str | None, field: str = "currency") -> str:
    """The upper-case code as given (IRT stays IRT); refuses anything not 3–4 letters."""
    code = (currency or "").strip().upper()
    if not code:
        raise InvalidValue(field, _("A currency is required (IRR, IRT, USD…)."), currency)
    if not _CODE.match(code):
        raise InvalidValue(field, _("“%(value)s” is not a currency code (IRR, IRT, USD…).")
                           % {"value": currency or ""}, currency)
    return code


def stored_currency(currency: str | None, field: str = "currency") -> str:
    """The code amounts in `currency` are stored in: every Iranian unit becomes IRR."""
    code = currency_code(currency, field)
    return RIAL if code in _IRANIAN_UNITS else code


def exponent(currency: str) -> int:
    return _EXPONENTS.get(currency, 2)


def parse_decimal(value: Any, field: str = "amount") -> Decimal:
    """'۱٬۲۵۰٬۰۰۰', '1,250,000.50', 12.5, Decimal('3') -> Decimal; refuses anything else.

    A separator must group thousands: '12,50' is refused rather than read as 1250, since
    half of Europe writes that for twelve and a half.
    """
    if isinstance(value, bool) or value is None:
        raise InvalidValue(field, _("An amount is required."), value)
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))  # 0.1 stays 0.1, not its binary expansion
    else:
        text = _INVISIBLE.sub("", ascii_digits(str(value))).strip()
        if not text:
            raise InvalidValue(field, _("An amount is required."), value)
        text = text.replace(_ARABIC_DECIMAL, ".").replace("\u2212", "-")
        sign = ""
        if text[:1] in "+-":
            sign, text = text[0], text[1:].strip()
        whole, dot, fraction = text.partition(".")
        if _GROUP.search(whole):
            groups = _GROUP.sub(" ", whole).split()
            if not _GROUPED.match("".join(groups)) or len(groups[0]) > 3 or \
                    any(len(g) != 3 for g in groups[1:]):
                raise InvalidValue(field, _("“%(value)s” is not an amount; separate thousands "
                                            "in groups of three (1,250,000).")
                                   % {"value": value}, value)
            whole = "".join(groups)
        text = f"{sign}{whole}{dot}{fraction}"
        if not _NUMBER.match(text):
            raise InvalidValue(field, _("“%(value)s” is not an amount.") % {"value": value},
                               value)
        number = Decimal(text)
    if not number.is_finite():
        raise InvalidValue(field, _("“%(value)s” is not an amount.") % {"value": value}, value)
    return number


def to_minor(amount: Any, currency: str | None, field: str = "amount") -> tuple[int, str]:
    """An amount as typed or sent, in `currency`, to (integer minor units, stored currency).

    to_minor("۱۲٬۵۰۰", "IRT") == (125000, "IRR"); to_minor("12.5", "USD") == (1250, "USD").
    """
    code = currency_code(currency)
    value = parse_decimal(amount, field)
    if code in _IRANIAN_UNITS:
        value, code = value * _IRANIAN_UNITS[code], RIAL
    try:
        minor = int(value.scaleb(exponent(code)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    except InvalidOperation:
        minor = MAX_MINOR
    if abs(minor) >= MAX_MINOR:
        raise InvalidValue(field, _("“%(value)s” is too large an amount.") % {"value": amount},
                           amount)
    return minor, code


def from_minor(minor: int, currency: str) -> Decimal:
    """Minor units back to the major unit (rial, dollar) as an exact Decimal."""
    return Decimal(int(minor)).scaleb(-exponent(currency))


# The shop's display unit, read once a few seconds (every amount on a page asks).
_UNIT_TTL = 5.0
_unit_cache: dict[str, float | bool] = {}


def shows_toman() -> bool:
    """Whether rial amounts are shown in toman: the shop's setting (commerce.MoneySettings),
    toman unless the owner chose rial."""
    now = time.monotonic()
    if _unit_cache and now - float(_unit_cache["at"]) < _UNIT_TTL:
        return bool(_unit_cache["toman"])
    from peyvand.commerce.models import MoneySettings

    row = MoneySettings.objects.filter(pk=1).only("display_unit").first()
    toman = row is None or row.display_unit == MoneySettings.Unit.TOMAN
    _unit_cache.update({"at": now, "toman": toman})
    return toman


def forget_display_unit() -> None:
    _unit_cache.clear()


def display_currency(currency: str) -> tuple[str, int]:
    """(the code amounts in `currency` are shown in, how many stored minor units make one
    of its whole units): ("IRT", 10) for rial on a toman shop, ("USD", 100) for dollars."""
    if currency == RIAL and shows_toman():
        return "IRT", 10
    return currency, 10 ** exponent(currency)


def unit_label(currency: str, language: str | None = None) -> str:
    """The word a page puts beside amounts in `currency`: «تومان», "IRT", «ریال», "USD"."""
    code, _factor = display_currency(currency)
    language = (language or get_language() or "fa")[:2]
    return _FA_UNITS.get(code, code) if language == "fa" else code


def format_money(minor: int | None, currency: str, language: str | None = None, *,
                 toman: bool | None = None) -> str:
    """'IRR 1,250,000' in English, '۱٬۲۵۰٬۰۰۰ ریال' in Persian; rial amounts in toman
    ('۱۲۵٬۰۰۰ تومان', 'IRT 125,000') when the shop shows toman (`toman` None, the one
    convention every page follows) or when `toman` says so."""
    if minor is None:
        return ""
    if toman is None:
        toman = currency == RIAL and shows_toman()
    language = (language or get_language() or "fa")[:2]
    code = currency
    value = from_minor(minor, currency)
    places = exponent(currency)
    if toman and currency == RIAL:
        code, value = "IRT", value / 10
        places = 0 if value == value.to_integral_value() else 1
    text = f"{value:,.{places}f}"
    if language != "fa":
        return f"{code} {text}"
    text = persian_digits(text.replace(",", "\u066c").replace(".", _ARABIC_DECIMAL))
    return f"{text} {_FA_UNITS.get(code, code)}"
