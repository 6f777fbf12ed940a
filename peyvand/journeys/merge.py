"""Merging contacts (contacts' MERGE_HOOKS): the merged contact's enrolments become the
survivor's. Where both are running in the same journey the survivor's run goes on and the
merged one ends (exited, reason "merged"); each journey's enrolments of the survivor are then
numbered again (rotation 1, 2, … by entry, the running one last) so UNIQUE (journey,
contact, rotation) holds and the re-entry rules read the latest entry."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from peyvand.journeys import timeline
from peyvand.journeys.models import Enrolment

E = Enrolment.State
RUNNING = (E.ACTIVE, E.WAITING)
_ASIDE = 1_000_000  # rotations are moved out of the way first, then numbered


@transaction.atomic
def move_enrolments(survivor_id: int, merged_id: int) -> None:
    theirs = list(Enrolment.objects.select_for_update().filter(contact_id=merged_id)
                  .select_related("journey"))
    if not theirs:
        return
    journeys = {item.journey_id for item in theirs}
    ours = list(Enrolment.objects.select_for_update().filter(contact_id=survivor_id,
                                                              journey_id__in=journeys))
    running = {item.journey_id for item in ours if item.state in RUNNING}
    now = timezone.now()
    ended = []
    for item in theirs:
        if item.state in RUNNING and item.journey_id in running:
            item.state, item.exit_reason, item.finished_at = E.EXITED, "merged", now
            item.next_run_at = item.lease_until = item.wait_until = None
            item.lease_owner = item.waiting_for = ""
            item.save(update_fields=["state", "exit_reason", "finished_at", "next_run_at",
                                     "lease_owner", "lease_until", "waiting_for",
                                     "wait_until"])
            ended.append(item)
    Enrolment.objects.filter(pk__in=[i.pk for i in theirs + ours]).update(
        contact_id=survivor_id, rotation=F("id") + _ASIDE)  # each unique, none 1…n
    by_journey: dict[int, list[Enrolment]] = {}
    for item in theirs + ours:
        by_journey.setdefault(item.journey_id, []).append(item)
    for items in by_journey.values():
        items.sort(key=lambda i: (i.state in RUNNING, i.entered_at, i.pk))
        for number, item in enumerate(items, 1):
            Enrolment.objects.filter(pk=item.pk).update(rotation=number)
            item.rotation, item.contact_id = number, survivor_id
    timeline.left(ended, {i.journey_id: i.journey.name for i in ended}, now)
