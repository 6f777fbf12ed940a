"""The pieces of an erasure one by one: what SQLite and the queue do with deleted bytes, the
outbox columns (those added later too), the consent ledger's proof, copies arriving late
(a bounce, a tracking hit, an export being written), merges of merges, and how addresses are
recognised in text and files."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from peyvand.base.models import AuditEntry
from peyvand.base.scrub import ERASED, Needles, scrub_file
from peyvand.contacts.actions import do_create_contact, do_erase_contact, do_merge_contacts
from peyvand.contacts.models import Contact

pytestmark = pytest.mark.django_db


# --- deleted bytes ------------------------------------------------------------------------------

@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite only")
def test_the_database_connection_zeroes_what_it_deletes():
    # Set by us, not left to how SQLite was built (Debian's zeroes by default, others not).
    assert "PRAGMA secure_delete=ON" in settings.DATABASES["default"]["OPTIONS"]["init_command"]
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA secure_delete")
        assert cursor.fetchone()[0] == 1


def test_the_sqlite_queue_zeroes_finished_tasks(tmp_path):
    from peyvand.base.queue import SecureSqliteStorage

    storage = SecureSqliteStorage(name="q", filename=str(tmp_path / "huey.sqlite3"))
    assert storage.conn.execute("pragma secure_delete").fetchone()[0] == 1
    storage.conn.execute("pragma secure_delete=OFF")  # what SQLite does when not told
    storage.enqueue(b"confirm erase-me-q1@example.com")
    storage.dequeue()
    storage.conn.execute("pragma wal_checkpoint(TRUNCATE)")
    assert b"erase-me-q1@example.com" in (tmp_path / "huey.sqlite3").read_bytes()
    fresh = SecureSqliteStorage(name="q", filename=str(tmp_path / "huey2.sqlite3"))
    fresh.enqueue(b"confirm erase-me-q2@example.com")
    fresh.dequeue()
    fresh.conn.execute("pragma wal_checkpoint(TRUNCATE)")
    assert b"erase-me-q2@example.com" not in (tmp_path / "huey2.sqlite3").read_bytes()
    assert settings.HUEY["huey_class"] in ("peyvand.base.queue.SqliteHuey", "huey.RedisHuey")


# --- rows ---------------------------------------------------------------------------------------

@pytest.fixture
def someone(owner_actor):
    return do_create_contact(owner_actor, {"first_name": "Erasa", "email": "erase-me-r@example.com",
                                           "phone": "09127770000"})


def test_every_outbox_column_but_the_kept_ones_is_emptied(owner_actor, someone):
    """Columns added to the outbox later are emptied too: only OUTBOX_KEPT stays."""
    from peyvand.messaging.models import OutboxMessage
    from peyvand.messaging.personal_data import OUTBOX_KEPT

    row = OutboxMessage.objects.create(
        source="test:1", contact=someone, channel="email", to_address="erase-me-r@example.com",
        message_class="marketing", state="sent", sent_at=timezone.now())
    personal = [f for f in OutboxMessage._meta.concrete_fields
                if not f.primary_key and f.name not in OUTBOX_KEPT]
    for field in personal:  # whatever the column holds, give it something
        if field.get_internal_type() in ("CharField", "TextField"):
            setattr(row, field.name, "erase-me-r@example.com"[:field.max_length or 99])
    row.save()
    do_erase_contact(owner_actor, someone)
    row.refresh_from_db()
    for field in personal:
        assert getattr(row, field.name) in ("", None, b"", {}, [], field.get_default()), field
    assert (row.state, row.source, row.channel) == ("sent", "test:1", "email")


def test_the_ledger_keeps_its_proof_without_devices_or_typed_words(owner_actor, someone):
    from peyvand.consent.actions import do_staff_change, do_unsubscribe
    from peyvand.consent.ledger import Change, append
    from peyvand.consent.models import ConsentChange

    append(someone.pk, [Change("opt_in", "email", None)], source="form", actor_label="form:x",
           ip="203.0.113.5", user_agent="Browser/1")
    do_staff_change(owner_actor, someone, {"action": "pause", "channel": "email", "weeks": 2,
                                           "note": "she phoned from 09127770000"})
    do_unsubscribe(someone, ["email"], reason="other", reason_text="I am erase-me-r, stop",
                   ip="203.0.113.6", user_agent="Browser/2")
    rows = ConsentChange.objects.filter(contact=someone).count()
    do_erase_contact(owner_actor, someone)
    kept = list(ConsentChange.objects.filter(contact=someone).order_by("id"))
    assert len(kept) == rows  # proof and counts stay
    assert all(c.ip is None and c.user_agent == "" for c in kept)
    assert all(not {"note", "reason_text"} & set(c.details) for c in kept)
    assert kept[-1].details["reason"] == "other" and kept[1].details["paused_until"]


def test_a_bounce_arriving_after_the_erasure_names_nobody(owner_actor, someone, settings):
    from pathlib import Path

    from peyvand.tracking.bounces import process_report

    settings.PEYVAND_BOUNCE_DOMAIN = "bounces.example"
    do_erase_contact(owner_actor, someone)
    raw = (Path(__file__).parents[1] / "tracking" / "samples" / "postfix_hard.eml") \
        .read_bytes().replace(b"sara@example.com", b"erase-me-r@example.com")
    from peyvand.tracking.bounces import bounce_address

    report = process_report(raw.replace(b"{VERP}", bounce_address(5, contact_id=someone.pk)
                                        .encode()).replace(b"{MSGID}", b"x@shop.example"))
    assert (report.kind, report.status, report.contact_id) == ("hard", "5.1.1", None)
    assert (report.recipient, report.diagnostic, report.subject, bytes(report.raw)) == (
        "", "", "", b"")


def test_a_hit_arriving_after_the_erasure_keeps_no_link(owner_actor, someone, settings,
                                                      tmp_path):
    from peyvand.tracking import spool
    from peyvand.tracking.events import drain_spool
    from peyvand.tracking.models import TrackingEvent

    settings.TRACKING_SPOOL = str(tmp_path)
    try:
        do_erase_contact(owner_actor, someone)
        spool.append("c", 5, someone.pk, 0, "https://shop.example/?u=erase-me-r@example.com",
                     "shoes", "Mozilla/5.0 Firefox")
        assert drain_spool() == 1
        event = TrackingEvent.objects.get()
        assert (event.kind, event.contact_id, event.url, event.topic) == ("click", None, "", "")
    finally:
        spool.close()


def test_merges_of_merges_keep_no_snapshot(owner_actor):
    first = do_create_contact(owner_actor, {"email": "erase-me-m1@example.com",
                                            "first_name": "One"})
    second = do_create_contact(owner_actor, {"email": "erase-me-m2@example.com"})
    third = do_create_contact(owner_actor, {"email": "erase-me-m3@example.com"})
    do_merge_contacts(owner_actor, second, [first])
    do_merge_contacts(owner_actor, third, [second])
    do_update_contact_emails(owner_actor, third, ["erase-me-m3@example.com"])
    do_erase_contact(owner_actor, Contact.objects.get(pk=third.pk))
    for entry in AuditEntry.objects.filter(action="contact.merge"):
        assert "erase-me" not in str(entry.details) and "One" not in str(entry.details)
        assert entry.details["merged"]["erased"] is True
        assert {r["field"] for r in entry.details["resolution"]} >= {"first_name"}


def do_update_contact_emails(actor, contact, emails):
    """Their older addresses are no longer identities: only the merge snapshots hold them."""
    from peyvand.contacts.actions import do_update_contact

    do_update_contact(actor, Contact.objects.get(pk=contact.pk), {"emails": emails})


# --- a copy made while the erasure ran --------------------------------------------------------

def test_an_export_being_written_during_the_erasure_loses_the_person(owner_actor, someone,
                                                                    tmp_path):
    from peyvand.contacts.export import write_export_file

    do_create_contact(owner_actor, {"email": "keep-me-x@example.com"})
    path = tmp_path / "contacts.csv"

    def erase_midway(done: int, total: int) -> None:
        if done:  # the rows were read and written: now the person is erased
            do_erase_contact(owner_actor, Contact.objects.get(pk=someone.pk))

    count = write_export_file(owner_actor, "csv", path, progress=erase_midway)
    text = path.read_text(encoding="utf-8-sig")
    assert "erase-me-r" not in text and "7770000" not in text
    assert "keep-me-x@example.com" in text and count == 1


def test_an_old_erasure_does_not_touch_a_new_export(owner_actor, someone, tmp_path):
    from peyvand.contacts.export import ERASURE_WINDOW, write_export_file

    do_erase_contact(owner_actor, someone)
    Contact.objects.filter(pk=someone.pk).update(
        erased_at=timezone.now() - ERASURE_WINDOW - dt.timedelta(minutes=1))
    path = tmp_path / "contacts.json"
    assert write_export_file(owner_actor, "json", path) == 0
    assert path.read_text() == "[\n]\n"


# --- recognising an address ---------------------------------------------------------------------

NEEDLES = Needles.of(["erase-me-n@example.com", "+989127770000", "0499370899"])


@pytest.mark.parametrize("text", [
    "ERASE-ME-N@Example.COM", "0912 777 0000", "۰۹۱۲-۷۷۷-۰۰۰۰", "+98 (912) 777 0000",
    "00989127770000", "9127770000", "کد ملی ۰۴۹۹۳۷۰۸۹۹", "erase‌me-n@example.com"])
def test_an_address_is_found_however_it_was_written(text):
    assert NEEDLES.found_in(text)


@pytest.mark.parametrize("text", ["erase-me-x@example.com", "0912 777 0001", "04993708"])
def test_others_are_not(text):
    assert not NEEDLES.found_in(text)


def test_scrub_takes_out_the_address_and_keeps_the_rest():
    value = {"file": "erase-me-n@example.com.csv", "n": 3,
             "rows": ["Call 0912 777 0000", "other"]}
    assert NEEDLES.scrub(value) == {"file": f"{ERASED}.csv", "n": 3, "rows": [ERASED, "other"]}


def test_files_in_utf16_or_xlsx_are_recognised_and_rewritten(tmp_path):
    from openpyxl import Workbook, load_workbook

    upload = tmp_path / "upload.csv"
    upload.write_bytes("email\nerase-me-n@example.com\n".encode("utf-16"))
    assert scrub_file(upload, NEEDLES, rewrite=False).action == "deleted"
    assert not upload.exists()
    book = Workbook()
    book.active.append(["id", "email", "mobile"])
    book.active.append([1, "erase-me-n@example.com", "+989127770000"])
    book.active.append([2, "keep@example.com", ""])
    book.save(tmp_path / "contacts.xlsx")
    outcome = scrub_file(tmp_path / "contacts.xlsx", NEEDLES, rewrite=True)
    assert (outcome.action, outcome.rows) == ("rewritten", 1)
    rows = list(load_workbook(tmp_path / "contacts.xlsx").worksheets[0].values)
    assert rows == [("id", "email", "mobile"), (2, "keep@example.com", None)]
    plain = tmp_path / "notes.txt"
    plain.write_text("nothing here")
    assert scrub_file(plain, NEEDLES, rewrite=False) is None and plain.exists()


def test_sqlite_keeps_deleted_bytes_unless_told_otherwise(tmp_path):
    """Why the pragma matters: the grep in test_erasure_leaves_no_copy would see them."""
    for secure, expect in (("OFF", True), ("ON", False)):
        path = tmp_path / f"{secure}.sqlite3"
        db = sqlite3.connect(path)
        db.execute(f"pragma secure_delete={secure}")
        db.execute("create table t (v text)")
        db.execute("insert into t values ('erase-me-s@example.com')")
        db.commit()
        db.execute("delete from t")
        db.commit()
        db.close()
        assert (b"erase-me-s@example.com" in path.read_bytes()) is expect
