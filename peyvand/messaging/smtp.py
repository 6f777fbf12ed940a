"""SMTP: where mail goes (PEYVAND_SMTP_URL, the settings row, else the local catcher), a pool of
aiosmtplib connections, and token buckets for per-sender and per-domain rates."""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass
from email.utils import parseaddr
from urllib.parse import parse_qs, unquote, urlparse

import aiosmtplib
from django.conf import settings

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
    connections: int = 10
    rate: float = 0  # messages per second for this sender; 0: no limit
    domain_rate: float = 0  # per recipient domain
    catcher: bool = False
    timeout: float = 60

    @property
    def domain(self) -> str:
        return self.from_address.rpartition("@")[2] or "localhost"


def parse_smtp_url(url: str) -> SmtpConfig:
    parts = urlparse(url)
    # The same schemes settings.py accepts for PEYVAND_SMTP_URL.
    if parts.scheme not in ("smtp", "smtp+starttls", "smtps") or not parts.hostname:
        raise ValueError("An SMTP URL looks like smtp://user:pass@host:587?starttls=1")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    flag = parts.scheme == "smtp+starttls" or \
        query.get("starttls", "0").lower() in ("1", "true", "yes")
    default_port = 465 if parts.scheme == "smtps" else 587 if flag else 25
    return SmtpConfig(
        host=parts.hostname, port=parts.port or default_port,
        username=unquote(parts.username or ""), password=unquote(parts.password or ""),
        use_tls=parts.scheme == "smtps", start_tls=flag and parts.scheme != "smtps",
        connections=int(query.get("connections", 10)))


def smtp_config() -> SmtpConfig:
    from peyvand.messaging.models import SendingSettings

    row = SendingSettings.objects.order_by("id").first()
    url = os.environ.get("PEYVAND_SMTP_URL", "").strip() or (row.smtp_url if row else "")
    if url:
        config = parse_smtp_url(url)
    else:  # nothing configured: everything lands in the local catcher, nothing leaves
        config = SmtpConfig(host=os.environ.get("PEYVAND_CATCHER_HOST") or "127.0.0.1",
                            port=int(os.environ.get("PEYVAND_CATCHER_PORT") or 1025),
                            catcher=True)
    if row is not None:
        config.connections = row.connections or config.connections
        config.rate = row.rate_per_second
        config.domain_rate = row.domain_rate_per_second
        config.from_name = row.from_name
    config.connections = int(os.environ.get("PEYVAND_SMTP_CONNECTIONS") or config.connections)
    given = ((row.from_address if row else "") or os.environ.get("PEYVAND_MAIL_FROM", "").strip()
             or settings.DEFAULT_FROM_EMAIL)
    name, config.from_address = parseaddr(given)  # "Peyvand <no-reply@…>" is allowed
    config.from_name = config.from_name or name
    return config


class TokenBucket:
    def __init__(self, rate: float, burst: float | None = None):
        self.rate = rate
        self.capacity = burst or max(1.0, rate)
        self.tokens = self.capacity
        self.stamp = time.monotonic()

    async def take(self) -> None:
        if self.rate <= 0:
            return
        while True:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= 1:
                self.tokens -= 1
                return
            await asyncio.sleep((1 - self.tokens) / self.rate)


class Limits:
    """The sender's bucket and one bucket per recipient domain."""

    def __init__(self, rate: float, domain_rate: float):
        self.sender = TokenBucket(rate)
        self.domain_rate = domain_rate
        self.domains: dict[str, TokenBucket] = {}

    async def take(self, domain: str) -> None:
        if self.domain_rate > 0:
            bucket = self.domains.get(domain)
            if bucket is None:
                bucket = self.domains[domain] = TokenBucket(self.domain_rate)
            await bucket.take()
        await self.sender.take()


@dataclass
class Outcome:
    kind: str  # sent / deferred / failed
    code: int | None
    reply: str


class Connection:
    """One SMTP session, opened on first use and again after the server drops it."""

    def __init__(self, config: SmtpConfig):
        self.config = config
        self.client: aiosmtplib.SMTP | None = None

    async def _open(self) -> aiosmtplib.SMTP:
        c = self.config
        client = aiosmtplib.SMTP(hostname=c.host, port=c.port, use_tls=c.use_tls,
                                 start_tls=c.start_tls, timeout=c.timeout)
        await client.connect()
        if c.username:
            await client.login(c.username, c.password)
        return client

    async def send(self, envelope_from: str, rcpt: str, data: bytes) -> Outcome:
        try:
            if self.client is None or not self.client.is_connected:
                self.client = await self._open()
            _errors, reply = await self.client.sendmail(envelope_from, [rcpt], data)
            return Outcome(SENT, 250, str(reply)[:500])
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refused = exc.recipients[0] if exc.recipients else None
            code = getattr(refused, "code", 550)
            return await self._after_refusal(code, getattr(refused, "message", str(exc)))
        except aiosmtplib.SMTPResponseException as exc:
            return await self._after_refusal(exc.code, exc.message)
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
            await self.close()  # the session is in an unknown state: start a fresh one
            return Outcome(DEFERRED, None, f"{type(exc).__name__}: {exc}"[:500])

    async def _after_refusal(self, code: int, message: str) -> Outcome:
        try:
            if self.client is not None and self.client.is_connected:
                await self.client.rset()
        except (aiosmtplib.SMTPException, OSError):
            await self.close()
        kind = DEFERRED if 400 <= code < 500 else FAILED
        return Outcome(kind, code, f"{code} {message}"[:500])

    async def close(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError):
                client.close()
