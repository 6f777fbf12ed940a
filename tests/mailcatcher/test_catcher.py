"""The local mail catcher: an SMTP server that keeps messages, and pages to read them."""

from __future__ import annotations

import smtplib
import socket
from email.message import EmailMessage

import pytest

from peyvand.mailcatcher.models import CaughtMail, CaughtSms
from peyvand.mailcatcher.server import make_server, store

pytestmark = pytest.mark.urls("tests.mailcatcher.urls")


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def message(subject="سلام", html="<p>Hello <b>there</b></p><script>alert(1)</script>"):
    msg = EmailMessage()
    msg["From"] = "shop@example.com"
    msg["To"] = "sara@example.com"
    msg["Subject"] = subject
    msg.set_content("Hello there")
    msg.add_alternative(html, subtype="html")
    return msg


@pytest.mark.django_db(transaction=True)
def test_the_smtp_server_keeps_every_message():
    port = free_port()
    server = make_server("127.0.0.1", port)
    server.start()
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            smtp.send_message(message(), to_addrs=["sara@example.com", "bcc@example.com"])
    finally:
        server.stop()
    mail = CaughtMail.objects.get()
    assert mail.mail_from == "shop@example.com"
    assert mail.to == ["sara@example.com", "bcc@example.com"]
    assert mail.subject == "سلام"
    text, html = mail.bodies()
    assert text.strip() == "Hello there" and "<b>there</b>" in html


def test_store_parses_the_subject(db):
    raw = message(subject="Re: order").as_bytes()
    assert store(raw, "a@example.com", ["b@example.com"]).subject == "Re: order"


def test_pages_for_signed_in_staff(client, make_user):
    mail = store(message().as_bytes(), "shop@example.com", ["sara@example.com"])
    CaughtSms.objects.create(to="+989121234567", text="کد: ۱۲۳")
    assert client.get("/mailcatcher/").status_code == 302  # sign in first
    client.force_login(make_user("reader", "analyst"))
    listing = client.get("/mailcatcher/").content.decode()
    assert f"/mailcatcher/{mail.pk}/" in listing
    assert "+989121234567" in client.get("/mailcatcher/?show=sms").content.decode()
    detail = client.get(f"/mailcatcher/{mail.pk}/").content.decode()
    # The HTML part is shown only inside a sandbox that allows no scripts.
    assert '<iframe class="mail-frame" sandbox=""' in detail
    assert 'srcdoc="&lt;p&gt;Hello &lt;b&gt;there&lt;/b&gt;&lt;/p&gt;&lt;script&gt;' in detail
    assert "<script>alert(1)" not in detail
    assert "Hello there" in detail
    raw = client.get(f"/mailcatcher/{mail.pk}/raw/")
    assert raw.content.startswith(b"From: shop@example.com") or b"Subject:" in raw.content
