"""Real sender processes against a real database, for the tests that need them: SQLite in a
temporary PEYVAND_HOME, or PostgreSQL (PEYVAND_TEST_POSTGRES, default
postgres://postgres@localhost/postgres; skipped when it cannot be reached) in a throw-away
database. Recipients are counted by `sink_server.py`, one line per message received."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from tests.messaging.sink import free_port

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
ADMIN_URL = os.environ.get("PEYVAND_TEST_POSTGRES", "postgres://postgres@localhost/postgres")


def _pg_admin():
    import psycopg

    try:
        return psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.Error:
        return None


def _suite_database() -> str:
    url = os.environ.get("DATABASE_URL", "")
    return "postgres" if url.startswith(("postgres://", "postgresql://")) else "sqlite"


@pytest.fixture(params=["sqlite", "postgres"])
def backend_env(request, tmp_path):
    """The environment of real processes on a database of their own, of the kind the suite
    runs on: the SQLite suite (`./run test`) crash-tests SQLite, the PostgreSQL suite
    (DATABASE_URL, CI's second step) PostgreSQL — CI covers both, each once."""
    if request.param != _suite_database():
        pytest.skip(f"the {_suite_database()} suite runs the {_suite_database()} case")
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "PEYVAND_SMTP_URL", "DJANGO_SETTINGS_MODULE",
                        "PEYVAND_HUEY_IMMEDIATE")}
    env.update(PEYVAND_HOME=str(tmp_path), PYTHONPATH=str(ROOT), PEYVAND_LOG_LEVEL="WARNING")
    if request.param == "sqlite":
        yield env
        return
    admin = _pg_admin()
    if admin is None:
        pytest.skip("PostgreSQL is not reachable")
    name = f"peyvand_crash_{secrets.token_hex(4)}"
    admin.execute(f'CREATE DATABASE "{name}"')
    env["DATABASE_URL"] = ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    try:
        yield env
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def run(env, *args, timeout=300) -> str:
    done = subprocess.run([sys.executable, *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def sink(env, path: Path):
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(HERE / "sink_server.py"), str(port), str(path)],
                            env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    return proc, port


def sender(env, port, *args: str, processes: int = 2, connections: int = 10,
           command: tuple[str, ...] = ("-m", "peyvand.messaging.worker")):
    return subprocess.Popen([sys.executable, *command, "--connections", str(connections), *args],
                            env={**env, "PEYVAND_SMTP_URL": f"smtp://127.0.0.1:{port}",
                                 "PEYVAND_SENDER_PROCESSES": str(processes)},
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def seed_consenting_contacts(n: int) -> list[int]:
    """N contacts with an e-mail address who agreed to e-mail (as bench/send.py gives them),
    written with bulk_create straight into the tables (N actions would take minutes): their
    ids. For the crash helpers, in a subprocess with Django set up."""
    from django.utils import timezone

    from peyvand.consent.models import ConsentChange, ConsentState
    from peyvand.contacts.models import Contact, Identity

    Contact.objects.bulk_create([Contact(first_name=f"نام{i}", last_name="آزمون")
                                 for i in range(n)], batch_size=2000)
    ids = list(Contact.objects.order_by("id").values_list("id", flat=True))
    Identity.objects.bulk_create([Identity(contact_id=cid, kind="email",
                                           value=f"r{i}@example.com", is_primary=True)
                                  for i, cid in enumerate(ids)], batch_size=2000)
    now = timezone.now()
    changes = ConsentChange.objects.bulk_create(
        [ConsentChange(contact_id=c, channel="email", action="opt_in", source="preferences",
                       actor_label="crash-test", at=now) for c in ids], batch_size=2000)
    ConsentState.objects.bulk_create(
        [ConsentState(contact_id=ch.contact_id, channel="email", status="in", changed_at=now,
                      confirmed_at=now, last_change_id=ch.pk) for ch in changes],
        batch_size=2000)
    return ids
