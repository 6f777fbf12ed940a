from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ContactsConfig(AppConfig):
    name = "peyvand.contacts"
    label = "contacts"
    verbose_name = _("Contacts")

    def ready(self) -> None:
        from peyvand.base.roles import ALL, MARKETER, OWNER, SUPPORT, register_capabilities

        register_capabilities(self.label, {
            "contacts.view": ALL,
            "contacts.edit": {OWNER, MARKETER, SUPPORT},
            "contacts.merge": {OWNER, MARKETER, SUPPORT},
            # Personal data leaving the system, or being destroyed: the owner answers for
            # it (E6).
            "contacts.export": {OWNER},
            "contacts.erase": {OWNER},
            "schema.manage": {OWNER, MARKETER},  # tags and custom fields
        })

        from peyvand.contacts.hooks import ERASE_COPIES_HOOKS

        # Export files already written lose an erased person's rows.
        ERASE_COPIES_HOOKS.register("peyvand.contacts.export.erase_from_exports")

        from peyvand.contacts.templatetags.timeline import register_contact_kinds

        register_contact_kinds()
