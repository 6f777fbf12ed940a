"""Short tracked links for SMS: every http(s) URL of an SMS becomes `{public URL}/t/s/<code>`.

A sealed click token (links.py) carries its whole hit, the target URL too, so it is 60
characters and more: in a Persian SMS (70 characters a part) a part or two more per message.
A short link names a `ShortLink` row instead, so it is the public URL plus 13 characters.
The code is 8 characters from ALPHABET (57 letters and digits, none that reads as another:
no 0/O, 1/l/I) drawn with `secrets`: 46 bits, so with a million links stored a guess finds
one about once in 10^8 tries; the code is the only way to its message and person.

The fast path (`fastpath.record_short`) looks a code up (one query on a unique index) and
spools the very hit a sealed click would (topic ""), so the drain, counters and reports treat
both alike. A message built again after a crash gets the same codes: one row per (message,
URL). Consent links and this site's own tracking links are left as they are, as in e-mail.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator

from django.db import IntegrityError, transaction

from peyvand.base.site import public_url
from peyvand.tracking.counters import url_key
from peyvand.tracking.links import _is_consent_link, is_trackable
from peyvand.tracking.models import ShortLink

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_LETTERS = frozenset(ALPHABET)
CODE_LENGTH = 8
PREFIX = "/t/s/"
_TRIES = 5  # a new code when one is taken: with 46 bits a second try is already rare

# An http(s) URL in running text runs to a space, a quote, an angle bracket or guillemet, or
# a direction or zero-width mark (Persian text puts them next to a link). Persian letters
# inside a path belong to it (an IRI), so Persian words after a link need a space first.
_URL = re.compile(r"https?://[^\s<>\"'«»\u200b-\u200f\u202a-\u202e\u2066-\u2069]+",
                  re.IGNORECASE)
# Punctuation ending a sentence is not part of the link before it.
_TRAILING = frozenset(".,;:!?*…،؛؟)]}")


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def short_link_length() -> int:
    """Characters of one short link on this site (all of them GSM-7 letters)."""
    return len(public_url()) + len(PREFIX) + CODE_LENGTH


def _trim(url: str) -> str:
    while url and url[-1] in _TRAILING:
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break  # a balanced ")" belongs to the URL (Wikipedia-style paths)
        url = url[:-1]
    return url


def _links_in(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, URL) of each link of `text` that gets a short link."""
    own = public_url() + "/t/"
    for match in _URL.finditer(text):
        url = _trim(match.group(0))
        if is_trackable(url) and not _is_consent_link(url) and not url.startswith(own):
            yield match.start(), match.start() + len(url), url


def _replace(text: str, found: list[tuple[int, int, str]], link_for) -> str:
    out, pos = [], 0
    for start, end, url in found:
        out.append(text[pos:start])
        out.append(link_for(url))
        pos = end
    out.append(text[pos:])
    return "".join(out)


def rewrite_sms(text: str, message_id: int, *, contact_id: int | None) -> str:
    """`text` with every http(s) URL (but consent links) replaced by its short link for this
    message; unchanged when it has none. The same URL twice gets one code."""
    found = list(_links_in(text))
    if not found:
        return text
    codes = codes_for(message_id, [url for _s, _e, url in found], contact_id=contact_id)
    base = public_url() + PREFIX
    return _replace(text, found, lambda url: base + codes[url])


def codes_for(message_id: int, urls: list[str], *, contact_id: int | None) -> dict[str, str]:
    """URL -> code of this message's short links, made for the URLs that have none yet."""
    keys = {url_key(url): url for url in urls}
    codes = {keys[key]: code for key, code in ShortLink.objects.filter(
        message_id=message_id, url_key__in=list(keys)).values_list("url_key", "code")}
    for url in keys.values():
        if url not in codes:
            codes[url] = _create(message_id, url, contact_id or None)
    return codes


def _create(message_id: int, url: str, contact_id: int | None) -> str:
    key = url_key(url)
    for _attempt in range(_TRIES):
        code = new_code()
        try:
            with transaction.atomic():
                ShortLink.objects.create(code=code, message_id=message_id, url=url,
                                         url_key=key, contact_id=contact_id)
            return code
        except IntegrityError:
            # Another builder of the same message made it meanwhile, or the code was taken.
            made = (ShortLink.objects.filter(message_id=message_id, url_key=key)
                    .values_list("code", flat=True).first())
            if made:
                return made
    raise IntegrityError(f"no free short-link code in {_TRIES} tries")


def find(code: str) -> tuple[int, int, int, str] | None:
    """(message id, contact id or 0, issue time in unix seconds, URL) of a code; None for
    a code never made here (not even looked up when it cannot be one)."""
    if len(code) != CODE_LENGTH or not _LETTERS.issuperset(code):
        return None
    rows = list(ShortLink.objects.filter(code=code)
                .values_list("message_id", "contact_id", "created_at", "url")[:1])
    if not rows:
        return None
    message_id, contact_id, created_at, url = rows[0]
    return message_id, contact_id or 0, int(created_at.timestamp()), url


def text_as_sent(text: str) -> str:
    """`text` as `rewrite_sms` will send it, with a stand-in code: the same length and the
    same (GSM-7) letters, so `channels.sms.count(text_as_sent(text))` gives its parts
    before any message exists (the stop footer of marketing texts comes on top)."""
    found = list(_links_in(text))
    if not found:
        return text
    stand_in = public_url() + PREFIX + ALPHABET[0] * CODE_LENGTH
    return _replace(text, found, lambda url: stand_in)


def length_as_sent(text: str) -> int:
    """Characters of `text` once its links are short links (see text_as_sent)."""
    return len(text_as_sent(text))


def erase_links(contact_id: int) -> int:
    """An erased person's short links go (a URL may carry their details); their old SMS
    links then answer 404. Returns how many."""
    return ShortLink.objects.filter(contact_id=contact_id).delete()[0]
