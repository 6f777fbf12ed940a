"""Every write insights makes: refreshes (full, per contact, queued) and its rules.

Orders move their buyer's figures as they arrive: commerce runs `on_order_changed` (registered
in its ORDER_CHANGED_HOOKS) once an order or refund has committed, which queues
`tasks.refresh_contact_task`; `refresh_contact(contact_id)` is the same work, synchronous.
A full refresh runs nightly and on demand.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from peyvand.base.actor import Actor
from peyvand.base.audit import record_audit
from peyvand.base.dates import parse_date
from peyvand.base.jobs import create_job, fail_job, finish_job, job_actor, start_job
from peyvand.base.models import Job
from peyvand.base.normalise import InvalidValue
from peyvand.base.queue import enqueue_on_commit
from peyvand.base.roles import require
from peyvand.commerce.models import Order, Refund
from peyvand.insights import pipeline
from peyvand.insights.models import CustomerMetrics, InsightSettings, RefreshRun

log = logging.getLogger(__name__)

REFRESH_JOB = "insights.refresh"
# Fields of InsightSettings people may edit (all but bookkeeping).
EDITABLE = [f.name for f in InsightSettings._meta.get_fields()
            if f.name not in ("id", "updated_at", "updated_by_label")]


def get_settings() -> InsightSettings:
    settings, _created = InsightSettings.objects.get_or_create(pk=1)
    return settings


def latest_run() -> RefreshRun | None:
    return RefreshRun.objects.filter(finished_at__isnull=False).order_by("-finished_at",
                                                                         "-id").first()


def check_as_of(value: Any) -> dt.date:
    """A past or present day (Jalali or Gregorian, any digits); today when empty."""
    day = parse_date(value, "as_of") if value not in (None, "") else None
    today = timezone.localdate()
    if day is None:
        return today
    if day > today:
        raise InvalidValue("as_of", _("Insights can be computed as of today or a past day, "
                                      "not a future one."), value)
    return day


# --- refreshes ----------------------------------------------------------------------------------

def refresh_all(actor: Actor, as_of: Any = None) -> RefreshRun:
    """Recompute every contact as of the end of `as_of` (default today): later orders,
    refunds and events are ignored, so a past period can be analysed and back-tested (the
    next nightly refresh brings every row back to today)."""
    require(actor, "insights.configure")
    day = check_as_of(as_of)
    started = timezone.now()
    run = pipeline.run_full(day, get_settings(), actor_label=actor.label)
    if day == timezone.localdate():
        # Orders that arrived while the refresh read the tables: bring their buyers up to date.
        changed = set(Order.objects.filter(updated_at__gte=started)
                      .values_list("contact_id", flat=True))
        changed |= set(Refund.objects.filter(created_at__gte=started)
                       .values_list("order__contact_id", flat=True))
        if changed:
            refresh_contacts(sorted(changed))
    return run


def refresh_contacts(contact_ids: Iterable[int]) -> int:
    """Recompute these contacts with the population of the latest full refresh; returns how
    many rows were written. Before the first full refresh (nightly, or "Refresh now") there
    are no RFM bins or model to place anyone with, so nothing is written.
    """
    ids: Sequence[int] = sorted({int(i) for i in contact_ids})
    run = latest_run() if ids else None
    if run is None:
        return 0
    return pipeline.run_contacts(ids, get_settings(), run.population, timezone.localdate())


def refresh_contact(contact_id: int) -> bool:
    """Bring one contact's metrics up to date (call after an order or refund commits)."""
    return refresh_contacts([contact_id]) > 0


def on_order_changed(contact_id: int) -> None:
    """commerce hook, run once an order or refund of this buyer has committed: recompute
    them in the background. Never fails the request that saved the order."""
    from peyvand.insights.tasks import refresh_contact_task

    try:
        refresh_contact_task(contact_id)
    except Exception:
        log.exception("could not queue the insights refresh of contact %s", contact_id)


# An import touching more buyers than this refreshes everyone: the population (RFM bins,
# the model) moves with that much history, and one pass is cheaper than many small ones.
IMPORT_FULL_REFRESH = 500


def on_orders_imported(contact_ids: list[int]) -> None:
    """commerce hook, once per order import after it committed: one background refresh of
    these buyers, or of everyone when the import brought many."""
    from peyvand.insights.tasks import refresh_after_import_task

    try:
        refresh_after_import_task(list(contact_ids) if len(contact_ids) <= IMPORT_FULL_REFRESH
                                  else None)
    except Exception:
        log.exception("could not queue the insights refresh after an order import")


def refresh_after_import(contact_ids: list[int] | None) -> None:
    if contact_ids is None:
        refresh_all(Actor.system("insights"))
    else:
        refresh_contacts(contact_ids)


def queue_refresh(actor: Actor, as_of: Any = None) -> Job:
    """A full refresh in the background, visible on the jobs page."""
    require(actor, "insights.configure")
    day = check_as_of(as_of)
    job = create_job(actor, REFRESH_JOB, {"as_of": day.isoformat()})
    from peyvand.insights.tasks import refresh_job_task

    enqueue_on_commit(refresh_job_task, job.pk)
    return job


def run_refresh_job(job_id: int) -> None:
    job = Job.objects.get(pk=job_id)
    start_job(job)
    try:
        run = refresh_all(job_actor(job), job.params.get("as_of"))
    except Exception as exc:
        log.exception("insights refresh job %s failed", job_id)
        fail_job(job, str(exc) or exc.__class__.__name__)
        return
    finish_job(job, {"run": run.pk, "contacts": run.contacts, "customers": run.customers,
                     "seconds": round(run.seconds, 1)})


# --- rules --------------------------------------------------------------------------------------

@transaction.atomic
def do_save_settings(actor: Actor, values: dict[str, Any]) -> InsightSettings:
    """Change the rules; the next refresh applies them. Raises ValidationError."""
    require(actor, "insights.configure")
    rules = InsightSettings.objects.select_for_update().filter(pk=1).first() or \
        get_settings()
    unknown = set(values) - set(EDITABLE)
    if unknown:
        raise ValidationError({k: _("Unknown setting.") for k in sorted(unknown)})
    before = {k: getattr(rules, k) for k in values}
    for name, value in values.items():
        setattr(rules, name, value)
    rules.full_clean()
    errors = {}
    if not 1 <= rules.rfm_bins <= 10:
        errors["rfm_bins"] = _("Between 1 and 10 bins.")
    if not 1 <= rules.top_percent <= 99:
        errors["top_percent"] = _("A share from 1 to 99 percent.")
    if rules.growable_ratio < 0:
        errors["growable_ratio"] = _("Cannot be negative.")
    if not 0 <= rules.discount_rate < 1:
        errors["discount_rate"] = _("A yearly rate from 0 to 0.99 (0.15 is 15%).")
    if not 1 <= rules.horizon_weeks <= 520:
        errors["horizon_weeks"] = _("From 1 to 520 weeks.")
    if rules.holdout_weeks > 260:
        errors["holdout_weeks"] = _("At most 260 weeks.")
    if rules.engagement_half_life_days < 1:
        errors["engagement_half_life_days"] = _("At least one day.")
    for name in ("cost_per_order", "cost_per_return", "cost_per_ticket"):
        if getattr(rules, name) < 0:
            errors[name] = _("Cannot be negative.")
    if errors:
        raise ValidationError(errors)
    rules.updated_by_label = actor.label
    rules.save()
    changed = {k: [str(before[k]), str(getattr(rules, k))] for k in values
               if before[k] != getattr(rules, k)}
    if changed:
        record_audit(actor, "insights.settings", target_type="insight_settings", target_id=1,
                     summary=", ".join(sorted(changed)), details={"changed": changed})
    return rules


# --- hooks the contacts floor calls -------------------------------------------------------------

def on_merge(survivor_id: int, merged_id: int) -> None:
    """contacts merge hook: the survivor now holds both histories; recompute it once the
    merge commits (the merged contact's row goes with it)."""
    CustomerMetrics.objects.filter(contact_id=merged_id).delete()
    transaction.on_commit(lambda: refresh_contact(survivor_id))
