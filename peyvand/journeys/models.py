"""Journeys: a versioned definition (trigger, then a graph of steps), each contact's run of it
(an enrolment, pinned to the version it started on) and every step run under a unique key.

Timers are rows: an enrolment is due when `next_run_at` has passed, and a worker claims it
with a lease (runner.claim). A step run is recorded under UNIQUE (enrolment, node, rotation)
in the transaction that has its effect, so a step never runs twice.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Journey(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        LIVE = "live", _("Live")
        PAUSED = "paused", _("Paused")

    class ReEntry(models.TextChoices):
        NEVER = "never", _("Never")
        AFTER_DAYS = "after_days", _("After some days")
        ALWAYS = "always", _("Always")

    name = models.CharField(_("name"), max_length=200)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices,
                              default=Status.DRAFT)
    re_entry = models.CharField(_("re-entry"), max_length=12, choices=ReEntry.choices,
                                default=ReEntry.NEVER)
    re_entry_days = models.PositiveIntegerField(_("re-entry after (days)"), default=0)
    max_active = models.PositiveIntegerField(_("most people in it at once (0: no limit)"),
                                             default=0)
    # The draft being written; publishing freezes it as the next JourneyVersion.
    definition = models.JSONField(_("definition"), default=dict, blank=True)
    # When the daily trigger (`forgotten`) last looked for people: at most once a day.
    checked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.CharField(max_length=150, blank=True)
    updated_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name


class JourneyVersion(models.Model):
    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    definition = models.JSONField()
    # The words of each send step frozen at publishing: {node: ContentSnapshot id}.
    snapshots = models.JSONField(default=dict, blank=True)
    published_at = models.DateTimeField()
    published_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["journey", "-number"]
        constraints = [models.UniqueConstraint(fields=["journey", "number"],
                                               name="journey_version_once")]

    def __str__(self) -> str:
        return f"{self.journey_id} v{self.number}"


class Enrolment(models.Model):
    class State(models.TextChoices):
        ACTIVE = "active", _("Active")
        WAITING = "waiting", _("Waiting for an event")
        DONE = "done", _("Done")
        EXITED = "exited", _("Exited")
        FAILED = "failed", _("Failed")

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="enrolments")
    version = models.ForeignKey(JourneyVersion, on_delete=models.PROTECT,
                                related_name="enrolments")
    contact = models.ForeignKey("contacts.Contact", on_delete=models.CASCADE, related_name="+")
    rotation = models.PositiveIntegerField(default=1)  # the contact's nth entry, from 1
    state = models.CharField(max_length=8, choices=State.choices, default=State.ACTIVE)
    node = models.CharField(max_length=64)  # the step it is at (to run, or waiting in)
    next_run_at = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=100, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    waiting_for = models.CharField(max_length=8, blank=True)  # "", opened, clicked, ordered
    wait_until = models.DateTimeField(null=True, blank=True)
    entered_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    exit_reason = models.CharField(max_length=32, blank=True)
    # {"source", "visits": {node: n}, "arms": {node: arm}, "message": last outbox id, …}
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["journey", "contact", "rotation"],
                                               name="enrolment_once_per_rotation")]
        indexes = [
            models.Index(fields=["state", "next_run_at", "id"], name="enrolment_due"),
            models.Index(fields=["contact", "state"]),
            models.Index(fields=["journey", "state", "node"]),
        ]

    def __str__(self) -> str:
        return f"{self.journey_id}/{self.contact_id}#{self.rotation} {self.state} {self.node}"

    @property
    def visit(self) -> int:
        """How many times this enrolment has reached its current node (a loop comes back)."""
        return int((self.data.get("visits") or {}).get(self.node, 1))


class StepRun(models.Model):
    enrolment = models.ForeignKey(Enrolment, on_delete=models.CASCADE, related_name="runs")
    node = models.CharField(max_length=64)
    rotation = models.PositiveIntegerField()  # the enrolment's nth visit of this node
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=32)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["enrolment", "node", "rotation"],
                                               name="step_runs_once")]

    def __str__(self) -> str:
        return f"{self.enrolment_id} {self.node}#{self.rotation} {self.outcome}"
