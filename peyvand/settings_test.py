"""The test suite's settings (pyproject's pytest DJANGO_SETTINGS_MODULE): peyvand.settings with
what tests need on top. Processes a test starts (`peyvand up`, senders) run peyvand.settings,
as a server does.

Under pytest-xdist each worker gets its own PEYVAND_HOME below the run's, before the settings
read it: sender slot files, the rate-limit lock, exports and spools are per process there, and
two workers must not take each other's.
"""

from __future__ import annotations

import os
from pathlib import Path

_worker = os.environ.get("PYTEST_XDIST_WORKER")
if _worker:
    os.environ["PEYVAND_HOME"] = str(Path(os.environ.get("PEYVAND_HOME") or "var") / _worker)

from peyvand.settings import *  # noqa: E402, F403
from peyvand.settings import ALLOWED_HOSTS, HUEY, REDIS_URL  # noqa: E402

# Django's test client asks for this host.
ALLOWED_HOSTS = [*ALLOWED_HOSTS, "testserver"]
# Tasks run in the calling thread unless a test says otherwise (tests.huey_helpers.real_queue,
# or PEYVAND_HUEY_IMMEDIATE=0).
HUEY_IMMEDIATE = os.environ.get("PEYVAND_HUEY_IMMEDIATE", "1") == "1"
HUEY = {**HUEY, "immediate": HUEY_IMMEDIATE}
if not REDIS_URL:
    # Each test process its own cache; the Redis CI step keeps Redis to test it.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
WHITENOISE_AUTOREFRESH = True

# SQLite tests use a database file (one per xdist worker, under its PEYVAND_HOME), as a server
# does: in-memory shared-cache SQLite refuses a second thread's write at once ("database table
# is locked") where a file waits its busy timeout, so the sender and the mail catcher running
# in threads of one test would race.
from peyvand.settings import DATABASES, HOME  # noqa: E402

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["TEST"] = {"NAME": str(HOME / "test.sqlite3")}

# Passwords made and checked by tests are not worth PBKDF2's 0.2 s each (about one test in
# four signs someone in); the production hasher is tested where it matters
# (tests/accounts/test_password_hashing.py).
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher",
                    "django.contrib.auth.hashers.PBKDF2PasswordHasher"]
