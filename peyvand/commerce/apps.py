from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommerceConfig(AppConfig):
    name = "peyvand.commerce"
    label = "commerce"
    verbose_name = _("Commerce")

    def ready(self) -> None:
        from peyvand.contacts.hooks import (
            ERASE_COPIES_HOOKS,
            ERASE_HOOKS,
            EXPORT_HOOKS,
            MERGE_HOOKS,
        )

        # Orders and carts follow a merged contact; erasure drops raw shop payloads; the
        # person's export holds their orders and carts.
        MERGE_HOOKS.register("peyvand.commerce.actions.move_commerce_rows")
        ERASE_HOOKS.register("peyvand.commerce.personal_data.erase")
        ERASE_COPIES_HOOKS.register("peyvand.commerce.personal_data.erase_copies")
        EXPORT_HOOKS.register("peyvand.commerce.personal_data.export_sections")

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
