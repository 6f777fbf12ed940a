from __future__ import annotations

from peyvand.base.roles import CAPABILITIES, role_of


def role_context(request):
    role = role_of(getattr(request, "user", None))
    return {
        "role": role,
        "caps": {cap: role in roles for cap, roles in CAPABILITIES.items()},
    }
