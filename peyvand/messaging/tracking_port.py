"""The one place messaging reaches into tracking (part B); links stay untouched until it exists.

The sender knows each message's contact, so it passes it on and tracking need not look it up
(tracking accepts `contact_id=`; without it, it reads the outbox once per call)."""

from __future__ import annotations

from typing import Any

_FOUND: dict[tuple[str, str], Any] = {}


def _function(module: str, name: str):
    """tracking's function, looked up once per process (None while tracking is absent)."""
    key = (module, name)
    if key not in _FOUND:
        try:
            mod = __import__(f"peyvand.tracking.{module}", fromlist=[name])
            _FOUND[key] = getattr(mod, name)
        except (ImportError, AttributeError):
            return None
    return _FOUND[key]


def _call(module: str, name: str, *args, contact_id: int | None = None):
    func = _function(module, name)
    if func is None:
        return None
    return func(*args) if contact_id is None else func(*args, contact_id=contact_id)


def rewrite_links(html: str, message_id: int, contact_id: int | None = None) -> str:
    found = _call("links", "rewrite_links", html, message_id, contact_id=contact_id)
    return html if found is None else found


def open_pixel_url(message_id: int, contact_id: int | None = None) -> str:
    return _call("links", "open_pixel_url", message_id, contact_id=contact_id) or ""


def bounce_address(message_id: int, default: str, contact_id: int | None = None) -> str:
    return _call("bounces", "bounce_address", message_id, contact_id=contact_id) or default


def send_sms(to: str, text: str, *, contact_id: int, message_id: int, marketing: bool) \
        -> tuple[bool, str]:
    """Hand one SMS to tracking's configured gateway (which adds the stop footer to
    marketing texts and follows delivery). (accepted, reply for the outbox row)."""
    try:
        from peyvand.messaging.channels.sms import SmsError
        from peyvand.tracking.actions import send_sms as send
    except ImportError:
        return False, "no SMS gateway"
    try:
        sent = send(to, text, contact_id=contact_id, message_id=message_id, marketing=marketing)
    except SmsError as exc:
        return False, f"gateway: {exc}"
    except ValueError as exc:  # the number does not normalise
        return False, f"address: {exc}"
    return True, f"{sent.gateway} {sent.provider_id}"
