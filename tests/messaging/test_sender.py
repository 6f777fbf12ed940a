"""The sender: gate, MIME, SMTP pool, 4xx retry with backoff, 5xx recorded, crash recovery."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import logging

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from peyvand.messaging import outbox
from peyvand.messaging.actions import do_create_broadcast
from peyvand.messaging.models import OutboxMessage, StrategyRule
from peyvand.messaging.sender import Sender, SenderBusy
from peyvand.messaging.smtp import SmtpConfig
from tests.messaging.sink import start_sink


@pytest.fixture
def sink():
    controller, handler = start_sink()
    yield controller, handler
    controller.stop()


@pytest.fixture
def config(sink):
    controller, _handler = sink
    return SmtpConfig(host="127.0.0.1", port=controller.port, from_address="news@shop.example",
                      from_name="فروشگاه", connections=3)


@pytest.fixture
def audience(make_contact):
    people = {
        "ok1": make_contact("sara@example.com", first_name="سارا", tags=["vip"]),
        "ok2": make_contact("sam@example.org", first_name="Sam", language="en", tags=["vip"]),
        "noconsent": make_contact("quiet@example.com", opt_in=(), tags=["vip"]),
        "nouser": make_contact("nouser@example.com", tags=["vip"]),
        "later": make_contact("later@example.com", tags=["vip"]),
    }
    return people


def rows_by_address():
    return {r.to_address: r for r in OutboxMessage.objects.all()}


def test_broadcast_is_gated_sent_retried_and_recorded(audience, template, owner_actor, config,
                                                      sink):
    from peyvand.contacts.timeline import event_kind, timeline_for

    _controller, handler = sink
    handler.tempfail.add("later@example.com")
    StrategyRule.objects.all().delete()
    item = do_create_broadcast(owner_actor, template(), "vip")
    assert item.status == "queued" and item.queued_count == 5
    stats = Sender(config=config).run()
    assert (stats.sent, stats.failed, stats.deferred) == (2, 2, 1)
    rows = rows_by_address()
    assert rows["sara@example.com"].state == "sent"
    assert rows["sara@example.com"].smtp_reply.startswith("2.0.0 queued")
    assert rows["quiet@example.com"].state == "failed"
    assert rows["quiet@example.com"].gate_reason == "no_consent"
    assert rows["nouser@example.com"].state == "failed"
    assert rows["nouser@example.com"].smtp_code == 550
    assert "no such user" in rows["nouser@example.com"].smtp_reply
    later = rows["later@example.com"]
    assert later.state == "deferred" and later.smtp_code == 451 and later.attempts == 1
    assert dt.timedelta(seconds=50) < later.next_attempt_at - timezone.now() \
        < dt.timedelta(seconds=70)
    assert [e.kind for e in timeline_for(audience["ok1"].pk)][0] == "message.sent"
    # The contact's history names the e-mail by the subject this person got.
    sent_event = timeline_for(audience["ok1"].pk)[0]
    assert sent_event.data["subject"] == "سلام سارا"
    assert event_kind("message.sent").summary(sent_event) == "سلام سارا"

    # what arrived: Persian subject with the merge field, RTL body, one-click unsubscribe
    assert len(handler.received) == 2
    by_rcpt = {r[1][0]: r for r in handler.received}
    mail_from, _rcpts, raw = by_rcpt["sara@example.com"]
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert all(not part.defects for part in msg.walk())
    assert msg["Subject"] == "سلام سارا"
    assert msg["Message-ID"] == rows["sara@example.com"].message_id
    html = msg.get_body(("html",)).get_content()
    assert 'dir="rtl"' in html and "سلام سارا!" in html
    assert msg["List-Unsubscribe"].startswith("<https://crm.example/")
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail_from  # the bounce address (VERP from tracking, else the From address)

    # the retry: due again and the server accepts now; backoff doubles on each failure
    handler.tempfail.clear()
    OutboxMessage.objects.filter(pk=later.pk).update(next_attempt_at=timezone.now())
    Sender(config=config).run()
    later.refresh_from_db()
    assert later.state == "sent" and later.attempts == 2
    assert len(handler.received) == 3


@pytest.mark.parametrize(("message_class", "body", "keys"), [
    ("marketing", "<p>Hi</p>", True),  # one-click unsubscribe header
    ("transactional", "<p>Your order</p>", False),
    ("transactional", '<p><a href="{{ preferences_url }}">settings</a></p>', True),
])
def test_queueing_makes_the_link_keys_its_messages_need(make_contact, template, owner_actor,
                                                       message_class, body, keys):
    """The sender only reads consent-link keys: a broadcast (or a single message) makes the
    missing ones when it is queued, once per contact."""
    from peyvand.consent.models import ContactKey
    from peyvand.messaging.actions import do_send_message

    people = [make_contact(f"k{i}@example.com", tags=["keys"]).pk for i in range(3)]
    ContactKey.objects.filter(contact_id__in=people).delete()
    made = template("keys", html=body, message_class=message_class)
    if message_class == "marketing":
        do_create_broadcast(owner_actor, made, "keys")
    else:
        for i, person in enumerate(people):
            do_send_message(owner_actor, made, person, f"order-{i}")
    have = set(ContactKey.objects.filter(contact_id__in=people).values_list("contact_id",
                                                                            flat=True))
    assert have == (set(people) if keys else set())


def test_messages_go_8bit_once_a_session_has_seen_the_server_take_8bitmime(
        audience, template, owner_actor, config, sink):
    _controller, handler = sink
    StrategyRule.objects.all().delete()
    do_create_broadcast(owner_actor, template(), "vip")
    first = Sender(config=config)
    assert first._eight_bit is False  # nothing known yet: base64
    first.run()
    assert first._eight_bit is True  # aiosmtpd offers 8BITMIME
    raws = [raw for _f, _r, raw in handler.received]
    assert raws and all(b"Content-Transfer-Encoding: base64" in raw for raw in raws)

    handler.received.clear()
    handler.mail_options.clear()
    OutboxMessage.objects.filter(state="sent").update(state="queued", next_attempt_at=None)
    second = Sender(config=config)
    second._eight_bit = True  # as a first session would have set it
    second.run()
    assert handler.mail_options and all(o == ["BODY=8BITMIME"] for o in handler.mail_options)
    for _from, _rcpts, raw in handler.received:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        assert all(not part.defects for part in msg.walk())
        assert b"Content-Transfer-Encoding: 8bit" in raw and "سلام".encode() in raw
        assert "سلام" in msg.get_body(("html",)).get_content()


def test_backoff_is_exponential_and_capped():
    now = timezone.now()
    assert [outbox.retry_at(n, now) - now for n in (1, 2, 3)] == [
        dt.timedelta(minutes=1), dt.timedelta(minutes=2), dt.timedelta(minutes=4)]
    assert outbox.retry_at(30, now) - now == dt.timedelta(hours=6)


def test_gate_deferral_keeps_the_row_for_later(audience, template, owner_actor, config, sink):
    StrategyRule.objects.all().delete()
    StrategyRule.objects.create(kind="spacing", channel="", spacing_minutes=60)
    first = do_create_broadcast(owner_actor, template(), "vip")
    Sender(config=config).run()
    second = do_create_broadcast(owner_actor, template("again"), "vip")
    Sender(config=config).run()
    row = OutboxMessage.objects.get(broadcast=second, to_address="sara@example.com")
    assert row.state == "deferred" and row.gate_reason == "spacing"
    assert row.next_attempt_at > timezone.now() + dt.timedelta(minutes=55)
    assert first.pk != second.pk


def test_rows_left_sending_by_a_dead_sender_are_resent_and_flagged(audience, template,
                                                                   owner_actor, config, sink,
                                                                   caplog):
    _controller, handler = sink
    StrategyRule.objects.all().delete()
    do_create_broadcast(owner_actor, template(), "vip")
    OutboxMessage.objects.filter(to_address__in=["sara@example.com", "sam@example.org"]).update(
        state="sending", claimed_by="host:1:dead", claimed_at=timezone.now())
    with caplog.at_level(logging.WARNING, logger="peyvand.messaging"):
        stats = Sender(config=config).run()
    assert stats.recovered == 2
    assert "2 messages were in flight; they are resent and flagged" in caplog.text
    rows = rows_by_address()
    assert rows["sara@example.com"].state == "sent"
    assert rows["sara@example.com"].resent_after_crash is True
    assert rows["later@example.com"].resent_after_crash is False
    assert {r[1][0] for r in handler.received} >= {"sara@example.com", "sam@example.org"}


@pytest.mark.skipif("postgresql" in django_settings.DATABASES["default"]["ENGINE"],
                    reason="slot files are SQLite's way; PostgreSQL uses advisory locks "
                           "(test_crash)")
def test_sqlite_senders_hold_one_slot_each_up_to_the_limit(config, settings):
    from peyvand.messaging.sender_slots import holds_a_slot

    settings.SENDER_PROCESSES = 2
    first, second, third = (Sender(config=config) for _ in range(3))
    first._acquire()
    second._acquire()
    try:
        with pytest.raises(SenderBusy):
            third._acquire()
        # each is alive to the others; a worker holding no slot is dead
        assert not first._is_dead(second.worker) and not second._is_dead(first.worker)
        assert first._is_dead("host:1:gone")
    finally:
        second._release()
    assert not holds_a_slot(second.worker) and first._is_dead(second.worker)
    third._acquire()  # the freed slot is taken again, and names its new holder
    try:
        assert holds_a_slot(third.worker) and first._is_dead(second.worker)
    finally:
        third._release()
        first._release()


@pytest.mark.skipif("postgresql" in django_settings.DATABASES["default"]["ENGINE"],
                    reason="PostgreSQL writers wait on row locks, not on a turn")
def test_sqlite_senders_take_turns_writing(config, settings):
    import threading
    import time

    settings.SENDER_PROCESSES = 2
    first, second = Sender(config=config), Sender(config=config)
    first._acquire()
    second._acquire()
    wrote = threading.Event()

    def write() -> None:
        with second._turn():
            wrote.set()

    try:
        with first._turn():
            waiting = threading.Thread(target=write)
            waiting.start()
            time.sleep(0.2)
            assert not wrote.is_set()  # the other sender waits for its turn
        waiting.join(timeout=5)
        assert wrote.is_set()  # and writes as soon as the first is done
    finally:
        first._release()
        second._release()


@pytest.mark.skipif("postgresql" in django_settings.DATABASES["default"]["ENGINE"],
                    reason="PostgreSQL writers wait on row locks, not on a turn")
def test_results_wait_while_another_sender_writes(make_contact, template, owner_actor, config,
                                                  settings):
    from peyvand.messaging.sender import Job
    from peyvand.messaging.smtp import SENT, Outcome

    settings.SENDER_PROCESSES = 2
    StrategyRule.objects.all().delete()
    make_contact("turn@example.com", tags=["turn"])
    do_create_broadcast(owner_actor, template("turn"), "turn")
    first, second = Sender(config=config), Sender(config=config)
    first._acquire()
    second._acquire()
    try:
        (row,) = outbox.claim(second.worker, 10)
        results = [(Job(row, "b@shop.example", row.to_address, b""), Outcome(SENT, 250, "ok"))]
        with first._turn():
            # Not now: the sender builds on instead of waiting, and nothing is written.
            assert second.record(results, wait=False) is False
            assert second.stats.sent == 0
        assert OutboxMessage.objects.get(pk=row.pk).state == OutboxMessage.State.SENDING
        assert second.record(results, wait=False) is True  # the turn is free again
        assert OutboxMessage.objects.get(pk=row.pk).state == OutboxMessage.State.SENT
        assert second.stats.sent == 1
    finally:
        first._release()
        second._release()


def test_a_chunk_is_handed_to_the_connections_while_it_is_built(make_contact, template,
                                                                owner_actor, config):
    from peyvand.messaging.sender_build import HAND_OVER

    StrategyRule.objects.all().delete()
    for i in range(HAND_OVER * 2 + 5):
        make_contact(f"h{i}@example.com", tags=["hand"])
    do_create_broadcast(owner_actor, template("hand"), "hand")
    sender = Sender(config=config)
    rows = outbox.claim(sender.worker, 100)
    groups: list[int] = []
    rest = sender._prepare(rows, lambda jobs: groups.append(len(jobs)))
    assert groups == [HAND_OVER, HAND_OVER] and len(rest) == 5


def test_unreachable_server_defers(audience, template, owner_actor):
    from tests.messaging.sink import free_port

    StrategyRule.objects.all().delete()
    do_create_broadcast(owner_actor, template(), "vip")
    config = SmtpConfig(host="127.0.0.1", port=free_port(), from_address="a@b.example",
                        connections=2, timeout=2)
    stats = Sender(config=config).run()
    assert stats.sent == 0 and stats.deferred == 4
    assert set(OutboxMessage.objects.values_list("state", flat=True)) == {"failed", "deferred"}


def test_quiet_hours_defer_an_sms_broadcast_to_the_end_of_the_window(make_contact, template,
                                                                     owner_actor, config):
    import datetime as dt
    from zoneinfo import ZoneInfo

    StrategyRule.objects.all().delete()
    local = timezone.now().astimezone(ZoneInfo("Asia/Tehran"))
    start = (local - dt.timedelta(hours=1)).time().replace(second=0, microsecond=0)
    end = (local + dt.timedelta(hours=1)).time().replace(second=0, microsecond=0)
    StrategyRule.objects.create(kind="quiet", channel="sms", quiet_start=start, quiet_end=end)
    make_contact(phone="09121234567", opt_in=("sms",), tags=["club"])
    sms = template("sms", channel="sms", subject="", html="", text="سلام {{ first_name }}")
    do_create_broadcast(owner_actor, sms, "club")
    stats = Sender(config=config).run()
    row = OutboxMessage.objects.get()
    assert stats.deferred == 1 and row.state == "deferred" and row.gate_reason == "quiet_hours"
    assert row.attempts == 0  # waiting out a rule is not a failed attempt
    expected = (local + dt.timedelta(hours=1)).replace(second=0, microsecond=0)
    assert abs(row.next_attempt_at - expected) < dt.timedelta(days=1, minutes=1)
    assert row.next_attempt_at > timezone.now()


def test_cli_sender_sends_what_is_due(audience, template, owner_actor, sink, settings,
                                      capsys):
    from peyvand.base.smtp_url import parse_smtp_url
    from peyvand.cli import main

    controller, handler = sink
    StrategyRule.objects.all().delete()
    settings.PEYVAND_SMTP = parse_smtp_url(f"smtp://127.0.0.1:{controller.port}")
    do_create_broadcast(owner_actor, template(), "vip")
    assert main(["sender", "--connections", "2"]) == 0
    assert "3 sent" in capsys.readouterr().out
    assert len(handler.received) == 3


def test_a_message_another_sender_has_not_recorded_yet_counts_for_spacing(
        make_contact, template, owner_actor, config, sink, monkeypatch):
    """Senders record results in groups: a message sent a moment ago by another (live) sender
    may still read `sending`. Spacing must not let a second message slip past it."""
    StrategyRule.objects.all().delete()
    StrategyRule.objects.create(kind="spacing", channel="", spacing_minutes=60)
    make_contact("one@example.com", tags=["vip"])
    make_contact("two@example.com", tags=["vip"])
    do_create_broadcast(owner_actor, template("a"), "vip")
    held = OutboxMessage.objects.get(to_address="one@example.com")
    OutboxMessage.objects.filter(source=held.source).exclude(pk=held.pk).delete()
    OutboxMessage.objects.filter(pk=held.pk).update(state="sending", claimed_by="other:1",
                                                    claimed_at=timezone.now())
    monkeypatch.setattr(Sender, "_is_dead", lambda self, worker: False)
    do_create_broadcast(owner_actor, template("b"), "vip")
    Sender(config=config).run()
    second = {r.to_address: (r.state, r.gate_reason)
              for r in OutboxMessage.objects.exclude(pk=held.pk)}
    assert second == {"one@example.com": ("deferred", "in_flight"),
                      "two@example.com": ("sent", "ok")}
    held.refresh_from_db()
    assert held.state == "sending"  # still the other sender's


def test_two_messages_to_one_contact_in_one_batch_respect_the_cap(make_contact, template,
                                                                 owner_actor, config, sink):
    StrategyRule.objects.all().delete()
    StrategyRule.objects.create(kind="cap", channel="", max_count=1, period_hours=24)
    make_contact("one@example.com", tags=["vip"])
    do_create_broadcast(owner_actor, template("a"), "vip")
    do_create_broadcast(owner_actor, template("b"), "vip")
    Sender(config=config).run()
    states = sorted(OutboxMessage.objects.values_list("state", "gate_reason"))
    assert states == [("deferred", "in_flight"), ("sent", "ok")]
    row = OutboxMessage.objects.get(state="deferred")
    OutboxMessage.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    Sender(config=config).run()
    row.refresh_from_db()
    assert row.state == "deferred" and row.gate_reason == "cap"  # now the cap itself says no
    assert len(sink[1].received) == 1


def test_a_template_that_fails_for_one_contact_fails_only_that_message(make_contact, template,
                                                                       owner_actor, config,
                                                                       sink):
    StrategyRule.objects.all().delete()
    make_contact("one@example.com", tags=["vip"])
    broken = template("broken", html="<p>{{ fields.missing.deeper.still }}</p>")
    do_create_broadcast(owner_actor, broken, "vip")
    stats = Sender(config=config).run()
    row = OutboxMessage.objects.get()
    assert stats.failed == 1 and row.state == "failed"
    assert row.smtp_reply.startswith("template:") and "'missing'" in row.smtp_reply


def test_smtp_urls_and_from_address(settings, db):
    from peyvand.messaging.smtp import parse_smtp_url, smtp_config

    c = parse_smtp_url("smtp+starttls://u%40x:p%3Aw@mail.example")
    assert (c.host, c.port, c.start_tls, c.use_tls, c.username, c.password) == \
        ("mail.example", 587, True, False, "u@x", "p:w")
    c = parse_smtp_url("smtps://mail.example")
    assert (c.port, c.use_tls, c.start_tls) == (465, True, False)
    settings.DEFAULT_FROM_EMAIL = "فروشگاه <news@shop.example>"
    config = smtp_config()
    assert (config.from_address, config.from_name, config.domain) == \
        ("news@shop.example", "فروشگاه", "shop.example")


def test_sms_broadcast_goes_through_the_gateway_with_the_stop_footer(make_contact, template,
                                                                   owner_actor, config,
                                                                   settings):
    from peyvand.mailcatcher.models import CaughtSms
    from peyvand.messaging.channels.sms.segments import STOP_FOOTER
    from peyvand.tracking.models import SmsSend

    StrategyRule.objects.all().delete()
    make_contact(phone="09121234567", opt_in=("sms",), tags=["club"])
    make_contact(phone="09121234568", opt_in=("sms",), tags=["club"], first_name="Ali")
    sms = template("sms", channel="sms", subject="", html="", text="سلام {{ first_name }}")
    do_create_broadcast(owner_actor, sms, "club")
    # The gateway refuses the first send: that message waits and is retried.
    settings.PEYVAND_SMS_URL = "smsir://key@?line=3000&base=http://127.0.0.1:9/"
    stats = Sender(config=config).run()
    assert stats.deferred == 2 and not CaughtSms.objects.exists()
    row = OutboxMessage.objects.order_by("id").first()
    assert row.smtp_reply.startswith("gateway:") and row.next_attempt_at > timezone.now()
    settings.PEYVAND_SMS_URL = "catcher://"
    OutboxMessage.objects.update(next_attempt_at=timezone.now())
    stats = Sender(config=config).run()
    assert stats.sent == 2
    texts = sorted(CaughtSms.objects.values_list("text", flat=True))
    assert texts == [f"سلام Ali\n{STOP_FOOTER}", f"سلام Sara\n{STOP_FOOTER}"]
    assert set(SmsSend.objects.values_list("message_id", flat=True)) == set(
        OutboxMessage.objects.values_list("id", flat=True))


@pytest.mark.parametrize("cap", [False, True])
def test_preparing_a_batch_costs_the_same_queries_for_5_or_40_people(make_contact, template,
                                                                      owner_actor, config,
                                                                      cap):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    StrategyRule.objects.all().delete()
    if cap:
        StrategyRule.objects.create(kind="cap", channel="", max_count=3, period_hours=24)
    counts = []
    for n, tag in ((5, "small"), (40, "large")):
        for i in range(n):
            make_contact(f"{tag}{i}@example.com", tags=[tag])
        do_create_broadcast(owner_actor, template(tag), tag)
        sender = Sender(config=config)
        rows = outbox.claim(sender.worker, 100)
        assert len(rows) == n
        with CaptureQueriesContext(connection) as queries:
            jobs = sender._prepare(rows)
        assert len(jobs) == n
        counts.append(len(queries))
        OutboxMessage.objects.all().delete()
    assert counts[0] == counts[1], counts
