"""Mail headers to the letter (docs/security.md): Date with a numeric zone (RFC 5322 §3.3),
List-Unsubscribe on the public address's https, one-click only with https (RFC 8058 §3.1),
and DKIM covering both List-Unsubscribe headers (RFC 8058 §4), over-signed."""

from __future__ import annotations

import re
from email.utils import parsedate_to_datetime

import dkim as dkimpy
import pytest

from peyvand.messaging.actions import do_create_broadcast
from peyvand.messaging.mime import date_header
from tests.messaging.test_dkim import _keys
from tests.messaging.test_mime import build, parse

DATE = re.compile(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} [A-Z][a-z]{2} \d{4} "
                  r"\d{2}:\d{2}:\d{2} \+0000")


def test_date_uses_a_numeric_utc_zone():
    assert date_header(0) == "Thu, 01 Jan 1970 00:00:00 +0000"
    raw = build()
    line = next(h for h in raw.split(b"\r\n") if h.startswith(b"Date: "))
    assert DATE.fullmatch(line[6:].decode()), line  # never "GMT" nor "-0000"
    assert parse(raw)["Date"].datetime.utcoffset().total_seconds() == 0


def _send_one(make_contact, template, owner_actor, deliver):
    make_contact("sara@example.com", tags=["vip"])
    do_create_broadcast(owner_actor, template("news"), "vip")
    (message,) = deliver()
    return message


def test_list_unsubscribe_is_https_when_the_public_address_is(make_contact, template,
                                                              owner_actor, deliver, settings):
    settings.PEYVAND_PUBLIC_URL = "https://shop.example"
    message = _send_one(make_contact, template, owner_actor, deliver)
    assert re.fullmatch(r"<https://shop\.example/consent/u/[^>]+/one-click>",
                        message["List-Unsubscribe"])
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert DATE.fullmatch(message["Date"]) and parsedate_to_datetime(message["Date"])


def test_one_click_is_offered_only_over_https(make_contact, template, owner_actor, deliver,
                                              settings):
    settings.PEYVAND_PUBLIC_URL = "http://127.0.0.1:8000"  # the demo's address
    message = _send_one(make_contact, template, owner_actor, deliver)
    assert message["List-Unsubscribe"].startswith("<http://127.0.0.1:8000/consent/u/")
    # RFC 8058 §3.1: a POST to an http address is not one-click unsubscribing
    assert message["List-Unsubscribe-Post"] is None


@pytest.fixture
def signed(make_contact, template, owner_actor, settings, tmp_path):
    """The bytes a DKIM-signing sender put on the wire for a marketing e-mail, and the DNS."""
    from peyvand.messaging.sender import Sender
    from peyvand.messaging.smtp import SmtpConfig
    from tests.messaging.sink import start_sink

    pem, record = _keys("rsa")
    (tmp_path / "dkim.pem").write_bytes(pem)
    settings.PEYVAND_DKIM_KEY_FILE = str(tmp_path / "dkim.pem")
    settings.PEYVAND_DKIM_SELECTOR, settings.PEYVAND_DKIM_DOMAIN = "pv1", "shop.example"
    make_contact("sara@example.com", tags=["vip"])
    do_create_broadcast(owner_actor, template("news"), "vip")
    controller, handler = start_sink()
    try:
        Sender(config=SmtpConfig(host="127.0.0.1", port=controller.port,
                                 from_address="news@shop.example", connections=1)).run()
    finally:
        controller.stop()
    (_from, _to, raw), = handler.received
    return raw, (lambda name, timeout=5: record)


def test_dkim_covers_list_unsubscribe_and_its_post(signed):
    raw, dns = signed
    assert dkimpy.verify(raw, dnsfunc=dns)
    tags = dict(part.strip().split("=", 1) for part in re.search(
        rb"DKIM-Signature: (.*?)\r\n(?! |\t)", raw, re.S).group(1).decode()
        .replace("\r\n", "").replace("\t", "").split(";") if "=" in part)
    signed_names = tags["h"].split(":")
    assert {"list-unsubscribe", "list-unsubscribe-post"} <= set(signed_names)
    changed = re.sub(rb"List-Unsubscribe: <[^>]+>", b"List-Unsubscribe: <https://evil.example/>",
                     raw)
    assert changed != raw and not dkimpy.verify(changed, dnsfunc=dns)
    no_post = raw.replace(b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n", b"")
    assert no_post != raw and not dkimpy.verify(no_post, dnsfunc=dns)


def test_a_list_unsubscribe_added_on_the_way_breaks_the_signature(signed):
    raw, dns = signed
    # a copy put above ours, where a mail client would find it first
    added = b"List-Unsubscribe: <https://evil.example/u>\r\n" + raw
    assert not dkimpy.verify(added, dnsfunc=dns)
