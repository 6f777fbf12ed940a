"""Web pages that start a whole-book export and hand out its file (listed on the jobs page)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from peyvand.base.models import Job
from peyvand.base.roles import require
from peyvand.base.views import ui_actor


@login_required
@require_POST
def export_contacts(request):
    actor = ui_actor(request)
    require(actor, "contacts.export")
    # Lazy: the export module may pull in the task queue, which the rest of the UI never needs.
    from peyvand.contacts.export import do_start_export_job

    fmt = request.POST.get("format", "csv")
    do_start_export_job(actor, fmt if fmt in ("csv", "xlsx") else "csv")
    messages.success(request, _("The export has started. Its file can be downloaded here "
                                "when it is done."))
    return redirect("base:jobs")


def _export_file(job: Job) -> Path:
    raw = (job.result or {}).get("path")
    if job.status != Job.Status.DONE or not raw:
        raise Http404
    root = Path(settings.EXPORT_DIR).resolve()
    path = Path(raw)
    path = (path if path.is_absolute() else root / path).resolve()
    # Only files the export wrote: a tampered result must not serve anything else.
    if not path.is_relative_to(root) or not path.is_file():
        raise Http404
    return path


@login_required
@require_GET
def job_download(request, pk: int):
    require(ui_actor(request), "contacts.export")
    path = _export_file(get_object_or_404(Job, pk=pk))
    return FileResponse(path.open("rb"), as_attachment=True, filename=path.name)
