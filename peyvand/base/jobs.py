"""Small helpers around the Job row: create it, report progress, finish or fail it.

Progress and status are written with queryset updates so a worker never overwrites fields
another process changed, and so a progress tick is one cheap UPDATE.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone

from peyvand.base.activity_labels import job_kind_fallback
from peyvand.base.actor import Actor
from peyvand.base.models import Job
from peyvand.base.scrub import Needles, stored_text_filter

# kind -> what the jobs page calls it: a label, or a function of the job (to name what it
# does, "Tag 120 people"); apps register theirs from ready(). Unregistered kinds show as code.
JOB_KINDS: dict[str, Any] = {}


def register_job_kind(kind: str, label: Any) -> None:
    JOB_KINDS[kind] = label


def job_kind_label(job: Job) -> str:
    label = JOB_KINDS.get(job.kind)
    if label is None:
        return job_kind_fallback(job.kind)
    return str(label(job) if callable(label) else label)


logger = logging.getLogger(__name__)

# Actors without a user row (CLI operator, system) are rebuilt from these when the job runs.
_USERLESS_VIA = ("cli", "system")


def create_job(actor: Actor, kind: str, params: dict[str, Any] | None = None, *,
               total: int | None = None) -> Job:
    params = dict(params or {})
    if actor.user is None:
        params["_actor"] = {"role": actor.role, "via": actor.via, "label": actor.label}
    else:
        params["_actor"] = {"via": actor.via}
    return Job.objects.create(kind=kind, created_by=actor.user, params=params, total=total)


def job_actor(job: Job) -> Actor:
    """Who the job acts as, re-read now: a user's current role applies, not the one at queueing."""
    info = job.params.get("_actor") or {}
    if job.created_by_id is not None:
        user = get_user_model().objects.select_related("profile").get(pk=job.created_by_id)
        return Actor.for_user(user, info.get("via") or "ui")
    if info.get("via") in _USERLESS_VIA:
        return Actor(user=None, role=info.get("role", ""), via=info["via"],
                     label=info.get("label", ""))
    # The user was deleted after queueing: nobody to act as.
    return Actor(user=None, role="", via="system", label="")


def take_job(job_id: int, kind: str) -> tuple[Job | None, dict[str, Any] | None]:
    """A task's first step: (the queued job, now started, None); or (None, what the task
    returns) when there is no such job (None) or it was delivered twice (its result), so the
    work is never done twice."""
    job = Job.objects.filter(pk=job_id, kind=kind).first()
    if job is None:
        logger.warning("%s job %s does not exist", kind, job_id)
        return None, None
    if job.status != Job.Status.QUEUED:
        return None, job.result
    start_job(job)
    return job, None


def start_job(job: Job) -> None:
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING, progress=0, error="")
    job.status, job.progress, job.error = Job.Status.RUNNING, 0, ""


def set_progress(job: Job, progress: int, total: int | None = None) -> None:
    values: dict[str, Any] = {"progress": progress}
    if total is not None:
        values["total"] = total
        job.total = total
    Job.objects.filter(pk=job.pk).update(**values)
    job.progress = progress


def finish_job(job: Job, result: dict[str, Any] | None = None) -> None:
    now = timezone.now()
    values: dict[str, Any] = {"status": Job.Status.DONE, "finished_at": now,
                              "result": result or {}}
    if job.total is not None:
        values["progress"] = job.total
        job.progress = job.total
    Job.objects.filter(pk=job.pk).update(**values)
    job.status, job.finished_at, job.result = Job.Status.DONE, now, result or {}


def fail_job(job: Job, error: str) -> None:
    now = timezone.now()
    Job.objects.filter(pk=job.pk).update(status=Job.Status.FAILED, finished_at=now,
                                         error=error[:2000])
    job.status, job.finished_at, job.error = Job.Status.FAILED, now, error[:2000]


def forget_in_jobs(needles: Needles) -> int:
    """Erasure: job rows (parameters, results, errors) that name the person by address;
    returns how many changed."""
    if not needles:
        return 0
    query = (stored_text_filter(needles, "params") | stored_text_filter(needles, "result")
             | stored_text_filter(needles, "error"))
    changed = 0
    for pk, params, result, error in Job.objects.filter(query).values_list(
            "pk", "params", "result", "error"):
        new = (needles.scrub(params), needles.scrub(result), needles.scrub(error))
        if new != (params, result, error):
            Job.objects.filter(pk=pk).update(params=new[0], result=new[1], error=new[2])
            changed += 1
    return changed
