"""Contact-strategy rules (F1 caps, F2 spacing, F3 content caps, F6 quiet hours): read, edit."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connection, transaction
from django.utils.translation import gettext as _

from peyvand.base.actor import Actor
from peyvand.base.audit import record_audit
from peyvand.base.roles import require
from peyvand.messaging.models import Channel, StrategyRule


class RuleInvalid(Exception):
    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


def active_rules() -> list[StrategyRule]:
    # The sender asks for every chunk of messages and building the query costs far more than
    # running it: the SQL is made once per database kind, the rows are read fresh every time.
    sql = _ACTIVE_SQL.get(connection.vendor)
    if sql is None:
        sql = _ACTIVE_SQL[connection.vendor] = \
            StrategyRule.objects.filter(active=True).query.sql_with_params()
    return list(StrategyRule.objects.raw(*sql))


_ACTIVE_SQL: dict[str, tuple[str, tuple[Any, ...]]] = {}


def _positive(raw: dict, name: str, errors: dict, required: bool) -> int | None:
    value = raw.get(name)
    if value in (None, ""):
        if required:
            errors[name] = _("This field is required.")
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        errors[name] = _("Enter a whole number.")
        return None
    if number < 1:
        errors[name] = _("Enter a number of at least 1.")
        return None
    return number


def _time(raw: dict, name: str, errors: dict) -> dt.time | None:
    value = str(raw.get(name) or "").strip()
    try:
        return dt.time.fromisoformat(value)
    except ValueError:
        errors[name] = _("Enter a time such as 22:00.")
        return None


def check_rule(raw: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, str] = {}
    kind = str(raw.get("kind") or "")
    if kind not in StrategyRule.Kind.values:
        errors["kind"] = _("Choose a kind of rule.")
    channel = str(raw.get("channel") or "")
    if channel and channel not in Channel.values:
        errors["channel"] = _("Choose a channel.")
    clean: dict[str, Any] = {"kind": kind, "channel": channel, "content_type": "",
                             "max_count": None, "period_hours": None, "spacing_minutes": None,
                             "quiet_start": None, "quiet_end": None,
                             "active": str(raw.get("active", "1")).lower() not in
                             ("", "0", "false", "off", "no")}
    if kind in (StrategyRule.Kind.CAP, StrategyRule.Kind.CONTENT_CAP):
        clean["max_count"] = _positive(raw, "max_count", errors, True)
        clean["period_hours"] = _positive(raw, "period_hours", errors, True)
    if kind == StrategyRule.Kind.CONTENT_CAP:
        clean["content_type"] = str(raw.get("content_type") or "").strip()[:64]
        if not clean["content_type"]:
            errors["content_type"] = _("This field is required.")
    if kind == StrategyRule.Kind.SPACING:
        clean["spacing_minutes"] = _positive(raw, "spacing_minutes", errors, True)
    if kind == StrategyRule.Kind.QUIET:
        clean["quiet_start"] = _time(raw, "quiet_start", errors)
        clean["quiet_end"] = _time(raw, "quiet_end", errors)
        if not errors and clean["quiet_start"] == clean["quiet_end"]:
            errors["quiet_end"] = _("Quiet hours must end at another time than they start.")
    if errors:
        raise RuleInvalid(errors)
    return clean


@transaction.atomic
def do_save_rule(actor: Actor, raw: dict[str, Any], rule: StrategyRule | None = None) \
        -> StrategyRule:
    require(actor, "messages.author")
    clean = check_rule(raw)
    rule = rule or StrategyRule()
    for key, value in clean.items():
        setattr(rule, key, value)
    rule.save()
    record_audit(actor, "messaging.rule_saved", target_type="strategy_rule", target_id=rule.pk,
                 summary=str(rule))
    return rule


@transaction.atomic
def do_delete_rule(actor: Actor, rule: StrategyRule) -> None:
    require(actor, "messages.author")
    record_audit(actor, "messaging.rule_deleted", target_type="strategy_rule",
                 target_id=rule.pk, summary=str(rule))
    rule.delete()
