"""How many SMS parts a text costs, and the stop footer Iranian rules ask of marketing SMS.

GSM 03.38: 160 characters in one part, 153 per part when concatenated; characters of the
extension table (€ [ ] { } ~ ^ | \\ and form feed) take two. Anything outside the alphabet
(every Persian letter, most emoji) switches the whole text to UCS-2: 70 / 67 per part,
counted in UTF-16 code units (an emoji outside the BMP takes two).
"""

from __future__ import annotations

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

STOP_FOOTER = "لغو ۱۱"
_STOP_FORMS = ("لغو ۱۱", "لغو 11", "لغو١١", "لغو ١١", "لغو۱۱", "لغو11")


def count(text: str) -> tuple[str, int, int]:
    """(encoding "gsm7" | "ucs2", parts, characters as the network counts them)."""
    if all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text):
        chars = sum(2 if c in GSM7_EXTENSION else 1 for c in text)
        single, multi, encoding = 160, 153, "gsm7"
    else:
        chars = len(text.encode("utf-16-le")) // 2
        single, multi, encoding = 70, 67, "ucs2"
    if chars <= single:
        return encoding, 1 if chars else 0, chars
    if encoding == "gsm7":
        # A double-width character may not be split across two parts.
        parts, used = 1, 0
        for c in text:
            width = 2 if c in GSM7_EXTENSION else 1
            if used + width > multi:
                parts, used = parts + 1, 0
            used += width
        return encoding, parts, chars
    # UCS-2: a surrogate pair is not split either.
    parts, used = 1, 0
    for c in text:
        width = 2 if ord(c) > 0xFFFF else 1
        if used + width > multi:
            parts, used = parts + 1, 0
        used += width
    return encoding, parts, chars


def has_stop_footer(text: str) -> bool:
    tail = " ".join(text.split())[-20:]
    return any(form in tail for form in _STOP_FORMS)


def ensure_stop_footer(text: str) -> str:
    """The text with «لغو ۱۱» (reply 11 to stop) on its last line, added only once."""
    if has_stop_footer(text):
        return text
    return text.rstrip() + "\n" + STOP_FOOTER
