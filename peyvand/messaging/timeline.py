"""The timeline kinds messaging owns: one per outbox state a message can reach."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from peyvand.contacts.timeline import register_kind


def bounce_summary(event: Any) -> str:
    """A delivery report's status and the address it bounced from, when it named them."""
    data = event.data or {}
    return " · ".join(x for x in (data.get("status", ""), data.get("recipient", "")) if x)


def message_summary(event: Any) -> str:
    """An e-mail's subject, as it was sent to this person."""
    return str((event.data or {}).get("subject", ""))


def register_message_kinds(owner: str) -> None:
    register_kind("message.sent", _("Message sent"), owner=owner, summary=message_summary)
    register_kind("message.deferred", _("Message deferred"), owner=owner,
                  summary=message_summary)
    # Channel-neutral: a failed e-mail is not an undelivered SMS. An SMS failure (the
    # gateway's own report, or the outbox giving up) keeps its SMS wording.
    register_kind("message.failed", _("Message failed"), owner=owner,
                  channel_labels={"sms": _("SMS not delivered")}, summary=message_summary)
    register_kind("message.bounced", _("Message bounced"), owner=owner, summary=bounce_summary)
