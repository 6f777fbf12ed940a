"""Huey tasks of the contacts floor; thin wrappers, the work lives in contacts.export."""

from __future__ import annotations

from huey.contrib.djhuey import db_task

from peyvand.contacts.export import run_export_job


@db_task()
def export_contacts_task(job_id: int):
    return run_export_job(job_id)
