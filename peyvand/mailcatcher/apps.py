from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MailcatcherConfig(AppConfig):
    name = "peyvand.mailcatcher"
    label = "mailcatcher"
    verbose_name = _("Caught mail")

    def ready(self) -> None:
        from peyvand.contacts.hooks import ERASE_COPIES_HOOKS

        # What the catcher kept for an erased person is deleted.
        ERASE_COPIES_HOOKS.register("peyvand.mailcatcher.personal_data.erase_copies")

        # The SMS catcher keeps its texts here, beside caught mail.
        from peyvand.messaging.channels.sms.catcher import register_store

        register_store("mailcatcher.CaughtSms")
