"""The timeline kinds messaging owns: one per outbox state a message can reach."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from peyvand.contacts.timeline import register_kind


def bounce_summary(event: Any) -> str:
    """A delivery report's status and the address it bounced from, when it named them."""
    data = event.data or {}
    return " · ".join(x for x in (data.get("status", ""), data.get("recipient", "")) if x)


def register_message_kinds(owner: str) -> None:
    register_kind("message.sent", _("Message sent"), owner=owner)
    register_kind("message.deferred", _("Message deferred"), owner=owner)
    # Channel-neutral: a failed e-mail is not an undelivered SMS. An SMS failure (the
    # gateway's own report, or the outbox giving up) keeps its SMS wording.
    register_kind("message.failed", _("Message failed"), owner=owner,
                  channel_labels={"sms": _("SMS not delivered")})
    register_kind("message.bounced", _("Message bounced"), owner=owner, summary=bounce_summary)
