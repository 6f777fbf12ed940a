"""Acting on many people at once: tag, untag, export or send a broadcast to a segment, a rule
not saved yet, contacts ticked on a list, or everyone a contact search matches.

Each action is a background job (the jobs page lists it with its progress). The members are
taken when the job starts (its snapshot): whoever joins the segment while it runs is not acted
on, and the job's total and result count that set. A broadcast's own snapshot is taken when it
is queued (messaging.broadcast): a segment goes to it as a segment, anything else as the
contacts resolved here.

Roles: segments.act, and the action's own capability on top (contacts.edit to tag,
contacts.export to export, messages.send for a broadcast); checked when the job is asked for
and again, as the person's role is now, when it runs. Audited with counts, never addresses.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from peyvand.audiences.models import Segment
from peyvand.audiences.queries import count_of, matching
from peyvand.base.actor import Actor
from peyvand.base.audit import record_audit
from peyvand.base.errors import Invalid
from peyvand.base.jobs import (
    create_job,
    fail_job,
    finish_job,
    job_actor,
    register_job_kind,
    set_progress,
    take_job,
)
from peyvand.base.models import Job
from peyvand.base.normalise import normalise_text
from peyvand.base.queue import enqueue_on_commit
from peyvand.base.roles import require
from peyvand.contacts.models import Contact, Tag

logger = logging.getLogger(__name__)

JOB_KIND = "segments.action"
# Each action's own capability, checked on top of segments.act.
CAPABILITIES = {"tag": "contacts.edit", "untag": "contacts.edit",
                "export": "contacts.export", "broadcast": "messages.send"}
EXPORT_FORMATS = ("csv", "xlsx")
TARGETS = ("segment", "rules", "contacts", "contact_search")
SEARCH_KEYS = ("q", "tag", "field", "op", "value")
CHUNK = 500
MAX_CHOSEN = 50000  # ticked ids travel in the request and the job's parameters

ACTION_LABELS = {"tag": gettext_lazy("Tag people"), "untag": gettext_lazy("Untag people"),
                 "export": gettext_lazy("Export people"),
                 "broadcast": gettext_lazy("Broadcast to people")}


# --- targets ---------------------------------------------------------------------------------

def check_target(actor: Actor, target: Any) -> dict[str, Any]:
    """The target cleaned: exactly one of segment, rules, contacts, contact_search."""
    if not isinstance(target, dict) or len(target) != 1 or next(iter(target)) not in TARGETS:
        raise Invalid({"target": _("Say whom to act on: a segment, a rule, chosen contacts or "
                                   "a contact search.")})
    kind, value = next(iter(target.items()))
    if kind == "segment":
        try:
            pk = int(value)
        except (TypeError, ValueError):
            pk = 0
        if not Segment.objects.filter(pk=pk).exists():
            raise Invalid({"segment": _("There is no segment #%(id)s.") % {"id": value}})
        return {"segment": pk}
    if kind == "rules":
        matching(value)  # refuses a rule that does not compile, naming where
        return {"rules": value}
    if kind == "contacts":
        values = value if isinstance(value, list) else [value]
        try:
            ids = sorted({int(v) for v in values})
        except (TypeError, ValueError):
            raise Invalid({"contacts": _("Choose contacts by their numbers.")})
        if not ids:
            raise Invalid({"contacts": _("Choose at least one contact.")})
        if len(ids) > MAX_CHOSEN:
            raise Invalid({"contacts": _("At most %(n)d contacts can be chosen one by one; "
                                         "use a segment instead.") % {"n": MAX_CHOSEN}})
        return {"contacts": ids}
    if not isinstance(value, dict) or set(value) - set(SEARCH_KEYS):
        raise Invalid({"contact_search": _("A contact search has q, tag, field, op and value.")})
    search = {k: str(value[k]) for k in SEARCH_KEYS if value.get(k) not in (None, "")}
    _search(actor, search)  # refuses an unknown field or a value it cannot compare
    return {"contact_search": search}


def _search(actor: Actor, search: dict[str, str]) -> QuerySet:
    from peyvand.contacts.queries import search_contacts

    return search_contacts(actor, q=search.get("q", ""), tag=search.get("tag", ""),
                           field=search.get("field", ""), op=search.get("op", "eq"),
                           value=search.get("value", ""))


def target_members(actor: Actor, target: dict[str, Any]) -> QuerySet:
    """Live contacts of a cleaned target, now."""
    if "segment" in target:
        segment = Segment.objects.get(pk=target["segment"])
        return matching(segment.rules, segment_id=segment.pk)
    if "rules" in target:
        return matching(target["rules"])
    if "contacts" in target:
        return Contact.objects.live().filter(pk__in=target["contacts"])
    # search_contacts may join identities (a phone number): distinct ids only.
    found = _search(actor, target["contact_search"]).values("pk")
    return Contact.objects.live().filter(pk__in=found)


def count_target(actor: Actor, target: Any) -> int:
    """How many people the target holds now (the confirm page asks before acting)."""
    require(actor, "segments.view")
    return count_of(target_members(actor, check_target(actor, target)))


def _segment_name(target: dict[str, Any]) -> str:
    if "segment" not in target:
        return ""
    return Segment.objects.filter(pk=target["segment"]).values_list("name", flat=True).first() \
        or f"#{target['segment']}"


# --- parameters ------------------------------------------------------------------------------

def _template(value: Any):
    from peyvand.messaging.models import MessageClass, MessageTemplate

    template = None
    if isinstance(value, int) or str(value or "").isdigit():
        template = MessageTemplate.objects.filter(pk=int(value)).first()
    if template is None and value:
        template = MessageTemplate.objects.filter(name=str(value)).first()
    if template is None:
        raise Invalid({"template": _("Choose a message template.")})
    if template.message_class != MessageClass.MARKETING:
        raise Invalid({"template": _("A broadcast sends a marketing template; “%(name)s” is "
                                     "not one.") % {"name": template.name}})
    return template


def check_params(actor: Actor, action: str, params: Any) -> dict[str, Any]:
    params = params if isinstance(params, dict) else {}
    if action in ("tag", "untag"):
        name = normalise_text(str(params.get("tag") or ""))
        if not name:
            raise Invalid({"tag": _("Give a tag name.")})
        if action == "untag" and not Tag.objects.named(name).exists():
            raise Invalid({"tag": _("There is no tag named “%(name)s”.") % {"name": name}})
        if action == "tag":
            from peyvand.contacts.actions import ContactInvalid, check_new_tags

            try:
                check_new_tags(actor, [name])
            except ContactInvalid as exc:
                raise Invalid({"tag": exc.errors["tags"]}) from exc
        return {"tag": name}
    if action == "export":
        fmt = params.get("format") or "csv"
        if fmt not in EXPORT_FORMATS:
            raise Invalid({"format": _("Export as csv or xlsx.")})
        return {"format": fmt}
    template = _template(params.get("template"))
    clean: dict[str, Any] = {"template": template.pk}
    for key in ("exclude_segments", "exclude_tags"):
        if params.get(key):
            clean[key] = params[key]
    return clean


# --- starting --------------------------------------------------------------------------------

@transaction.atomic
def do_start_bulk_action(actor: Actor, *, action: str, target: Any,
                         params: Any = None) -> Job:
    """Queue the action on the target's people; the worker takes their snapshot when it
    starts, once this transaction has committed."""
    require(actor, "segments.act")  # before anything about the input is said
    if action not in CAPABILITIES:
        raise Invalid({"action": _("Choose tag, untag, export or broadcast.")})
    require(actor, CAPABILITIES[action])
    clean_target = check_target(actor, target)
    clean_params = check_params(actor, action, params)
    job = create_job(actor, JOB_KIND, {"action": action, "target": clean_target,
                                       "params": clean_params})
    from peyvand.audiences.tasks import bulk_action_task

    enqueue_on_commit(bulk_action_task, job.pk)
    return job


def do_bulk_action_now(actor: Actor, *, action: str, target: Any, params: Any = None) -> Job:
    """The same, run here and now (the CLI): the job is still recorded, with its outcome."""
    with transaction.atomic():
        require(actor, "segments.act")
        if action not in CAPABILITIES:
            raise Invalid({"action": _("Choose tag, untag, export or broadcast.")})
        require(actor, CAPABILITIES[action])
        job = create_job(actor, JOB_KIND, {"action": action,
                                           "target": check_target(actor, target),
                                           "params": check_params(actor, action, params)})
    run_bulk_action(job.pk)
    job.refresh_from_db()
    return job


def export_to_file(actor: Actor, target: Any, fmt: str, path: Path | str) -> int:
    """Write the target's people (taken now) to `path` (the CLI); audited; returns how many
    were written."""
    from peyvand.contacts.export import write_export_file

    require(actor, "segments.act")
    require(actor, "contacts.export")
    clean = check_target(actor, target)
    fmt = check_params(actor, "export", {"format": fmt})["format"]
    ids = snapshot(actor, clean)
    written = write_export_file(actor, fmt, path, ids=ids)
    record_audit(actor, "segments.export", target_type="segment" if "segment" in clean
                 else "contact", target_id=clean.get("segment", ""),
                 summary=f"export {len(ids)} contacts",
                 details={"action": "export", "count": len(ids), "written": written,
                          "format": fmt, "target": next(iter(clean))})
    return written


# --- running ---------------------------------------------------------------------------------

def snapshot(actor: Actor, target: dict[str, Any]) -> list[int]:
    """The ids the job acts on: its target's members at this moment."""
    return list(target_members(actor, target).order_by("pk").values_list("pk", flat=True))


def run_bulk_action(job_id: int) -> dict[str, Any] | None:
    """Body of the task: take the snapshot, act on it chunk by chunk, record the outcome."""
    job, done = take_job(job_id, JOB_KIND)
    if job is None:
        return done
    action, target, params = job.params["action"], job.params["target"], job.params["params"]
    try:
        actor = job_actor(job)
        require(actor, "segments.act")
        require(actor, CAPABILITIES[action])
        ids = snapshot(actor, target)
        set_progress(job, 0, len(ids))
        result = RUNNERS[action](job, actor, ids, target, params)
    except (PermissionDenied, Invalid) as exc:
        fail_job(job, str(getattr(exc, "reason", "") or exc))
        return None
    except Exception as exc:
        logger.exception("bulk action job %s failed", job.pk)
        fail_job(job, _("The action failed: %(error)s") % {"error": exc})
        return None
    result = {"action": action, "count": len(ids), **result}
    audit = {k: v for k, v in result.items() if k not in ("path", "filename")}
    record_audit(actor, f"segments.{action}", target_type="segment" if "segment" in target
                 else "contact", target_id=target.get("segment", ""),
                 summary=f"{action} {len(ids)} contacts"[:300],
                 details={**audit, "target": next(iter(target)), "job": job.pk})
    finish_job(job, result)
    return job.result


def _tag(job: Job, actor: Actor, ids: list[int], target: dict[str, Any],
         params: dict[str, Any], *, remove: bool = False) -> dict[str, Any]:
    from peyvand.contacts.actions import do_tag_contacts

    changed = 0
    for start in range(0, len(ids), CHUNK):
        with transaction.atomic():
            changed += do_tag_contacts(actor, ids[start:start + CHUNK], params["tag"],
                                       remove=remove)
        set_progress(job, min(len(ids), start + CHUNK))
    return {"tag": params["tag"], "changed": changed}


def _untag(job: Job, actor: Actor, ids: list[int], target: dict[str, Any],
           params: dict[str, Any]) -> dict[str, Any]:
    return _tag(job, actor, ids, target, params, remove=True)


def _export(job: Job, actor: Actor, ids: list[int], target: dict[str, Any],
            params: dict[str, Any]) -> dict[str, Any]:
    from peyvand.contacts.export import write_export_file

    fmt = params["format"]
    export_dir = Path(settings.EXPORT_DIR)
    export_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    what = f"segment-{target['segment']}" if "segment" in target else "contacts"
    name = f"{what}-{job.pk}-{timezone.now():%Y%m%d-%H%M%S}.{fmt}"
    written = write_export_file(actor, fmt, export_dir / name, ids=ids,
                                progress=lambda done, _total: set_progress(job, done))
    return {"path": str(export_dir / name), "filename": name, "written": written,
            "format": fmt}


def _broadcast(job: Job, actor: Actor, ids: list[int], target: dict[str, Any],
               params: dict[str, Any]) -> dict[str, Any]:
    from peyvand.messaging.actions import do_create_broadcast

    # A segment stays a segment: the broadcast resolves it when it is queued (after approval,
    # if it waits). Anything else goes as the people resolved now.
    spec: dict[str, Any] = ({"segments": [target["segment"]]} if "segment" in target
                            else {"contacts": ids})
    spec.update({k: v for k, v in params.items() if k.startswith("exclude_")})
    with transaction.atomic():
        item = do_create_broadcast(actor, params["template"], audience=spec)
    set_progress(job, len(ids))
    return {"broadcast": item.pk, "broadcast_status": item.status,
            "queued": item.queued_count}


RUNNERS = {"tag": _tag, "untag": _untag, "export": _export, "broadcast": _broadcast}


def job_label(job: Job) -> str:
    """The jobs page's name for one: what it does, and to which segment."""
    params = job.params or {}
    label = str(ACTION_LABELS.get(params.get("action", ""), _("Act on people")))
    name = _segment_name(params.get("target") or {})
    return f"{label} · {name}" if name else label


def register() -> None:
    """From AudiencesConfig.ready: the jobs page names these jobs."""
    register_job_kind(JOB_KIND, job_label)


def job_of(actor: Actor, job_id: Any) -> Job:
    """One of these jobs, as the jobs page shows it: the actor's own, or anyone's for who
    reads the audit log; 404 otherwise."""
    from django.http import Http404

    from peyvand.base.roles import can

    require(actor, "segments.view")
    jobs = Job.objects.filter(kind=JOB_KIND)
    if not can(actor, "audit.view"):
        jobs = jobs.filter(created_by=actor.user) if actor.user else jobs.none()
    try:
        return jobs.get(pk=int(job_id))
    except (Job.DoesNotExist, TypeError, ValueError):
        raise Http404 from None
