"""Background work of audiences: the refresh schedule."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task


@db_periodic_task(crontab(minute="*"))
@lock_task("audiences-refresh")
def refresh_segments_task() -> None:
    from peyvand.audiences.actions import refresh_due_segments

    refresh_due_segments()
