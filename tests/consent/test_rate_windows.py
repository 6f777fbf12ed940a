"""Sign-ups per IP and confirmations per address are limited for the whole configured
window on the file cache (cache.incr used to cut every window to Django's 300 s)."""

from __future__ import annotations

import pytest

from tests.consent.test_signup import inbox, post  # noqa: F401 (fixtures)
from tests.rate_windows import file_cache_clock  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db
HOUR = 3600


def test_sign_ups_per_ip_hold_their_window(post, settings, file_cache_clock):  # noqa: F811
    settings.CONSENT_SIGNUP_LIMIT, settings.CONSENT_SIGNUP_WINDOW = 2, HOUR
    assert post({"email": "a@example.com"}).status_code == 200
    assert post({"email": "b@example.com"}).status_code == 200
    file_cache_clock.advance(10 * 60)
    assert post({"email": "c@example.com"}).status_code == 429
    file_cache_clock.advance(HOUR - 10 * 60 - 1)
    assert post({"email": "c@example.com"}).status_code == 429
    file_cache_clock.advance(1)  # an hour after the first sign-up
    assert post({"email": "c@example.com"}).status_code == 200


def test_confirmations_per_address_hold_their_day(post, settings, inbox,  # noqa: F811
                                                  file_cache_clock):  # noqa: F811
    settings.CONSENT_SIGNUP_LIMIT, settings.CONSENT_CONFIRMATIONS_PER_DAY = 100, 3
    for sent in (1, 2, 3):  # the inbox holds everything delivered so far
        assert post({"email": "sara@example.com"}).status_code == 200
        assert len(inbox) == sent
    file_cache_clock.advance(HOUR)
    assert post({"email": "sara@example.com"}).status_code == 200
    assert len(inbox) == 3  # a fourth confirmation within the day is not sent
    file_cache_clock.advance(23 * HOUR)
    assert post({"email": "sara@example.com"}).status_code == 200
    assert len(inbox) == 4
