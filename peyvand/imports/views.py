"""The import wizard: upload -> map columns (with a preview) -> progress -> result."""

from __future__ import annotations

import shutil

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.views.decorators.http import require_GET

from peyvand.base.roles import can, require
from peyvand.base.views import ui_actor
from peyvand.contacts.models import CustomField
from peyvand.imports.contacts import (
    ImportFailed,
    do_start_import_job,
    mapping_for_file,
    preview_file,
)
from peyvand.imports.forms import MappingForm, OrderOptionsForm, UploadForm
from peyvand.imports.jobs import ORDERS_KIND, do_start_order_import_job, require_order_import
from peyvand.imports.mapping import target_choices
from peyvand.imports.order_dates import CALENDARS
from peyvand.imports.order_plan import OrderOptions
from peyvand.imports.order_wizard import order_preview, recognised_headers
from peyvand.imports.queries import access_import_job, import_jobs, job_status, rejected_report
from peyvand.imports.uploads import stage_upload, staged_upload

RECENT = 10


def _lang() -> str:
    return "fa" if (get_language() or "").startswith("fa") else "en"


@login_required
def upload(request):
    actor = ui_actor(request)
    require(actor, "contacts.edit")
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        file = form.cleaned_data["file"]
        staged = stage_upload(file.chunks(), file.name, request.user.pk)
        try:
            preview_file(staged.path, rows=1)
        except ImportFailed as exc:
            shutil.rmtree(staged.path.parent, ignore_errors=True)
            form.add_error("file", str(exc))
        else:
            return redirect("imports:mapping", token=staged.token)
    jobs = import_jobs(actor).select_related("created_by")[:RECENT]
    return render(request, "imports/upload.html", {"form": form, "jobs": jobs})


@login_required
def mapping(request, token: str):
    actor = ui_actor(request)
    require(actor, "contacts.edit")
    staged = staged_upload(token, request.user.pk)
    error = ""
    try:
        preview = preview_file(staged.path)
    except ImportFailed as exc:  # readable at upload; only a vanished file lands here
        preview, error = None, str(exc)
    if preview is None:
        return render(request, "imports/mapping.html", {"error": error, "staged": staged})
    consent = can(actor, "consent.import")  # only an owner brings subscriptions
    choices = target_choices(CustomField.objects.all(), _lang(), consent=consent)
    form = MappingForm(request.POST or None, headers=preview.headers, choices=choices,
                       initial_targets=preview.targets, consent=consent, language=_lang())
    if request.method == "POST" and form.is_valid():
        try:
            targets = mapping_for_file(staged.path, targets=form.targets())
            job = do_start_import_job(actor, staged.path, staged.filename, targets,
                                      form.cleaned_data["tag"],
                                      subscriptions=form.subscriptions())
        except ImportFailed as exc:
            error = str(exc)
        else:
            return redirect("imports:job", pk=job.pk)
    columns = [{"field": f, "samples": [row[i] if i < len(row) else "" for row in preview.rows]}
               for i, f in enumerate(form.column_fields())]
    return render(request, "imports/mapping.html", {
        "staged": staged, "preview": preview, "form": form, "columns": columns,
        "error": error})


@login_required
def orders_upload(request):
    actor = ui_actor(request)
    require_order_import(actor)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        file = form.cleaned_data["file"]
        staged = stage_upload(file.chunks(), file.name, request.user.pk)
        try:
            preview_file(staged.path, rows=1)  # unreadable files stop here; headers next page
        except ImportFailed as exc:
            shutil.rmtree(staged.path.parent, ignore_errors=True)
            form.add_error("file", str(exc))
        else:
            return redirect("imports:orders_preview", token=staged.token)
    jobs = import_jobs(actor, (ORDERS_KIND,)).select_related("created_by")[:RECENT]
    return render(request, "imports/upload.html", {"form": form, "jobs": jobs, "orders": True})


@login_required
def orders_preview(request, token: str):
    """The plan of the file with the options chosen so far; "Preview again" shows it again,
    "Import" starts the job. The form is kept through every error."""
    actor = ui_actor(request)
    require_order_import(actor)
    staged = staged_upload(token, request.user.pk)
    context: dict = {"staged": staged, "headers": recognised_headers(), "error": ""}
    # Of the options only the calendar changes what the preview reads: read it once, with the
    # calendar asked for (the form checks it and the rest below).
    calendar = request.POST.get("calendar", "")
    try:
        preview = order_preview(staged.path, OrderOptions(
            calendar=calendar if calendar in CALENDARS else "auto"))
    except ImportFailed as exc:  # no order ID or product column, or an unreadable file
        context["error"] = str(exc)
        return render(request, "imports/orders_preview.html", context)
    form = OrderOptionsForm(request.POST or None, currency_column=bool(preview.currency_column),
                            date_column=bool(preview.date_column))
    chosen = form.options() if form.is_bound and form.is_valid() else None
    if chosen is not None and request.POST.get("action") == "import":
        try:
            job = do_start_order_import_job(actor, staged.path, staged.filename, chosen)
            return redirect("imports:job", pk=job.pk)
        except ImportFailed as exc:
            context["error"] = str(exc)
    context.update({"preview": preview, "form": form, "chosen": chosen})
    return render(request, "imports/orders_preview.html", context)


@login_required
def job(request, pk: int):
    job = access_import_job(ui_actor(request), pk)
    return render(request, "imports/job.html", {"job": job, "status": job_status(job),
                                                "orders": job.kind == ORDERS_KIND})


@login_required
@require_GET
def status(request, pk: int):
    """Polled by the progress page: small, uncached JSON."""
    info = job_status(access_import_job(ui_actor(request), pk))
    info["report_url"] = reverse("imports:rejected", args=[pk]) if info["has_report"] else None
    response = JsonResponse(info)
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_GET
def rejected(request, pk: int):
    path = rejected_report(access_import_job(ui_actor(request), pk))
    return FileResponse(path.open("rb"), as_attachment=True, filename=f"rejected-{pk}.csv",
                        content_type="text/csv; charset=utf-8")
