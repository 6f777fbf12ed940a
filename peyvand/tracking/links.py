"""Signed tracking links: the open pixel, click redirects and the rewriting of a message's HTML.

A token carries everything a hit needs (kind, message id, contact id, issue time, and for a
click the target URL and topic), so the fast path answers without touching the database.
It is sealed, not just signed: the payload is XORed with a keystream derived from its own
HMAC tag (a small SIV construction), so no id can be read from a link and any change to a
byte fails the tag check.

    token = base64url(tag[10] || payload XOR keystream(tag))
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import re
import struct
import time
import zlib
from functools import lru_cache
from html import unescape
from typing import NamedTuple
from urllib.parse import urlsplit

from peyvand.base.site import public_url

TAG_BYTES = 10  # 80-bit tag: forging one is out of reach, links stay short
VERSION = 1
KIND_OPEN, KIND_CLICK = "o", "c"
_KINDS = {KIND_OPEN: 1, KIND_CLICK: 2}
_KIND_NAMES = {v: k for k, v in _KINDS.items()}
_FLAG_ZLIB = 0x80
MAX_TOKEN = 4096


class BadToken(Exception):
    """A tracking token that was changed, cut short or never made here."""


class Hit(NamedTuple):  # a tuple: the fast path makes one per hit (a frozen dataclass: +1 µs)
    kind: str  # KIND_OPEN or KIND_CLICK
    message_id: int
    contact_id: int  # 0 when unknown at send time
    issued: int  # unix seconds when the link was made (about when the message was sent)
    url: str = ""
    topic: str = ""


@lru_cache(maxsize=4)
def _keys(secret: str) -> tuple[bytes, bytes]:
    base = hashlib.sha256(("peyvand.tracking.links:" + secret).encode()).digest()
    return _mac(base, b"tag"), _mac(base, b"stream")


_secret_cache: list[str] = []


def _secret() -> str:
    if not _secret_cache:
        from django.conf import settings
        from django.core.signals import setting_changed

        _secret_cache.append(settings.SECRET_KEY)
        setting_changed.connect(_forget_secret)
    return _secret_cache[0]


def _forget_secret(setting: str, **kwargs) -> None:
    if setting == "SECRET_KEY":
        _secret_cache.clear()


def _keystream(key: bytes, tag: bytes, length: int) -> bytes:
    # SHAKE-256 over key || tag: a keyed XOF, any length in one call; the key is absorbed
    # once per key, each call copies that state.
    stream = _keyed_shake(key).copy()
    stream.update(tag)
    return stream.digest(length)


@lru_cache(maxsize=16)
def _keyed_shake(key: bytes):
    return hashlib.shake_256(key)


_BLOCK = 64  # SHA-256's block size
_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))


def _mac(key: bytes, data: bytes) -> bytes:
    """HMAC-SHA256 (RFC 2104) from the two keyed hash states, made once per key: each link
    costs two copies and two short hashes (hmac's own copy() is twice that in Python)."""
    inner_state, outer_state = _keyed_mac(key)
    inner = inner_state.copy()
    inner.update(data)
    outer = outer_state.copy()
    outer.update(inner.digest())
    return outer.digest()


@lru_cache(maxsize=16)
def _keyed_mac(key: bytes):
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    return hashlib.sha256(key.translate(_IPAD)), hashlib.sha256(key.translate(_OPAD))


def _xor(data: bytes, stream: bytes) -> bytes:
    return (int.from_bytes(data, "big") ^ int.from_bytes(stream, "big")).to_bytes(
        len(data), "big")


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise BadToken
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def seal(hit: Hit, secret: str | None = None) -> str:
    if hit.kind == KIND_CLICK:
        head, body = _click_part(hit.url, hit.topic)
    else:
        head, body = _head(_KINDS[hit.kind]), b""
    return _Sealer(hit.message_id, hit.contact_id, hit.issued, secret).seal(head, body)


class _Sealer:
    """Seals the links of one message: ids and time are packed once, per link only its
    head (version, flags) and body are added. Tokens are the same as seal() makes."""

    __slots__ = ("_ids", "_tag_key", "_stream_key")

    def __init__(self, message_id: int, contact_id: int, issued: int,
                 secret: str | None = None):
        if message_id < 0 or contact_id < 0:
            raise ValueError("ids must not be negative")
        self._ids = (_varint(message_id) + _varint(contact_id)
                     + struct.pack(">I", issued & 0xFFFFFFFF))
        self._tag_key, self._stream_key = _keys(secret or _secret())

    def seal(self, head: bytes, body: bytes = b"") -> str:
        payload = head + self._ids + body
        tag = _mac(self._tag_key, payload)[:TAG_BYTES]
        return _b64(tag + _xor(payload, _keystream(self._stream_key, tag, len(payload))))


def _head(flags: int) -> bytes:
    return bytes((VERSION, flags))


_OPEN_HEAD = _head(_KINDS[KIND_OPEN])


@lru_cache(maxsize=4096)
def _click_part(url: str, topic: str) -> tuple[bytes, bytes]:
    """(head, body) of a click: the same few links go to every recipient of a message, so
    each is compressed once."""
    raw_topic = topic.encode()[:255]
    body = bytes([len(raw_topic)]) + raw_topic + url.encode()
    packed = zlib.compress(body, 9)
    if len(packed) < len(body):
        return _head(_KINDS[KIND_CLICK] | _FLAG_ZLIB), packed
    return _head(_KINDS[KIND_CLICK]), body


_URLSAFE = bytes.maketrans(b"+/", b"-_")
_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")


def _b64(data: bytes) -> str:
    return binascii.b2a_base64(data, newline=False).translate(_URLSAFE).rstrip(b"=").decode(
        "ascii")


def unseal(token: str, secret: str | None = None) -> Hit:
    """The hit a token stands for; BadToken for anything not made by `seal` with our key."""
    if not token or len(token) > MAX_TOKEN:
        raise BadToken
    try:  # binascii directly: base64.urlsafe_b64decode's wrappers cost more than the decode
        raw = binascii.a2b_base64(
            (token + "=" * (-len(token) % 4)).encode("ascii").translate(_FROM_URLSAFE))
    except (ValueError, UnicodeError):
        raise BadToken
    # Only the canonical spelling: spare low bits of the last character must not vary.
    if len(raw) < TAG_BYTES + 8 or _b64(raw) != token:
        raise BadToken
    tag, sealed = raw[:TAG_BYTES], raw[TAG_BYTES:]
    tag_key, stream_key = _keys(secret or _secret())
    payload = _xor(sealed, _keystream(stream_key, tag, len(sealed)))
    if not hmac.compare_digest(_mac(tag_key, payload)[:TAG_BYTES], tag):
        raise BadToken
    if payload[0] != VERSION:
        raise BadToken
    flags = payload[1]
    kind = _KIND_NAMES.get(flags & 0x7F)
    if kind is None:
        raise BadToken
    message_id, pos = _read_varint(payload, 2)
    contact_id, pos = _read_varint(payload, pos)
    if pos + 4 > len(payload):
        raise BadToken
    (issued,) = struct.unpack(">I", payload[pos:pos + 4])
    body = payload[pos + 4:]
    if kind == KIND_OPEN:
        return Hit(kind, message_id, contact_id, issued)
    try:
        if flags & _FLAG_ZLIB:
            body = zlib.decompress(body)
        topic_len = body[0]
        topic = body[1:1 + topic_len].decode()
        url = body[1 + topic_len:].decode()
    except (zlib.error, IndexError, UnicodeError):
        raise BadToken
    if not is_trackable(url):  # never an open redirect, even to a key holder's typo
        raise BadToken
    return Hit(kind, message_id, contact_id, issued, url, topic)


# --- public URLs ---------------------------------------------------------------------------

def _contact_for_message(message_id: int) -> int:
    """The outbox row's contact; 0 when unknown (drain looks again). Imported here: the
    fast path loads this module before Django's models are ready."""
    from peyvand.tracking import outbox

    return outbox.contact_of(message_id)


def open_pixel_url(message_id: int, *, contact_id: int | None = None) -> str:
    if contact_id is None:
        contact_id = _contact_for_message(message_id)
    token = _Sealer(message_id, contact_id, int(time.time())).seal(_OPEN_HEAD)
    return f"{public_url()}/t/o/{token}.gif"


def click_url(message_id: int, url: str, topic: str | None = None, *,
              contact_id: int | None = None) -> str:
    if not is_trackable(url):
        raise ValueError("only http(s) URLs can be tracked")
    if contact_id is None:
        contact_id = _contact_for_message(message_id)
    token = seal(Hit(KIND_CLICK, message_id, contact_id, int(time.time()), url,
                     normalise_topic(topic or "")))
    return f"{public_url()}/t/c/{token}"


def normalise_topic(topic: str) -> str:
    return " ".join(topic.split()).casefold()[:64]


# http(s), a host, and nothing that could split a header: safe to put in a Location.
_TRACKABLE = re.compile(r"https?://[^/?#\s\\@]*@?[^/?#\s\\@]+(?:[/?#][^\r\n\x00]*)?\Z",
                        re.IGNORECASE)


def is_trackable(url: str) -> bool:
    return bool(_TRACKABLE.match(url))


# Consent pages must reach the person untouched: a tracked unsubscribe would count as a click.
_CONSENT_PATHS = ("/consent/",)
_ANCHOR = re.compile(r"<a\b[^>]*>", re.IGNORECASE)
_HREF = re.compile(r"""(\bhref\s*=\s*)("([^"]*)"|'([^']*)')""", re.IGNORECASE)
_TOPIC = re.compile(r"""\bdata-topic\s*=\s*("([^"]*)"|'([^']*)')""", re.IGNORECASE)
_NO_TRACK = re.compile(r"\bdata-no-track\b", re.IGNORECASE)


def _is_consent_link(url: str) -> bool:
    """For a trackable URL. Consent links differ per recipient only after the first few
    characters of their path, so the URL is judged cut there, and that answer is kept. Not
    cut when a tab (urlsplit drops tabs) could move characters into the kept part."""
    slash = url.find("/", url.find("//") + 2)  # where the path starts, or a query/fragment
    if slash < 0 or "\t" in url:
        return _has_consent_path(url)
    return _has_consent_path(url[:slash + _CONSENT_PREFIX])


_CONSENT_PREFIX = max(len(p) for p in _CONSENT_PATHS)


@lru_cache(maxsize=256)
def _has_consent_path(url: str) -> bool:
    return urlsplit(url).path.startswith(_CONSENT_PATHS)


@lru_cache(maxsize=4096)
def _tracked_anchor(tag: str) -> tuple[str, bytes, bytes, str] | None:
    """(text before the new href value, the click's head and body to seal, text after) for
    an <a> tag whose link is tracked, None for one left alone. Every recipient of a message
    has the same tags, so each is read once."""
    # Consent links differ per recipient, so they come here every time, and this search
    # was the slowest step: a plain test first (lower() keeps each spelling it accepts).
    if "data-no-track" in tag.lower() and _NO_TRACK.search(tag):
        return None
    href = _HREF.search(tag)
    if href is None:
        return None
    raw = href.group(3) if href.group(3) is not None else href.group(4)
    url = unescape(raw).strip()
    if not is_trackable(url) or _is_consent_link(url):
        return None
    topic_match = _TOPIC.search(tag)
    topic = ""
    if topic_match:
        topic = unescape(topic_match.group(2) if topic_match.group(2) is not None
                         else topic_match.group(3))
    head, body = _click_part(url, normalise_topic(topic))
    return tag[:href.start()] + href.group(1), head, body, tag[href.end():]


def rewrite_links(html: str, message_id: int, *, contact_id: int | None = None) -> str:
    """Every http(s) <a href> in `html` through a click URL, except data-no-track links and
    links to the consent pages; data-topic="…" on the <a> tags the click for interests."""
    if contact_id is None:
        contact_id = _contact_for_message(message_id)
    base = f"{public_url()}/t/c/"
    sealer = _Sealer(message_id, contact_id, int(time.time()))

    def anchor(match: re.Match) -> str:
        tag = match.group(0)
        parts = _tracked_anchor(tag)
        if parts is None:
            return tag
        before, head, body, after = parts
        return f'{before}"{base}{sealer.seal(head, body)}"{after}'

    return _ANCHOR.sub(anchor, html)
