from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InsightsConfig(AppConfig):
    name = "peyvand.insights"
    label = "insights"
    verbose_name = _("Insights")

    def ready(self) -> None:
        from peyvand.commerce import actions as commerce
        from peyvand.contacts.actions import MERGE_HOOKS
        from peyvand.insights.actions import on_merge, on_order_changed

        # A merged contact's purchases now count for the survivor.
        if on_merge not in MERGE_HOOKS:
            MERGE_HOOKS.append(on_merge)
        # Orders and refunds move their buyer's figures as they arrive.
        hooks = getattr(commerce, "ORDER_CHANGED_HOOKS", None)
        if hooks is not None and on_order_changed not in hooks:
            hooks.append(on_order_changed)
