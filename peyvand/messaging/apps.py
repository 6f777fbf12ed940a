from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    name = "peyvand.messaging"
    label = "messaging"
    verbose_name = _("Messaging")

    def ready(self) -> None:
        from peyvand.base.roles import ALL, MARKETER, OWNER, REVIEWER, register_capabilities

        register_capabilities(self.label, {
            "messages.view": ALL,
            "messages.author": {OWNER, MARKETER},  # templates, broadcasts, strategy rules
            "messages.send": {OWNER, MARKETER},
            "messages.approve": {OWNER, REVIEWER},
            # Transactional and alert messages skip parts of consent (and approval): the
            # owner marks the templates that may be sent so, and holds the right to send one.
            "messages.transactional": {OWNER},
            "channels.manage": {OWNER},  # SMTP and SMS gateway settings
        })

        from peyvand.contacts.hooks import (
            ADDRESS_HOOKS,
            ERASE_HOOKS,
            EXPORT_HOOKS,
            MERGE_HOOKS,
        )

        # Sent messages follow a merged contact (caps count them); erasure keeps only their
        # state and times; the person's export lists them.
        MERGE_HOOKS.register("peyvand.messaging.outbox.move_outbox_rows")
        ERASE_HOOKS.register("peyvand.messaging.personal_data.erase")
        ADDRESS_HOOKS.register("peyvand.messaging.personal_data.addresses")
        EXPORT_HOOKS.register("peyvand.messaging.personal_data.export_sections")

        # Confirmations written by consent leave through the outbox and its gate.
        from peyvand.consent.delivery import register_outbound
        from peyvand.messaging.system import queue_system_message

        register_outbound(queue_system_message)

        from peyvand.messaging.timeline import register_message_kinds

        register_message_kinds(self.label)
