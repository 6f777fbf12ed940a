from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    name = "peyvand.messaging"
    label = "messaging"
    verbose_name = _("Messaging")

    def ready(self) -> None:
        from peyvand.contacts.hooks import ERASE_HOOKS, MERGE_HOOKS

        # Sent messages follow a merged contact (caps count them); erasure drops addresses.
        MERGE_HOOKS.register("peyvand.messaging.outbox.move_outbox_rows")
        ERASE_HOOKS.register("peyvand.messaging.outbox.forget_addresses")

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
