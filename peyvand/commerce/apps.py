from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommerceConfig(AppConfig):
    name = "peyvand.commerce"
    label = "commerce"
    verbose_name = _("Commerce")

    def ready(self) -> None:
        from peyvand.base.roles import ALL, MARKETER, OWNER, register_capabilities

        register_capabilities(self.label, {
            "commerce.view": ALL,
            "commerce.edit": {OWNER, MARKETER},
            "commerce.export": {OWNER},  # orders name people
            "sources.manage": {OWNER},  # shop webhook secrets
            "shop.settings": {OWNER},  # how money is shown everywhere
        })

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

        # The timeline kinds commerce writes, and how each reads.
        from peyvand.commerce.templatetags.commerce import commerce_event_summary
        from peyvand.contacts.timeline import register_kind

        for kind, label in (("order.placed", _("Order placed")),
                            ("order.updated", _("Order updated")),
                            ("order.refunded", _("Order refunded")),
                            ("order.late", _("Order late")),
                            ("cart.abandoned", _("Cart abandoned"))):
            register_kind(kind, label, owner=self.label, summary=commerce_event_summary)
        register_kind("shop.account_deleted", _("Shop account deleted"), owner=self.label)
