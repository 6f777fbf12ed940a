"""Roles and what each may do. The one table UI, API and CLI all consult."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _

OWNER, MARKETER, REVIEWER, SUPPORT, ANALYST = "owner", "marketer", "reviewer", "support", "analyst"
ROLE_CHOICES = [
    (OWNER, _("Owner")),
    (MARKETER, _("Marketer")),
    (REVIEWER, _("Reviewer")),
    (SUPPORT, _("Support")),
    (ANALYST, _("Analyst")),
]
ROLES = [r for r, _label in ROLE_CHOICES]
ALL = frozenset(ROLES)

# capability -> roles holding it
CAPABILITIES: dict[str, frozenset[str]] = {
    "contacts.view": ALL,
    "contacts.edit": frozenset({OWNER, MARKETER, SUPPORT}),
    "contacts.merge": frozenset({OWNER, MARKETER, SUPPORT}),
    # Personal data leaving the system, or being destroyed: the owner answers for it (E6).
    "contacts.export": frozenset({OWNER}),
    "contacts.erase": frozenset({OWNER}),
    "schema.manage": frozenset({OWNER, MARKETER}),  # tags and custom fields
    "users.manage": frozenset({OWNER}),
    "commerce.view": ALL,
    "commerce.edit": frozenset({OWNER, MARKETER}),
    "commerce.export": frozenset({OWNER}),  # orders name people
    "sources.manage": frozenset({OWNER}),  # shop webhook secrets
    "consent.view": ALL,
    # Staff may only ever reduce contact; adding consent back is the person's own act.
    "consent.reduce": frozenset({OWNER, MARKETER, SUPPORT}),
    "consent.export": frozenset({OWNER}),  # proof of consent names people
    # Mail a person their own preference link at their request; staff never see the link.
    "consent.send_link": frozenset({OWNER, MARKETER, SUPPORT}),
    # Bring subscribers from another tool: the owner attests that they consented there.
    "consent.import": frozenset({OWNER}),
    "forms.manage": frozenset({OWNER, MARKETER}),  # sign-up forms and topics
    "messages.view": ALL,
    "messages.author": frozenset({OWNER, MARKETER}),  # templates, broadcasts, strategy rules
    "messages.send": frozenset({OWNER, MARKETER}),
    "messages.approve": frozenset({OWNER, REVIEWER}),
    # Transactional and alert messages skip parts of consent (and approval): the owner marks
    # the templates that may be sent so, and holds the right to send one (API, triggers).
    "messages.transactional": frozenset({OWNER}),
    "channels.manage": frozenset({OWNER}),  # SMTP and SMS gateway settings
    "insights.view": ALL,
    "insights.configure": frozenset({OWNER, MARKETER, ANALYST}),  # rules, refreshes
    "audit.view": frozenset({OWNER}),
}


def role_of(user: Any) -> str:
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return ""
    profile = getattr(user, "profile", None)
    return profile.role if profile is not None else ""


def can(role_or_actor: Any, capability: str) -> bool:
    role = role_or_actor if isinstance(role_or_actor, str) else role_or_actor.role
    if capability not in CAPABILITIES:
        raise KeyError(f"unknown capability {capability!r}")
    return role in CAPABILITIES[capability]


def require(actor: Any, capability: str) -> None:
    """Raise PermissionDenied unless the actor's role holds the capability."""
    if not can(actor, capability):
        raise PermissionDenied(_("Your role may not do this (%(capability)s).")
                               % {"capability": capability})
