"""Rate limits hold their windows on every backend: the count stays for the whole window,
then starts again. The clock is injected and moved across the window."""

from __future__ import annotations

import os
import threading

import pytest
from django.core.cache.backends.filebased import FileBasedCache

from peyvand.base import ratelimit
from peyvand.base.ratelimit import CacheLimiter, DatabaseLimiter, RedisLimiter

REDIS_URL = os.environ.get("PEYVAND_TEST_REDIS_URL", "redis://127.0.0.1:6379/3")
DAY = 24 * 3600


class Clock:
    def __init__(self, at: float = 1_800_000_000.0):
        self.at = at

    def __call__(self) -> float:
        return self.at


def _redis_or_skip():
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis at {REDIS_URL} is unreachable ({exc})")
    return client


@pytest.fixture(params=["file", "database", "redis"])
def make_limiter(request, tmp_path, db):
    def make(clock: Clock) -> ratelimit.Limiter:
        if request.param == "file":
            return CacheLimiter(clock, FileBasedCache(str(tmp_path / "cache"), {}))
        if request.param == "database":
            return DatabaseLimiter(clock)
        _redis_or_skip()
        return RedisLimiter(clock, url=REDIS_URL)

    yield make
    if request.param == "redis":
        _redis_or_skip().delete(*[f"peyvand:ratelimit:test:{n}" for n in range(3)])


def test_the_count_holds_for_the_whole_window_then_starts_again(make_limiter):
    clock = Clock()
    limiter = make_limiter(clock)
    key = "ratelimit:test:0"
    limiter.clear(key)
    assert [limiter.hit(key, DAY) for _ in range(3)] == [1, 2, 3]
    # Well past Django's default 300 s timeout, which cache.incr used to fall back to.
    clock.at += 301
    assert limiter.count(key) == 3
    clock.at += DAY - 302  # the last second of the window
    assert limiter.count(key) == 3
    assert limiter.hit(key, DAY) == 4
    clock.at += 1  # the window (from the first hit) is over
    assert limiter.count(key) == 0
    assert limiter.hit(key, DAY) == 1
    assert limiter.count(key) == 1
    limiter.clear(key)
    assert limiter.count(key) == 0


def test_keys_and_windows_are_separate(make_limiter):
    clock = Clock()
    limiter = make_limiter(clock)
    short, long_ = "ratelimit:test:1", "ratelimit:test:2"
    limiter.clear(short), limiter.clear(long_)
    limiter.hit(short, 60)
    limiter.hit(long_, 3600)
    limiter.hit(long_, 3600)
    clock.at += 61
    assert (limiter.count(short), limiter.count(long_)) == (0, 2)


@pytest.mark.parametrize("backend", ["file", "redis"])
def test_concurrent_hits_are_all_counted(backend, tmp_path):
    clock = Clock()
    if backend == "redis":
        _redis_or_skip()
        limiter: ratelimit.Limiter = RedisLimiter(clock, url=REDIS_URL)
    else:
        limiter = CacheLimiter(clock, FileBasedCache(str(tmp_path / "cache"), {}))
    key = "ratelimit:test:0"
    limiter.clear(key)

    def hammer():
        for _ in range(25):
            limiter.hit(key, 600)

    threads = [threading.Thread(target=hammer) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert limiter.count(key) == 150
    limiter.clear(key)


def test_the_settings_choose_the_backend(settings):
    settings.RATE_LIMIT_BACKEND = "database"
    assert isinstance(ratelimit.limiter(), DatabaseLimiter)
    settings.RATE_LIMIT_BACKEND = "cache"
    assert isinstance(ratelimit.limiter(), CacheLimiter)
    settings.REDIS_URL, settings.RATE_LIMIT_BACKEND = REDIS_URL, "redis"
    assert isinstance(ratelimit.limiter(), RedisLimiter)


def test_subjects_are_not_stored_in_clear():
    key = ratelimit.storage_key("consent:confirm", "sara@example.com")
    assert "sara" not in key and key.startswith("ratelimit:consent:confirm:")
