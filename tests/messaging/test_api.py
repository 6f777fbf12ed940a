"""/api/v1/templates and /api/v1/broadcasts."""

from __future__ import annotations

from peyvand.messaging.models import Broadcast, OutboxMessage
from tests.messaging.conftest import post


def test_template_crud(api_for):
    api = api_for("owner")
    r = post(api, "/api/v1/templates", {"name": "hello", "subject": "سلام {{ first_name }}",
                                        "html": "<p>{{ fields.city }}</p>", "language": "fa"})
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["name"] == "hello" and body["channel"] == "email"
    r = post(api, f"/api/v1/templates/{body['id']}", {"subject": "Hi"}, "put")
    assert r.status_code == 200 and r.json()["subject"] == "Hi"
    assert r.json()["html"] == "<p>{{ fields.city }}</p>"
    assert api.get("/api/v1/templates").json()["count"] == 1
    assert api.delete(f"/api/v1/templates/{body['id']}").status_code == 204
    assert api.get(f"/api/v1/templates/{body['id']}").status_code == 404


def test_syntax_error_and_sandbox_violation_name_the_line(api_for):
    api = api_for("owner")
    r = post(api, "/api/v1/templates", {"name": "bad", "subject": "x",
                                        "html": "<p>ok</p>\n<p>ok</p>\n{% if %}"})
    assert r.status_code == 400
    assert r.json()["errors"]["html"].startswith("line 3:")
    r = post(api, "/api/v1/templates", {"name": "evil", "subject": "x",
                                        "html": "<p>a</p>\n{{ ''.__class__.__mro__ }}"})
    assert r.status_code == 400
    assert r.json()["errors"]["html"].startswith("line 2:")
    assert "not allowed" in r.json()["errors"]["html"]


def test_roles_on_templates(api_for):
    r = post(api_for("analyst"), "/api/v1/templates", {"name": "x", "subject": "x",
                                                       "text": "x"})
    assert r.status_code == 403


def test_broadcast_by_marketer_waits_for_approval(api_for, make_contact, template):
    make_contact(tags=["vip"])
    make_contact(tags=["vip"])
    template("promo")
    r = post(api_for("marketer"), "/api/v1/broadcasts",
             {"template": "promo", "tag": "vip", "class": "marketing"})
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["status"] == "awaiting_approval" and body["class"] == "marketing"
    assert OutboxMessage.objects.count() == 0
    reviewer = api_for("reviewer")
    shown = reviewer.get(f"/api/v1/broadcasts/{body['id']}/preview").json()
    r = post(reviewer, f"/api/v1/broadcasts/{body['id']}/approve", {"digest": shown["digest"]})
    assert r.status_code == 200 and r.json()["status"] == "queued"
    assert r.json()["digest"] == shown["digest"]
    assert r.json()["counts"]["queued"] == 2
    assert Broadcast.objects.get().approved_by == "reviewer-api"


def test_owner_broadcast_is_queued_at_once_and_errors_are_400(api_for, make_contact, template):
    make_contact(tags=["vip"])
    template("promo")
    api = api_for("owner")
    r = post(api, "/api/v1/broadcasts", {"template": "promo", "tag": "vip"})
    assert r.status_code == 201 and r.json()["queued"] == 1
    listed = api.get("/api/v1/broadcasts").json()
    assert listed["count"] == 1 and listed["items"][0]["class"] == "marketing"
    r = post(api, "/api/v1/broadcasts", {"template": "nope", "tag": "vip"})
    assert r.status_code == 400 and "template" in r.json()["errors"]
    assert post(api_for("analyst"), "/api/v1/broadcasts",
                {"template": "promo", "tag": "vip"}).status_code == 403
