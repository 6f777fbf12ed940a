"""An in-process SMTP sink for tests: keeps what it receives; some recipients get 4xx/5xx."""

from __future__ import annotations

import socket

from aiosmtpd.controller import Controller


class Handler:
    def __init__(self):
        self.received: list[tuple[str, list[str], bytes]] = []
        self.tempfail: set[str] = set()
        self.mail_options: list[list[str]] = []  # per message received, e.g. BODY=8BITMIME

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address.startswith("nouser"):
            return "550 5.1.1 no such user"
        if address in self.tempfail:
            return "451 4.7.1 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        self.mail_options.append(list(envelope.mail_options))
        return "250 2.0.0 queued as X"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_sink():
    handler = Handler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), decode_data=False)
    controller.start()
    return controller, handler
