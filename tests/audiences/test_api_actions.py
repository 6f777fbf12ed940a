"""POST /segments/{id}/actions, POST /segments/actions and GET /segments/actions/{job}
(audiences.api_actions), served by the site's API once wired, else mounted for the test."""

from __future__ import annotations

import pytest

from peyvand.audiences import broadcast_audience, bulk
from peyvand.audiences.actions import do_create_segment
from peyvand.base.actor import Actor
from peyvand.base.models import Job
from peyvand.contacts.actions import do_create_contact
from peyvand.contacts.models import ContactTag
from tests.messaging.conftest import post

pytestmark = [pytest.mark.django_db]
SYSTEM = Actor.system("test")


@pytest.fixture(autouse=True)
def wired(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EXPORT_DIR = tmp_path / "exports"
    broadcast_audience.register()
    bulk.register()


@pytest.fixture
def segment(db):
    for name in ("sara", "reza"):
        do_create_contact(SYSTEM, {"first_name": name, "email": f"{name}@example.com",
                                   "tags": ["vip"]})
    do_create_contact(SYSTEM, {"first_name": "omid", "email": "omid@example.com"})
    return do_create_segment(SYSTEM, "VIPs", {"field": "contact.tags", "op": "has",
                                              "value": "vip"})


def test_act_on_a_segment_then_poll_the_job(segment, api_for,
                                            django_capture_on_commit_callbacks):
    api = api_for("marketer")
    with django_capture_on_commit_callbacks(execute=True):
        started = post(api, f"/api/v1/segments/{segment.pk}/actions",
                       {"action": "tag", "params": {"tag": "winter"}})
    assert started.status_code == 202, started.content
    body = started.json()
    assert body["status"] == "queued" and body["kind"] == "segments.action"
    polled = api.get(f"/api/v1/segments/actions/{body['job']}").json()
    assert polled["status"] == "done" and polled["result"]["changed"] == 2
    assert polled["label"] == "Tag people · VIPs"
    assert (polled["progress"], polled["total"]) == (2, 2)
    assert ContactTag.objects.filter(tag__name="winter").count() == 2


def test_act_on_a_target_in_the_body(segment, api_for, django_capture_on_commit_callbacks):
    api = api_for("owner")
    with django_capture_on_commit_callbacks(execute=True):
        started = post(api, "/api/v1/segments/actions", {
            "action": "export", "target": {"contact_search": {"q": "omid"}},
            "params": {"format": "csv"}})
    assert started.status_code == 202, started.content
    job = Job.objects.get(pk=started.json()["job"])
    assert job.status == "done" and job.result["count"] == 1
    polled = api.get(f"/api/v1/segments/actions/{job.pk}").json()
    assert "path" not in polled["result"] and polled["result"]["filename"].endswith(".csv")


def test_refusals(segment, api_for):
    marketer = api_for("marketer")
    assert post(marketer, f"/api/v1/segments/{segment.pk}/actions",
                {"action": "export", "params": {}}).status_code == 403
    bad = post(marketer, "/api/v1/segments/actions",
               {"action": "tag", "target": {"segment": 999}, "params": {"tag": "x"}})
    assert bad.status_code == 400 and "segment" in bad.json()["errors"]
    assert post(api_for("analyst"), f"/api/v1/segments/{segment.pk}/actions",
                {"action": "tag", "params": {"tag": "x"}}).status_code == 403
    assert not Job.objects.exists()


def test_others_jobs_are_not_found(segment, api_for, django_capture_on_commit_callbacks):
    started = post(api_for("marketer"), f"/api/v1/segments/{segment.pk}/actions",
                   {"action": "tag", "params": {"tag": "w"}}).json()
    assert api_for("support").get(
        f"/api/v1/segments/actions/{started['job']}").status_code == 404
    assert api_for("owner").get(
        f"/api/v1/segments/actions/{started['job']}").status_code == 200
