"""normalise_national_id: 10 digits with the mod-11 check digit, in any digit script."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from peyvand.base.normalise import InvalidValue, normalise_national_id
from peyvand.base.normalise.national_id import national_id_is_valid
from tests.base.strategies import ASCII_DIGITS, PROPERTY, digit_script, in_script


def weighted_sum(body: str) -> int:
    return sum(int(d) * (10 - i) for i, d in enumerate(body[:9]))


def check_digit(body: str) -> str:
    """The published algorithm, written out independently of the code under test."""
    r = weighted_sum(body) % 11
    return str(r if r < 2 else 11 - r)


valid_code = st.text(alphabet=ASCII_DIGITS, min_size=9, max_size=9).map(
    lambda body: body + check_digit(body)).filter(lambda code: len(set(code)) > 1)


@PROPERTY
@given(valid_code, digit_script, st.sampled_from(["", " ", "-"]))
def test_valid_codes_are_accepted_in_every_digit_script(code, script, sep):
    written = in_script(f"{code[:3]}{sep}{code[3:9]}{sep}{code[9]}", script)
    assert normalise_national_id(written) == code
    assert normalise_national_id(f"  {written} ") == code


# City codes never start with 000, so at most two zeros can be missing.
zero_led_code = st.builds(
    lambda zeros, lead, rest: zeros + lead + rest[:8 - len(zeros)],
    st.sampled_from(["0", "00"]), st.sampled_from("123456789"),
    st.text(alphabet=ASCII_DIGITS, min_size=7, max_size=7),
).map(lambda body: body + check_digit(body))


@PROPERTY
@given(zero_led_code, digit_script)
def test_codes_whose_leading_zeros_excel_dropped_are_restored(code, script):
    assert len(code) == 10 and code.startswith("0") and national_id_is_valid(code)
    assert normalise_national_id(in_script(str(int(code)), script)) == code


@PROPERTY
@given(valid_code)
def test_normalise_national_id_is_idempotent(code):
    assert normalise_national_id(normalise_national_id(code)) == code


@PROPERTY
@given(valid_code, st.integers(0, 9), st.integers(1, 9))
def test_single_digit_changes_are_rejected(code, position, delta):
    changed = code[:position] + str((int(code[position]) + delta) % 10) + code[position + 1:]
    # The official check digit maps remainders 1 and 10 both to 1, so a change that swaps one
    # remainder for the other is a valid code by the standard too; every other change is caught.
    before, after = weighted_sum(code) % 11, weighted_sum(changed) % 11
    assume({before, after} != {1, 10} and len(set(changed)) > 1)
    with pytest.raises(InvalidValue) as exc:
        normalise_national_id(changed)
    assert exc.value.field == "national_id"


def test_the_remainder_one_ten_collision_of_the_standard_is_known():
    # Lowering the ninth digit by one moves the sum by -2: remainder 1 becomes 10, and both
    # take check digit 1. The standard cannot tell these codes apart; neither can we.
    body = next(b for b in (f"{n:09d}" for n in range(10**6, 10**7))
                if weighted_sum(b) % 11 == 1 and b[8] != "0")
    neighbour = body[:8] + str(int(body[8]) - 1)
    assert national_id_is_valid(body + "1")
    assert national_id_is_valid(neighbour + "1")


@pytest.mark.parametrize("digit", ASCII_DIGITS)
def test_all_equal_digits_are_rejected(digit):
    # 1111111111 and friends pass the checksum but are placeholders, not codes.
    with pytest.raises(InvalidValue):
        normalise_national_id(digit * 10)


@pytest.mark.parametrize("bad", ["", None, "abc", "12345", "0012345679x", "00123456789",
                                 "1234567890123", "001234567"])
def test_junk_is_rejected_naming_the_field(bad):
    with pytest.raises(InvalidValue) as exc:
        normalise_national_id(bad, "code")
    assert exc.value.field == "code"


def test_examples():
    assert normalise_national_id("0499370899") == "0499370899"
    assert normalise_national_id("۰۴۹۹۳۷۰۸۹۹") == "0499370899"
    assert normalise_national_id("٠٤٩٩٣٧٠٨٩٩") == "0499370899"
    assert normalise_national_id("499370899") == "0499370899"
    assert normalise_national_id("049-937089-9") == "0499370899"
    with pytest.raises(InvalidValue):
        normalise_national_id("0499370898")
