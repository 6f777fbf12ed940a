from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommerceConfig(AppConfig):
    name = "peyvand.commerce"
    label = "commerce"
    verbose_name = _("Commerce")

    def ready(self) -> None:
        from peyvand.commerce.actions import forget_payloads, move_commerce_rows
        from peyvand.contacts.actions import ERASE_HOOKS, MERGE_HOOKS

        # Orders and carts follow a merged contact; erasure drops raw shop payloads.
        if move_commerce_rows not in MERGE_HOOKS:
            MERGE_HOOKS.append(move_commerce_rows)
        if forget_payloads not in ERASE_HOOKS:
            ERASE_HOOKS.append(forget_payloads)

        # The timeline is drawn by the base floor's tags; tell it how to word our kinds.
        from peyvand.base.templatetags.peyvand_ui import EVENT_LABELS, EVENT_SUMMARIES
        from peyvand.commerce.templatetags.commerce import commerce_event_summary

        EVENT_LABELS.update({
            "order.placed": _("Order placed"),
            "order.updated": _("Order updated"),
            "order.refunded": _("Order refunded"),
            "order.late": _("Order late"),
            "cart.abandoned": _("Cart abandoned"),
            "shop.account_deleted": _("Shop account deleted"),
        })
        EVENT_SUMMARIES.update({"order.": commerce_event_summary,
                                "cart.": commerce_event_summary})
