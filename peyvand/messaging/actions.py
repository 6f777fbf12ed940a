"""Messaging actions: templates, broadcasts (with approval), single transactional and alert
messages, sending settings.

Who may send what, the rules this module holds:
- A broadcast (a template to every contact of a tag) is always marketing: it passes consent,
  carries the unsubscribe header and footer, and waits for approval unless the owner sends
  it. Asking for another class is refused, never changed quietly.
- Transactional and alert messages go to one person at a time (an order confirmation, a
  delivery notice), from a template the owner marked so, through the API or a system trigger
  (`do_send_message`, `trigger_message`). Only the owner (`messages.transactional`) marks a
  template so, sends such a message, or changes or deletes a marked template: a marketer who
  could edit one could send marketing past consent.
- Approval approves words: the reviewer's approval names the digest of the content shown to
  them, and freezes it (content.freeze); the sender renders that snapshot, never the template.
"""

from __future__ import annotations

import re
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from peyvand.base.actor import Actor
from peyvand.base.audit import record_audit
from peyvand.base.errors import Invalid
from peyvand.base.normalise import normalise_text
from peyvand.base.roles import OWNER, can, require
from peyvand.contacts.models import Contact, Tag
from peyvand.messaging import broadcast as broadcasting
from peyvand.messaging import consent_port, tasks
from peyvand.messaging.audience import check_audience, describe_audience
from peyvand.messaging.blocks import design, given_blocks
from peyvand.messaging.content import content_digest, freeze
from peyvand.messaging.hooks import BROADCAST_CREATED_HOOKS
from peyvand.messaging.models import (
    AUTHORED_CLASSES,
    Broadcast,
    Channel,
    MessageClass,
    MessageTemplate,
    OutboxMessage,
    SendingSettings,
)
from peyvand.messaging.single import address_of
from peyvand.messaging.smtp import parse_smtp_url
from peyvand.messaging.templates_engine import TemplateInvalid, compile_parts


class MessagingInvalid(Invalid):
    """Messaging input refused; `errors` by field."""


def _str(raw: dict, name: str, limit: int | None = None) -> str:
    value = raw.get(name)
    value = "" if value is None else str(value)
    return value[:limit] if limit else value


def check_template(raw: dict[str, Any], template: MessageTemplate | None = None) -> dict[str, Any]:
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {
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
        "blocks": [],
    }
    blocks = given_blocks(raw, errors)
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
    if blocks and clean["channel"] != Channel.EMAIL:
        errors["blocks"] = _("Blocks design an e-mail; an SMS is plain text.")
    elif blocks:
        design(clean, blocks, template, errors)
    elif raw.get("mode") == "blocks" and clean["channel"] == Channel.EMAIL \
            and "blocks" not in errors:  # the form's choice, with nothing designed
        errors["blocks"] = _("Add at least one block, or choose to write HTML.")
    if clean["channel"] == Channel.EMAIL:
        if not clean["subject"]:
            errors["subject"] = _("An e-mail needs a subject.")
        if not blocks and not clean["html"].strip() and not clean["text"].strip():
            errors["html"] = _("Write the message (HTML, plain text or both).")
    elif not clean["text"].strip():
        errors["text"] = _("An SMS needs its text.")
    if not errors:
        try:
            compile_parts(clean["subject"], clean["html"], clean["text"], clean["language"])
        except TemplateInvalid as exc:
            if clean["blocks"]:  # the HTML was made here: the fault is in a block's words
                errors["blocks"] = "; ".join(exc.errors.values())
            else:
                errors.update(exc.errors)
    if errors:
        raise MessagingInvalid(errors)
    return clean


# Classes that skip parts of consent or approval: the owner's to mark and send.
MARKED_CLASSES = (MessageClass.TRANSACTIONAL, MessageClass.ALERT)


def _check_marking(actor: Actor, template: MessageTemplate | None,
                   new_class: str | None = None) -> None:
    """Refuse a non-owner touching a marked template, or marking one."""
    if can(actor, "messages.transactional"):
        return
    if template is not None and template.message_class in MARKED_CLASSES:
        raise MessagingInvalid({"message_class": _(
            "Only the owner may change or delete a template marked transactional or alert: "
            "its messages skip parts of consent.")})
    if new_class in MARKED_CLASSES:
        raise MessagingInvalid({"message_class": _(
            "Only the owner may mark a template transactional or alert.")})


@transaction.atomic
def do_save_template(actor: Actor, raw: dict[str, Any],
                     template: MessageTemplate | None = None) -> MessageTemplate:
    require(actor, "messages.author")
    _check_marking(actor, template)
    clean = check_template(raw, template)
    _check_marking(actor, None, clean["message_class"])
    template = template or MessageTemplate()
    for key, value in clean.items():
        setattr(template, key, value)
    template.save()
    record_audit(actor, "messaging.template_saved", target_type="template",
                 target_id=template.pk, summary=f"{template.name} ({template.message_class})")
    return template


@transaction.atomic
def do_delete_template(actor: Actor, template: MessageTemplate) -> None:
    require(actor, "messages.author")
    _check_marking(actor, template)
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
def do_create_broadcast(actor: Actor, template: Any, tag: Any = None,
                        message_class: str | None = None, *,
                        audience: dict[str, Any] | None = None) -> Broadcast:
    """A marketing template to every contact of a tag, or of an audience
    (messaging.audience: segments, tags, chosen contacts, with exclusions). The owner's go
    out at once (frozen as they are); anyone else's wait for approval by a holder of
    messages.approve. `message_class`, when given, must be marketing: asking for another is
    refused."""
    require(actor, "messages.send")
    if message_class not in (None, "", MessageClass.MARKETING):
        raise MessagingInvalid({"class": _(
            "A broadcast to a tag is always marketing: it needs each contact's consent, "
            "carries an unsubscribe link and waits for approval. Transactional and alert "
            "messages go to one person at a time, from a template the owner marked so, "
            "through the API (POST /api/v1/messages/transactional).")})
    template = _template(template)
    errors = {}
    tag_obj, spec = None, {}
    if audience:
        try:
            spec = check_audience(audience)
        except Invalid as exc:
            errors.update(exc.errors)
    else:
        tag_obj = tag if isinstance(tag, Tag) else \
            Tag.objects.named(str(tag or "")).first()
        if tag_obj is None:
            errors["tag"] = _("There is no tag named “%(name)s”.") % {"name": tag}
    if template.message_class != MessageClass.MARKETING:
        errors["template"] = _not_for_a_tag(template)
    if errors or (tag_obj is None and not spec):
        raise MessagingInvalid(errors)
    item = Broadcast.objects.create(template=template, tag=tag_obj,
                                    tag_name=tag_obj.name if tag_obj else "",
                                    audience_spec=spec, message_class=MessageClass.MARKETING,
                                    created_by=actor.label)
    record_audit(actor, "messaging.broadcast_created", target_type="broadcast",
                 target_id=item.pk, summary=f"{template.name} → {item.audience_label}"[:300],
                 details={"audience": spec} if spec else None)
    if actor.role == OWNER:
        _approve(actor, item)
    for hook in BROADCAST_CREATED_HOOKS:  # campaigns lists it as one
        hook(item)
    return item


def _not_for_a_tag(template: MessageTemplate) -> str:
    return _("“%(name)s” is marked %(class)s: it goes to one person at a time, never to a "
             "tag. Choose a marketing template.") % {
                 "name": template.name, "class": template.get_message_class_display()}


def _approve(actor: Actor, item: Broadcast) -> None:
    """Freeze the words and the audience, then queue: the sender renders the snapshot, so a
    later edit of the template changes nothing approved."""
    if item.template.message_class != MessageClass.MARKETING:  # marked since it was made
        raise MessagingInvalid({"template": _not_for_a_tag(item.template)})
    if item.audience_spec:
        # What was chosen may have gone since (a deleted segment): refused, never guessed.
        try:
            spec = check_audience(item.audience_spec)
        except Invalid as exc:
            raise MessagingInvalid(exc.errors) from exc
        item.audience = {**spec, "names": describe_audience(spec)}
    else:
        tag = Tag.objects.filter(pk=item.tag_id or 0).first()
        if tag is None:
            raise MessagingInvalid({"tag": _("The tag of this broadcast was deleted: nobody "
                                             "would receive it.")})
        item.audience = {"tag_id": tag.pk, "tag_name": tag.name}
    item.snapshot = freeze(item.template)
    item.status = Broadcast.Status.QUEUED
    item.approved_by, item.approved_at = actor.label, timezone.now()
    item.save(update_fields=["snapshot", "audience", "status", "approved_by", "approved_at"])
    broadcasting.enqueue(item)
    tasks.kick()


@transaction.atomic
def do_approve_broadcast(actor: Actor, item: Broadcast, digest: str | None) -> Broadcast:
    """Approve the words the reviewer was shown: `digest` is the content digest that came
    with the preview (queries.broadcast_preview). When the template changed since, nothing
    is approved."""
    require(actor, "messages.approve")
    item = Broadcast.objects.select_for_update().select_related("template").get(pk=item.pk)
    if item.status != Broadcast.Status.AWAITING:
        raise MessagingInvalid({"status": _("This broadcast is not awaiting approval.")})
    if not digest:
        raise MessagingInvalid({"digest": _(
            "Look at the message before approving it: an approval names the words it "
            "approves (the digest that comes with the preview).")})
    if digest != content_digest(item.template):
        raise MessagingInvalid({"digest": _(
            "The template was changed after this preview was made: look at it again before "
            "approving.")})
    _approve(actor, item)
    record_audit(actor, "messaging.broadcast_approved", target_type="broadcast",
                 target_id=item.pk, summary=digest)
    item.refresh_from_db()
    return item


# --- one person: transactional and alert messages ------------------------------------------

# Sources fit 64 characters: "trigger:" + name + ":" + key.
_KEY = re.compile(r"[A-Za-z0-9._:-]{1,40}")
_TRIGGER = re.compile(r"[a-z0-9_.-]{1,14}")


@transaction.atomic
def do_send_message(actor: Actor, template: Any, contact_id: Any, key: Any, *,
                    origin: str = "api") -> tuple[OutboxMessage, bool]:
    """One transactional or alert message to one person (an order confirmation, a password
    reset, a delivery notice), from a template the owner marked so. It passes the
    OutboundGate like every message: transactional ones never go to an address that
    hard-bounced or complained, alerts need consent as marketing does.

    `key` names the message (an order number, say): the outbox source is `origin:key`, so
    the same key never sends twice. Returns (row, created); an existing row comes back for a
    repeated call with the same contact and template."""
    require(actor, "messages.transactional")
    errors: dict[str, str] = {}
    template = _template(template)
    if template.message_class not in MARKED_CLASSES:
        errors["template"] = _(
            "Only a template the owner marked transactional or alert goes to one person this "
            "way; marketing goes as a broadcast, through consent and approval.")
    key = str(key or "").strip()
    if not _KEY.fullmatch(key):
        errors["key"] = _("Give a key of 1 to 40 letters, digits or . _ : - that names this "
                          "message (an order number, say): one key is sent once.")
    contact = Contact.objects.filter(pk=int(contact_id), erased_at__isnull=True).first() \
        if str(contact_id).isdigit() else None
    if contact is None:
        errors["contact"] = _("There is no contact number %(id)s.") % {"id": contact_id}
    if errors or contact is None:
        raise MessagingInvalid(errors)
    source = f"{origin}:{key}"
    found = OutboxMessage.objects.filter(source=source).first()
    if found is not None:
        if (found.contact_id, found.template_id) != (contact.pk, template.pk):
            raise MessagingInvalid({"key": _("This key was used for another message.")})
        return found, False
    address = address_of(contact.pk, template.channel)
    if not address:
        raise MessagingInvalid({"contact": _("The contact has no address on this channel.")})
    snapshot = freeze(template)
    if snapshot.carries_consent_links(snapshot.message_class):
        consent_port.ensure_link_keys([contact.pk])
    try:
        with transaction.atomic():
            row = OutboxMessage.objects.create(
                source=source, template=template, snapshot=snapshot, contact=contact,
                channel=snapshot.channel, to_address=address, topic=snapshot.topic,
                message_class=snapshot.message_class, content_type=snapshot.content_type)
    except IntegrityError:  # the same call at the same moment: it is queued once
        return OutboxMessage.objects.get(source=source, contact=contact,
                                         channel=snapshot.channel), False
    record_audit(actor, "messaging.message_queued", target_type="outbox", target_id=row.pk,
                 summary=f"{template.name} → {contact.pk} ({source})")
    tasks.kick()
    return row, True


def trigger_message(trigger: str, template: Any, contact_id: int, key: str) -> OutboxMessage:
    """The system trigger other parts of Peyvand call (a delivery notice, say): the same as
    the API's single message, acting as the system, its source `trigger:<name>:<key>`."""
    if not _TRIGGER.fullmatch(trigger):
        raise ValueError("a trigger is named with 1 to 14 of a-z 0-9 _ . -")
    row, _created = do_send_message(Actor.system(f"trigger:{trigger}"), template, contact_id,
                                    key, origin=f"trigger:{trigger}")
    return row


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
