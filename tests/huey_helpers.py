"""Running tasks through a real Huey consumer in tests (marked `huey`)."""

from __future__ import annotations

import contextlib
import signal
import uuid

from huey.contrib.djhuey import HUEY


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
