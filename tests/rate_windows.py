"""A file cache and a clock the test moves: rate-limit windows checked as they run in
production without Redis (Django's file cache expires entries by `time.time`)."""

from __future__ import annotations

import time

import pytest


class MovingClock:
    def __init__(self) -> None:
        self.at = time.time()

    def __call__(self) -> float:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += seconds


@pytest.fixture
def file_cache_clock(settings, tmp_path, monkeypatch) -> MovingClock:
    settings.CACHES = {"default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(tmp_path / "cache")}}
    settings.RATE_LIMIT_BACKEND = "cache"
    clock = MovingClock()
    # Everything that reads the time (cache expiry, signed tokens, the limiter) moves with it.
    monkeypatch.setattr(time, "time", clock)
    return clock
