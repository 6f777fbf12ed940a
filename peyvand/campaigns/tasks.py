"""Background work of campaigns: every minute, follow the broadcasts made the older way, start
the approved campaigns whose time has come, decide the A/B tests that are due (and send their
rest), and mark the finished ones sent."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task


@db_periodic_task(crontab(minute="*"))
@lock_task("campaigns-tick")
def campaigns_tick() -> None:
    from peyvand.campaigns.adopted import follow_broadcasts
    from peyvand.campaigns.sending import decide_due, finish_sent, start_due

    follow_broadcasts()
    start_due()
    decide_due()
    finish_sent()
