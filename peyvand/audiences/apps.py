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
