"""REST API for imports: start a contact import (async), then poll its job.

POST /imports/contacts      multipart: file, optional mapping (JSON {column: field}), tag,
                            subscriptions (JSON, owner only: attestation, evidence, status,
                            channel, topics; see imports.subscriptions)
                            -> 202 {"job_id": N, "status_url": "..."}
GET  /imports/{job_id}      -> status, progress, totals, report_url
GET  /imports/{job_id}/rejected.csv
"""

from __future__ import annotations

import json

from django.http import FileResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Router, Schema
from ninja.files import UploadedFile

from peyvand.api_common import ERRORS, ErrorOut, Status, api_actor, csv_answer
from peyvand.base.normalise import InvalidValue
from peyvand.base.roles import require
from peyvand.imports.contacts import ImportFailed, do_start_import_job, mapping_for_file
from peyvand.imports.mapping import CONSENT_PREFIX
from peyvand.imports.queries import access_import_job, job_status, rejected_report
from peyvand.imports.subscriptions import Subscriptions
from peyvand.imports.uploads import stage_upload

router = Router(tags=["imports"])
# The file is required; the handler says so itself (400) when it is missing or empty, since
# Django drops an empty file part before any schema could name it.
_FILE_REQUIRED = {"requestBody": {"required": True, "content": {
    "multipart/form-data": {"schema": {"required": ["file"]}}}}}


class ImportStarted(Schema):
    job_id: int
    status_url: str


class ImportTotals(Schema):
    read: int = 0
    created: int = 0
    updated: int = 0
    merged: int = 0
    rejected: int = 0


class ImportConsent(Schema):
    subscribed: int = 0
    opted_out: int = 0
    unchanged: int = 0
    not_subscribed: int = 0


class ImportStatus(Schema):
    job_id: int
    kind: str = Field(description="contacts.import or orders.import")
    status: str
    progress: int | None
    totals: ImportTotals
    consent: ImportConsent | None = None
    filename: str
    error: str
    report_url: str | None
    notes: list[str] = Field(default_factory=list, description=(
        "orders: how the file was read (columns left out, currency, dates read as), in the "
        "caller's language, as the job page shows it"))


def _parse_mapping(text: str | None) -> dict[str, str] | None:
    if not (text or "").strip():
        return None
    try:
        mapping = json.loads(text)  # type: ignore[arg-type]
    except ValueError:
        mapping = None
    if not isinstance(mapping, dict) or not all(isinstance(v, str | None)
                                                for v in mapping.values()):
        raise InvalidValue("mapping", _("The mapping must be a JSON object of "
                                        "{\"column\": \"field\"}."))
    return {str(k): v or "" for k, v in mapping.items()}


def _parse_subscriptions(text: str | None) -> Subscriptions | None:
    if not (text or "").strip():
        return None
    try:
        data = json.loads(text)  # type: ignore[arg-type]
    except ValueError:
        data = None
    texts = ("attestation", "evidence", "status", "channel")
    if not isinstance(data, dict) or set(data) - {*texts, "topics"} \
            or not all(isinstance(data.get(k, ""), str) for k in texts) \
            or not isinstance(data.get("topics", []), list) \
            or not all(isinstance(t, str) for t in data.get("topics", [])):
        raise InvalidValue("subscriptions", _(
            "The subscriptions must be a JSON object with attestation, and evidence, status, "
            "channel, topics where needed."))
    return Subscriptions(**data)


@router.post("/imports/contacts", response={202: ImportStarted, ERRORS: ErrorOut},
             openapi_extra=_FILE_REQUIRED)
def start_contact_import(request, file: File[UploadedFile | None] = None,
                         mapping: Form[str | None] = None, tag: Form[str | None] = None,
                         subscriptions: Form[str | None] = None):
    """Upload a CSV or XLSX file of contacts and import it in the background.

    An owner may bring subscribers from another tool: consent targets in the mapping
    (consent.status, consent.channel, consent.topics, consent.opted_in_at,
    consent.evidence) and `subscriptions` with the attestation (required) and what holds
    for every row."""
    actor = api_actor(request)
    require(actor, "contacts.edit")  # before the file touches the disk
    if file is None or not file.size:
        raise InvalidValue("file", _("Send the CSV or XLSX file as the multipart part "
                                     "\"file\"; none was sent, or it was empty."))
    overrides = _parse_mapping(mapping)
    given = _parse_subscriptions(subscriptions)
    if (given is not None and given.given()) or any(
            str(v).startswith(CONSENT_PREFIX) for v in (overrides or {}).values()):
        require(actor, "consent.import")
    staged = stage_upload(file.chunks(), file.name or "upload", request.auth.pk)
    try:
        targets = mapping_for_file(staged.path, mapping=overrides)
        job = do_start_import_job(actor, staged.path, staged.filename, targets, tag or "",
                                  subscriptions=given)
    except ImportFailed as exc:
        staged.path.unlink(missing_ok=True)
        raise InvalidValue("file", str(exc))
    return Status(202, {"job_id": job.pk,
                        "status_url": reverse("api:import_status", args=[job.pk])})


@router.get("/imports/{int:job_id}", response={200: ImportStatus, ERRORS: ErrorOut},
            url_name="import_status")
def import_status(request, job_id: int):
    """Status, progress (percent, null while unknown), totals and the rejected-rows URL."""
    status = job_status(access_import_job(api_actor(request), job_id))
    report = reverse("api:import_rejected", args=[job_id]) if status["has_report"] else None
    return {**status, "job_id": status["id"], "report_url": report}


@router.get("/imports/{int:job_id}/rejected.csv", response={200: None, ERRORS: ErrorOut},
            url_name="import_rejected", openapi_extra=csv_answer())
def import_rejected(request, job_id: int):
    """The rejected rows (row, column, value, reason, then the row as it was) as CSV."""
    path = rejected_report(access_import_job(api_actor(request), job_id))
    return FileResponse(path.open("rb"), as_attachment=True, filename=f"rejected-{job_id}.csv",
                        content_type="text/csv; charset=utf-8")
