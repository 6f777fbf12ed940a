from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "peyvand.accounts"
    label = "accounts"
    verbose_name = _("Users and roles")

    def ready(self) -> None:
        from peyvand.base.roles import OWNER, register_capabilities

        register_capabilities(self.label, {"users.manage": {OWNER}})
