"""Topics a person may subscribe to: saved and deleted by staff."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from peyvand.base.actor import Actor
from peyvand.base.normalise import ascii_digits
from peyvand.base.roles import require
from peyvand.consent.actions.common import KEY_PATTERN, ConsentInvalid, flag_input, text_input
from peyvand.consent.models import ConsentChange, Frequency, Topic


@transaction.atomic
def do_save_topic(actor: Actor, raw: dict[str, Any], topic: Topic | None = None) -> Topic:
    """Create a topic, or change the one given (only the keys present in `raw`)."""
    require(actor, "forms.manage")
    errors: dict[str, str] = {}
    given = (lambda name: name in raw) if topic else (lambda name: True)
    values: dict[str, Any] = {}
    if given("key"):
        key = str(raw.get("key") or "").strip().lower()
        if not KEY_PATTERN.match(key):
            errors["key"] = _("Use lower-case Latin letters, digits, - and _ (e.g. offers).")
        elif Topic.objects.filter(key=key).exclude(pk=topic.pk if topic else 0).exists():
            errors["key"] = _("A topic with this key exists already.")
        values["key"] = key
    for name in ("name_fa", "name_en"):
        if given(name):
            values[name] = text_input(raw, name, 100, errors, required=True)
    if given("description"):
        values["description"] = text_input(raw, "description", 300, errors)
    if given("default_frequency"):
        frequency = str(raw.get("default_frequency") or Frequency.MONTHLY)
        if frequency not in Frequency.values:
            errors["default_frequency"] = _("Choose one of: %(choices)s.") % {
                "choices": ", ".join(Frequency.values)}
        values["default_frequency"] = frequency
    for name in ("default_opt_in", "active"):
        if name in raw:
            values[name] = flag_input(raw[name])
    if "position" in raw:
        try:
            values["position"] = max(0, int(ascii_digits(str(raw["position"]))))
        except ValueError:
            errors["position"] = _("A whole number.")
    if errors:
        raise ConsentInvalid(errors)
    if topic is None:
        topic = Topic.objects.create(**values)
    else:
        for name, value in values.items():
            setattr(topic, name, value)
        topic.save()
    return topic


@transaction.atomic
def do_delete_topic(actor: Actor, topic: Topic) -> str:
    """Delete a topic nobody ever consented to; one with history is only retired."""
    require(actor, "forms.manage")
    used = ConsentChange.objects.filter(topic=topic).exists() or topic.forms.exists()
    if used:
        topic.active = False
        topic.save(update_fields=["active"])
        return "retired"
    topic.delete()
    return "deleted"
