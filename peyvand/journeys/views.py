"""Journey pages: the list, one journey (its published steps as a flow with their counts,
publish / pause, enrolling people, the draft's JSON with its faults by path) and F7's
forgotten people. Thin: journeys.actions and queries do the work and the role checks."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from peyvand.base.views import paginate, ui_actor
from peyvand.journeys import queries
from peyvand.journeys.definition import MAX_WAIT_DAYS
from peyvand.journeys.forgotten import DEFAULT_DAYS

PER_PAGE = 50


def _days(raw: str | None) -> int:
    """The days filter: a whole number from 1 to MAX_WAIT_DAYS, else the default."""
    try:
        days = int(raw or DEFAULT_DAYS)
    except ValueError:
        return DEFAULT_DAYS
    return days if 1 <= days <= MAX_WAIT_DAYS else DEFAULT_DAYS


@login_required
def forgotten_list(request):
    actor = ui_actor(request)
    days = _days(request.GET.get("days"))
    page = paginate(request, queries.forgotten_people(actor, days), PER_PAGE)
    sent = queries.last_sent([c.pk for c in page.object_list])
    rows = [{"contact": c, "last_sent": sent.get(c.pk)} for c in page.object_list]
    return render(request, "journeys/forgotten.html", {
        "page": page, "rows": rows, "days": days, "max_days": MAX_WAIT_DAYS})
