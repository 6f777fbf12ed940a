from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from peyvand.consent.models import ConsentChange
from peyvand.contacts.models import TimelineEvent
from peyvand.tracking import consent_port
from peyvand.tracking.bounces import (
    bounce_address,
    bounce_token,
    is_bounce_address,
    message_for_bounce_address,
    parse_report,
    process_report,
)
from peyvand.tracking.models import BounceReport

SAMPLES = Path(__file__).parent / "samples"


def sample(name: str, message_id: int = 0, contact_id: int = 0, verp: str | None = None) -> bytes:
    raw = (SAMPLES / name).read_bytes()
    address = verp if verp is not None else bounce_address(message_id, contact_id=contact_id)
    return (raw.replace(b"{VERP}", address.encode())
            .replace(b"{MSGID}", b"20240504.abc@shop.example"))


@pytest.fixture
def calls(monkeypatch):
    seen = []
    monkeypatch.setattr(consent_port, "record_bounce",
                        lambda cid, ch, hard, details: seen.append(("bounce", cid, ch, hard)))
    monkeypatch.setattr(consent_port, "record_complaint",
                        lambda cid, ch, details: seen.append(("complaint", cid, ch)))
    return seen


def test_bounce_address_round_trips_and_survives_case_changes():
    address = bounce_address(123456, contact_id=42)
    local, domain = address.split("@")
    assert domain == "bounces.example" and local.startswith("bounce+")
    assert "123456" not in address and len(local) <= 64
    assert message_for_bounce_address(address) == (123456, 42)
    assert message_for_bounce_address(address.upper()) == (123456, 42)
    assert message_for_bounce_address(f"Return-Path: <{address}>") == (123456, 42)
    assert is_bounce_address(address) and not is_bounce_address("bounce+x@other.example")


def test_tampered_bounce_address_matches_nothing():
    token = bounce_token(5, 6)
    bad = token[:-3] + ("a" if token[-3] != "a" else "b") + token[-2:]
    assert message_for_bounce_address(f"bounce+{bad}@bounces.example") is None
    assert message_for_bounce_address("bounce+notatoken@bounces.example") is None


def test_postfix_hard_bounce_is_parsed():
    parsed = parse_report(sample("postfix_hard.eml", 7, 1))
    assert parsed.kind == "hard"
    [rcpt] = parsed.recipients
    assert (rcpt.recipient, rcpt.action, rcpt.status) == ("sara@example.com", "failed", "5.1.1")
    assert "User unknown" in rcpt.diagnostic
    assert parsed.original_message_id == "<20240504.abc@shop.example>"


def test_gmail_failure_with_a_4xx_status_is_soft():
    parsed = parse_report(sample("gmail_soft.eml", 7, 1))
    assert parsed.kind == "soft" and parsed.recipients[0].status == "4.2.2"


def test_delayed_dsn_takes_no_action(contact, calls):
    report = process_report(sample("rfc3464_delayed.eml", 7, contact.pk), source="test")
    assert report.kind == "delayed" and calls == [] and not report.suppressed


def test_arf_abuse_is_a_complaint_with_a_persian_subject():
    parsed = parse_report(sample("arf_abuse.eml", 7, 1))
    assert parsed.kind == "complaint" and parsed.feedback_type == "abuse"
    assert parsed.recipients[0].recipient == "sara@example.com"
    assert parsed.subject == "FWD: تخفیف ویژه بهاری"


def test_hard_bounce_suppresses_through_the_consent_ledger(contact):
    report = process_report(sample("postfix_hard.eml", 7, contact.pk), ["x"], source="smtp")
    assert (report.kind, report.message_id, report.contact_id, report.suppressed) == (
        "hard", 7, contact.pk, True)
    change = ConsentChange.objects.get(contact=contact)
    assert (change.channel, change.source) == ("email", "bounce")
    event = TimelineEvent.objects.get(contact=contact, kind="message.bounced")
    assert event.data["status"] == "5.1.1" and event.data["hard"] is True


def test_complaint_suppresses_through_the_consent_ledger(contact):
    report = process_report(sample("arf_abuse.eml", 9, contact.pk), source="imap")
    assert report.kind == "complaint" and report.suppressed
    assert ConsentChange.objects.get(contact=contact).source == "complaint"
    assert TimelineEvent.objects.filter(contact=contact, kind="message.complained").exists()


def test_envelope_recipient_identifies_the_message(contact, calls):
    raw = sample("postfix_hard.eml", verp="postmaster@shop.example")
    report = process_report(raw, [bounce_address(77, contact_id=contact.pk)])
    assert (report.message_id, report.contact_id) == (77, contact.pk)
    assert calls == [("bounce", contact.pk, "email", True)]


def test_without_verp_the_failed_address_finds_its_contact(contact, calls):
    report = process_report(sample("postfix_hard.eml", verp="postmaster@shop.example"))
    assert report.message_id is None and report.contact_id == contact.pk
    assert calls == [("bounce", contact.pk, "email", True)]


def test_soft_bounces_suppress_after_the_threshold(contact, calls, settings):
    settings.TRACKING_SOFT_BOUNCE_LIMIT = 3
    raw = sample("gmail_soft.eml", 1, contact.pk)
    first, second = process_report(raw), process_report(raw)
    assert not first.suppressed and not second.suppressed
    assert [c for c in calls if c[3]] == []
    third = process_report(raw)
    assert third.suppressed
    assert [c for c in calls if c[3]] == [("bounce", contact.pk, "email", True)]
    process_report(raw)  # a fourth does not suppress again
    assert len([c for c in calls if c[3]]) == 1


def test_old_soft_bounces_do_not_count(contact, calls, settings):
    settings.TRACKING_SOFT_BOUNCE_DAYS = 30
    raw = sample("gmail_soft.eml", 1, contact.pk)
    for _ in range(2):
        report = process_report(raw)
        BounceReport.objects.filter(pk=report.pk).update(
            received_at=report.received_at - dt.timedelta(days=31))
    assert not process_report(raw).suppressed
    assert [c for c in calls if c[3]] == []


@pytest.mark.parametrize("name", ["malformed_report.eml", "qmail_plain.eml", "garbage.bin"])
def test_malformed_reports_are_kept_unparsed_never_crash(db, calls, name):
    raw = (SAMPLES / name).read_bytes()
    report = process_report(raw, source="test")
    assert report.kind == "unparsed" and report.problem
    assert bytes(report.raw) == raw and calls == []


def test_reports_for_unknown_people_are_kept_without_action(db, calls):
    raw = sample("postfix_hard.eml", 5, 0).replace(b"sara@example.com", b"nobody@example.org")
    report = process_report(raw)
    assert report.kind == "hard" and report.contact_id is None and calls == []


def test_bounce_tokens_keep_their_format(settings):
    # Made by the first implementation: bounces of mail already sent must still be matched.
    settings.SECRET_KEY = "golden-secret-for-token-format-tests-0123456789"
    assert bounce_token(123456, 4567) == "ojb6hwkgad7nnn3lbzg2e"
    assert bounce_token(0, 0) == "gyry5le4f4c7rntf"
    settings.SECRET_KEY = "another-secret-for-token-format-tests-987654321"
    assert bounce_token(123456, 4567) != "ojb6hwkgad7nnn3lbzg2e"  # keys follow the setting
    assert message_for_bounce_address(bounce_address(123456, contact_id=4567)) == (123456, 4567)


def test_bounce_domain_follows_the_setting(settings):
    assert bounce_address(1, contact_id=2).endswith("@bounces.example")
    settings.PEYVAND_BOUNCE_DOMAIN = "b2.example"
    assert bounce_address(1, contact_id=2).endswith("@b2.example")
    settings.PEYVAND_BOUNCE_DOMAIN = ""
    assert bounce_address(1, contact_id=2).endswith("@localhost")
