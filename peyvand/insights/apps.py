from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InsightsConfig(AppConfig):
    name = "peyvand.insights"
    label = "insights"
    verbose_name = _("Insights")

    def ready(self) -> None:
        from peyvand.base.roles import ALL, ANALYST, MARKETER, OWNER, register_capabilities

        register_capabilities(self.label, {
            "insights.view": ALL,
            "insights.configure": {OWNER, MARKETER, ANALYST},  # rules, refreshes
        })

        from peyvand.commerce.hooks import ORDER_CHANGED_HOOKS, ORDERS_IMPORTED_HOOKS
        from peyvand.contacts.hooks import EXPORT_HOOKS, MERGE_HOOKS

        # A merged contact's purchases now count for the survivor; the person's export holds
        # the figures computed about them.
        MERGE_HOOKS.register("peyvand.insights.actions.on_merge")
        EXPORT_HOOKS.register("peyvand.insights.personal_data.export_sections")
        # Orders and refunds move their buyer's figures as they arrive.
        ORDER_CHANGED_HOOKS.register("peyvand.insights.actions.on_order_changed")
        # An order import: one refresh at its end, not one task per order.
        ORDERS_IMPORTED_HOOKS.register("peyvand.insights.actions.on_orders_imported")
