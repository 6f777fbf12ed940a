"""Sign-in throttling: too many failures for one user name or one address pause sign-in."""

from __future__ import annotations

from django.conf import settings

from peyvand.base import ratelimit


def _subjects(username: str, ip: str) -> list[tuple[str, str]]:
    return [("login-fail:user", username.strip().casefold()), ("login-fail:ip", ip)]


def is_throttled(username: str, ip: str) -> bool:
    limit = settings.LOGIN_THROTTLE_ATTEMPTS
    user, address = (ratelimit.count(scope, subject)
                     for scope, subject in _subjects(username, ip))
    # The address limit is looser: an office shares one address.
    return user >= limit or address >= limit * 4


def record_failure(username: str, ip: str) -> None:
    for scope, subject in _subjects(username, ip):
        ratelimit.hit(scope, subject, settings.LOGIN_THROTTLE_WINDOW)


def clear_failures(username: str, ip: str) -> None:
    ratelimit.clear(*_subjects(username, ip)[0])
