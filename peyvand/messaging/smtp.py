"""SMTP: where mail goes (PEYVAND_SMTP_URL, the settings row, else the local catcher), the
sessions the sender's pool is made of, and token buckets for per-sender and per-domain rates.

A session is a small asyncio client that pipelines each message's MAIL, RCPT and DATA in one
write when the server offers PIPELINING (RFC 2920), and speaks one command at a time when it
does not. aiosmtplib, used before, cannot pipeline (it drops replies that arrive before it
asks) and cost ~0.9 ms of CPU per 15 KB message here; this costs ~0.2 ms (ARCHITECTURE.md).

Why one module over 400 lines: most of it is one protocol client (the reply reader, Session,
Connection) whose parts share the reply framing and the error handling, and read best
together; the settings and the rate buckets above them are small.
"""

from __future__ import annotations

import asyncio
import base64
import re
import socket
import ssl
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.utils import parseaddr
from functools import lru_cache

from django.conf import settings

from peyvand.base import smtp_url
from peyvand.base.smtp_url import SmtpUrl

SENT, DEFERRED, FAILED = "sent", "deferred", "failed"


@dataclass
class SmtpConfig:
    host: str
    port: int
    username: str = ""
    password: str = ""
    use_tls: bool = False  # smtps://: TLS from the first byte
    start_tls: bool = False  # ?starttls=1
    from_address: str = ""
    from_name: str = ""
    connections: int = smtp_url.DEFAULT_CONNECTIONS
    rate: float = 0  # messages per second for this sender; 0: no limit
    domain_rate: float = 0  # per recipient domain
    catcher: bool = False
    timeout: float = 60

    @property
    def domain(self) -> str:
        return self.from_address.rpartition("@")[2] or "localhost"


def parse_smtp_url(url: str | SmtpUrl) -> SmtpConfig:
    """The config for a URL (ValueError when it is none), or for one settings.py parsed."""
    given = url if isinstance(url, SmtpUrl) else smtp_url.parse_smtp_url(url)
    return SmtpConfig(host=given.host, port=given.port, username=given.username,
                      password=given.password, use_tls=given.use_tls,
                      start_tls=given.start_tls, connections=given.connections)


def smtp_config() -> SmtpConfig:
    from peyvand.messaging.models import SendingSettings

    row = SendingSettings.objects.order_by("id").first()
    url = settings.PEYVAND_SMTP or (row.smtp_url if row else "")
    if url:
        config = parse_smtp_url(url)
    else:  # nothing configured: everything lands in the local catcher, nothing leaves
        config = SmtpConfig(host=settings.CATCHER_HOST, port=settings.CATCHER_PORT,
                            catcher=True)
    if row is not None:
        config.connections = row.connections or config.connections
        config.rate = row.rate_per_second
        config.domain_rate = row.domain_rate_per_second
        config.from_name = row.from_name
    config.connections = settings.SMTP_CONNECTIONS or config.connections
    given = (row.from_address if row else "") or settings.DEFAULT_FROM_EMAIL
    name, config.from_address = parseaddr(given)  # "Peyvand <no-reply@…>" is allowed
    config.from_name = config.from_name or name
    return config


class TokenBucket:
    # clock and sleep are time's own except in tests, which drive a fake clock.
    def __init__(self, rate: float, burst: float | None = None, *,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep):
        self.rate = rate
        self.capacity = burst or max(1.0, rate)
        self.clock, self.sleep = clock, sleep
        self.tokens = self.capacity
        self.stamp = clock()

    async def take(self) -> None:
        if self.rate <= 0:
            return
        while True:
            now = self.clock()
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= 1:
                self.tokens -= 1
                return
            await self.sleep((1 - self.tokens) / self.rate)


class Limits:
    """The sender's bucket and one bucket per recipient domain."""

    def __init__(self, rate: float, domain_rate: float, *,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep):
        self.clock, self.sleep = clock, sleep
        self.sender = TokenBucket(rate, clock=clock, sleep=sleep)
        self.domain_rate = domain_rate
        self.domains: dict[str, TokenBucket] = {}

    async def take(self, domain: str) -> None:
        if self.domain_rate > 0:
            bucket = self.domains.get(domain)
            if bucket is None:
                bucket = self.domains[domain] = TokenBucket(self.domain_rate, clock=self.clock,
                                                            sleep=self.sleep)
            await bucket.take()
        await self.sender.take()


@dataclass
class Outcome:
    kind: str  # sent / deferred / failed
    code: int | None
    reply: str


@dataclass
class Reply:
    code: int
    text: str  # the lines after the code, joined by newlines

    def __str__(self) -> str:
        return f"{self.code} {self.text}"


class SmtpError(Exception):
    """The session cannot go on (server closed, malformed reply, unexpected answer while
    opening); the sender defers what it was sending and opens a fresh session."""


_MAX_REPLY = 64 * 1024  # one line
_MAX_LINES = 1000  # lines of one reply (EHLO has a dozen)
_UNSAFE = re.compile(r"[\x00-\x20<>\x7f]")  # nothing that could end or split a command


class _ReplyReader(asyncio.Protocol):
    """Collects complete replies as they arrive; several may come in one packet."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.replies: deque[Reply] = deque()
        self.buffer = bytearray()
        self.lines: list[bytes] = []
        self.waiter: asyncio.Future | None = None
        self.wanted = 0
        self.error: Exception | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        # Split once per packet (a pipelined send gets three replies in one): cutting lines
        # off the front of a buffer one by one cost a third of the SMTP thread.
        if self.buffer:
            data = bytes(self.buffer) + data
            self.buffer.clear()
        *complete, rest = data.split(b"\n")
        if len(rest) > _MAX_REPLY:
            self._fail(SmtpError("reply too long"))
            return
        self.buffer += rest
        for raw in complete:
            line = raw.rstrip(b"\r")
            if len(line) < 3 or not line[:3].isdigit() or line[3:4] not in (b"", b" ", b"-"):
                self._fail(SmtpError(f"malformed reply: {line[:80]!r}"))
                return
            self.lines.append(line)
            if len(self.lines) > _MAX_LINES:  # a server that never ends its reply
                self._fail(SmtpError("reply too long"))
                return
            if line[3:4] != b"-":
                if len(self.lines) == 1:
                    text = line[4:].decode("utf-8", "replace").strip()
                else:
                    text = "\n".join(raw[4:].decode("utf-8", "replace").strip()
                                     for raw in self.lines)
                self.replies.append(Reply(int(line[:3]), text))
                self.lines = []
        if self.replies:
            self._wake()

    def _wake(self) -> None:
        if self.waiter is not None and not self.waiter.done() and (
                self.error is not None or len(self.replies) >= self.wanted):
            self.waiter.set_result(None)

    def _fail(self, exc: Exception) -> None:
        if self.error is None:
            self.error = exc
        self._wake()
        if self.transport is not None:
            self.transport.abort()

    def eof_received(self) -> bool:
        self._fail(SmtpError("the server closed the connection"))
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(SmtpError("the connection was lost") if exc is None else exc)

    async def read(self, count: int) -> list[Reply]:
        """The next `count` replies, in order."""
        while len(self.replies) < count:
            if self.error is not None:
                raise self.error
            self.wanted = count
            self.waiter = asyncio.get_running_loop().create_future()
            await self.waiter
        return [self.replies.popleft() for _ in range(count)]


@lru_cache(maxsize=1)
def _local_name() -> str:
    return socket.getfqdn() or "localhost"


def tls_context() -> ssl.SSLContext:
    """Certificates are checked against the system's trust store (tests pass their own)."""
    return ssl.create_default_context()


class Session:
    """One open SMTP session: greeting, EHLO, STARTTLS and AUTH done."""

    def __init__(self, config: SmtpConfig, reader: _ReplyReader, features: dict[str, str]):
        self.config = config
        self.reader = reader
        self.features = features
        self.staged = False  # a message body was sent without its final dot

    @property
    def transport(self) -> asyncio.Transport:
        assert self.reader.transport is not None
        return self.reader.transport

    @property
    def pipelining(self) -> bool:
        return "PIPELINING" in self.features

    @property
    def eight_bit(self) -> bool:
        """The server takes 8-bit bodies (RFC 6152)."""
        return "8BITMIME" in self.features

    @property
    def is_connected(self) -> bool:
        return self.reader.error is None and not self.transport.is_closing()

    @classmethod
    async def open(cls, config: SmtpConfig, context: ssl.SSLContext | None = None) -> Session:
        loop = asyncio.get_running_loop()
        tls = context or (tls_context() if config.use_tls or config.start_tls else None)
        async with asyncio.timeout(config.timeout):
            _transport, reader = await loop.create_connection(
                _ReplyReader, config.host, config.port,
                ssl=tls if config.use_tls else None,
                server_hostname=config.host if config.use_tls else None)
            session = cls(config, reader, {})
            try:
                await session._expect(220)
                await session._hello()
                if config.start_tls:
                    if "STARTTLS" not in session.features:
                        raise SmtpError("the server does not offer STARTTLS")
                    await session._command(b"STARTTLS", 220)
                    assert tls is not None
                    new = await loop.start_tls(session.transport, reader, tls,
                                               server_hostname=config.host)
                    reader.transport = new
                    await session._hello()
                if config.username:
                    await session._login(config.username, config.password)
            except BaseException:
                session.transport.abort()
                raise
        return session

    async def _expect(self, *codes: int) -> Reply:
        reply = (await self.reader.read(1))[0]
        if reply.code not in codes:
            raise SmtpError(str(reply))
        return reply

    async def _command(self, line: bytes, *codes: int) -> Reply:
        self.transport.write(line + b"\r\n")
        return await self._expect(*codes)

    async def _hello(self) -> None:
        name = _local_name().encode("idna")
        self.transport.write(b"EHLO " + name + b"\r\n")
        reply = (await self.reader.read(1))[0]
        if reply.code != 250:  # an old server: HELO, no extensions
            await self._command(b"HELO " + name, 250)
            self.features = {}
            return
        self.features = {}
        for line in reply.text.split("\n")[1:]:
            word, _, rest = line.partition(" ")
            if word:
                self.features[word.upper()] = rest.upper()

    async def _login(self, username: str, password: str) -> None:
        mechanisms = self.features.get("AUTH", "").split()
        if "PLAIN" in mechanisms:
            secret = base64.b64encode(f"\0{username}\0{password}".encode()).decode()
            await self._command(f"AUTH PLAIN {secret}".encode(), 235)
        elif "LOGIN" in mechanisms:
            await self._command(b"AUTH LOGIN", 334)
            await self._command(base64.b64encode(username.encode()), 334)
            await self._command(base64.b64encode(password.encode()), 235)
        else:
            raise SmtpError("the server offers no AUTH PLAIN or LOGIN")

    async def send(self, envelope_from: str, rcpt: str, data: bytes,
                   eight_bit: bool = False, canonical: bool = False) -> Outcome:
        """One message to one recipient (`eight_bit`: built with 8-bit bodies; `canonical`:
        every line already ends in CRLF, as mime.MimeTemplate builds them). A refusal is
        an Outcome (the session stays usable); a broken session raises SmtpError or OSError."""
        refused = await self.stage(envelope_from, rcpt, data, eight_bit, canonical)
        return refused if refused is not None else await self.complete()

    async def stage(self, envelope_from: str, rcpt: str, data: bytes,
                    eight_bit: bool = False, canonical: bool = False) -> Outcome | None:
        """All of a message but the final dot: envelope, DATA and the body. None when staged
        (the server has not accepted anything yet: a session that ends here, a crash, drops
        it); `complete()` then ends it. An Outcome when it was refused before the body."""
        if _UNSAFE.search(envelope_from) or _UNSAFE.search(rcpt) or not rcpt.isascii() \
                or not envelope_from.isascii():
            return Outcome(FAILED, None, "address not allowed in an SMTP command")
        if eight_bit and not self.eight_bit:  # the server changed: built again as base64
            return Outcome(DEFERRED, None, "the server no longer takes 8-bit messages")
        body = b" BODY=8BITMIME" if eight_bit else b""
        commands = (f"MAIL FROM:<{envelope_from}>".encode() + body, f"RCPT TO:<{rcpt}>".encode(),
                    b"DATA")
        async with asyncio.timeout(self.config.timeout):
            if self.pipelining:
                self.transport.write(b"\r\n".join(commands) + b"\r\n")
                replies = await self.reader.read(3)
            else:
                replies = []
                for command, ok in zip(commands, (250, 250, 354), strict=True):
                    self.transport.write(command + b"\r\n")
                    replies += await self.reader.read(1)
                    if replies[-1].code // 100 != ok // 100:
                        break
            refused = next((r for r, ok in zip(replies, (2, 2, 3), strict=False)
                            if r.code // 100 != ok), None)
            if refused is not None:
                if len(replies) == 3 and replies[2].code == 354:
                    # DATA was accepted after a refused command: end an empty message.
                    self.transport.write(b".\r\n")
                    await self.reader.read(1)
                try:
                    await self._command(b"RSET", 250)
                except SmtpError:
                    self.transport.abort()  # the refusal stands; the next send reconnects
                return _refusal(refused)
            self.transport.write(_dot_stuffed(data, canonical))
            self.staged = True
        return None

    async def complete(self) -> Outcome:
        """The final dot of the staged message: the server accepts it (or refuses) now."""
        self.staged = False
        self.transport.write(b".\r\n")
        async with asyncio.timeout(self.config.timeout):
            reply = (await self.reader.read(1))[0]
        if reply.code // 100 == 2:
            return Outcome(SENT, reply.code, reply.text[:500])
        return _refusal(reply)

    async def quit(self) -> None:
        try:
            async with asyncio.timeout(5):
                await self._command(b"QUIT", 221)
        except (SmtpError, OSError, TimeoutError):
            pass
        finally:
            self.transport.close()


def _refusal(reply: Reply) -> Outcome:
    kind = DEFERRED if 400 <= reply.code < 500 else FAILED
    return Outcome(kind, reply.code, str(reply)[:500])


def _dot_stuffed(data: bytes, canonical: bool = False) -> bytes:
    """The message as DATA wants it, but the final dot line: CRLF line ends, a leading dot
    doubled, a last CRLF.
    `canonical`: the caller vouches there is no bare CR or LF (three passes over it saved)."""
    if not canonical and (data.count(b"\n") != (pairs := data.count(b"\r\n"))
                          or data.count(b"\r") != pairs):  # a bare CR or LF
        data = re.sub(rb"\r\n|\r|\n", b"\r\n", data)
    data = data.replace(b"\r\n.", b"\r\n..")
    if data.startswith(b"."):
        data = b"." + data
    return data if data.endswith(b"\r\n") else data + b"\r\n"


_BROKEN = (TimeoutError, SmtpError, OSError, ssl.SSLError, UnicodeError)


class Connection:
    """One SMTP session of the pool, opened on first use and again after the server drops it."""

    def __init__(self, config: SmtpConfig):
        self.config = config
        self.session: Session | None = None

    async def send(self, envelope_from: str, rcpt: str, data: bytes,
                   eight_bit: bool = False, canonical: bool = False) -> Outcome:
        refused = await self.stage(envelope_from, rcpt, data, eight_bit, canonical)
        return refused if refused is not None else await self.complete()

    async def stage(self, envelope_from: str, rcpt: str, data: bytes,
                    eight_bit: bool = False, canonical: bool = False) -> Outcome | None:
        """Session.stage on this connection's session (opened when needed); a broken
        session is an Outcome (deferred), as in send."""
        try:
            if self.session is None or not self.session.is_connected:
                self.session = await Session.open(self.config)
            return await self.session.stage(envelope_from, rcpt, data, eight_bit, canonical)
        except _BROKEN as exc:
            return await self._broken(exc)

    async def complete(self) -> Outcome:
        assert self.session is not None and self.session.staged
        try:
            return await self.session.complete()
        except _BROKEN as exc:
            return await self._broken(exc)

    async def _broken(self, exc: BaseException) -> Outcome:
        await self.close()  # the session is in an unknown state: start a fresh one
        return Outcome(DEFERRED, None, f"{type(exc).__name__}: {exc}"[:500])

    async def close(self) -> None:
        session, self.session = self.session, None
        if session is not None:
            # A staged message must not be ended by QUIT (it would be read as its text).
            if session.is_connected and not session.staged:
                await session.quit()
            else:
                session.transport.abort()
