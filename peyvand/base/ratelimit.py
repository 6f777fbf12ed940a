"""Rate limits that hold their windows: how often a subject (an address, a user name, an IP)
did something within a fixed window that starts at its first hit.

Django's `cache.incr` cannot count a window: on the file and database caches it writes the
value again with the default timeout (300 s), so a 24-hour limit forgot itself after five
minutes. Every backend here stores the window's end next to the count and compares it with
the clock, so the window is exactly as long as configured; the store's own expiry only
throws old counts away. `settings.RATE_LIMIT_BACKEND` picks where counts live:

- "redis": one Lua script per hit (atomic), when REDIS_URL is set;
- "database": one row per subject in `base.RateLimitCount` (shared by every web server);
- "cache": Django's default cache (the file cache without Redis) under a file lock.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.base import BaseCache
from django.db import IntegrityError, transaction
from django.db.models import F

Clock = Callable[[], float]
BACKENDS = ("redis", "database", "cache")


def now() -> float:
    """The limiters' clock (seconds since the epoch); tests replace it to move time on."""
    return time.time()


def storage_key(scope: str, subject: str) -> str:
    # Hashed: subjects are addresses and user names, which need not sit in the cache in clear.
    digest = hashlib.sha256(subject.encode()).hexdigest()[:32]
    return f"ratelimit:{scope}:{digest}"


class Limiter:
    """Counts hits per key in a window that starts with the key's first hit."""

    def __init__(self, clock: Clock | None = None):
        self.clock: Clock = clock or (lambda: now())

    def hit(self, key: str, window: float) -> int:
        """Count one hit; the number of hits in the current window, this one included."""
        raise NotImplementedError

    def count(self, key: str) -> int:
        """Hits in the current window (0 once it has ended)."""
        raise NotImplementedError

    def clear(self, key: str) -> None:
        raise NotImplementedError


# --- Redis ---------------------------------------------------------------------------------

# KEYS[1]; ARGV: now, the end of a window starting now, expiry in ms. The window's end is a
# field next to the count; the key's PEXPIRE only removes it once the window is surely over.
_REDIS_HIT = """
local ends = tonumber(redis.call('HGET', KEYS[1], 'ends'))
if ends == nil or ends <= tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 'count', 1, 'ends', ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return 1
end
return redis.call('HINCRBY', KEYS[1], 'count', 1)
"""


@cache
def _redis_client(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url)


class RedisLimiter(Limiter):
    def __init__(self, clock: Clock | None = None, url: str | None = None):
        super().__init__(clock)
        self.redis = _redis_client(url or settings.REDIS_URL)
        self._hit = self.redis.register_script(_REDIS_HIT)

    def _key(self, key: str) -> str:
        return "peyvand:" + key

    def hit(self, key: str, window: float) -> int:
        # The store's expiry runs on Redis's clock; a day's slack keeps a count alive while
        # the window (on our clock) may still be open.
        at = self.clock()
        expiry_ms = int((window + 86400) * 1000)
        return int(self._hit(keys=[self._key(key)], args=[repr(at), repr(at + window),
                                                          expiry_ms]))

    def count(self, key: str) -> int:
        count, ends = self.redis.hmget(self._key(key), ["count", "ends"])
        if count is None or ends is None or float(ends) <= self.clock():
            return 0
        return int(count)

    def clear(self, key: str) -> None:
        self.redis.delete(self._key(key))


# --- database ------------------------------------------------------------------------------

def _moment(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)


class DatabaseLimiter(Limiter):
    """One row per key. Hits run in the caller's transaction (the callers run in autocommit);
    each step is one conditional UPDATE, so concurrent hits are neither lost nor doubled."""

    def hit(self, key: str, window: float) -> int:
        from peyvand.base.models import RateLimitCount

        at = self.clock()
        rows = RateLimitCount.objects.filter(key=key)
        for _attempt in range(3):
            with transaction.atomic():
                if rows.filter(window_ends_at__gt=_moment(at)).update(count=F("count") + 1):
                    return rows.values_list("count", flat=True).get()
                # A window that has ended starts again; only one concurrent hit may restart it.
                if rows.filter(window_ends_at__lte=_moment(at)).update(
                        count=1, window_ends_at=_moment(at + window)):
                    return 1
            try:
                with transaction.atomic():
                    RateLimitCount.objects.create(key=key, count=1,
                                                  window_ends_at=_moment(at + window))
            except IntegrityError:
                continue  # another hit created it first: count in its window
            # Old windows are only clutter; a new key is a rare enough moment to sweep them.
            RateLimitCount.objects.filter(window_ends_at__lte=_moment(at - 86400)).delete()
            return 1
        raise RuntimeError(f"rate limit {key!r} could not be counted")

    def count(self, key: str) -> int:
        from peyvand.base.models import RateLimitCount

        found = RateLimitCount.objects.filter(
            key=key, window_ends_at__gt=_moment(self.clock())).values_list("count", flat=True)
        return next(iter(found), 0)

    def clear(self, key: str) -> None:
        from peyvand.base.models import RateLimitCount

        RateLimitCount.objects.filter(key=key).delete()


# --- Django cache (the file cache) ----------------------------------------------------------

_THREADS = threading.Lock()


class CacheLimiter(Limiter):
    """(count, window end) in Django's default cache. The file cache has no atomic update, so
    a hit reads and writes under a lock: a thread lock and a file lock across processes."""

    def __init__(self, clock: Clock | None = None, store: BaseCache | None = None):
        super().__init__(clock)
        self.cache = store if store is not None else caches["default"]
        self.lock_path = Path(settings.HOME) / "ratelimit.lock"

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with _THREADS, self.lock_path.open("a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _current(self, key: str, at: float) -> tuple[int, float] | None:
        entry = self.cache.get(key)
        if not isinstance(entry, tuple) or len(entry) != 2 or entry[1] <= at:
            return None
        return entry

    def hit(self, key: str, window: float) -> int:
        with self._locked():
            at = self.clock()
            count, ends = self._current(key, at) or (0, at + window)
            count += 1
            # The cache's timeout only clears the entry away; `ends` decides.
            self.cache.set(key, (count, ends), timeout=max(1, math.ceil(ends - at)))
            return count

    def count(self, key: str) -> int:
        entry = self._current(key, self.clock())
        return entry[0] if entry else 0

    def clear(self, key: str) -> None:
        self.cache.delete(key)


def limiter() -> Limiter:
    """The limiter the settings choose (RATE_LIMIT_BACKEND)."""
    backend = settings.RATE_LIMIT_BACKEND
    if backend == "redis":
        return RedisLimiter()
    if backend == "database":
        return DatabaseLimiter()
    return CacheLimiter()


def hit(scope: str, subject: str, window: float) -> int:
    """Count one hit by `subject` in `scope`; hits in its current window, this one included."""
    return limiter().hit(storage_key(scope, subject), window)


def count(scope: str, subject: str) -> int:
    return limiter().count(storage_key(scope, subject))


def clear(scope: str, subject: str) -> None:
    limiter().clear(storage_key(scope, subject))
