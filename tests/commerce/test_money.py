from decimal import Decimal

import pytest

from peyvand.base.normalise import InvalidValue
from peyvand.commerce.money import format_money, from_minor, stored_currency, to_minor


@pytest.mark.parametrize("amount, currency, expected", [
    ("125000", "IRT", (1_250_000, "IRR")),          # toman -> rial
    ("1250", "IRHR", (1_250_000, "IRR")),           # thousand rial
    ("125", "IRHT", (1_250_000, "IRR")),            # ten thousand rial
    ("1250000", "IRR", (1_250_000, "IRR")),
    ("۱۲۵٬۰۰۰", "IRT", (1_250_000, "IRR")),          # Persian digits, Arabic thousands sign
    ("١٢٥,٠٠٠", "irt", (1_250_000, "IRR")),          # Arabic-Indic digits, lower-case code
    ("1,250,000", "IRR", (1_250_000, "IRR")),
    ("1 250 000", "IRR", (1_250_000, "IRR")),
    ("۱۲٫۵", "IRT", (125, "IRR")),                   # Arabic decimal separator
    ("12.50", "USD", (1250, "USD")),                 # cents kept
    (12.5, "EUR", (1250, "EUR")),
    (0.1, "USD", (10, "USD")),                       # no binary-float residue
    (Decimal("3"), "USD", (300, "USD")),
    (7, "IRT", (70, "IRR")),
    ("1,234.565", "USD", (123457, "USD")),           # half up to the cent
    ("-10.00", "USD", (-1000, "USD")),               # shops send refunds negative
    ("2.5", "KWD", (2500, "KWD")),                   # three-decimal currency
    ("\u200e1,000\u200f", "IRR", (1000, "IRR")),     # direction marks from copy-paste
])
def test_to_minor(amount, currency, expected):
    assert to_minor(amount, currency) == expected


@pytest.mark.parametrize("amount", ["12,50", "1,25,000", "12abc", "", None, "--1", "1.2.3",
                                    True, "NaN", "Infinity", "1e5"])
def test_to_minor_refuses_what_is_not_an_amount(amount):
    with pytest.raises(InvalidValue) as exc:
        to_minor(amount, "IRR", "total")
    assert exc.value.field == "total"


@pytest.mark.parametrize("currency", ["", None, "TOMAN", "12", "I R"])
def test_to_minor_refuses_unknown_currency_codes(currency):
    with pytest.raises(InvalidValue) as exc:
        to_minor("10", currency)
    assert exc.value.field == "currency"


def test_too_large_amounts_are_refused():
    with pytest.raises(InvalidValue):
        to_minor("1" + "0" * 20, "IRR")


def test_stored_currency_and_back():
    assert stored_currency("irt") == "IRR"
    assert stored_currency("USD") == "USD"
    assert from_minor(1250, "USD") == Decimal("12.50")
    assert from_minor(1_250_000, "IRR") == Decimal(1_250_000)


def test_format_money_english_and_persian():
    assert format_money(1_250_000, "IRR", "en", toman=False) == "IRR 1,250,000"
    assert format_money(1_250_000, "IRR", "fa", toman=False) == "۱٬۲۵۰٬۰۰۰ ریال"
    assert format_money(1_250_000, "IRR", "fa", toman=True) == "۱۲۵٬۰۰۰ تومان"
    assert format_money(1_250_005, "IRR", "en", toman=True) == "IRT 125,000.5"
    assert format_money(1250, "USD", "en") == "USD 12.50"
    assert format_money(1250, "USD", "fa") == "۱۲٫۵۰ دلار"
    assert format_money(None, "IRR", "en", toman=False) == ""


def test_format_money_follows_the_active_language():
    from django.utils import translation

    with translation.override("fa"):
        assert format_money(1000, "IRR", toman=False) == "۱٬۰۰۰ ریال"
    with translation.override("en"):
        assert format_money(1000, "IRR", toman=False) == "IRR 1,000"
