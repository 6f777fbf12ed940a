"""Base floor rows: the audit log, background jobs, rate-limit counts and the shop's name."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEntry(models.Model):
    """Who did what sensitive thing (export, erase, merge, role change, consent override).

    Written by the action itself, in the same transaction. Append-only.
    """

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    # Kept as text so the entry still says who acted after the user is gone, and so
    # CLI operators (no user row) are named too.
    actor_label = models.CharField(max_length=150)
    action = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    summary = models.CharField(max_length=300, blank=True)
    details = models.JSONField(default=dict, blank=True)
    via = models.CharField(max_length=8, default="ui")  # ui / api / cli

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.target_id}"


class Job(models.Model):
    """Long work (exports, imports, refreshes) visible as a row with progress."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    kind = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    params = models.JSONField(default=dict, blank=True)
    progress = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(null=True, blank=True)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"

    @property
    def kind_label(self) -> str:
        from peyvand.base.jobs import job_kind_label

        return job_kind_label(self)

    @property
    def percent(self) -> int | None:
        if not self.total:
            return None
        return min(100, int(self.progress * 100 / self.total))


class RateLimitCount(models.Model):
    """How often one subject did something in its current window (base.ratelimit, database
    backend). The window's end is stored: it is what decides, not when the row is removed."""

    key = models.CharField(max_length=120, unique=True)
    count = models.PositiveIntegerField(default=0)
    window_ends_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.key} {self.count} until {self.window_ends_at:%Y-%m-%d %H:%M:%S}"


class ShopProfile(models.Model):
    """The shop as its customers see it on public pages (sign-up, preferences,
    unsubscribe): its name and logo. One row; the owner sets it under Settings."""

    name = models.CharField(_("shop name"), max_length=100, blank=True)
    # A small image as a data: URL, so public pages need no file storage or media server.
    logo = models.TextField(_("logo"), blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name
