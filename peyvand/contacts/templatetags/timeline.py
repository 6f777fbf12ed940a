"""A contact's timeline as people read it: each entry's label and its line of detail, worded
by the app that owns the kind (contacts.timeline.register_kind)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from peyvand.base.language import join_list
from peyvand.base.templatetags.peyvand_ui import fadigits
from peyvand.contacts.timeline import event_kind, kind_label, register_kind

register = template.Library()

_SOURCES = {
    "ui": _("Added in the web app."),
    "api": _("Added through the API."),
    "cli": _("Added from the command line."),
    "import": _("Added by a file import."),
    "demo": _("Added with the demo data."),
}


def contact_field_labels() -> dict[str, str]:
    """Readable names of the contact's own fields, as actions report them (changed, merge)."""
    from peyvand.contacts.actions import SCALARS
    from peyvand.contacts.models import Contact

    return {name: str(capfirst(getattr(Contact._meta.get_field(name), "verbose_name", name)))
            for name in SCALARS}


def contact_event_summary(event: Any, labels: dict[str, str]) -> str:
    """One line under an entry of the contacts app's own kinds."""
    data = event.data or {}
    kind = event.kind
    if kind == "contact.created":
        source = data.get("source", "")
        return str(_SOURCES.get(source, source))
    if kind == "note.added":
        return data.get("excerpt", "")
    if kind in ("tag.added", "tag.removed"):
        return data.get("tag", "")
    if kind == "contact.updated":
        return join_list(str(labels.get(name, name)) for name in data.get("changed", []))
    if kind == "contact.merged":
        text = str(_("Contact #%(id)s was merged into this one.")
                   % {"id": fadigits(data.get("merged_id", "?"))})
        conflicts = data.get("conflicts") or []
        if conflicts:
            kept = join_list(labels.get(c, c) for c in conflicts)
            text += " " + str(_("This contact’s values were kept for: %(fields)s.")
                              % {"fields": kept})
        return text
    return ""


def register_contact_kinds() -> None:
    for kind, label in (
        ("contact.created", _("Contact created")),
        ("contact.updated", _("Contact updated")),
        ("contact.merged", _("Contacts merged")),
        ("contact.erased", _("Personal data erased")),
        ("note.added", _("Note added")),
        ("tag.added", _("Tag added")),
        ("tag.removed", _("Tag removed")),
    ):
        register_kind(kind, label, owner="contacts", summary=contact_event_summary,
                      names_fields=True)


@register.filter
def event_label(event_or_kind: Any) -> str:
    """`{{ event|event_label }}`: the entry's label, worded for its channel when the owner
    gave one (a failed SMS reads differently from a failed e-mail)."""
    if isinstance(event_or_kind, str):
        return kind_label(event_or_kind)
    return kind_label(event_or_kind.kind, (event_or_kind.data or {}).get("channel", ""))


@register.simple_tag
def event_summary(event: Any, labels: dict[str, str] | None = None) -> str:
    """One line of detail under a timeline entry, from what the event recorded."""
    known = event_kind(event.kind)
    if known is None or known.summary is None:
        return ""
    if known.names_fields:
        return known.summary(event, contact_field_labels() if labels is None else labels)
    return known.summary(event)
