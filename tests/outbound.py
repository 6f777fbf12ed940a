"""The real outbound path in tests: run the sender into an in-process SMTP sink and read
what arrived, parsed by the stdlib (as a mail client would)."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

import pytest

from tests.messaging.sink import start_sink


@pytest.fixture
def deliver(db):
    """deliver() sends everything due and returns every message the sink has received."""
    from peyvand.messaging.sender import Sender
    from peyvand.messaging.smtp import SmtpConfig

    controller, handler = start_sink()
    config = SmtpConfig(host="127.0.0.1", port=controller.port,
                        from_address="shop@example.com", from_name="Shop", connections=2)

    def run() -> list[EmailMessage]:
        Sender(config=config).run()
        return [email.message_from_bytes(data, policy=email.policy.default)
                for _sender, _rcpts, data in handler.received]

    yield run
    controller.stop()


def body(message: EmailMessage, subtype: str = "plain") -> str:
    part = message.get_body((subtype,))
    assert part is not None, f"no text/{subtype} part"
    return part.get_content()
