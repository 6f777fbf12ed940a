"""Huey tasks of insights; thin wrappers, the work lives in insights.actions."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from peyvand.base.actor import Actor
from peyvand.insights import actions


@db_periodic_task(crontab(hour="3", minute="30"))
def daily_refresh_task():
    """Everything recomputed as of today, every night."""
    run = actions.refresh_all(Actor.system("insights"))
    return {"run": run.pk, "seconds": run.seconds}


@db_task(retries=2, retry_delay=60)
def refresh_contact_task(contact_id: int):
    return actions.refresh_contact(contact_id)


@db_task()
def refresh_job_task(job_id: int):
    actions.run_refresh_job(job_id)


@db_task(retries=2, retry_delay=60)
def refresh_after_import_task(contact_ids: list[int] | None):
    """Once per order import: these buyers, or everyone (None)."""
    actions.refresh_after_import(contact_ids)
