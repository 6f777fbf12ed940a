"""Huey tasks of the imports app; thin wrappers, the work lives in imports.contacts and
imports.jobs."""

from __future__ import annotations

from huey.contrib.djhuey import db_task

from peyvand.imports.contacts import run_import_job
from peyvand.imports.jobs import run_order_import_job


@db_task()
def import_contacts_task(job_id: int):
    return run_import_job(job_id)


@db_task()
def import_orders_task(job_id: int):
    return run_order_import_job(job_id)
