"""Roles and what each may do. The one table UI, API and CLI all consult."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured, PermissionDenied
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

# capability -> roles holding it: one table every face consults. Each app declares its own
# rows from its AppConfig.ready() through register_capabilities, so a new app edits no other.
CAPABILITIES: dict[str, frozenset[str]] = {}
_OWNERS: dict[str, str] = {}


def register_capabilities(owner: str, table: Mapping[str, Iterable[str]]) -> None:
    """Add `owner`'s (an app label) capabilities to the table. A capability another app
    already declared, or a role that does not exist, is refused."""
    for capability, roles in table.items():
        known = _OWNERS.get(capability)
        if known is not None and known != owner:
            raise ImproperlyConfigured(
                f"capability {capability!r} belongs to {known!r}; {owner!r} may not declare it")
        holders = frozenset(roles)
        if holders - ALL:
            raise ImproperlyConfigured(f"capability {capability!r} names unknown roles "
                                       f"{sorted(holders - ALL)}")
        CAPABILITIES[capability] = holders
        _OWNERS[capability] = owner


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
