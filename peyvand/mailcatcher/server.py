"""A local SMTP server (aiosmtpd) that keeps every message as a CaughtMail row.

`peyvand up` starts it beside the web server: `python -m peyvand.mailcatcher.server` or
`run(host, port)`. It listens on loopback only unless told otherwise; nothing is relayed.
"""

from __future__ import annotations

import email
import email.policy
import os
import sys

from asgiref.sync import sync_to_async

DEFAULT_PORT = 1025
MAX_SIZE = 10 * 1024 * 1024


def store(raw: bytes, mail_from: str, to: list[str]):
    """Keep one received message; returns the CaughtMail row."""
    from peyvand.base.db import refresh_connections
    from peyvand.mailcatcher.models import CaughtMail

    refresh_connections()  # a long-running server outlives its database connections
    message = email.message_from_bytes(raw, policy=email.policy.default)
    subject = str(message.get("Subject", "") or "")[:500]
    return CaughtMail.objects.create(raw=raw, mail_from=mail_from[:320], to=list(to),
                                     subject=subject)


class Handler:
    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        await sync_to_async(store, thread_sensitive=True)(
            raw, envelope.mail_from or "", list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


def make_server(host: str, port: int):
    """An aiosmtpd Controller (not started): `start()` serves in a thread, `stop()` ends it."""
    from peyvand.base.smtpd import make_controller

    return make_controller(Handler(), host, port, MAX_SIZE)


def run(host: str = "127.0.0.1", port: int = DEFAULT_PORT) -> None:
    """Serve until interrupted (SIGINT/SIGTERM). Blocks."""
    from peyvand.base.smtpd import serve_until_stopped

    serve_until_stopped(make_server(host, port))


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peyvand.settings")
    import django

    django.setup()
    from django.conf import settings

    run(settings.CATCHER_HOST, settings.CATCHER_PORT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
