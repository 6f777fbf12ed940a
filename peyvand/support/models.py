"""Staff tasks (C3, F4): "call this customer", assigned to someone or to the team, due at a
time, closed with an outcome that goes on the contact's timeline."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

TITLE_MAX = 200


class StaffTask(models.Model):
    class Kind(models.TextChoices):
        CALL = "call", _("Call")
        EMAIL = "email", _("E-mail")
        OTHER = "other", _("Other")

    class State(models.TextChoices):
        OPEN = "open", _("Open")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    class Outcome(models.TextChoices):
        REACHED = "reached", _("Reached")
        NO_ANSWER = "no_answer", _("No answer")
        DECLINED = "declined", _("Declined")
        OTHER = "other", _("Other")

    contact = models.ForeignKey("contacts.Contact", on_delete=models.CASCADE,
                                related_name="staff_tasks")
    title = models.CharField(max_length=TITLE_MAX)
    note = models.TextField(blank=True)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.CALL)
    # null: the team's (anyone who works tasks may take it)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="staff_tasks")
    due_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, blank=True)
    outcome_note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=150, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.CharField(max_length=150, blank=True)
    # Who made it: "journey:3:s5" (journey 3, step s5), "" by hand; source_label is what people
    # read ("Refill reminder"), kept here so the page need not ask the floor that made it.
    source = models.CharField(max_length=100, blank=True)
    source_label = models.CharField(max_length=200, blank=True)
    # Set by automated makers (a journey's step run: "enrolment:node:visit") so a retried run
    # finds its task instead of making a second one.
    dedupe_key = models.CharField(max_length=100, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["state", "due_at"], name="support_task_open_due"),
            models.Index(fields=["assignee", "state"], name="support_task_assignee"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["dedupe_key"], condition=~models.Q(dedupe_key=""),
                                    name="support_task_dedupe_unique"),
        ]

    def __str__(self) -> str:
        return self.title
