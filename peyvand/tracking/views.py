"""Open pixel, click redirect and SMS short link through Django, when the WSGI fast path is
not in front (and the pages it leaves to Django: a bad click token, an unknown short code)."""

from __future__ import annotations

from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from peyvand.tracking.fastpath import GIF, record, record_short
from peyvand.tracking.links import KIND_CLICK, KIND_OPEN


def _no_store(response):
    response["Cache-Control"] = "no-store, no-cache, must-revalidate, private"
    return response


@require_safe
def open_pixel(request, token: str):
    record(KIND_OPEN, token, request.headers.get("user-agent", ""))
    return _no_store(HttpResponse(GIF, content_type="image/gif"))


@require_safe
def click(request, token: str):
    hit = record(KIND_CLICK, token, request.headers.get("user-agent", ""))
    if hit is None:
        return _no_store(render(request, "tracking/bad_link.html", status=400))
    response = HttpResponseRedirect(hit.url)
    response["Referrer-Policy"] = "no-referrer"
    return _no_store(response)


@require_safe
def short(request, code: str):
    url = record_short(code, request.headers.get("user-agent", ""))
    if url is None:
        return _no_store(render(request, "tracking/unknown_short_link.html", status=404))
    response = HttpResponseRedirect(url)
    response["Referrer-Policy"] = "no-referrer"
    return _no_store(response)


def tracking_event_summary(event) -> str:
    """One line under a message.opened or message.clicked entry."""
    data = event.data or {}
    if event.kind == "message.clicked":
        topic = data.get("topic")
        url = data.get("url", "")
        return f"{url} · {topic}" if topic else url
    if event.kind == "message.opened" and data.get("machine"):
        return _("probably opened by a machine (privacy proxy or scanner)")
    return ""
