"""Background sending: a task started when a broadcast is queued, and a periodic one for
deferred messages whose time has come."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from peyvand.base.queue import enqueue_on_commit


@db_task()
def send_outbox() -> None:
    from peyvand.messaging.sender import run_sender

    run_sender()  # returns at once when another sender holds the lock


@db_periodic_task(crontab(minute="*"))
def send_due() -> None:
    from peyvand.messaging.models import OutboxMessage
    from peyvand.messaging.outbox import due_filter
    from peyvand.messaging.sender import run_sender

    if OutboxMessage.objects.filter(due_filter(timezone.now())).exists():
        run_sender()


def kick() -> None:
    """Start sending after the current transaction commits (tests turn this off)."""
    if settings.MESSAGING_AUTOSEND:
        enqueue_on_commit(send_outbox)
