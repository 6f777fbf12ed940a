"""Owner pages: users and roles, the audit log, and jobs with the export download."""

from __future__ import annotations

import sys
import types

import pytest
from django.contrib.auth import get_user_model

from peyvand.base.audit import record_audit
from peyvand.base.models import AuditEntry, Job

pytestmark = pytest.mark.django_db
User = get_user_model()


def test_create_user(owner_client):
    response = owner_client.post("/accounts/users/new/", {
        "username": "sara", "password": "Another-Horse-77", "role": "support",
        "language": "fa"})
    assert response["Location"] == "/accounts/users/"
    sara = User.objects.get(username="sara")
    assert sara.profile.role == "support" and sara.profile.language == "fa"
    assert sara.check_password("Another-Horse-77")
    html = owner_client.get("/accounts/users/").content.decode()
    assert 'data-user="sara"' in html


def test_create_user_errors_next_to_fields(owner_client):
    response = owner_client.post("/accounts/users/new/", {
        "username": "owner-en", "password": "short", "role": "support", "language": "fa"})
    assert response.context["form"].errors["password"]
    response = owner_client.post("/accounts/users/new/", {
        "username": "OWNER-EN", "password": "Another-Horse-77", "role": "support",
        "language": "fa"})
    assert "already exists" in " ".join(response.context["form"].errors["username"])
    assert User.objects.count() == 1


def test_change_role_and_last_owner_guard(owner_client, make_user):
    bob = make_user("bob", "analyst")
    owner_client.post(f"/accounts/users/{bob.pk}/role/", {"role": "marketer"})
    bob.profile.refresh_from_db()
    assert bob.profile.role == "marketer"
    response = owner_client.post(f"/accounts/users/{owner_client.user.pk}/role/",
                                 {"role": "analyst"}, follow=True)
    assert "last owner" in response.content.decode()
    owner_client.user.profile.refresh_from_db()
    assert owner_client.user.profile.role == "owner"
    assert AuditEntry.objects.filter(action="user.role_change").count() == 1


def test_deactivate_and_activate(owner_client, make_user):
    bob = make_user("bob", "analyst")
    owner_client.post(f"/accounts/users/{bob.pk}/active/", {"active": "0"})
    bob.refresh_from_db()
    assert not bob.is_active
    owner_client.post(f"/accounts/users/{bob.pk}/active/", {"active": "1"})
    bob.refresh_from_db()
    assert bob.is_active


def test_audit_log_filters_by_action_and_paginates(owner_client):
    actor = owner_client.actor
    for i in range(55):
        record_audit(actor, "contact.export", target_type="contact", target_id=i)
    record_audit(actor, "contact.erase", target_type="contact", target_id=99)
    page = owner_client.get("/audit/")
    assert len(page.context["page"].object_list) == 50
    assert "?page=2" in page.content.decode()
    only = owner_client.get("/audit/", {"action": "contact.erase"})
    assert [e.action for e in only.context["page"]] == ["contact.erase"]
    assert '<option value="contact.erase" selected>' in only.content.decode()


def test_jobs_page_shows_own_jobs_to_others_and_all_to_the_owner(owner_client, client_for):
    analyst = client_for("analyst")
    Job.objects.create(kind="contacts.export", created_by=owner_client.user)
    Job.objects.create(kind="contacts.import", created_by=analyst.user, progress=5, total=10)
    assert len(owner_client.get("/jobs/").context["page"].object_list) == 2
    response = analyst.get("/jobs/")
    assert [j.kind for j in response.context["page"]] == ["contacts.import"]
    assert "50%" in response.content.decode()
    assert "/jobs/export/" not in response.content.decode()
    assert "/jobs/export/" in owner_client.get("/jobs/").content.decode()


def test_download_finished_export(owner_client, client_for, settings, tmp_path):
    settings.EXPORT_DIR = tmp_path
    (tmp_path / "contacts-1.csv").write_text("id,first_name\n1,Ali\n")
    job = Job.objects.create(kind="contacts.export", status=Job.Status.DONE,
                             result={"path": str(tmp_path / "contacts-1.csv"), "count": 1})
    assert f"/jobs/{job.pk}/download/" in owner_client.get("/jobs/").content.decode()
    response = owner_client.get(f"/jobs/{job.pk}/download/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"id,first_name\n1,Ali\n"
    assert 'filename="contacts-1.csv"' in response["Content-Disposition"]
    assert client_for("marketer").get(f"/jobs/{job.pk}/download/").status_code == 403


def test_download_refuses_unfinished_jobs_and_files_outside_the_export_folder(
        owner_client, settings, tmp_path):
    settings.EXPORT_DIR = tmp_path / "exports"
    settings.EXPORT_DIR.mkdir()
    outside = tmp_path / "secret.txt"
    outside.write_text("no")
    running = Job.objects.create(kind="contacts.export", status=Job.Status.RUNNING)
    sneaky = Job.objects.create(kind="contacts.export", status=Job.Status.DONE,
                                result={"path": str(outside)})
    assert owner_client.get(f"/jobs/{running.pk}/download/").status_code == 404
    assert owner_client.get(f"/jobs/{sneaky.pk}/download/").status_code == 404


def test_export_button_starts_the_export_job(owner_client, monkeypatch):
    calls = []

    def fake_start(actor, fmt):
        calls.append((actor.user, fmt))
        return Job.objects.create(kind="contacts.export", created_by=actor.user)

    fake = types.ModuleType("peyvand.contacts.export")
    fake.do_start_export_job = fake_start
    monkeypatch.setitem(sys.modules, "peyvand.contacts.export", fake)
    response = owner_client.post("/jobs/export/", follow=True)
    assert calls == [(owner_client.user, "csv")]
    assert response.redirect_chain[-1][0] == "/jobs/"
    assert "The export has started" in response.content.decode()
    assert owner_client.get("/jobs/export/").status_code == 405


def test_export_job_end_to_end_when_available(owner_client, make_contact, settings, tmp_path,
                                              django_capture_on_commit_callbacks):
    pytest.importorskip("peyvand.contacts.export")
    settings.EXPORT_DIR = tmp_path
    make_contact(first_name="Ali", email="ali@example.com")
    # The job is queued on commit; run it as the test transaction never commits.
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post("/jobs/export/")
    job = Job.objects.get()
    assert job.status == Job.Status.DONE, job.error
    response = owner_client.get(f"/jobs/{job.pk}/download/")
    assert b"ali@example.com" in b"".join(response.streaming_content)
