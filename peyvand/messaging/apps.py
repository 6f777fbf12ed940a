from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    name = "peyvand.messaging"
    label = "messaging"
    verbose_name = _("Messaging")

    def ready(self) -> None:
        from peyvand.contacts.actions import ERASE_HOOKS, MERGE_HOOKS
        from peyvand.messaging.outbox import forget_addresses, move_outbox_rows

        # Sent messages follow a merged contact (caps count them); erasure drops addresses.
        if move_outbox_rows not in MERGE_HOOKS:
            MERGE_HOOKS.append(move_outbox_rows)
        if forget_addresses not in ERASE_HOOKS:
            ERASE_HOOKS.append(forget_addresses)

        # Confirmations written by consent leave through the outbox and its gate.
        from peyvand.consent.delivery import register_outbound
        from peyvand.messaging.system import queue_system_message

        register_outbound(queue_system_message)

        from peyvand.base.templatetags.peyvand_ui import EVENT_LABELS

        EVENT_LABELS.update({
            "message.sent": _("Message sent"),
            "message.deferred": _("Message deferred"),
            "message.failed": _("Message failed"),
            "message.bounced": _("Message bounced"),
        })
