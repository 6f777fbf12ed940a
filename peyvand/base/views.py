from __future__ import annotations

import datetime as dt
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.db import connection
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from peyvand.base.actor import Actor
from peyvand.base.models import AuditEntry, Job
from peyvand.base.roles import can, require
from peyvand.contacts.models import Contact, CustomField, Tag, TimelineEvent


def ui_actor(request) -> Actor:
    return Actor.for_user(request.user, "ui")


def paginate(request, items, per_page: int = 25, param: str = "page") -> Page:
    """One page of `items`; a bad or out-of-range page number gives the nearest page."""
    return Paginator(items, per_page).get_page(request.GET.get(param))


@require_GET
def healthz(request):
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        return JsonResponse({"status": "error", "reason": "database unreachable"}, status=503)
    return JsonResponse({"status": "ok"})


@login_required
def dashboard(request):
    require(ui_actor(request), "contacts.view")
    live = Contact.objects.live()
    counts = {
        "contacts": live.count(),
        "recent": live.filter(created_at__gte=timezone.now() - dt.timedelta(days=7)).count(),
        "tags": Tag.objects.count(),
        "fields": CustomField.objects.count(),
    }
    events = TimelineEvent.objects.select_related("contact").order_by("-at", "-id")[:10]
    return render(request, "base/dashboard.html", {"counts": counts, "events": events})


@login_required
def audit_log(request):
    require(ui_actor(request), "audit.view")
    action = request.GET.get("action", "")
    entries = AuditEntry.objects.all()
    if action:
        entries = entries.filter(action=action)
    actions = AuditEntry.objects.order_by("action").values_list("action", flat=True).distinct()
    return render(request, "base/audit.html", {
        "page": paginate(request, entries, 50), "actions": actions, "action": action})


def _visible_jobs(actor: Actor):
    # Everyone's jobs are the owner's business; others see the jobs they started.
    if can(actor, "audit.view"):
        return Job.objects.all()
    return Job.objects.filter(created_by=actor.user)


@login_required
def jobs(request):
    actor = ui_actor(request)
    require(actor, "contacts.view")
    page = paginate(request, _visible_jobs(actor).select_related("created_by"), 25)
    return render(request, "base/jobs.html", {"page": page})


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
