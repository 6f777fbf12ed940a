"""Who is acting: a signed-in user (UI), a token's user (API) or a shell operator (CLI).

Every action takes an Actor, checks its capability through `base.roles`, and names it
in audit and timeline rows.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.contrib.auth.models import User


@dataclass(frozen=True)
class Actor:
    user: User | None
    role: str
    via: str  # "ui", "api", "cli", "system"
    label: str

    @classmethod
    def for_user(cls, user: Any, via: str) -> Actor:
        from peyvand.base.roles import role_of

        return cls(user=user, role=role_of(user), via=via, label=user.get_username())

    @classmethod
    def operator(cls) -> Actor:
        """Whoever runs the CLI on the server without --as: they hold the database already."""
        try:
            name = getpass.getuser()
        except Exception:  # no passwd entry in some containers
            name = "unknown"
        return cls(user=None, role="owner", via="cli", label=f"operator:{name}")

    @classmethod
    def system(cls, what: str = "system") -> Actor:
        return cls(user=None, role="owner", via="system", label=what)
