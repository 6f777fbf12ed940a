"""Export files already written lose an erased person: rewritten without their row (the job
says so and its download serves the new file), or deleted when they cannot be rewritten."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from peyvand.base.models import AuditEntry, Job
from peyvand.contacts.actions import do_erase_contact
from peyvand.contacts.export import do_start_export_job

pytestmark = pytest.mark.django_db


@pytest.fixture
def exported(owner_actor, some_contacts, export_dir, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        jobs = [do_start_export_job(owner_actor, fmt) for fmt in ("csv", "xlsx", "json")]
    return [Job.objects.get(pk=job.pk) for job in jobs]


def test_each_export_is_rewritten_and_its_job_says_so(owner_actor, some_contacts, exported,
                                                      export_dir,
                                                      django_capture_on_commit_callbacks):
    stray = export_dir / "notes.txt"  # not a file Peyvand can rewrite: it goes whole
    stray.write_text("ring p2@example.com tomorrow", encoding="utf-8")
    with django_capture_on_commit_callbacks(execute=True):
        do_erase_contact(owner_actor, some_contacts[2])
    assert not stray.exists()
    client = Client()
    client.force_login(owner_actor.user)
    for job in Job.objects.filter(pk__in=[j.pk for j in exported]):
        assert (job.result["count"], job.result["erased_rows"]) == (4, 1)
        response = client.get(f"/jobs/{job.pk}/download/")
        data = b"".join(response.streaming_content)
        if job.result["format"] == "xlsx":
            import io

            from openpyxl import load_workbook

            rows = list(load_workbook(io.BytesIO(data)).worksheets[0].values)
            data = json.dumps([list(map(str, r)) for r in rows]).encode()
        assert b"p2@example.com" not in data and b"p3@example.com" in data
    entry = AuditEntry.objects.get(action="contact.erase")
    assert sorted(f["action"] for f in entry.details["export_files"]) == [
        "deleted", "rewritten", "rewritten", "rewritten"]
    assert all("p2@" not in f["file"] for f in entry.details["export_files"])


def test_an_erasure_of_someone_not_exported_touches_no_file(owner_actor, some_contacts,
                                                            exported, export_dir):
    from peyvand.contacts.actions import do_create_contact

    later = do_create_contact(owner_actor, {"email": "later@example.com"})
    before = {p.name: p.read_bytes() for p in export_dir.iterdir()}
    do_erase_contact(owner_actor, later)
    assert {p.name: p.read_bytes() for p in export_dir.iterdir()} == before
    assert all("erased_rows" not in j.result for j in Job.objects.filter(kind="contacts.export"))


def test_copies_made_while_the_erasure_ran_go_once_it_commits(owner_actor, some_contacts,
                                                              export_dir, caplog,
                                                              django_capture_on_commit_callbacks):
    from peyvand.mailcatcher.models import CaughtMail

    export_dir.mkdir(parents=True, exist_ok=True)
    old = export_dir / "contacts-old.csv"
    old.write_text("id,emails\r\n9,p2@example.com\r\n", encoding="utf-8")
    with django_capture_on_commit_callbacks(execute=True):
        do_erase_contact(owner_actor, some_contacts[2])
        # Written after the erasure looked, before it committed (an export job finishing).
        late = export_dir / "contacts-late.csv"
        late.write_text(f"id,emails\r\n{some_contacts[2].pk},p2@example.com\r\n"
                        f"{some_contacts[3].pk},p3@example.com\r\n", encoding="utf-8")
        CaughtMail.objects.create(raw=b"To: p2@example.com\r\n\r\nhi", to=["p2@example.com"])
    assert "p2@" not in late.read_text() and "p3@example.com" in late.read_text()
    assert not CaughtMail.objects.exists()
    [first, again] = AuditEntry.objects.filter(action="contact.erase").order_by("id")
    assert [f["file"] for f in first.details["export_files"]] == ["contacts-old.csv"]
    assert again.details == {"export_files": [{"file": "contacts-late.csv",
                                               "action": "rewritten", "rows": 1}],
                             "caught_mail": 1}
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
