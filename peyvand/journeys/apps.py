from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class JourneysConfig(AppConfig):
    name = "peyvand.journeys"
    label = "journeys"
    verbose_name = _("Journeys")

    def ready(self) -> None:
        from peyvand.base.roles import ALL, MARKETER, OWNER, register_capabilities

        register_capabilities(self.label, {
            "journeys.view": ALL,
            "journeys.edit": {OWNER, MARKETER},  # write drafts, enrol people
            "journeys.publish": {OWNER},  # publish, pause, move waiting people
        })
        from peyvand.audiences.hooks import SEGMENT_CHANGED_HOOKS
        from peyvand.commerce.hooks import CART_ABANDONED_HOOKS, ORDER_CHANGED_HOOKS
        from peyvand.consent.hooks import INBOUND_REPLY_HOOKS, SIGNUP_CONFIRMED_HOOKS
        from peyvand.contacts.hooks import MERGE_HOOKS, TAG_ADDED_HOOKS
        from peyvand.tracking.hooks import EVENT_HOOKS

        # Triggers and wake-ups: the floors below call up through their hooks.
        SEGMENT_CHANGED_HOOKS.register("peyvand.journeys.triggers.on_segment_changed")
        ORDER_CHANGED_HOOKS.register("peyvand.journeys.triggers.on_order_changed")
        EVENT_HOOKS.register("peyvand.journeys.triggers.on_tracking_event")
        TAG_ADDED_HOOKS.register("peyvand.journeys.triggers.on_tag_added")
        SIGNUP_CONFIRMED_HOOKS.register("peyvand.journeys.triggers.on_signup_confirmed")
        CART_ABANDONED_HOOKS.register("peyvand.journeys.triggers.on_cart_abandoned")
        INBOUND_REPLY_HOOKS.register("peyvand.journeys.triggers.on_inbound_reply")
        # A merged contact's enrolments follow them (merge.py).
        MERGE_HOOKS.register("peyvand.journeys.merge.move_enrolments")
        from peyvand.journeys import timeline

        timeline.register(self.label)
