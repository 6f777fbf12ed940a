"""Reads on imports: who may see an import job, and what a page or the API shows of it."""

from __future__ import annotations

from typing import Any

from django.http import Http404

from peyvand.base.actor import Actor
from peyvand.base.language import local_digits
from peyvand.base.models import Job
from peyvand.base.roles import can, require
from peyvand.imports.contacts import JOB_KIND, report_path_for
from peyvand.imports.jobs import ORDERS_KIND
from peyvand.imports.order_plan import OrderPlan

# What seeing an import of each kind takes: what starting one takes.
KIND_CAPABILITIES = {JOB_KIND: ("contacts.edit",),
                     ORDERS_KIND: ("contacts.edit", "commerce.edit")}


def import_jobs(actor: Actor, kinds: tuple[str, ...] | None = None):
    """Imports this actor may see (of `kinds`, default every kind): of the kinds their role
    may start, their own; the owner (who reads the audit log) sees all."""
    require(actor, "contacts.edit")
    allowed = [kind for kind, needs in KIND_CAPABILITIES.items()
               if (kinds is None or kind in kinds) and all(can(actor, c) for c in needs)]
    jobs = Job.objects.filter(kind__in=allowed)
    if can(actor, "audit.view"):
        return jobs
    return jobs.filter(created_by=actor.user) if actor.user is not None else jobs.none()


def access_import_job(actor: Actor, job_id: Any) -> Job:
    """The import job, if the actor may see it; 404 for missing and forbidden alike."""
    try:
        pk = int(job_id)
    except (TypeError, ValueError):
        raise Http404
    job = import_jobs(actor).filter(pk=pk).first()
    if job is None:
        raise Http404
    return job


def rejected_report(job: Job):
    """The rejected-rows CSV of a finished import, or 404."""
    path = report_path_for(job)
    if job.status != Job.Status.DONE or path is None or not path.is_file():
        raise Http404
    return path


def job_status(job: Job) -> dict[str, Any]:
    """What the progress page polls and the API returns."""
    result = job.result or {}
    totals = result.get("totals") or {}
    consent = result.get("consent")  # when the file brought subscriptions
    done = job.status == Job.Status.DONE
    if done:
        percent: int | None = 100
    else:
        percent = job.percent
    return {
        "id": job.pk,
        "kind": job.kind,
        "status": job.status,
        "progress": percent,
        "totals": totals,
        "filename": job.params.get("filename", ""),
        "error": job.error,
        "consent": consent,
        # Rejected rows, and imported rows whose subscription was not recorded as given.
        "has_report": bool(done and (totals.get("rejected")
                                     or (consent or {}).get("not_subscribed"))),
        "finished": job.status in (Job.Status.DONE, Job.Status.FAILED),
        # How an order file was read (columns, ignored, currency, dates), in today's language.
        "notes": (OrderPlan.from_result(result).lines(hints=False, digits=local_digits)
                  if job.kind == ORDERS_KIND and done and result.get("targets") else []),
    }
