"""How a sent message is followed: its links rewritten through click URLs, an open pixel,
a VERP return path that names it, an SMS's links made short tracked links, and a record of
each SMS handed to a gateway.

Tracking sits above messaging, so messaging owns this small interface and tracking plugs
itself in at start-up (`register_tracker` in its apps.ready()), the way messaging plugs its
outbox into consent's delivery. It registers a dotted path, imported the first time a message
is built (as base.hooks does), so starting a process loads none of tracking's services.
Without a registration PLAIN applies: links untouched (in e-mail and SMS), no pixel, the
From address as return path, no record of an SMS beyond its outbox row.

The sender knows each message's contact and passes it on (`contact_id=`), so a tracker need
not look it up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from peyvand.messaging.channels.sms import SentSms


@dataclass(frozen=True)
class Tracker:
    # (html, message id, *, contact_id) -> the html with its links rewritten
    rewrite_links: Callable[..., str]
    # (message id, *, contact_id) -> the open pixel's URL, or "" for none
    open_pixel_url: Callable[..., str]
    # (message id, *, contact_id) -> the envelope sender (return path), or "" for the default
    bounce_address: Callable[..., str]
    # (SentSms, *, contact_id, message_id) -> None: follow the SMS' delivery from here
    sms_sent: Callable[..., object]
    # (text, message id, *, contact_id) -> the SMS text with its links made short tracked
    # links (before the gateway, so the stop footer still comes last)
    rewrite_sms: Callable[..., str]


def _links_untouched(html: str, message_id: int, *, contact_id: int) -> str:
    return html


def _text_untouched(text: str, message_id: int, *, contact_id: int) -> str:
    return text


def _nothing(*args, **kwargs) -> str:
    return ""


def _not_followed(sent: SentSms, *, contact_id: int, message_id: int) -> None:
    return None


PLAIN = Tracker(rewrite_links=_links_untouched, open_pixel_url=_nothing,
                bounce_address=_nothing, sms_sent=_not_followed, rewrite_sms=_text_untouched)

# The tracker in use: the dotted path of a Tracker tracking registers in its apps.ready()
# (none means PLAIN), and what it names once imported.
REGISTERED: list[str] = []
_LOADED: dict[str, Tracker] = {}


def register_tracker(path: str) -> None:
    """Use the Tracker at "package.module.NAME" (ready() may run again in tests)."""
    REGISTERED[:] = [path]


def tracker() -> Tracker:
    if not REGISTERED:
        return PLAIN
    path = REGISTERED[0]
    if path not in _LOADED:
        _LOADED[path] = import_string(path)
    return _LOADED[path]
