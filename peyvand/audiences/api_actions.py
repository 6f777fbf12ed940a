"""REST API for acting on people in bulk (audiences.bulk): start an action, then poll its job.

POST /segments/{id}/actions  {"action", "params"}            -> 202 {"job", "status"}
POST /segments/actions       {"action", "target", "params"}  -> 202 {"job", "status"}
GET  /segments/actions/{job} -> its status, progress and result

Mounted by audiences' api.py (`router.add_router("", actions_router)`).
"""

from __future__ import annotations

from typing import Any

from ninja import Field, Router, Schema

from peyvand.api_common import ERRORS, Body, ErrorOut, Status, api_actor
from peyvand.audiences.bulk import do_start_bulk_action, job_of
from peyvand.base.models import Job

router = Router()  # mounted in audiences.api, whose tag it takes

ACTION_DOC = ("tag / untag (params {\"tag\": name}), export (params {\"format\": \"csv\" | "
              "\"xlsx\"}), broadcast (params {\"template\": id or name, \"exclude_segments\"?, "
              "\"exclude_tags\"?})")


class ActionIn(Body):
    action: str = Field(..., description=ACTION_DOC)
    params: dict[str, Any] = {}


class TargetActionIn(ActionIn):
    target: dict[str, Any] = Field(..., description=(
        "one of {\"segment\": id}, {\"rules\": rule}, {\"contacts\": [ids]}, "
        "{\"contact_search\": {\"q\", \"tag\", \"field\", \"op\", \"value\"}}"))


class JobOut(Schema):
    job: int
    status: str
    kind: str
    label: str
    progress: int
    total: int | None
    result: dict[str, Any]
    error: str


def _job_out(job: Job) -> dict[str, Any]:
    result = {k: v for k, v in (job.result or {}).items() if k != "path"}  # a server path
    return {"job": job.pk, "status": job.status, "kind": job.kind, "label": job.kind_label,
            "progress": job.progress, "total": job.total, "result": result,
            "error": job.error}


@router.post("/segments/actions", response={202: JobOut, ERRORS: ErrorOut})
def act_on_target(request, payload: TargetActionIn):
    """Act on a segment, an unsaved rule, chosen contacts or a contact search. The people are
    taken when the job starts; poll GET /segments/actions/{job}."""
    job = do_start_bulk_action(api_actor(request), action=payload.action,
                               target=payload.target, params=payload.params)
    return Status(202, _job_out(job))


@router.get("/segments/actions/{int:job_id}", response={200: JobOut, ERRORS: ErrorOut})
def action_status(request, job_id: int):
    job = job_of(api_actor(request), job_id)
    return _job_out(job)


@router.post("/segments/{int:segment_id}/actions", response={202: JobOut, ERRORS: ErrorOut})
def act_on_segment(request, segment_id: int, payload: ActionIn):
    """Act on the people of a segment (its members when the job starts)."""
    job = do_start_bulk_action(api_actor(request), action=payload.action,
                               target={"segment": segment_id}, params=payload.params)
    return Status(202, _job_out(job))
