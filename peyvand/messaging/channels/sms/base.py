"""The SMS gateway interface every backend speaks."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Protocol

# What a gateway's own status becomes here.
QUEUED, SENT, DELIVERED, FAILED, UNKNOWN = "queued", "sent", "delivered", "failed", "unknown"
FINAL = frozenset({DELIVERED, FAILED})
TIMEOUT = 15


class SmsError(Exception):
    """The gateway refused or could not be reached; `message` is for the operator."""


class SmsGateway(Protocol):
    name: str

    def send(self, to_e164: str, text: str) -> str:
        """Send one SMS; returns the provider's message id."""

    def send_bulk(self, to_e164: list[str], text: str) -> list[str]:
        """Send the same text to many; returns one provider id per recipient, in order."""

    def status(self, ids: list[str]) -> dict[str, str]:
        """Provider id -> QUEUED | SENT | DELIVERED | FAILED | UNKNOWN."""


def iran_national(to_e164: str) -> str:
    """+989121234567 -> 09121234567 (Iranian gateways' usual form); others keep 00 + digits."""
    digits = to_e164.lstrip("+")
    if to_e164.startswith("+98"):
        return "0" + digits[2:]
    return "00" + digits if to_e164.startswith("+") else to_e164


def http_json(method: str, url: str, *, data: dict | None = None, json_body=None,
              headers: dict | None = None) -> dict:
    body = None
    headers = {"Accept": "application/json", **(headers or {})}
    if json_body is not None:
        body = json.dumps(json_body, ensure_ascii=False).encode()
        headers["Content-Type"] = "application/json"
    elif data is not None:
        body = urllib.parse.urlencode(data).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8"
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
            raw = response.read()
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            return json.loads(raw or b"{}") | {"_http_status": exc.code}
        except ValueError:
            raise SmsError(f"HTTP {exc.code} from the SMS gateway")
    except (urllib.error.URLError, OSError) as exc:
        raise SmsError(f"SMS gateway unreachable: {exc}")
    try:
        return json.loads(raw or b"{}")
    except ValueError:
        raise SmsError("the SMS gateway answered something that is not JSON")
