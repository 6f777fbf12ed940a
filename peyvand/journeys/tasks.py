"""Background work of journeys: every minute, the daily triggers (`forgotten`, `date`, …) when
their day has come, then run the due steps until none is due (bounded, so one tick never
outlasts the next)."""

from __future__ import annotations

import time

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

ROUNDS = 100
SECONDS = 50


def run_until_done(worker: str, limit: int = 200, *, seconds: float = SECONDS,
                   rounds: int = ROUNDS) -> dict[str, int]:
    """run_due again and again until nothing is claimed, `rounds` rounds or `seconds` pass."""
    from peyvand.journeys.runner import run_due

    total = {"claimed": 0, "steps": 0}
    started = time.monotonic()
    for _round in range(rounds):
        done = run_due(worker, limit)
        total["claimed"] += done["claimed"]
        total["steps"] += done["steps"]
        if not done["claimed"] or time.monotonic() - started > seconds:
            break
    return total


@db_periodic_task(crontab(minute="*"))
@lock_task("journeys-tick")
def journeys_tick() -> None:
    from peyvand.journeys.runner import worker_name
    from peyvand.journeys.triggers import enrol_daily

    enrol_daily()  # once a day per daily-triggered journey; the rest of the day a no-op
    run_until_done(worker_name())
