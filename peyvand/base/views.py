from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from peyvand.base.actor import Actor
from peyvand.base.errors import Invalid
from peyvand.base.models import AuditEntry, Job
from peyvand.base.roles import can, require
from peyvand.base.shop import do_save_shop_profile, shop_profile


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
def shop_settings(request):
    """The shop's name and logo, shown on the public pages customers see."""
    actor = ui_actor(request)
    require(actor, "shop.manage")
    profile = shop_profile()
    errors: dict = {}
    name = profile.name
    if request.method == "POST":
        name = request.POST.get("name", "")
        upload = request.FILES.get("logo")
        try:
            do_save_shop_profile(actor, name=name, logo=upload.read() if upload else None,
                                 remove_logo=request.POST.get("remove_logo") == "1")
        except Invalid as exc:
            errors = exc.errors
        else:
            messages.success(request, _("Shop details saved."))
            return redirect("base:shop")
    return render(request, "base/shop.html", {"profile": profile, "name": name,
                                              "errors": errors})
