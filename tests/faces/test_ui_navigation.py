"""The main menu: grouped by what a shop owner does, each page in one place, each item only
for the roles that may use it, and the current one taken from the resolved URL name."""

from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from peyvand.navigation import GROUPS, HOME, menu_for

pytestmark = pytest.mark.django_db

# Named pages that are not in the menu: signing in, people's own links, machines' endpoints.
OFF_MENU = {"accounts:login", "accounts:login_verify", "accounts:logout",
            "accounts:set_language", "consent:signup", "consent:signup_code", "consent:confirm",
            "consent:preferences", "consent:unsubscribe", "consent:one_click",
            "consent:sms_hook", "tracking:open", "tracking:click", "tracking:short",
            "hooks:woocommerce",
            "healthz", HOME}


def _names(patterns, namespace: str = "") -> set[str]:
    names: set[str] = set()
    for entry in patterns:
        if isinstance(entry, URLResolver):
            names |= _names(entry.url_patterns, entry.namespace or namespace)
        elif isinstance(entry, URLPattern) and entry.name:
            names.add(f"{namespace}:{entry.name}" if namespace else entry.name)
    return names


def _placed(name: str) -> list[str]:
    namespace = name.rpartition(":")[0]
    return [item.url_name for group in GROUPS for item in group.items
            if name in item.pages or f"{namespace}:*" in item.pages]


def test_every_page_has_exactly_one_place_in_the_menu():
    pages = {n for n in _names(get_resolver().url_patterns) if not n.startswith("api:")}
    assert {n for n in pages - OFF_MENU if len(_placed(n)) != 1} == set()
    for group in GROUPS:
        for item in group.items:
            assert _placed(item.url_name) == [item.url_name]


def test_groups_in_a_shop_owners_words():
    assert [g.key for g in GROUPS] == ["customers", "shop", "marketing", "insights",
                                       "settings"]


def _labels(role: str) -> dict[str, list[str]]:
    return {g["key"]: [str(i["label"]) for i in g["items"]] for g in menu_for(role, "")}


def test_each_role_sees_only_what_it_may_use():
    owner = _labels("owner")
    assert "Users" in owner["settings"] and "Audit log" in owner["settings"]
    assert "Shops" in owner["shop"] and "Import" in owner["customers"]
    support = _labels("support")
    assert support["settings"] == ["Security", "Jobs"]
    assert "Shops" not in support["shop"] and "Import" in support["customers"]
    assert "Insight rules" not in support["insights"]
    reviewer = _labels("reviewer")
    assert "Import" not in reviewer["customers"]
    assert "Insight rules" in _labels("analyst")["insights"]


def test_the_current_item_and_group_come_from_the_resolved_url(client_for, make_contact):
    client = client_for("owner")
    contact = make_contact()
    html = client.get(f"/contacts/{contact.pk}/").content.decode()
    current = re.findall(r'<a href="([^"]+)" aria-current="page">', html)
    assert current == ["/contacts/"]  # a contact's page belongs to Contacts
    groups = re.findall(r'data-group="(\w+)">\s*<details>\s*<summary class="current"', html)
    assert groups == ["customers"]
    html = client.get(f"/consent/contacts/{contact.pk}/").content.decode()
    assert re.findall(r'<a href="([^"]+)" aria-current="page">', html) == ["/contacts/"]
    html = client.get("/consent/churn/").content.decode()
    assert re.findall(r'<a href="([^"]+)" aria-current="page">', html) == ["/consent/churn/"]
    home = client.get("/").content.decode()
    assert 'class="brand" href="/" aria-current="page"' in home
    assert 'aria-current="page"' not in home.split('class="navgroups"')[1].split("</nav>")[0]


def test_signed_out_pages_have_no_menu(client):
    assert 'class="navmenu"' not in client.get("/accounts/login/").content.decode()
