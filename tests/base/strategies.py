"""Hypothesis building blocks shared by the normaliser tests."""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st

# Fast enough for every run, wide enough to find the edge cases.
PROPERTY = settings(deadline=None, max_examples=200)

PERSIAN_DIGITS = "۰۱۲۳۴۵۶۷۸۹"
ARABIC_DIGITS = "٠١٢٣٤٥٦٧٨٩"
ASCII_DIGITS = "0123456789"
DIGIT_SCRIPTS = (ASCII_DIGITS, PERSIAN_DIGITS, ARABIC_DIGITS)

ZWNJ = "\u200c"
TATWEEL = "\u0640"
ARABIC_LOOKALIKES = "\u064a\u0649\u0643"  # ي ى ك
# Every Bidi_Control code point (Unicode), plus the BOM that pastes drag along.
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
PERSIAN_LETTERS = "ابپتثجچحخدذرزژسشصضطظعغفقکگلمنوهی"
DIACRITICS = "\u064b\u064c\u064d\u064e\u064f\u0650\u0651\u0652\u0670"

# Characters that matter for Persian text, weighted in next to arbitrary Unicode.
_SPECIAL = st.sampled_from(
    list(PERSIAN_LETTERS + PERSIAN_DIGITS + ARABIC_DIGITS + ARABIC_LOOKALIKES + BIDI_CONTROLS
         + DIACRITICS)
    + [ZWNJ, ZWNJ, TATWEEL, " ", " ", "\t", "\n", "\u00a0", "\ufeff", "a", "Z", "5", "\u0301"]
)
# A list of characters rather than st.text(alphabet=...): that draws the special ones far
# more often, so each property meets every one of them within a run.
messy_text = st.lists(st.one_of(_SPECIAL, st.characters()), max_size=40).map("".join)
persian_word = st.text(alphabet=PERSIAN_LETTERS, min_size=1, max_size=8)


def in_script(text: str, script: str) -> str:
    """`text` with its ASCII digits written in `script`."""
    return text.translate(str.maketrans(ASCII_DIGITS, script))


digit_script = st.sampled_from(DIGIT_SCRIPTS)
