"""Each app declares its own capabilities into the one table; none may take another's."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from peyvand.base.roles import CAPABILITIES, OWNER, can, register_capabilities


def test_every_app_declared_its_capabilities():
    prefixes = {name.split(".")[0] for name in CAPABILITIES}
    assert {"audit", "users", "contacts", "schema", "commerce", "sources", "consent", "forms",
            "messages", "channels", "insights"} <= prefixes


def test_another_apps_capability_is_refused():
    before = CAPABILITIES["contacts.erase"]
    with pytest.raises(ImproperlyConfigured, match="belongs to 'contacts'"):
        register_capabilities("imports", {"contacts.erase": {"marketer"}})
    assert CAPABILITIES["contacts.erase"] == before
    assert not can("marketer", "contacts.erase")


def test_an_unknown_role_is_refused():
    with pytest.raises(ImproperlyConfigured, match="unknown roles"):
        register_capabilities("base", {"test.capability": {OWNER, "janitor"}})
    assert "test.capability" not in CAPABILITIES
