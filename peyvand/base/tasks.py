"""Housekeeping every floor benefits from."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task


@db_periodic_task(crontab(minute="17"))
def refresh_planner_statistics_task() -> None:
    """Hourly: imports and sends change table sizes by orders of magnitude."""
    from peyvand.base.db import refresh_planner_statistics

    refresh_planner_statistics()
