"""The one helper that signs and reads public links (confirm, preferences, unsubscribe, ...).

Built on django.core.signing with a salt per purpose, so a token made for one purpose is
refused for every other. The payload is signed, not encrypted: anyone can base64-decode it.
Never put a database id in it; put a random key that only the server can map back (consent
keeps one per contact in `ContactKey`).
"""

from __future__ import annotations

import datetime as dt
import time
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core import signing
from django.utils.crypto import salted_hmac
from django.utils.encoding import force_bytes
from django.utils.translation import gettext_lazy as _

_SALT = "peyvand.link."


class LinkInvalid(Exception):
    """A public link that cannot be used; `message` says why, for the person holding it."""

    message = _("This link is not valid. Check that you copied all of it.")

    def __init__(self, message: Any = None):
        if message is not None:
            self.message = message
        super().__init__(str(self.message))


class LinkTampered(LinkInvalid):
    message = _("This link is not valid. Check that you copied all of it.")


class LinkExpired(LinkInvalid):
    message = _("This link has expired.")


def make_token(purpose: str, data: dict[str, Any]) -> str:
    """A URL-safe token carrying `data` (JSON-able), signed for `purpose` and timestamped."""
    if not purpose or not isinstance(data, dict):
        raise ValueError("make_token needs a purpose and a dict")
    # The same token as signing.dumps(data, salt=_SALT + purpose, compress=True).
    return _signer(purpose, settings.SECRET_KEY).sign_object(data, compress=True)


class _Signer(signing.TimestampSigner):
    """Django's signer derives its HMAC key from salt and secret on every signature; bulk
    mail signs several links per message, so this one keeps the keyed HMAC and copies it."""

    def __init__(self, *, key: str, salt: str):
        super().__init__(key=key, salt=salt)
        self._mac = salted_hmac(salt + "signer", b"", key, algorithm=self.algorithm)
        self._stamp = (0, "")

    def timestamp(self) -> str:
        # Encoded once a second, not per token (one tuple: threads see a matching pair).
        now = int(time.time())
        stamp = self._stamp
        if stamp[0] != now:
            stamp = self._stamp = (now, signing.b62_encode(now))
        return stamp[1]

    def signature(self, value: str | bytes, key: str | bytes | None = None) -> str:
        if key is not None and key != self.key:
            return super().signature(value, key)
        mac = self._mac.copy()
        mac.update(force_bytes(value))
        return signing.b64_encode(mac.digest()).decode()


@lru_cache(maxsize=32)
def _signer(purpose: str, secret: str) -> _Signer:
    return _Signer(key=secret, salt=_SALT + purpose)  # keyed by the secret: never stale


def read_token(purpose: str, token: str, max_age: int | dt.timedelta | None) -> dict:
    """The data of a token made by `make_token(purpose, …)` at most `max_age` ago.

    Raises LinkTampered when the token was changed or made for another purpose, LinkExpired
    when it is older than `max_age` (None: never expires).
    """
    if not token or not isinstance(token, str) or len(token) > 2000:
        raise LinkTampered
    try:
        data = signing.loads(token, salt=_SALT + purpose, max_age=max_age)
    except signing.SignatureExpired:
        raise LinkExpired
    except (signing.BadSignature, ValueError, UnicodeError):
        raise LinkTampered
    if not isinstance(data, dict):
        raise LinkTampered
    return data
