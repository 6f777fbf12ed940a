"""The export job through a real Huey consumer and the configured storage.

SqliteHuey by default; RedisHuey when REDIS_URL is set (CI runs this file both ways).
"""

import threading

import pytest
from django.db import connections
from huey import signals as S

from peyvand.base.models import AuditEntry, Job
from peyvand.contacts.export import do_start_export_job
from tests.huey_helpers import consumer_thread, real_queue


@pytest.mark.huey
@pytest.mark.django_db(transaction=True)
def test_export_job_runs_on_a_real_consumer(owner_actor, some_contacts, export_dir):
    finished = threading.Event()

    def on_done(signal_name, task, *args):
        # The worker thread's own connection: close it so the test database can be dropped.
        connections.close_all()
        finished.set()

    with real_queue() as huey:
        huey.signal(S.SIGNAL_COMPLETE, S.SIGNAL_ERROR)(on_done)
        try:
            job = do_start_export_job(owner_actor, "json")  # commits, so it is enqueued
            assert huey.pending_count() == 1
            assert Job.objects.get(pk=job.pk).status == Job.Status.QUEUED
            with consumer_thread(huey):
                assert finished.wait(60), "the consumer did not run the export"
        finally:
            huey.disconnect_signal(on_done)
        assert huey.pending_count() == 0

    job.refresh_from_db()
    assert job.status == Job.Status.DONE, job.error
    assert job.result["count"] == 5
    assert (export_dir / job.result["filename"]).exists()
    assert AuditEntry.objects.filter(action="contacts.export", actor=owner_actor.user).exists()
