"""The campaigns API: plan, read, change, test, schedule, approve, cancel (issue 17, item 7).
Role checks for every operation are in tests/faces/test_api_role_matrix.py."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from peyvand.contacts.models import Tag
from peyvand.messaging.models import OutboxMessage
from tests.messaging.conftest import post


@pytest.fixture
def shop(make_contact, template):
    for name in ("Sara", "Reza", "Mina"):
        make_contact(first_name=name, tags=["vip"])
    template("autumn")
    template("autumn-b", subject="Another")
    return Tag.objects.get(name="vip")


def test_plan_schedule_approve_and_read_through_the_api(shop, api_for):
    marketer, reviewer = api_for("marketer"), api_for("reviewer")
    made = post(marketer, "/api/v1/campaigns", {
        "name": "Autumn", "audience": {"tags": [shop.pk]}, "template": "autumn"})
    assert made.status_code == 201, made.content
    body = made.json()
    assert body["status"] == "draft" and body["variants"][0]["template"] == "autumn"
    number = body["id"]
    bad = post(marketer, f"/api/v1/campaigns/{number}", {"attribution_days": 400}, "patch")
    assert bad.status_code == 400 and "attribution_days" in bad.json()["errors"]
    changed = post(marketer, f"/api/v1/campaigns/{number}", {"name": "Autumn sale"}, "patch")
    assert changed.status_code == 200 and changed.json()["name"] == "Autumn sale"
    at = (timezone.now() + dt.timedelta(days=1)).replace(microsecond=0)
    scheduled = post(marketer, f"/api/v1/campaigns/{number}/schedule",
                     {"schedule": "at", "send_at": at.isoformat()})
    assert scheduled.status_code == 200, scheduled.content
    assert scheduled.json()["status"] == "awaiting_approval"
    refused = post(marketer, f"/api/v1/campaigns/{number}/approve", {"digest": "x"})
    assert refused.status_code == 403
    digest = reviewer.get(f"/api/v1/campaigns/{number}").json()["digest"]
    stale = post(reviewer, f"/api/v1/campaigns/{number}/approve", {"digest": "0" * 64})
    assert stale.status_code == 400 and "digest" in stale.json()["errors"]
    approved = post(reviewer, f"/api/v1/campaigns/{number}/approve", {"digest": digest})
    assert approved.status_code == 200, approved.content
    assert approved.json()["status"] == "scheduled"
    assert approved.json()["approved_by"] == "reviewer-api"
    listed = marketer.get("/api/v1/campaigns").json()
    assert listed["count"] == 1 and listed["items"][0]["id"] == number
    cancelled = post(marketer, f"/api/v1/campaigns/{number}/cancel", {})
    assert cancelled.status_code == 200 and cancelled.json() == {"stopped": 0}
    assert marketer.get(f"/api/v1/campaigns/{number}").json()["status"] == "cancelled"


def test_an_ab_test_is_planned_with_variants(shop, api_for):
    owner = api_for("owner")
    made = post(owner, "/api/v1/campaigns", {
        "name": "Subjects", "audience": {"tags": [shop.pk]},
        "variants": [{"template": "autumn"}, {"template": "autumn-b", "subject": "Hi!"}],
        "test_percent": 20, "ab_metric": "open_rate"})
    assert made.status_code == 201, made.content
    assert [(v["label"], v["template"], v["subject"]) for v in made.json()["variants"]] == [
        ("A", "autumn", ""), ("B", "autumn-b", "Hi!")]
    too_many = post(owner, "/api/v1/campaigns", {
        "name": "Subjects", "audience": {"tags": [shop.pk]},
        "variants": [{"template": "autumn"}] * 5})
    assert too_many.status_code == 400 and "variants" in too_many.json()["errors"]


def test_a_test_send_through_the_api(shop, api_for):
    owner = api_for("owner")
    number = post(owner, "/api/v1/campaigns", {
        "name": "Autumn", "audience": {"tags": [shop.pk]}, "template": "autumn"}).json()["id"]
    from peyvand.contacts.models import ContactTag

    seed = ContactTag.objects.filter(tag=shop).order_by("contact_id").first().contact_id
    sent = post(owner, f"/api/v1/campaigns/{number}/test", {"contacts": [seed]})
    assert sent.status_code == 200 and sent.json() == {"recipients": 1}
    row = OutboxMessage.objects.get()
    assert row.contact_id == seed and row.snapshot.subject.startswith("[آزمایشی]")
    none = post(owner, f"/api/v1/campaigns/{number}/test", {})
    assert none.status_code == 400 and "contacts" in none.json()["errors"]
