from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MailcatcherConfig(AppConfig):
    name = "peyvand.mailcatcher"
    label = "mailcatcher"
    verbose_name = _("Caught mail")
