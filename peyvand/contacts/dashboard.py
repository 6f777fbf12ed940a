"""The signed-in home page: what the contact book holds and what happened in it lately."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone

from peyvand.base.roles import require
from peyvand.base.views import ui_actor
from peyvand.contacts.models import Contact, CustomField, Tag, TimelineEvent


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
    return render(request, "contacts/dashboard.html", {"counts": counts, "events": events})
