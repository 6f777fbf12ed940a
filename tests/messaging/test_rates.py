"""Per-sender and per-recipient-domain rate limits (token buckets) hold a send back as set."""

from __future__ import annotations

import asyncio
import time

from peyvand.messaging.actions import do_create_broadcast
from peyvand.messaging.models import OutboxMessage, StrategyRule
from peyvand.messaging.sender import Sender
from peyvand.messaging.smtp import Limits, SmtpConfig, TokenBucket
from tests.messaging.sink import start_sink
from tests.messaging.test_smtp import _run


def _timed(coro_factory) -> float:
    async def main():
        started = time.monotonic()
        await coro_factory()
        return time.monotonic() - started

    return _run(main())


def test_a_bucket_lets_a_burst_through_then_keeps_the_rate():
    bucket = TokenBucket(50)  # a burst of 50, then 50 a second

    async def take(n):
        for _ in range(n):
            await bucket.take()

    assert _timed(lambda: take(50)) < 0.1
    took = _timed(lambda: take(25))
    assert 0.4 < took < 1.5, took


def test_no_rate_is_no_limit():
    async def take():
        bucket = TokenBucket(0)
        for _ in range(10_000):
            await bucket.take()

    assert _timed(take) < 1


def test_each_recipient_domain_has_its_own_bucket_and_all_share_the_senders():
    async def send(limits, domains, n):
        await asyncio.gather(*(limits.take(d) for d in domains for _ in range(n)))

    # 10 a second per domain: 15 to each of two domains take ~0.5 s, side by side
    took = _timed(lambda: send(Limits(0, 10), ["a.example", "b.example"], 15))
    assert 0.4 < took < 1.4, took
    # and a sender's rate of 10 a second holds for both domains together: 30 take ~2 s
    took = _timed(lambda: send(Limits(10, 0), ["a.example", "b.example"], 15))
    assert 1.8 < took < 3.5, took


def test_the_sender_honours_its_rate(make_contact, template, owner_actor):
    StrategyRule.objects.all().delete()
    for i in range(30):
        make_contact(f"rate{i}@example.com", tags=["rate"])
    do_create_broadcast(owner_actor, template("rate"), "rate")
    controller, handler = start_sink()
    try:
        config = SmtpConfig(host="127.0.0.1", port=controller.port,
                            from_address="news@shop.example", connections=5, rate=20)
        started = time.monotonic()
        stats = Sender(config=config).run()
        took = time.monotonic() - started
    finally:
        controller.stop()
    assert stats.sent == 30 and len(handler.received) == 30
    assert took > 0.45, took  # a burst of 20, then 10 more at 20 a second
    assert set(OutboxMessage.objects.values_list("state", flat=True)) == {"sent"}
