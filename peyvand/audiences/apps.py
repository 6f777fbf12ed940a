from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AudiencesConfig(AppConfig):
    name = "peyvand.audiences"
    label = "audiences"
    verbose_name = _("Audiences")

    def ready(self) -> None:
        from peyvand.base.roles import ALL, ANALYST, MARKETER, OWNER, register_capabilities

        register_capabilities(self.label, {
            "segments.view": ALL,
            # Writing rules and refreshing membership: who plans audiences.
            "segments.edit": {OWNER, MARKETER, ANALYST},
            # Acting on people in bulk (tag, untag); exporting and sending keep their own
            # capabilities (contacts.export, messaging's) on top of this one.
            "segments.act": {OWNER, MARKETER},
        })

        from peyvand.commerce.hooks import ORDER_CHANGED_HOOKS, ORDERS_IMPORTED_HOOKS
        from peyvand.contacts.hooks import EXPORT_HOOKS, MERGE_HOOKS
        from peyvand.contacts.timeline import register_kind

        MERGE_HOOKS.register("peyvand.audiences.actions.on_merge")
        EXPORT_HOOKS.register("peyvand.audiences.personal_data.export_sections")
        # Orders move spend, counts and products: refresh kept-up-to-date segments soon.
        ORDER_CHANGED_HOOKS.register("peyvand.audiences.actions.mark_data_changed")
        ORDERS_IMPORTED_HOOKS.register("peyvand.audiences.actions.mark_data_changed")
        from peyvand.audiences import broadcast_audience, bulk

        # Broadcasts may go to segments (messaging owns the audience interface); bulk jobs
        # are named on the jobs page.
        broadcast_audience.register()
        bulk.register()
        register_kind("segment.entered", _("Entered a segment"), owner=self.label,
                      summary=segment_change_summary)
        register_kind("segment.left", _("Left a segment"), owner=self.label,
                      summary=segment_change_summary)


def segment_change_summary(event, *_args, **_kwargs) -> str:
    return str((event.data or {}).get("name", ""))
