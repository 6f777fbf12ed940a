from __future__ import annotations

import json

from peyvand.tracking import inbound
from peyvand.tracking.models import BounceReport, SmsSend

from .helpers import call, environ, open_token
from .test_inbound import FakeImap


def test_drain_and_stats(cli, contact):
    from peyvand.tracking.fastpath import wrap

    call(wrap(lambda e, s: []), environ(f"/t/o/{open_token(4, contact.pk)}.gif"))
    assert cli("tracking", "drain") == (0, "1 opens and clicks stored.\n", "")
    code, out, _err = cli("tracking", "stats", "--message", "4")
    assert code == 0 and json.loads(out)["human_opens"] == 1


def test_bounces_poll_imap(cli, contact, monkeypatch):
    monkeypatch.setattr(inbound.imaplib, "IMAP4", FakeImap)
    code, out, _err = cli("bounces", "poll", "--imap", "imap://u:p@mail.example")
    assert code == 0 and "2 reports read." in out and "complaint: 1" in out
    assert BounceReport.objects.count() == 2


def test_bounces_poll_needs_channel_rights(cli, make_user, monkeypatch):
    monkeypatch.setattr(inbound.imaplib, "IMAP4", FakeImap)
    make_user("mona", "marketer")
    code, _out, err = cli("bounces", "poll", "--as", "mona", "--imap", "imap://u:p@h")
    assert code == 3 and "channels.manage" in err
    assert not BounceReport.objects.exists()


def test_bounces_poll_unreachable_mailbox_fails_cleanly(cli, db):
    code, _out, err = cli("bounces", "poll", "--pop", "pop3://u:p@127.0.0.1:9")
    assert code == 1 and "Could not read the mailbox" in err


def test_sms_send_and_poll_with_the_catcher(cli, db, settings):
    settings.PEYVAND_SMS_URL = "catcher://"
    code, out, _err = cli("sms", "send", "09121234567", "سلام")
    assert code == 0 and "catcher" in out and "1 part(s), ucs2, 4 characters" in out
    assert SmsSend.objects.get().to == "+989121234567"
    assert cli("sms", "poll")[:2] == (0, "1 SMS changed status.\n")
