"""Where bounces and complaints come in: an SMTP endpoint, or a mailbox polled over IMAP/POP.

SMTP: point the bounce domain's MX (or a relay's transport) at this server; it accepts mail
only for `bounce+…@PEYVAND_BOUNCE_DOMAIN` and the feedback-loop address PEYVAND_FBL_ADDRESS,
refusing everything else (it is no relay).

    python -m peyvand.tracking.inbound           # PEYVAND_INBOUND_SMTP_PORT, default 2526
    peyvand bounces poll --imap imaps://user:pass@mail.example/INBOX
    peyvand bounces poll --pop pop3s://user:pass@mail.example
"""

from __future__ import annotations

import contextlib
import imaplib
import os
import poplib
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from django.conf import settings

DEFAULT_PORT = 2526
MAX_SIZE = 10 * 1024 * 1024
IMAP_ERROR = imaplib.IMAP4.error


def fbl_address() -> str:
    return settings.PEYVAND_FBL_ADDRESS.strip().lower()


def accepts(address: str) -> bool:
    from peyvand.tracking.bounces import is_bounce_address

    address = (address or "").strip().strip("<>")
    return is_bounce_address(address) or (bool(fbl_address()) and address.lower() == fbl_address())


def receive(raw: bytes, rcpt_tos: list[str], source: str = "smtp"):
    from peyvand.base.db import refresh_connections
    from peyvand.tracking.bounces import process_report

    refresh_connections()  # a long-running server outlives its database connections
    return process_report(raw, rcpt_tos, source=source)


class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if not accepts(address):
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        from asgiref.sync import sync_to_async

        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        await sync_to_async(receive, thread_sensitive=True)(raw, list(envelope.rcpt_tos))
        return "250 Report received"


def make_server(host: str, port: int):
    """An aiosmtpd Controller (not started): `start()` serves in a thread, `stop()` ends it."""
    from peyvand.base.smtpd import make_controller

    return make_controller(Handler(), host, port, MAX_SIZE)


def run(host: str = "127.0.0.1", port: int = DEFAULT_PORT) -> None:
    """Serve until SIGINT/SIGTERM. Blocks."""
    from peyvand.base.smtpd import serve_until_stopped

    serve_until_stopped(make_server(host, port))


# --- mailbox polling ---------------------------------------------------------------------------

@dataclass
class Mailbox:
    secure: bool
    host: str
    port: int | None
    user: str
    password: str
    folder: str


def parse_mailbox_url(url: str, kind: str) -> Mailbox:
    """imap[s]://user:pass@host[:port][/FOLDER] or pop3[s]://user:pass@host[:port]."""
    parts = urlsplit(url)
    schemes = {"imap": ("imap", "imaps"), "pop": ("pop3", "pop3s", "pop", "pops")}[kind]
    if parts.scheme not in schemes or not parts.hostname:
        raise ValueError(f"expected a {schemes[0]}:// or {schemes[1]}:// URL")
    return Mailbox(secure=parts.scheme.endswith("s"), host=parts.hostname, port=parts.port,
                   user=unquote(parts.username or ""), password=unquote(parts.password or ""),
                   folder=unquote(parts.path.lstrip("/")) or "INBOX")


@dataclass
class PollResult:
    fetched: int = 0
    kinds: dict | None = None

    def add(self, kind: str) -> None:
        self.fetched += 1
        self.kinds = self.kinds or {}
        self.kinds[kind] = self.kinds.get(kind, 0) + 1


def poll_imap(url: str, delete: bool = False, limit: int = 500) -> PollResult:
    """Read unseen messages of the folder as reports; mark them seen (or delete them)."""
    box = parse_mailbox_url(url, "imap")
    cls = imaplib.IMAP4_SSL if box.secure else imaplib.IMAP4
    client = cls(box.host, box.port or (993 if box.secure else 143))
    result = PollResult()
    try:
        client.login(box.user, box.password)
        client.select(box.folder)
        _status, data = client.search(None, "UNSEEN")
        for num in (data[0] or b"").decode().split()[:limit]:
            _status, parts = client.fetch(num, "(RFC822)")
            raw = next((p[1] for p in parts if isinstance(p, tuple)), b"")
            result.add(receive(raw, [], source="imap").kind)
            client.store(num, "+FLAGS", "\\Deleted" if delete else "\\Seen")
        if delete:
            client.expunge()
    finally:
        with contextlib.suppress(OSError, IMAP_ERROR):
            client.logout()
    return result


def poll_pop(url: str, limit: int = 500) -> PollResult:
    """Read every message in the POP mailbox as a report and delete it (POP has no flags)."""
    box = parse_mailbox_url(url, "pop")
    cls = poplib.POP3_SSL if box.secure else poplib.POP3
    client = cls(box.host, box.port or (995 if box.secure else 110))
    result = PollResult()
    try:
        client.user(box.user)
        client.pass_(box.password)
        count, _size = client.stat()
        for num in range(1, min(count, limit) + 1):
            _resp, lines, _octets = client.retr(num)
            result.add(receive(b"\r\n".join(lines) + b"\r\n", [], source="pop").kind)
            client.dele(num)
    finally:
        client.quit()  # deletions take effect only on a clean QUIT
    return result


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peyvand.settings")
    import django

    django.setup()
    run(settings.INBOUND_SMTP_HOST, settings.INBOUND_SMTP_PORT)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
