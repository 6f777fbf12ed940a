from __future__ import annotations

import smtplib
import socket

import pytest

from peyvand.tracking import inbound
from peyvand.tracking.bounces import bounce_address
from peyvand.tracking.models import BounceReport

from .test_bounces import SAMPLES, sample


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.django_db(transaction=True)
def test_smtp_endpoint_takes_reports_for_bounce_addresses_only(contact):
    port = free_port()
    server = inbound.make_server("127.0.0.1", port)
    server.start()
    try:
        address = bounce_address(12, contact_id=contact.pk)
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            raw = sample("postfix_hard.eml", verp="x@y.example").replace(b"\n", b"\r\n")
            smtp.sendmail("", [address], raw)
            with pytest.raises(smtplib.SMTPRecipientsRefused):
                smtp.sendmail("", ["someone@shop.example"], b"Subject: relay me\r\n\r\nhi")
    finally:
        server.stop()
    report = BounceReport.objects.get()
    assert (report.kind, report.message_id, report.contact_id, report.source) == (
        "hard", 12, contact.pk, "smtp")


def test_feedback_loop_address_is_accepted_when_configured(settings):
    settings.PEYVAND_FBL_ADDRESS = "fbl@shop.example"
    assert inbound.accepts("<FBL@shop.example>")
    assert inbound.accepts(bounce_address(1, contact_id=1))
    assert not inbound.accepts("postmaster@shop.example")


class FakeImap:
    """imaplib.IMAP4 as far as the poller uses it, over an in-memory mailbox."""

    instances: list = []

    def __init__(self, host, port):
        self.host, self.port = host, port
        self.messages = {b"1": (SAMPLES / "arf_abuse.eml").read_bytes(),
                         b"2": (SAMPLES / "garbage.bin").read_bytes(),
                         b"3": b"seen already"}
        self.flags = {b"3": {"\\Seen"}}
        self.logged_in = None
        FakeImap.instances.append(self)

    def login(self, user, password):
        self.logged_in = (user, password)
        return "OK", [b"logged in"]

    def select(self, folder):
        self.folder = folder
        return "OK", [b"3"]

    def search(self, charset, criterion):
        assert criterion == "UNSEEN"
        unseen = [n for n in sorted(self.messages) if "\\Seen" not in self.flags.get(n, set())]
        return "OK", [b" ".join(unseen)]

    # imaplib takes a message number as str or bytes; the server's answers are bytes.
    def fetch(self, num, what):
        num = num if isinstance(num, bytes) else num.encode()
        return "OK", [(num + b" (RFC822 {%d}" % len(self.messages[num]), self.messages[num]),
                      b")"]

    def store(self, num, op, flag):
        num = num if isinstance(num, bytes) else num.encode()
        self.flags.setdefault(num, set()).add(flag)
        return "OK", []

    def expunge(self):
        return "OK", []

    def logout(self):
        return "BYE", []


def test_imap_poll_reads_unseen_reports_and_marks_them(db, monkeypatch, contact):
    FakeImap.instances.clear()
    monkeypatch.setattr(inbound.imaplib, "IMAP4_SSL", FakeImap)
    result = inbound.poll_imap("imaps://bounces%40shop.example:p%40ss@mail.example/Reports")
    imap = FakeImap.instances[0]
    assert (imap.host, imap.port, imap.logged_in, imap.folder) == (
        "mail.example", 993, ("bounces@shop.example", "p@ss"), "Reports")
    assert result.fetched == 2 and result.kinds == {"complaint": 1, "unparsed": 1}
    assert imap.flags[b"1"] == {"\\Seen"} and imap.flags[b"2"] == {"\\Seen"}
    complaint = BounceReport.objects.get(kind="complaint")
    assert complaint.contact_id == contact.pk and complaint.source == "imap"


class FakePop:
    instances: list = []

    def __init__(self, host, port):
        self.host, self.port = host, port
        self.messages = [(SAMPLES / "postfix_hard.eml").read_bytes().replace(
            b"{VERP}", b"postmaster@shop.example")]
        self.deleted, self.quit_called = [], False
        FakePop.instances.append(self)

    def user(self, name):
        self.name = name

    def pass_(self, password):
        self.password = password

    def stat(self):
        return len(self.messages), sum(len(m) for m in self.messages)

    def retr(self, num):
        raw = self.messages[num - 1]
        return b"+OK", raw.split(b"\n"), len(raw)

    def dele(self, num):
        self.deleted.append(num)

    def quit(self):
        self.quit_called = True


def test_pop_poll_reads_and_deletes(db, monkeypatch, contact):
    FakePop.instances.clear()
    monkeypatch.setattr(inbound.poplib, "POP3", FakePop)
    result = inbound.poll_pop("pop3://bounces:secret@pop.example:1110")
    pop = FakePop.instances[0]
    assert (pop.host, pop.port, pop.name, pop.password) == ("pop.example", 1110, "bounces",
                                                            "secret")
    assert result.kinds == {"hard": 1} and pop.deleted == [1] and pop.quit_called
    assert BounceReport.objects.get().contact_id == contact.pk


def test_bad_mailbox_urls_are_refused():
    with pytest.raises(ValueError):
        inbound.parse_mailbox_url("http://mail.example/", "imap")
    with pytest.raises(ValueError):
        inbound.parse_mailbox_url("pop3://", "pop")
