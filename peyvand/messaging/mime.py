"""Fast MIME for bulk e-mail: the constant parts of a broadcast are built once, per recipient
only the changing headers and the two bodies are filled in.

The stdlib EmailMessage API builds about 850 messages a second; this builds the same
structure (multipart/alternative, text then HTML, UTF-8 bodies sent as they are where the
server takes 8BITMIME, else base64; RFC 2047 headers; every line under 998 octets) many times
faster. Tests parse the output with the stdlib parser
and require no defects.
"""

from __future__ import annotations

import binascii
import datetime as dt
import itertools
import re
import secrets
import time
from email.charset import Charset
from email.utils import format_datetime, formataddr

_WORD_BYTES = 45  # 45 octets of UTF-8 -> 60 base64 chars -> a 72-char encoded word


def encode_header(value: str) -> str:
    """A header value: plain when it is safe ASCII, else RFC 2047 base64 words, folded."""
    value = " ".join(value.split())  # no CR/LF or tabs in a header
    if value.isascii() and "=?" not in value and len(value) <= 900:
        return value
    data = value.encode("utf-8")
    words: list[str] = []
    start = 0
    while len(data) - start > _WORD_BYTES:
        end = start + _WORD_BYTES
        while data[end] & 0xC0 == 0x80:  # a continuation byte: never split a character
            end -= 1
        words.append(_word(data[start:end]))
        start = end
    words.append(_word(data[start:]))
    return "\r\n ".join(words)


def _word(data: bytes) -> str:
    return "=?utf-8?b?" + binascii.b2a_base64(data, newline=False).decode("ascii") + "?="


def address(name: str, addr: str) -> str:
    """`Name <addr>` with the name encoded when needed (the address must be ASCII)."""
    name = " ".join((name or "").split())
    if not name:
        return addr
    return formataddr((name, addr), charset=_UTF8)


_UTF8 = Charset("utf-8")  # made once: formataddr would make one per call from the name


def _canonical(text: str) -> bytes:
    """UTF-8 with CRLF line ends, the form RFC 2045 encodes."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    # CRLF put in after encoding: the same bytes (no UTF-8 sequence holds a LF byte), faster.
    return text.encode("utf-8").replace(b"\n", b"\r\n")


def b64_body(text: str) -> bytes:
    data = binascii.b2a_base64(_canonical(text), newline=False)
    return b"\r\n".join(_LINE.findall(data))


_LINE = re.compile(b".{1,76}", re.DOTALL)  # base64 lines of at most 76 characters
_B64 = b"Content-Transfer-Encoding: base64\r\n\r\n"
_8BIT = b"Content-Transfer-Encoding: 8bit\r\n\r\n"


def body_part(text: str, eight_bit: bool, boundary: bytes = b"") -> tuple[bytes, bytes]:
    """(transfer-encoding header and blank line, body) of one text part. Sent as it is
    (8bit: no encoding, a quarter fewer bytes) when the server takes 8BITMIME, no line is
    longer than 998 octets and the part does not hold `boundary`; base64 otherwise."""
    if eight_bit:
        data = _canonical(text)
        # RFC 5322: at most 998 octets a line (a regex search here costs 1,000 times more)
        if b"\0" not in data and max(map(len, data.split(b"\r\n"))) <= 998 \
                and (not boundary or boundary not in data):
            return _8BIT, data
    return _B64, b64_body(text)


def date_header(timestamp: float) -> str:
    """RFC 5322 §3.3 date-time in UTC with a numeric zone, "+0000" (not the obsolete "GMT",
    nor "-0000", which says the zone is unknown)."""
    return format_datetime(dt.datetime.fromtimestamp(int(timestamp), dt.UTC))


def _fold_list(values: list[str]) -> str:
    """Comma-separated header values, one per line when they would pass 998 octets."""
    joined = ", ".join(values)
    return joined if len(joined) < 900 else ",\r\n ".join(values)


class MimeTemplate:
    """The per-broadcast skeleton; `build` makes one recipient's message bytes."""

    def __init__(self, *, from_name: str, from_address: str, domain: str,
                 extra_headers: dict[str, str] | None = None):
        self.from_header = ("From: " + address(from_name, from_address)).encode()
        self.domain = domain
        self.static = b"MIME-Version: 1.0\r\n" + b"".join(
            f"{k}: {encode_header(v)}\r\n".encode() for k, v in (extra_headers or {}).items())
        self._date_at = 0
        self._date = b""
        self._salt = secrets.token_hex(6)  # per skeleton: Message-IDs stay unique across runs
        self._boundary_start = f"=_pv{self._salt}".encode()
        self._counter = itertools.count(1)

    def _now(self) -> bytes:
        now = int(time.time())
        if now != self._date_at:  # formatting is slow-ish; once a second is enough
            self._date_at, self._date = now, date_header(now).encode()
        return self._date

    def message_id(self, key: int | str) -> str:
        return f"<{key}.{self._salt}@{self.domain}>"

    def build(self, *, to_name: str, to_address: str, subject: str, text: str, html: str,
              message_id: str, unsubscribe: list[str] | None = None,
              eight_bit: bool = False) -> bytes:
        """One recipient's message. eight_bit: the server takes 8BITMIME, so the bodies may
        go unencoded (see body_part); send such a message with BODY=8BITMIME."""
        # "=_" never occurs in base64 data, so any boundary starting so is safe there; an
        # 8-bit part holding the start of our boundaries goes base64. A counter makes the
        # boundary differ per message without asking the OS for randomness each time.
        boundary = f"=_pv{self._salt}{next(self._counter):x}"
        head = [self.from_header,
                ("To: " + address(to_name, to_address)).encode(),
                ("Subject: " + encode_header(subject)).encode(),
                b"Date: " + self._now(),
                ("Message-ID: " + message_id).encode()]
        if unsubscribe:
            head.append(("List-Unsubscribe: " + _fold_list(unsubscribe)).encode())
            # RFC 8058 §3.1: one-click only with an HTTPS URI (a plain http one stays a
            # link the mail client may open, not a POST it may make)
            if any(uri.startswith("<https://") for uri in unsubscribe):
                head.append(b"List-Unsubscribe-Post: List-Unsubscribe=One-Click")
        head.append(self.static.rstrip(b"\r\n"))
        b = boundary.encode()
        if not html:
            head.append(b'Content-Type: text/plain; charset="utf-8"')
            encoding, body = body_part(text, eight_bit)
            end = b"" if body.endswith(b"\r\n") else b"\r\n"  # a message ends with a line end
            return b"\r\n".join(head) + b"\r\n" + encoding + body + end
        head.append(b'Content-Type: multipart/alternative; boundary="' + b + b'"')
        text_encoding, text_body = body_part(text, eight_bit, self._boundary_start)
        html_encoding, html_body = body_part(html, eight_bit, self._boundary_start)
        return b"".join((
            b"\r\n".join(head), b"\r\n\r\n",
            b"--", b, b'\r\nContent-Type: text/plain; charset="utf-8"\r\n',
            text_encoding, text_body, b"\r\n",
            b"--", b, b'\r\nContent-Type: text/html; charset="utf-8"\r\n',
            html_encoding, html_body, b"\r\n",
            b"--", b, b"--\r\n",
        ))
