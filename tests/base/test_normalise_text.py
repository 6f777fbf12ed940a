"""normalise_text, search_key and ascii_digits: one spelling for the same Persian text."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from peyvand.base.normalise import ascii_digits, normalise_text, search_key
from tests.base.strategies import (
    ARABIC_DIGITS,
    ARABIC_LOOKALIKES,
    BIDI_CONTROLS,
    DIACRITICS,
    PERSIAN_DIGITS,
    PROPERTY,
    TATWEEL,
    ZWNJ,
    messy_text,
    persian_word,
)

FORBIDDEN = set(ARABIC_LOOKALIKES + TATWEEL + BIDI_CONTROLS + "\ufeff" + PERSIAN_DIGITS
                + ARABIC_DIGITS + DIACRITICS)


@PROPERTY
@given(messy_text)
def test_normalise_text_is_idempotent(text):
    once = normalise_text(text)
    assert normalise_text(once) == once


@PROPERTY
@given(messy_text)
def test_output_has_no_arabic_letters_tatweel_bidi_controls_or_eastern_digits(text):
    out = normalise_text(text)
    assert not FORBIDDEN & set(out), [hex(ord(c)) for c in FORBIDDEN & set(out)]


@PROPERTY
@given(messy_text)
def test_whitespace_is_single_spaces_and_zwnj_never_at_a_word_edge(text):
    out = normalise_text(text)
    assert "  " not in out
    assert out == out.strip()
    assert all(c == " " or not c.isspace() for c in out)
    assert ZWNJ * 2 not in out
    assert not out.startswith(ZWNJ) and not out.endswith(ZWNJ)
    assert f" {ZWNJ}" not in out and f"{ZWNJ} " not in out


@PROPERTY
@given(st.lists(persian_word, min_size=2, max_size=4))
def test_zwnj_inside_a_word_is_kept(parts):
    word = ZWNJ.join(parts)
    assert normalise_text(word) == word
    # Also when the word sits in a sentence and the ZWNJ was typed twice.
    assert normalise_text(f"  {word}  x ") == f"{word} x"
    assert normalise_text((ZWNJ * 2).join(parts)) == word


@PROPERTY
@given(messy_text)
def test_arabic_yeh_and_kaf_spell_the_same_as_persian(text):
    persian = text.replace("\u064a", "ی").replace("\u0649", "ی").replace("\u0643", "ک")
    arabic = persian.replace("ی", "\u064a").replace("ک", "\u0643")
    assert normalise_text(arabic) == normalise_text(persian)
    assert search_key(arabic) == search_key(persian)


def test_examples():
    assert search_key("علي") == search_key("علی") == "علی"
    assert search_key("كريم") == search_key("کریم")
    assert normalise_text("\u200fسلام\u200e  دنيا\u061c") == "سلام دنیا"
    assert normalise_text("بـــهار") == "بهار"
    assert normalise_text("مي\u200cخواهم") == "می\u200cخواهم"
    assert normalise_text("تلفن: ۰۹۱۲ ٣٤٥") == "تلفن: 0912 345"
    assert normalise_text(None) == ""
    # ZWNJ is spelling for display but not for matching: «می‌خواهم» finds «می خواهم».
    assert search_key("می\u200cخواهم") == search_key("می خواهم")
    assert search_key("ALI  Rezaei") == "ali rezaei"
    # Found by the idempotence property: a ZWNJ left at the edge after space handling.
    assert normalise_text("\u200c \u200cا") == "ا"
    assert normalise_text("ب \u200c \u200c پ") == "ب پ"


def test_ascii_digits_maps_every_persian_and_arabic_indic_digit():
    for i in range(10):
        assert ascii_digits(PERSIAN_DIGITS[i]) == str(i)
        assert ascii_digits(ARABIC_DIGITS[i]) == str(i)
    assert ascii_digits(PERSIAN_DIGITS) == ascii_digits(ARABIC_DIGITS) == "0123456789"


@PROPERTY
@given(messy_text)
def test_ascii_digits_changes_nothing_but_digits(text):
    out = ascii_digits(text)
    assert len(out) == len(text)
    assert not set(out) & set(PERSIAN_DIGITS + ARABIC_DIGITS)
    for before, after in zip(text, out, strict=True):
        if before in PERSIAN_DIGITS:
            assert after == str(PERSIAN_DIGITS.index(before))
        elif before in ARABIC_DIGITS:
            assert after == str(ARABIC_DIGITS.index(before))
        else:
            assert after == before
