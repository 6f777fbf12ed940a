"""Mail and SMS that went nowhere but here: a local stand-in for real delivery."""

from __future__ import annotations

from email import policy
from email.parser import BytesParser

from django.db import models


class CaughtMail(models.Model):
    """One message received by the catcher's SMTP server, kept as the raw bytes it got."""

    raw = models.BinaryField()
    mail_from = models.CharField(max_length=320, blank=True)
    to = models.JSONField(default=list)  # envelope recipients
    subject = models.CharField(max_length=500, blank=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.subject} → {', '.join(self.to)}"

    def message(self):
        return BytesParser(policy=policy.default).parsebytes(bytes(self.raw))

    def bodies(self) -> tuple[str, str]:
        """(plain text, HTML) of the message; either may be empty."""
        message = self.message()
        parts = {}
        for kind in ("plain", "html"):
            part = message.get_body(preferencelist=(kind,))
            parts[kind] = part.get_content() if part is not None else ""
        return parts["plain"], parts["html"]


class CaughtSms(models.Model):
    """An SMS that would have been sent, until real gateways exist."""

    to = models.CharField(max_length=32)
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.to}: {self.text[:40]}"
