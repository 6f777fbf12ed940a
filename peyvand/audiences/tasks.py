"""Background work of audiences: the refresh schedule, and acting on people in bulk."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task


@db_periodic_task(crontab(minute="*"))
@lock_task("audiences-refresh")
def refresh_segments_task() -> None:
    from peyvand.audiences.actions import refresh_due_segments

    refresh_due_segments()


@db_task()
def bulk_action_task(job_id: int):
    from peyvand.audiences.bulk import run_bulk_action

    return run_bulk_action(job_id)
