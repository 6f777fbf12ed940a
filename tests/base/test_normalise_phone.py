"""normalise_phone: every way an Iranian mobile is written gives one E.164 number."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from peyvand.base.normalise import InvalidValue, normalise_phone
from peyvand.base.normalise.phone import iranian_mobile, parsed_phone
from tests.base.strategies import ASCII_DIGITS, PROPERTY, digit_script, in_script

# Operator prefixes in use (MCI 91x/990-994, Irancell 90x/93x, Rightel 920-922).
MOBILE_PREFIXES = ["901", "902", "903", "904", "905", "910", "911", "912", "913", "914",
                   "915", "916", "917", "918", "919", "920", "921", "922", "930", "933",
                   "935", "936", "937", "938", "939", "990", "991", "992", "993", "994"]
# Landline area codes (Tehran 21, Isfahan 31, Mashhad 51, Shiraz 71, Tabriz 41, ...).
AREA_CODES = ["11", "13", "17", "21", "23", "24", "25", "26", "28", "31", "34", "35", "38",
              "41", "44", "45", "51", "54", "56", "58", "61", "66", "71", "74", "76", "77",
              "81", "83", "84", "86", "87"]

mobile = st.builds(lambda p, rest: p + rest, st.sampled_from(MOBILE_PREFIXES),
                   st.text(alphabet=ASCII_DIGITS, min_size=7, max_size=7))  # 9XXXXXXXXX
written_as = st.sampled_from(["0{}", "{}", "98{}", "+98{}", "0098{}"])
separator = st.sampled_from([" ", "-", "  ", " - ", "\u200f", "\u200e", "\u00a0", "\u061c"])


@st.composite
def spread(draw, text: str) -> str:
    """`text` with separators dropped between some of its characters."""
    out = text[0]
    for ch in text[1:]:
        if draw(st.booleans()) and draw(st.booleans()):
            out += draw(separator)
        out += ch
    return out


@PROPERTY
@given(mobile, written_as, digit_script, st.data())
def test_every_written_form_of_a_mobile_gives_the_same_e164(number, form, script, data):
    written = data.draw(spread(in_script(form.format(number), script)))
    assert normalise_phone(written) == f"+98{number}"


@PROPERTY
@given(mobile, written_as, digit_script)
def test_normalise_phone_is_idempotent(number, form, script):
    once = normalise_phone(in_script(form.format(number), script))
    assert normalise_phone(once) == once


def test_examples():
    expected = "+989123456789"
    for written in ["09123456789", "9123456789", "989123456789", "+989123456789",
                    "00989123456789", "۰۹۱۲۳۴۵۶۷۸۹", "٠٩١٢٣٤٥٦٧٨٩", "+98 912 345 6789",
                    "0912-345-6789", "(0912) 345 67 89", "+۹۸ ۹۱۲ ۳۴۵ ۶۷۸۹", "  09123456789 "]:
        assert normalise_phone(written) == expected, written


@PROPERTY
@given(st.sampled_from(AREA_CODES), st.text(alphabet=ASCII_DIGITS, min_size=8, max_size=8),
       st.sampled_from(["0{}", "+98{}", "0098{}"]), digit_script)
def test_landlines_are_rejected(area, rest, form, script):
    with pytest.raises(InvalidValue) as exc:
        normalise_phone(in_script(form.format(area + rest), script))
    assert exc.value.field == "phone"


@pytest.mark.parametrize("junk", [
    "", "   ", None, "hello", "0912", "091234567", "091234567890", "09123456789 ext",
    "+98", "+", "00", "0000000000", "1234567", "abc-def", "۰۹۱۲",
    "+989123456789123", "9123456789x", "0912-CALL-NOW", "0912345FLOW", "tel:09123456789",
    "09123456789;ext=1", "09123456789#12", "+98+9123456789", "0912*3456789",
])
def test_junk_is_rejected_naming_the_field(junk):
    with pytest.raises(InvalidValue) as exc:
        normalise_phone(junk)
    assert exc.value.field == "phone"
    with pytest.raises(InvalidValue) as exc:
        normalise_phone(junk, "mobile")
    assert exc.value.field == "mobile"


@PROPERTY
@given(mobile, st.text(alphabet=st.characters(categories=["L", "P", "S"]), min_size=1,
                       max_size=3), st.booleans())
def test_a_mobile_with_letters_or_symbols_in_it_is_rejected(number, extra, before):
    assume(extra.strip("+-().") and not any(c.isdigit() for c in extra))
    written = f"{extra}0{number}" if before else f"0{number}{extra}"
    with pytest.raises(InvalidValue):
        normalise_phone(written)


@PROPERTY
@given(st.text(max_size=30))
def test_text_without_digits_is_rejected(text):
    assume(not any(c.isdigit() for c in text))
    with pytest.raises(InvalidValue) as exc:
        normalise_phone(text)
    assert exc.value.field == "phone"


@PROPERTY
@given(st.text(alphabet=ASCII_DIGITS, min_size=1, max_size=15))
def test_any_digit_string_is_either_rejected_or_a_mobile_in_e164(digits):
    try:
        out = normalise_phone(digits)
    except InvalidValue as exc:
        assert exc.field == "phone"
    else:
        assert out.startswith("+") and out[1:].isdigit()
        assert normalise_phone(out) == out
        number = phonenumbers.parse(out)
        assert phonenumbers.number_type(number) in (
            phonenumbers.PhoneNumberType.MOBILE,
            phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)


FOREIGN = [r for r in sorted(phonenumbers.SUPPORTED_REGIONS)
           if r != "IR" and phonenumbers.example_number_for_type(
               r, phonenumbers.PhoneNumberType.MOBILE) is not None]


@pytest.mark.parametrize("region", FOREIGN)
def test_foreign_mobiles_with_plus_are_kept_in_e164(region):
    number = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    spaced = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    assert normalise_phone(e164) == e164
    assert normalise_phone(spaced) == e164
    assert normalise_phone("00" + e164[1:]) == e164
    assert normalise_phone(in_script(e164, "۰۱۲۳۴۵۶۷۸۹")) == e164


def test_foreign_examples():
    assert normalise_phone("+44 7911 123456") == "+447911123456"
    assert normalise_phone("+49 151 23456789") == "+4915123456789"
    assert normalise_phone("+90 532 123 45 67") == "+905321234567"
    # A foreign landline is still not a mobile.
    with pytest.raises(InvalidValue):
        normalise_phone("+44 20 7946 0958")


# --- the fast path for Iranian mobiles ----------------------------------------------------------

def library(raw: str) -> str | None:
    """phonenumbers' answer alone for an ASCII "09…"/"+98…" form: E.164 or None."""
    try:
        return parsed_phone(raw)
    except InvalidValue:
        return None


national = st.text(alphabet=ASCII_DIGITS, min_size=9, max_size=9).map("9".__add__)


@PROPERTY
@given(mobile, st.sampled_from(["0{}", "+98{}"]))
def test_fast_path_takes_iranian_mobiles_and_agrees_with_the_library(number, form):
    raw = form.format(number)
    assert iranian_mobile(raw) == library(raw) == f"+98{number}"


@PROPERTY
@given(national, st.sampled_from(["0{}", "+98{}"]))
def test_fast_path_answers_only_what_the_library_would(number, form):
    # Every 9XXXXXXXXX: unassigned ranges and 94… (fixed line) must fall back, not differ.
    raw = form.format(number)
    fast = iranian_mobile(raw)
    assert fast is None or fast == library(raw)


@PROPERTY
@given(st.one_of(national, st.text(alphabet=ASCII_DIGITS, min_size=1, max_size=12)),
       written_as, digit_script, st.data())
def test_any_written_form_gives_what_the_library_gives(number, form, script, data):
    written = data.draw(spread(in_script(form.format(number), script)))
    # The library alone on the same digits, after the same Iranian prefixes are read.
    digits = form.format(number)
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    elif digits.startswith("98") and len(digits) == 12:
        digits = "+" + digits
    elif digits.startswith("9") and len(digits) == 10:
        digits = "0" + digits
    try:
        got = normalise_phone(written)
    except InvalidValue:
        got = None
    assert got == library(digits)


@pytest.mark.parametrize("raw", [
    "02112345678", "+982112345678", "09412345678", "+989412345678", "+447911123456",
    "0912345678", "091234567890", "+9809123456789", "09601234567", "9123456789",
    "989123456789",
])
def test_numbers_outside_the_fast_path_go_to_the_library(raw):
    assert iranian_mobile(raw) is None


def test_the_fast_path_is_used_for_iranian_mobiles(monkeypatch):
    import peyvand.base.normalise.phone as module

    def no_parsing(*args, **kwargs):
        raise AssertionError("parsed")

    monkeypatch.setattr(module, "parsed_phone", no_parsing)
    assert normalise_phone("۰۹۱۲ ۳۴۵ ۶۷۸۹") == "+989123456789"
    assert normalise_phone("+98 935 123 4567") == "+989351234567"
    assert normalise_phone("989901234567") == "+989901234567"
    with pytest.raises(AssertionError):
        normalise_phone("02112345678")
