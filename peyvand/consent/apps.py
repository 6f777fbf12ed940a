from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConsentConfig(AppConfig):
    name = "peyvand.consent"
    label = "consent"
    verbose_name = _("Permission")

    def ready(self) -> None:
        from peyvand.base.roles import ALL, MARKETER, OWNER, SUPPORT, register_capabilities

        register_capabilities(self.label, {
            "consent.view": ALL,
            # Staff may only ever reduce contact; adding consent back is the person's own act.
            "consent.reduce": {OWNER, MARKETER, SUPPORT},
            "consent.export": {OWNER},  # proof of consent names people
            # Mail a person their own preference link at their request; staff never see it.
            "consent.send_link": {OWNER, MARKETER, SUPPORT},
            # Bring subscribers from another tool: the owner attests they consented there.
            "consent.import": {OWNER},
            "forms.manage": {OWNER, MARKETER},  # sign-up forms and topics
        })

        from peyvand.contacts.hooks import (
            BEFORE_ERASE_HOOKS,
            ERASE_HOOKS,
            EXPORT_HOOKS,
            MERGE_HOOKS,
        )

        # The ledger follows a merged contact; erasure keeps it but drops IP, user agent and
        # typed text; the person's export holds it whole, with their sign-ups.
        MERGE_HOOKS.register("peyvand.consent.ledger.move_consent_rows")
        ERASE_HOOKS.register("peyvand.consent.ledger.forget_devices")
        # An address that left a channel stays left after its person is erased (a digest).
        BEFORE_ERASE_HOOKS.register("peyvand.consent.erased.remember_opt_outs")
        EXPORT_HOOKS.register("peyvand.consent.personal_data.export_sections")

        from peyvand.consent.templatetags.consent import consent_event_summary, reply_summary
        from peyvand.contacts.timeline import register_kind

        for kind, label in (("consent.opt_in", _("Signed up")),
                            ("consent.confirmed", _("Sign-up confirmed")),
                            ("consent.opt_out", _("Unsubscribed")),
                            ("consent.changed", _("Preferences changed")),
                            ("consent.paused", _("Messages paused")),
                            ("consent.link_sent", _("Preference link e-mailed to them"))):
            register_kind(kind, label, owner=self.label, summary=consent_event_summary)
        # A person's SMS answer (not a keyword): their own words, shown on their timeline.
        register_kind("sms.replied", _("Replied by SMS"), owner=self.label,
                      summary=reply_summary)
