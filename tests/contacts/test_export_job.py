import csv
import io
import json
import os

import pytest
from django.core.exceptions import PermissionDenied

from peyvand.accounts.actions import do_change_role
from peyvand.base.models import AuditEntry, Job
from peyvand.contacts import export
from peyvand.contacts.export import do_start_export_job, write_contacts_export

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_export_job_writes_a_file_and_records_it(owner_actor, some_contacts, export_dir,
                                                 django_capture_on_commit_callbacks, fmt):
    with django_capture_on_commit_callbacks(execute=True):
        job = do_start_export_job(owner_actor, fmt)
    job.refresh_from_db()
    assert job.status == Job.Status.DONE, job.error
    assert job.kind == "contacts.export" and job.created_by == owner_actor.user
    assert job.result["count"] == 5 and job.result["format"] == fmt
    assert (job.progress, job.total, job.percent) == (5, 5, 100)
    path = export_dir / job.result["filename"]
    assert job.result["path"] == str(path)
    assert os.stat(path).st_mode & 0o077 == 0 and os.stat(export_dir).st_mode & 0o077 == 0
    if fmt == "json":
        assert len(json.loads(path.read_text(encoding="utf-8"))) == 5
    else:
        assert len(list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))) == 5
    assert [f.name for f in export_dir.iterdir()] == [path.name]  # no temporary left over
    entry = AuditEntry.objects.get(action="contacts.export")
    assert entry.actor == owner_actor.user and entry.details["count"] == 5


def test_job_is_queued_only_after_commit(owner_actor, some_contacts, export_dir,
                                         django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = do_start_export_job(owner_actor, "csv")
    assert len(callbacks) == 1
    assert Job.objects.get(pk=job.pk).status == Job.Status.QUEUED
    callbacks[0]()
    assert Job.objects.get(pk=job.pk).status == Job.Status.DONE
    callbacks[0]()  # a second delivery does not export twice
    assert AuditEntry.objects.filter(action="contacts.export").count() == 1


@pytest.mark.parametrize("role", ["marketer", "reviewer", "support", "analyst"])
def test_only_owners_start_exports(actor_for, export_dir, role):
    with pytest.raises(PermissionDenied):
        do_start_export_job(actor_for(role), "csv")
    assert not Job.objects.exists()


def test_role_is_checked_again_when_the_job_runs(owner, make_user, some_contacts, export_dir,
                                                 django_capture_on_commit_callbacks):
    from peyvand.base.actor import Actor

    sara = make_user("sara", "owner")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = do_start_export_job(Actor.for_user(sara, "ui"), "csv")
    do_change_role(Actor.for_user(owner, "ui"), sara, "analyst")
    callbacks[0]()
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and "contacts.export" in job.error
    assert not export_dir.exists() or not list(export_dir.iterdir())
    assert not AuditEntry.objects.filter(action="contacts.export").exists()


def test_unknown_format_is_refused(owner_actor):
    with pytest.raises(ValueError):
        do_start_export_job(owner_actor, "xml")
    with pytest.raises(ValueError):
        write_contacts_export(owner_actor, "xml", io.StringIO())


def test_export_reads_in_chunks_and_reports_progress(owner_actor, some_contacts, monkeypatch,
                                                     django_assert_max_num_queries):
    monkeypatch.setattr(export, "CHUNK", 2)
    ticks = []
    out = io.StringIO()
    count = write_contacts_export(owner_actor, "csv", out,
                                  progress=lambda done, total: ticks.append((done, total)))
    assert count == 5
    assert ticks == [(0, 5), (2, 5), (4, 5), (5, 5)]
    ids = [int(r["id"]) for r in csv.DictReader(io.StringIO(out.getvalue()))]
    assert ids == sorted(c.pk for c in some_contacts)
    # Query count depends on the number of chunks, not of contacts.
    monkeypatch.setattr(export, "CHUNK", 500)
    with django_assert_max_num_queries(10):
        write_contacts_export(owner_actor, "csv", io.StringIO())
