"""Huey tasks of the imports app; thin wrappers, the work lives in imports.contacts."""

from __future__ import annotations

from huey.contrib.djhuey import db_task

from peyvand.imports.contacts import run_import_job


@db_task()
def import_contacts_task(job_id: int):
    return run_import_job(job_id)
