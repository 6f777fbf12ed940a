from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TrackingConfig(AppConfig):
    name = "peyvand.tracking"
    label = "tracking"
    verbose_name = _("Tracking")

    def ready(self) -> None:
        from peyvand.contacts.hooks import (
            ADDRESS_HOOKS,
            ERASE_COPIES_HOOKS,
            ERASE_HOOKS,
            EXPORT_HOOKS,
            MERGE_HOOKS,
        )

        MERGE_HOOKS.register("peyvand.tracking.events.move_rows")
        ERASE_HOOKS.register("peyvand.tracking.personal_data.erase")
        ERASE_COPIES_HOOKS.register("peyvand.tracking.personal_data.erase_copies")
        ADDRESS_HOOKS.register("peyvand.tracking.personal_data.addresses")
        EXPORT_HOOKS.register("peyvand.tracking.personal_data.export_sections")

        # The SMS catcher's store when mailcatcher (which it prefers) is not installed.
        from peyvand.messaging.channels.sms.catcher import register_store

        register_store("tracking.CatcherSms", fallback=True)

        # Messaging's sender rewrites links, adds the open pixel and the VERP return path,
        # and reports each SMS it hands over, through the tracker registered here.
        from peyvand.messaging.tracker import register_tracker

        register_tracker("peyvand.tracking.follow.TRACKER")

        # The kinds tracking writes. message.bounced and message.failed are messaging's
        # (the outbox's states); tracking writes them too but does not word them.
        from peyvand.contacts.timeline import register_kind
        from peyvand.tracking.views import tracking_event_summary

        register_kind("message.opened", _("Message opened"), owner=self.label,
                      summary=tracking_event_summary)
        register_kind("message.clicked", _("Link clicked"), owner=self.label,
                      summary=tracking_event_summary)
        register_kind("message.complained", _("Marked as spam"), owner=self.label)
        register_kind("message.delivered", _("SMS delivered"), owner=self.label)
