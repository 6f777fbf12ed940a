"""POST /api/v1/imports/contacts -> 202 {job_id}; GET /api/v1/imports/{id} -> status."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from peyvand.accounts.actions import do_create_token
from peyvand.base.actor import Actor
from peyvand.base.models import Job
from peyvand.contacts.models import Contact

pytestmark = pytest.mark.django_db
CSV = "ایمیل,موبایل,نام,who\r\nali@example.com,۰۹۱۲۳۴۵۶۷۸۹,علی,x\r\nbad,,,\r\n".encode()


@pytest.fixture
def client_for(make_user):
    def make(role: str = "owner", name: str | None = None) -> Client:
        user = make_user(name or f"{role}-api", role)
        key = do_create_token(Actor.system("test"), user, "tests")
        return Client(headers={"authorization": f"Bearer {key}"})

    return make


def post_file(client, content=CSV, name="contacts.csv", **data):
    return client.post("/api/v1/imports/contacts",
                       {"file": SimpleUploadedFile(name, content, "text/csv"), **data})


def test_job_flow_with_status_totals_and_report(client_for, django_capture_on_commit_callbacks):
    client = client_for("marketer")
    with django_capture_on_commit_callbacks(execute=True):
        response = post_file(client, tag="api-import",
                             mapping=json.dumps({"who": "last_name"}))
    assert response.status_code == 202, response.content
    job_id = response.json()["job_id"]
    assert response.json()["status_url"] == f"/api/v1/imports/{job_id}"
    status = client.get(f"/api/v1/imports/{job_id}").json()
    assert status["status"] == "done" and status["progress"] == 100
    assert status["kind"] == "contacts.import" and status["notes"] == []
    assert status["totals"] == {"read": 2, "created": 1, "updated": 0, "merged": 0,
                                "rejected": 1}
    assert status["report_url"] == f"/api/v1/imports/{job_id}/rejected.csv"
    ali = Contact.objects.get()
    assert (ali.first_name, ali.last_name) == ("علی", "x")
    assert list(ali.tags.values_list("name", flat=True)) == ["api-import"]
    report = client.get(status["report_url"])
    assert report.status_code == 200
    text = b"".join(report.streaming_content).decode("utf-8-sig")
    assert text.splitlines()[1].startswith("3,ایمیل,bad,")


def test_queued_job_reports_its_state_before_the_worker_runs(client_for):
    client = client_for("owner")
    response = post_file(client)  # on_commit never fires inside the test transaction
    assert response.status_code == 202
    status = client.get(f"/api/v1/imports/{response.json()['job_id']}").json()
    assert status["status"] == "queued" and status["report_url"] is None
    assert not Contact.objects.exists()


@pytest.mark.parametrize("content, data, field", [
    (b"\x00\x01binary", {}, "file"),
    (b"name,who\r\nAli,x\r\n", {}, "file"),                            # no e-mail/mobile
    (CSV, {"mapping": "{not json"}, "mapping"),
    (CSV, {"mapping": json.dumps({"nope": "email"})}, "file"),
    (CSV, {"mapping": json.dumps({"who": "shoe size"})}, "file"),
])
def test_unusable_uploads_are_refused_at_once(client_for, content, data, field):
    response = post_file(client_for("owner"), content, **data)
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert not Job.objects.exists()


@pytest.mark.parametrize("role", ["reviewer", "analyst"])
def test_roles_without_contacts_edit_are_denied_and_nothing_changes(client_for, role):
    response = post_file(client_for(role))
    assert response.status_code == 403
    assert not Job.objects.exists() and not Contact.objects.exists()


def test_other_peoples_import_jobs_are_not_found(client_for, django_capture_on_commit_callbacks):
    mine = client_for("marketer", "m1")
    with django_capture_on_commit_callbacks(execute=True):
        job_id = post_file(mine).json()["job_id"]
    other = client_for("support", "s1")
    assert other.get(f"/api/v1/imports/{job_id}").status_code == 404
    assert other.get(f"/api/v1/imports/{job_id}/rejected.csv").status_code == 404
    # The owner sees every import, as on the jobs page.
    assert client_for("owner").get(f"/api/v1/imports/{job_id}").status_code == 200
    assert Client().get(f"/api/v1/imports/{job_id}").status_code == 401
    assert mine.get("/api/v1/imports/999999").status_code == 404
