"""The `webhook` step's call: one JSON POST, its outcome recorded, never raising.

Made inside the step (so its outcome commits with the StepRun); a worker killed after the
call and before the commit runs the step again, so the receiver may see the same call twice:
the `Idempotency-Key` header (enrolment:node:visit) is the same both times, for it to drop
the second.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from django.conf import settings

TIMEOUT = 5.0  # seconds, for connecting and for each read
USER_AGENT = "Peyvand-Journeys/1"


def allowed_url(url: str) -> bool:
    """https with a host; plain http only to 127.0.0.1 when the setting
    PEYVAND_WEBHOOK_LOOPBACK_HTTP allows it (tests, local development)."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return False
    if not parts.hostname or parts.username or parts.password or len(url) > 2000:
        return False
    if parts.scheme == "https":
        return True
    return parts.scheme == "http" and parts.hostname == "127.0.0.1" \
        and settings.PEYVAND_WEBHOOK_LOOPBACK_HTTP


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is the outcome (its status), never followed: it could lead anywhere."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def call(url: str, payload: dict[str, Any], key: str) -> dict[str, Any]:
    """POST `payload` as JSON: {"status": code} when the receiver answered (any code), or
    {"error": why} when it could not be reached in time. Never raises."""
    if not allowed_url(url):
        return {"error": "url refused"}
    request = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                     headers={"Content-Type": "application/json",
                                              "Idempotency-Key": key,
                                              "User-Agent": USER_AGENT})
    try:
        with _OPENER.open(request, timeout=TIMEOUT) as response:
            return {"status": response.status}
    except urllib.error.HTTPError as exc:
        return {"status": exc.code}
    except Exception as exc:  # noqa: BLE001 (a step must not raise for a receiver's fault)
        reason = getattr(exc, "reason", None) or exc
        return {"error": f"{type(exc).__name__}: {reason}"[:200]}
