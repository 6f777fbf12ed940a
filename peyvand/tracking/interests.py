"""A contact's interest profile: human clicks on topic-tagged links, decaying over time.

A score halves every TRACKING_INTEREST_HALF_LIFE_DAYS (default 30) without a new click, so
what someone clicked last year weighs less than what they clicked last week. The stored score
is as of `updated`; readers decay it to now.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from peyvand.tracking.links import normalise_topic
from peyvand.tracking.models import InterestScore


def half_life() -> dt.timedelta:
    return dt.timedelta(days=settings.TRACKING_INTEREST_HALF_LIFE_DAYS)


def decayed(score: float, since: dt.datetime, at: dt.datetime) -> float:
    elapsed = max((at - since).total_seconds(), 0.0)
    return score * 0.5 ** (elapsed / half_life().total_seconds())


@transaction.atomic
def add_click(contact_id: int, topic: str, at: dt.datetime | None = None,
              weight: float = 1.0) -> InterestScore:
    at = at or timezone.now()
    topic = normalise_topic(topic)
    row, created = InterestScore.objects.select_for_update().get_or_create(
        contact_id=contact_id, topic=topic, defaults={"score": weight, "updated": at})
    if not created:
        # A click older than the stored time (a late drain) still adds, decayed to `updated`.
        if at >= row.updated:
            row.score = decayed(row.score, row.updated, at) + weight
            row.updated = at
        else:
            row.score += decayed(weight, at, row.updated)
        row.save(update_fields=["score", "updated"])
    return row


def profile(contact_id: int, at: dt.datetime | None = None,
            minimum: float = 0.05) -> list[tuple[str, float]]:
    """[(topic, score now)], strongest first; topics faded below `minimum` left out."""
    at = at or timezone.now()
    scores = [(row.topic, decayed(row.score, row.updated, at))
              for row in InterestScore.objects.filter(contact_id=contact_id)]
    return sorted([(t, round(s, 3)) for t, s in scores if s >= minimum],
                  key=lambda item: (-item[1], item[0]))


def merge_interests(survivor_id: int, merged_id: int) -> None:
    for row in InterestScore.objects.filter(contact_id=merged_id):
        add_click(survivor_id, row.topic, row.updated, weight=row.score)
    InterestScore.objects.filter(contact_id=merged_id).delete()
