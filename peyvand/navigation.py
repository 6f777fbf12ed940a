"""The web UI's main menu, grouped by what a shop owner does.

A face-level module (like peyvand/urls.py): it names pages of every app by URL name and
capability, and imports none of them. Which item (and so which group) is current comes from
the URL name the request resolved to, never from the path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.urls import reverse
from django.utils.functional import Promise
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from peyvand.base.roles import can, role_of


@dataclass(frozen=True)
class Item:
    label: str | Promise
    url_name: str  # where the item links
    # Every URL name whose page belongs to this item (url_name included); "ns:*" is a whole
    # namespace.
    pages: tuple[str, ...]
    capability: str | None = None  # None: every signed-in user
    # "module.function(user) -> int": a count shown beside the item (open tasks), imported
    # when a menu is first drawn; it must cost one indexed query.
    badge: str | None = None


@dataclass(frozen=True)
class Group:
    key: str
    label: str | Promise
    items: tuple[Item, ...]


GROUPS: tuple[Group, ...] = (
    Group("customers", _("Customers"), (
        Item(_("Contacts"), "contacts:contact_list", (
            "contacts:contact_list", "contacts:contact_create", "contacts:contact_detail",
            "contacts:contact_edit", "contacts:note_add", "contacts:merge_pick",
            "contacts:merge_preview", "contacts:contact_export", "contacts:contact_erase",
            # one contact's consent pages belong with the contact
            "consent:contact", "consent:proof", "consent:send_link")),
        Item(_("Tasks"), "support:list", ("support:*",), "tasks.view",
             badge="peyvand.support.queries.open_count"),
        Item(_("Tags"), "contacts:tag_list",
             ("contacts:tag_list", "contacts:tag_rename", "contacts:tag_delete")),
        Item(_("Segments"), "audiences:list", ("audiences:*",), "segments.view"),
        Item(_("Custom fields"), "contacts:field_list",
             ("contacts:field_list", "contacts:field_create", "contacts:field_edit",
              "contacts:field_delete")),
        Item(_("Import"), "imports:upload", ("imports:*",), "contacts.edit"),
        Item(_("Sign-up forms"), "consent:form_list",
             ("consent:form_list", "consent:form_new", "consent:form_detail",
              "consent:form_edit", "consent:form_delete"), "consent.view"),
        Item(_("Topics"), "consent:topic_list",
             ("consent:topic_list", "consent:topic_new", "consent:topic_edit",
              "consent:topic_delete"), "consent.view"),
        Item(_("Suppressions"), "consent:suppressions", ("consent:suppressions",),
             "consent.view"),
    )),
    Group("shop", _("Shop"), (
        Item(_("Orders"), "commerce:order_list",
             ("commerce:order_list", "commerce:order_detail")),
        Item(_("Products"), "commerce:product_list", ("commerce:product_list",)),
        Item(_("Shops"), "commerce:source_list",
             ("commerce:source_list", "commerce:source_detail", "commerce:source_active",
              "commerce:delivery_detail", "commerce:delivery_retry"), "sources.manage"),
    )),
    Group("marketing", _("Marketing"), (
        Item(_("Campaigns"), "campaigns:list",
             ("campaigns:list", "campaigns:new", "campaigns:detail", "campaigns:edit",
              "campaigns:report_csv", "campaigns:submit", "campaigns:approve",
              "campaigns:reject", "campaigns:cancel", "campaigns:test", "campaigns:schedule"),
             "campaigns.view"),
        Item(_("Occasion calendar"), "campaigns:calendar", ("campaigns:calendar",),
             "campaigns.view"),
        Item(_("Journeys"), "journeys:list", ("journeys:*",), "journeys.view"),
        Item(_("Broadcasts"), "messaging:broadcast_list",
             ("messaging:broadcast_list", "messaging:broadcast_detail",
              "messaging:broadcast_outbox", "messaging:broadcast_approve",
              "messaging:broadcast_reject", "messaging:message_detail"), "messages.view"),
        Item(_("Message templates"), "messaging:template_list",
             ("messaging:template_list", "messaging:template_new", "messaging:template_edit",
              "messaging:template_preview", "messaging:template_delete"), "messages.view"),
        Item(_("Contact strategy"), "messaging:rule_list",
             ("messaging:rule_list", "messaging:rule_delete"), "messages.view"),
        Item(_("Caught mail"), "mailcatcher:list", ("mailcatcher:*",)),
    )),
    Group("insights", _("Insights"), (
        Item(_("Overview"), "insights:dashboard", ("insights:dashboard", "insights:refresh"),
             "insights.view"),
        Item(_("Due list"), "insights:due_list", ("insights:due_list",), "insights.view"),
        Item(_("Customer list"), "insights:customer_list", ("insights:customer_list",),
             "insights.view"),
        Item(_("Insight rules"), "insights:settings", ("insights:settings",),
             "insights.configure"),
        Item(_("Incentives"), "consent:report", ("consent:report",), "consent.view"),
        Item(_("Churn"), "consent:churn", ("consent:churn",), "consent.view"),
    )),
    Group("settings", _("Settings"), (
        Item(_("Shop"), "base:shop", ("base:shop",), "shop.manage"),
        Item(_("Users"), "accounts:users",
             ("accounts:users", "accounts:user_create", "accounts:user_role",
              "accounts:user_active", "accounts:user_two_factor_reset"), "users.manage"),
        Item(_("Security"), "accounts:two_factor",
             ("accounts:two_factor", "accounts:tokens", "accounts:token_revoke")),
        Item(_("Sending settings"), "messaging:settings", ("messaging:settings",),
             "channels.manage"),
        Item(_("Money display"), "commerce:money_settings", ("commerce:money_settings",),
             "shop.settings"),
        Item(_("Audit log"), "base:audit", ("base:audit",), "audit.view"),
        Item(_("Jobs"), "base:jobs", ("base:jobs", "base:export_contacts", "base:job_download")),
    )),
)
HOME = "base:dashboard"


def _belongs(item: Item, view_name: str) -> bool:
    namespace = view_name.rpartition(":")[0]
    return view_name in item.pages or f"{namespace}:*" in item.pages


def menu_for(role: str, view_name: str, user: Any = None) -> list[dict[str, Any]]:
    """The groups `role` may see, each with its visible items; the one holding `view_name`
    (the resolved URL name, "namespace:name") is current. With `user`, items with a badge
    carry its count, and their group the sum."""
    menu = []
    for group in GROUPS:
        items: list[dict[str, Any]] = []
        for item in group.items:
            if item.capability is None or can(role, item.capability):
                badge = import_string(item.badge)(user) if item.badge and user else 0
                items.append({"label": item.label, "url": reverse(item.url_name),
                              "current": _belongs(item, view_name), "badge": badge})
        if items:
            menu.append({"key": group.key, "label": group.label, "items": items,
                         "current": any(i["current"] for i in items),
                         "badge": sum(i["badge"] for i in items)})
    return menu


def navigation(request) -> dict[str, Any]:
    """Context processor: `nav` (the grouped menu) and `nav_home` (the dashboard is current)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    match = getattr(request, "resolver_match", None)
    view_name = match.view_name if match else ""
    return {"nav": menu_for(role_of(user), view_name, user), "nav_home": view_name == HOME}
