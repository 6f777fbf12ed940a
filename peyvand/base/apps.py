from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BaseConfig(AppConfig):
    name = "peyvand.base"
    label = "base"
    verbose_name = _("Base")

    def ready(self) -> None:
        from peyvand.base.roles import OWNER, register_capabilities

        register_capabilities(self.label, {"audit.view": {OWNER}, "shop.manage": {OWNER}})
