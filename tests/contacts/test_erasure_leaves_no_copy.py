"""Erasure leaves no copy: after one person has been through everything Peyvand keeps
(tests/contacts/everywhere.py), no row, no byte of the database and no file under
PEYVAND_HOME holds their addresses, mobile or national ID; anonymous counts stay."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from django.apps import apps
from django.db import connection, models

from peyvand.base.models import AuditEntry, Job
from peyvand.contacts.actions import do_erase_contact
from peyvand.contacts.models import Contact

from .everywhere import (
    ADDRESS,
    NEEDLES,
    OTHER,
    counts,
    found_in,
    holders,
)

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
TEXT_FIELDS = (models.CharField, models.TextField, models.JSONField)


def rows_holding() -> dict[str, list[str]]:
    """Every column of every table that holds a needle (what a test can check on PostgreSQL,
    where the data files cannot be read)."""
    found: dict[str, list[str]] = {}
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            name = f"{model._meta.label}.{field.name}"
            if isinstance(field, models.BinaryField):
                for value in model.objects.exclude(**{field.name: b""}) \
                        .values_list(field.name, flat=True):
                    if value and found_in(bytes(value)):
                        found.setdefault(name, []).extend(found_in(bytes(value)))
            elif isinstance(field, TEXT_FIELDS):
                for needle in NEEDLES:
                    forms = {needle, json.dumps(needle)[1:-1]}
                    if any(model.objects.filter(**{f"{field.name}__icontains": form}).exists()
                           for form in forms):
                        found.setdefault(name, []).append(needle)
    return found


def database_bytes() -> bytes:
    """The whole SQLite test database as a file would hold it, free space included."""
    connection.ensure_connection()
    return connection.connection.serialize()


def test_the_person_is_everywhere_before(everywhere_person, home):
    """The scenario really puts them in every place the erasure must reach."""
    files = holders(home)
    names = " ".join(files)
    for place in ("exports/contacts-", ".xlsx", ".json", "rejected.csv", "upload.csv",
                  "tracking-spool/"):
        assert place in names, (place, files)
    rows = rows_holding()
    for column in ("contacts.Identity.value", "contacts.Note.body", "base.AuditEntry.details",
                   "base.Job.params", "commerce.WebhookDelivery.payload",
                   "commerce.Refund.reason", "messaging.OutboxMessage.to_address",
                   "mailcatcher.CaughtMail.to",
                   "mailcatcher.CaughtMail.raw", "mailcatcher.CaughtSms.to",
                   "tracking.TrackingEvent.url", "tracking.SmsSend.to",
                   "tracking.BounceReport.recipient", "contacts.TimelineEvent.data"):
        assert column in rows, (column, sorted(rows))
    if connection.vendor == "sqlite":  # the byte grep below sees what the database holds
        assert ADDRESS in found_in(database_bytes())


def test_erasure_leaves_no_copy(owner_actor, everywhere_person, home, caplog,
                                django_capture_on_commit_callbacks):
    person = everywhere_person
    with django_capture_on_commit_callbacks(execute=True):
        do_erase_contact(owner_actor, Contact.objects.get(pk=person.contact_id))

    assert not [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert rows_holding() == {}
    assert holders(home) == {}
    if connection.vendor == "sqlite":
        assert found_in(database_bytes()) == []
    # What the shop's statistics need stays: orders, messages, ledger rows, tracking events.
    assert counts() == person.counts
    # The export files were rewritten, not lost: the other person is still in them.
    for job in Job.objects.filter(pk__in=person.export_jobs):
        path = Path(job.result["path"])
        data = path.read_bytes()
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as book:
                data = b"".join(book.read(n) for n in book.namelist())
        assert OTHER.encode() in data, path
        assert job.result["erased_rows"] == 1 and job.result["count"] == 1
    # The rejected-rows report keeps its header, without the person's row.
    report = next(home.glob("imports/*/rejected.csv")).read_text(encoding="utf-8-sig")
    assert report.count("\n") == 1
    # Audited without naming anyone: counts and file names.
    entry = AuditEntry.objects.get(action="contact.erase")
    assert not found_in(json.dumps(entry.details, ensure_ascii=False).encode())
    assert entry.details["merge_snapshots"] == 1 and entry.details["caught_mail"] >= 2
    assert {f["action"] for f in entry.details["export_files"]} == {"rewritten"}
    assert {f["action"] for f in entry.details["import_files"]} == {"rewritten", "deleted"}
    merge = AuditEntry.objects.get(action="contact.merge")
    assert merge.details["merged"]["erased"] is True


@pytest.mark.slow
def test_erasure_leaves_no_copy_in_a_real_sqlite_file_and_home(tmp_path):
    """The same in a real PEYVAND_HOME: the database file, its -wal and -shm, the queue, the
    exports, the import folder and the spool, byte for byte."""
    if os.environ.get("DATABASE_URL"):
        pytest.skip("PostgreSQL's data files cannot be read here; the rows are checked above")
    env = {**os.environ, "PEYVAND_HOME": str(tmp_path), "PEYVAND_HUEY_IMMEDIATE": "1",
           "DJANGO_SETTINGS_MODULE": "peyvand.settings", "PEYVAND_PUBLIC_URL":
           "https://crm.example", "PEYVAND_BOUNCE_DOMAIN": "bounces.example",
           "PEYVAND_SENDER_PROCESSES": "1"}
    run = subprocess.run([sys.executable, "-m", "tests.contacts.everywhere", str(tmp_path)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    places = " ".join(result["before"])
    for place in ("peyvand.sqlite3 ", "peyvand.sqlite3-wal", ".csv", ".xlsx", ".json",
                  "rejected.csv", "tracking-spool/"):
        assert place in places + " ", (place, result["before"])
    assert holders(tmp_path) == {}
