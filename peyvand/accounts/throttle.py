"""Sign-in throttling: too many failures for one user name or one address pause sign-in."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache


def _keys(username: str, ip: str) -> list[str]:
    return [f"login-fail:user:{username.strip().casefold()}", f"login-fail:ip:{ip}"]


def is_throttled(username: str, ip: str) -> bool:
    limit = settings.LOGIN_THROTTLE_ATTEMPTS
    counts = cache.get_many(_keys(username, ip))
    # The address limit is looser: an office shares one address.
    user_key, ip_key = _keys(username, ip)
    return counts.get(user_key, 0) >= limit or counts.get(ip_key, 0) >= limit * 4


def record_failure(username: str, ip: str) -> None:
    for key in _keys(username, ip):
        if not cache.add(key, 1, settings.LOGIN_THROTTLE_WINDOW):
            try:
                cache.incr(key)
            except ValueError:
                cache.set(key, 1, settings.LOGIN_THROTTLE_WINDOW)


def clear_failures(username: str, ip: str) -> None:
    cache.delete(_keys(username, ip)[0])
