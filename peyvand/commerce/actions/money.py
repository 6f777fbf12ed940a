"""The shop's money settings: the unit rial amounts are shown in."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from peyvand.base.actor import Actor
from peyvand.base.audit import record_audit
from peyvand.base.roles import require
from peyvand.commerce.actions.checks import CommerceInvalid
from peyvand.commerce.models import MoneySettings
from peyvand.commerce.money import forget_display_unit


def money_settings() -> MoneySettings:
    return MoneySettings.objects.filter(pk=1).first() or MoneySettings(pk=1)


@transaction.atomic
def do_save_money_settings(actor: Actor, display_unit: str) -> MoneySettings:
    """Set once for the whole shop; every page, chart and export header follows."""
    require(actor, "shop.settings")
    if display_unit not in MoneySettings.Unit.values:
        raise CommerceInvalid({"display_unit": _("Choose toman or rial.")})
    row = money_settings()
    before = row.display_unit if row.pk and MoneySettings.objects.filter(pk=1).exists() \
        else ""
    row.display_unit = display_unit
    row.save()
    transaction.on_commit(forget_display_unit)
    forget_display_unit()
    if before != display_unit:
        record_audit(actor, "shop.money_settings", target_type="money_settings",
                     target_id=1, summary=display_unit)
    return row
