from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "peyvand.campaigns"
    label = "campaigns"
    verbose_name = _("Campaigns")

    def ready(self) -> None:
        from peyvand.base.roles import ALL, MARKETER, OWNER, REVIEWER, register_capabilities

        register_capabilities(self.label, {
            "campaigns.view": ALL,
            "campaigns.edit": {OWNER, MARKETER},  # plan, build, test-send, schedule, cancel
            "campaigns.approve": {OWNER, REVIEWER},  # approves the words shown, by digest
            # Sending on a quiet date (mourning): the owner's call alone.
            "campaigns.override_quiet": {OWNER},
        })
        from peyvand.campaigns import groups

        # A/B groups as messaging audiences (messaging may not import campaigns).
        groups.register()
        from peyvand.messaging.hooks import BROADCAST_CREATED_HOOKS

        # A broadcast made the older way is listed as a campaign too.
        BROADCAST_CREATED_HOOKS.register("peyvand.campaigns.adopted.adopt")
        from peyvand.tracking.attribution import register_window

        # How long a campaign's clicks earn orders: its own attribution window.
        register_window("peyvand.campaigns.groups.attribution_windows")
