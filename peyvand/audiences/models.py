"""Segments: saved rule trees, their materialised membership and its history.

The rule is the truth (`rules.compile_rules`); `SegmentMember` is what the last refresh found,
and `SegmentChange` the append-only record of who entered or left at each refresh, which
journeys trigger on and the timeline shows.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from peyvand.contacts.models import Contact


class Segment(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    description = models.CharField(_("description"), max_length=300, blank=True)
    rules = models.JSONField(_("rules"), default=dict)
    # Refresh the materialised membership on the schedule (and after the data changes).
    auto_refresh = models.BooleanField(_("keep membership up to date"), default=True)
    # What the last refresh counted; the live count is `queries.count`.
    member_count = models.PositiveIntegerField(default=0)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by_label = models.CharField(max_length=150, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class SegmentMember(models.Model):
    """A contact in a segment as of its last refresh."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="members")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    since = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["segment", "contact"],
                                               name="segment_member_once")]
        indexes = [models.Index(fields=["contact"])]

    def __str__(self) -> str:
        return f"{self.segment_id}:{self.contact_id}"


class SegmentChange(models.Model):
    """Append-only: a contact entered or left a segment at a refresh."""

    class Kind(models.TextChoices):
        ENTERED = "entered", _("Entered")
        LEFT = "left", _("Left")

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="changes")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["segment", "-at"]), models.Index(fields=["contact"])]

    def __str__(self) -> str:
        return f"{self.segment_id}:{self.contact_id} {self.kind}"


class CalendarDay(models.Model):
    """One Gregorian day with its month-day on both calendars (month * 100 + day), so that
    "birthday within the next N days" is a join, counted on the Jalali calendar for fa
    contacts. Filled by `calendar.ensure_days` for the years asked about."""

    day = models.DateField(primary_key=True)
    gregorian_md = models.PositiveSmallIntegerField(db_index=True)
    jalali_md = models.PositiveSmallIntegerField(db_index=True)

    def __str__(self) -> str:
        return self.day.isoformat()
