"""Per-sender and per-recipient-domain rate limits (token buckets) hold a send back as set.
The buckets run on a fake clock: what they wait is exact, however busy the machine is."""

from __future__ import annotations

import math
import time

import pytest

from peyvand.messaging.actions import do_create_broadcast
from peyvand.messaging.models import OutboxMessage, StrategyRule
from peyvand.messaging.sender import Sender
from peyvand.messaging.smtp import Limits, SmtpConfig, TokenBucket
from tests.messaging.sink import start_sink
from tests.messaging.test_smtp import _run


class FakeClock:
    """Time that passes only when a bucket sleeps, in whole microseconds as a real clock's
    does (a sleep of less still moves it on: float rounding may ask for 1e-17 s)."""

    def __init__(self):
        self.micros = 1_000_000_000

    def __call__(self) -> float:
        return self.micros / 1e6

    async def sleep(self, seconds: float) -> None:
        self.micros += max(1, math.ceil(seconds * 1e6))

    def idle(self, seconds: float) -> None:
        self.micros += round(seconds * 1e6)


def _waited(clock: FakeClock, coro_factory) -> float:
    started = clock.micros
    _run(coro_factory())
    return (clock.micros - started) / 1e6


def approx(seconds: float):
    return pytest.approx(seconds, abs=0.001)  # the microseconds the rounding may add


def test_a_bucket_lets_a_burst_through_then_keeps_the_rate():
    clock = FakeClock()
    bucket = TokenBucket(50, clock=clock, sleep=clock.sleep)  # a burst of 50, then 50 a second

    async def take(n):
        for _ in range(n):
            await bucket.take()

    assert _waited(clock, lambda: take(50)) == 0
    assert _waited(clock, lambda: take(25)) == approx(0.5)
    clock.idle(0.2)  # idle time refills the bucket: 10 go at once
    assert _waited(clock, lambda: take(10)) == 0
    assert _waited(clock, lambda: take(1)) == approx(0.02)


def test_no_rate_is_no_limit():
    clock = FakeClock()

    async def take():
        bucket = TokenBucket(0, clock=clock, sleep=clock.sleep)
        for _ in range(10_000):
            await bucket.take()

    assert _waited(clock, take) == 0


def test_each_recipient_domain_has_its_own_bucket_and_all_share_the_senders():
    async def send(limits, domain, n):
        for _ in range(n):
            await limits.take(domain)

    # 10 a second per domain: each domain's burst of 10 goes at once, whatever the other did
    clock = FakeClock()
    limits = Limits(0, 10, clock=clock, sleep=clock.sleep)
    assert _waited(clock, lambda: send(limits, "a.example", 10)) == 0
    assert _waited(clock, lambda: send(limits, "b.example", 10)) == 0
    assert _waited(clock, lambda: send(limits, "a.example", 5)) == approx(0.5)
    # and a sender's rate of 10 a second holds for both domains together
    clock = FakeClock()
    limits = Limits(10, 0, clock=clock, sleep=clock.sleep)
    assert _waited(clock, lambda: send(limits, "a.example", 10)) == 0
    assert _waited(clock, lambda: send(limits, "b.example", 10)) == approx(1.0)


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
