"""The export job through a real Huey consumer and the configured storage.

SqliteHuey by default; RedisHuey when REDIS_URL is set (CI runs this file both ways).
"""

import contextlib
import signal
import threading
import uuid

import pytest
from django.db import connections
from huey import signals as S
from huey.contrib.djhuey import HUEY

from peyvand.base.models import AuditEntry, Job
from peyvand.contacts.export import do_start_export_job


@contextlib.contextmanager
def real_queue():
    """Immediate mode off, on a queue of our own so a running `peyvand up` is not touched."""
    saved = HUEY._immediate, HUEY.name, HUEY.storage
    HUEY._immediate = False
    HUEY.name = f"{saved[1]}-test-{uuid.uuid4().hex[:8]}"
    HUEY.storage = HUEY.create_storage()
    try:
        yield HUEY
    finally:
        HUEY.storage.flush_all()
        HUEY._immediate, HUEY.name, HUEY.storage = saved


@contextlib.contextmanager
def consumer_thread(huey):
    consumer = huey.create_consumer(workers=1, worker_type="thread", periodic=False,
                                    initial_delay=0.05, check_worker_health=False)
    # Consumer.start() installs signal handlers for its own process; keep pytest's.
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    consumer.start()
    for sig, handler in handlers.items():
        signal.signal(sig, handler)
    try:
        yield consumer
    finally:
        consumer.stop(graceful=True)


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
