"""Messaging actions: templates, broadcasts (with approval), sending settings."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from peyvand.accounts.roles import OWNER, require
from peyvand.base.actor import Actor
from peyvand.base.audit import record_audit
from peyvand.base.normalise import normalise_text
from peyvand.contacts.models import Tag
from peyvand.messaging import broadcast as broadcasting
from peyvand.messaging import tasks
from peyvand.messaging.models import (
    AUTHORED_CLASSES,
    Broadcast,
    Channel,
    MessageClass,
    MessageTemplate,
    SendingSettings,
)
from peyvand.messaging.smtp import parse_smtp_url
from peyvand.messaging.templates_engine import TemplateInvalid, compile_parts


class MessagingInvalid(Exception):
    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


def _str(raw: dict, name: str, limit: int | None = None) -> str:
    value = raw.get(name)
    value = "" if value is None else str(value)
    return value[:limit] if limit else value


def check_template(raw: dict[str, Any], template: MessageTemplate | None = None) -> dict[str, Any]:
    errors: dict[str, str] = {}
    clean = {
        "name": normalise_text(_str(raw, "name"))[:100],
        "language": _str(raw, "language") or (template.language if template else "fa"),
        "channel": _str(raw, "channel") or (template.channel if template else Channel.EMAIL),
        "topic": _str(raw, "topic", 64).strip(),
        "message_class": _str(raw, "message_class")
        or (template.message_class if template else MessageClass.MARKETING),
        "content_type": _str(raw, "content_type", 64).strip(),
        "subject": " ".join(_str(raw, "subject").split()),
        "html": _str(raw, "html"),
        "text": _str(raw, "text"),
    }
    if not clean["name"]:
        errors["name"] = _("Give the template a name.")
    elif MessageTemplate.objects.filter(name=clean["name"]).exclude(
            pk=template.pk if template else 0).exists():
        errors["name"] = _("Another template has this name.")
    if clean["language"] not in MessageTemplate.Language.values:
        errors["language"] = _("Choose Persian or English.")
    if clean["channel"] not in Channel.values:
        errors["channel"] = _("Choose a channel.")
    if clean["message_class"] not in AUTHORED_CLASSES:
        errors["message_class"] = _("Choose a message class.")
    if len(clean["subject"]) > 300:
        errors["subject"] = _("Keep the subject under 300 characters.")
    if clean["channel"] == Channel.EMAIL:
        if not clean["subject"]:
            errors["subject"] = _("An e-mail needs a subject.")
        if not clean["html"].strip() and not clean["text"].strip():
            errors["html"] = _("Write the message (HTML, plain text or both).")
    elif not clean["text"].strip():
        errors["text"] = _("An SMS needs its text.")
    if not errors:
        try:
            compile_parts(clean["subject"], clean["html"], clean["text"], clean["language"])
        except TemplateInvalid as exc:
            errors.update(exc.errors)
    if errors:
        raise MessagingInvalid(errors)
    return clean


@transaction.atomic
def do_save_template(actor: Actor, raw: dict[str, Any],
                     template: MessageTemplate | None = None) -> MessageTemplate:
    require(actor, "messages.author")
    clean = check_template(raw, template)
    template = template or MessageTemplate()
    for key, value in clean.items():
        setattr(template, key, value)
    template.save()
    record_audit(actor, "messaging.template_saved", target_type="template",
                 target_id=template.pk, summary=template.name)
    return template


@transaction.atomic
def do_delete_template(actor: Actor, template: MessageTemplate) -> None:
    require(actor, "messages.author")
    if template.broadcasts.exists():
        raise MessagingInvalid({"template": _("This template was used by a broadcast; "
                                              "it is kept as the record of what was sent.")})
    record_audit(actor, "messaging.template_deleted", target_type="template",
                 target_id=template.pk, summary=template.name)
    template.delete()


def _template(value: Any) -> MessageTemplate:
    if isinstance(value, MessageTemplate):
        return value
    found = MessageTemplate.objects.filter(name=str(value or "")).first()
    if found is None and str(value or "").isdigit():
        found = MessageTemplate.objects.filter(pk=int(value)).first()
    if found is None:
        raise MessagingInvalid({"template": _("There is no template named “%(name)s”.")
                                % {"name": value}})
    return found


@transaction.atomic
def do_create_broadcast(actor: Actor, template: Any, tag: Any,
                        message_class: str | None = None) -> Broadcast:
    """A template to every contact of a tag. The owner's go out at once; a marketing
    broadcast by anyone else waits for approval by a holder of messages.approve."""
    require(actor, "messages.send")
    template = _template(template)
    tag_obj = tag if isinstance(tag, Tag) else Tag.objects.filter(name=str(tag or "")).first()
    errors = {}
    if tag_obj is None:
        errors["tag"] = _("There is no tag named “%(name)s”.") % {"name": tag}
    message_class = message_class or template.message_class
    if message_class not in AUTHORED_CLASSES:
        errors["class"] = _("Choose marketing, alert or transactional.")
    if errors or tag_obj is None:
        raise MessagingInvalid(errors)
    item = Broadcast.objects.create(template=template, tag=tag_obj, tag_name=tag_obj.name,
                                    message_class=message_class, created_by=actor.label)
    record_audit(actor, "messaging.broadcast_created", target_type="broadcast",
                 target_id=item.pk, summary=f"{template.name} → {tag_obj.name}")
    if message_class != MessageClass.MARKETING or actor.role == OWNER:
        _approve(actor, item)
    return item


def _approve(actor: Actor, item: Broadcast) -> None:
    item.status = Broadcast.Status.QUEUED
    item.approved_by, item.approved_at = actor.label, timezone.now()
    item.save(update_fields=["status", "approved_by", "approved_at"])
    broadcasting.enqueue(item)
    tasks.kick()


@transaction.atomic
def do_approve_broadcast(actor: Actor, item: Broadcast) -> Broadcast:
    require(actor, "messages.approve")
    item = Broadcast.objects.select_for_update().get(pk=item.pk)
    if item.status != Broadcast.Status.AWAITING:
        raise MessagingInvalid({"status": _("This broadcast is not awaiting approval.")})
    _approve(actor, item)
    record_audit(actor, "messaging.broadcast_approved", target_type="broadcast",
                 target_id=item.pk)
    item.refresh_from_db()
    return item


@transaction.atomic
def do_reject_broadcast(actor: Actor, item: Broadcast) -> Broadcast:
    require(actor, "messages.approve")
    if item.status != Broadcast.Status.AWAITING:
        raise MessagingInvalid({"status": _("This broadcast is not awaiting approval.")})
    item.status = Broadcast.Status.REJECTED
    item.save(update_fields=["status"])
    record_audit(actor, "messaging.broadcast_rejected", target_type="broadcast",
                 target_id=item.pk)
    return item


@transaction.atomic
def do_save_sending_settings(actor: Actor, raw: dict[str, Any]) -> SendingSettings:
    require(actor, "channels.manage")
    row = SendingSettings.objects.order_by("id").first() or SendingSettings()
    errors: dict[str, str] = {}
    url = _str(raw, "smtp_url", 500).strip()
    if url:
        try:
            parse_smtp_url(url)
        except ValueError:
            errors["smtp_url"] = _("Write it like smtp://user:password@host:587?starttls=1 "
                                   "or smtps://user:password@host:465.")
    numbers = {}
    for name, low, high in (("connections", 1, 100), ("rate_per_second", 0, 100000),
                            ("domain_rate_per_second", 0, 100000)):
        try:
            numbers[name] = int(_str(raw, name) or getattr(row, name))
            if not low <= numbers[name] <= high:
                raise ValueError
        except ValueError:
            errors[name] = _("Enter a whole number from %(low)s to %(high)s.") \
                % {"low": low, "high": high}
    if errors:
        raise MessagingInvalid(errors)
    row.smtp_url = url
    row.from_address = _str(raw, "from_address", 320).strip()
    row.from_name = _str(raw, "from_name", 100).strip()
    for name, value in numbers.items():
        setattr(row, name, value)
    row.save()
    record_audit(actor, "messaging.settings_saved", target_type="sending_settings",
                 target_id=row.pk, summary=parse_smtp_url(url).host if url else "catcher")
    return row
