"""Persian text: one spelling for the same letters and digits."""

from __future__ import annotations

import re
import unicodedata

from django.utils.translation import gettext as _

from peyvand.base.normalise.errors import InvalidValue

# Arabic letters that Persian keyboards and old Excel files produce for Persian ones.
_LETTERS = {
    "\u064a": "\u06cc",  # ي ARABIC YEH -> ی
    "\u0649": "\u06cc",  # ى ALEF MAKSURA -> ی
    "\u0643": "\u06a9",  # ك ARABIC KAF -> ک
}
_DIGITS = {ord(c): str(i) for i, c in enumerate("۰۱۲۳۴۵۶۷۸۹")}
_DIGITS.update({ord(c): str(i) for i, c in enumerate("٠١٢٣٤٥٦٧٨٩")})

TATWEEL = "\u0640"
ZWNJ = "\u200c"
# Direction marks (incl. U+061C ARABIC LETTER MARK) and embeddings/isolates that copy-paste
# drags along; invisible, never meant.
_INVISIBLE = ("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"
              + TATWEEL)
# Control characters (NUL and friends) arrive from broken exports; PostgreSQL refuses NUL.
_CONTROL = "".join(map(chr, [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F]))
# Arabic diacritics (harakat, tanwin, shadda, sukun, superscript alef) — not hamza above.
_DIACRITICS = "".join(map(chr, [*range(0x064B, 0x0654), *range(0x0655, 0x0660), 0x0670]))
# One pass of str.translate does the letters, the digits and every deletion: each maps one
# character on its own, so the order in which they are applied does not matter.
_TRANSLATE = ({ord(k): v for k, v in _LETTERS.items()} | _DIGITS
              | dict.fromkeys(map(ord, _INVISIBLE + _CONTROL + _DIACRITICS)))
# Hamza above (ezafe in «خانهٔ») is spelling in display text, but searches ignore it.
HAMZA_ABOVE = "\u0654"
_SPACES = re.compile(r"\s+")
_ZWNJ_RUN = re.compile("\u200c{2,}")
_SPACE_RUN = re.compile("[\\s\u200c]*\\s[\\s\u200c]*")


def ascii_digits(value: str) -> str:
    """Persian (۰-۹) and Arabic-Indic (٠-٩) digits to ASCII; nothing else changes."""
    return value.translate(_DIGITS)


def normalise_text(value: str | None) -> str:
    """Canonical display text: NFC, Persian ی/ک, ASCII digits, no tatweel, diacritics or
    direction marks, single spaces, ZWNJ kept (it is part of Persian spelling) but never
    doubled or at a word edge."""
    if not value:
        return ""
    text = str(value)
    if text.isascii() and text.isprintable():
        # Nothing to translate or delete, spaces are the only white space.
        return " ".join(text.split())
    text = unicodedata.normalize("NFC", text).translate(_TRANSLATE)
    if ZWNJ in text:
        text = _ZWNJ_RUN.sub(ZWNJ, text)
        # ZWNJ next to a space or at an edge joins nothing: any run of spaces and ZWNJs that
        # holds a space is one space (so "\u200c \u200cا" cannot keep a ZWNJ at its edge).
        text = _SPACE_RUN.sub(" ", text).strip().strip(ZWNJ)
    # (`\s` and str.split() agree on what white space is.)
    return unicodedata.normalize("NFC", " ".join(text.split()))


def search_key(value: str | None) -> str:
    """Key for matching typed queries to stored text: normalised, case-folded, ZWNJ as space."""
    text = normalise_text(value)
    if ZWNJ not in text and HAMZA_ABOVE not in text:
        return text.casefold()  # already single-spaced and stripped
    text = text.replace(ZWNJ, " ").replace(HAMZA_ABOVE, "")
    return _SPACES.sub(" ", text).casefold().strip()


_SURROGATES = re.compile("[\ud800-\udfff]")


def unstorable_text_reason(text: str) -> str | None:
    """Why no database could store `text`, or None: PostgreSQL refuses NUL, and a lone
    surrogate (JSON's "\\ud800" unpaired) has no UTF-8 form, so any save, log line or page
    holding it fails."""
    if "\x00" in text:
        return _("Text may not contain NUL characters.")
    if _SURROGATES.search(text):
        return _("Text may not contain a lone surrogate (an unpaired \\ud800–\\udfff escape).")
    return None


def check_storable_text(value: object, field: str = "") -> None:
    """Raise InvalidValue naming the first place in a parsed JSON value (keys included) or a
    query's values that holds unstorable text; `field` is where `value` sits."""
    if isinstance(value, str):
        reason = unstorable_text_reason(value)
        if reason:
            raise InvalidValue(field or "body", reason)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_storable_text(str(key), field)  # a bad key is named by where it sits
            check_storable_text(item, f"{field}.{key}" if field else str(key))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            check_storable_text(item, f"{field}.{index}" if field else str(index))
