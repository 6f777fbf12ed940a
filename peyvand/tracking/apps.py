from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TrackingConfig(AppConfig):
    name = "peyvand.tracking"
    label = "tracking"
    verbose_name = _("Tracking")

    def ready(self) -> None:
        from peyvand.contacts.actions import ERASE_HOOKS, MERGE_HOOKS
        from peyvand.tracking.events import forget_contact, move_rows

        if move_rows not in MERGE_HOOKS:
            MERGE_HOOKS.append(move_rows)
        if forget_contact not in ERASE_HOOKS:
            ERASE_HOOKS.append(forget_contact)

        from peyvand.base.templatetags.peyvand_ui import EVENT_LABELS, EVENT_SUMMARIES
        from peyvand.tracking.views import tracking_event_summary

        EVENT_LABELS.update({
            "message.opened": _("Message opened"),
            "message.clicked": _("Link clicked"),
            "message.bounced": _("Message bounced"),
            "message.complained": _("Marked as spam"),
            "message.delivered": _("SMS delivered"),
            "message.failed": _("SMS not delivered"),
        })
        for kind in ("message.clicked", "message.bounced", "message.opened"):
            EVENT_SUMMARIES[kind] = tracking_event_summary
