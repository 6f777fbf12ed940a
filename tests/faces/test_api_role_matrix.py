"""The role matrix: every API operation, found in the OpenAPI description, names the capability
it needs, and for every role the call is refused (403) exactly when the role lacks it."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.db import transaction
from django.test import Client

from peyvand.accounts.actions import do_create_token, do_create_user
from peyvand.accounts.models import ApiToken
from peyvand.base.actor import Actor
from peyvand.base.roles import CAPABILITIES, can
from tests.fixtures.faces import ROLES, campaign_of, one_of_everything, openapi_spec, send

pytestmark = pytest.mark.django_db

# Open to every signed-in user, role or none: the tokens are the caller's own (an owner's
# users.manage reaches everyone's, which scopes the lookup and is tested in
# tests/faces/test_api_roles.py and tests/accounts, not refused with a 403).
SELF = "self"
# The sign-up form's own API, called by a shop's page for an anonymous visitor.
PUBLIC = "public"

# "METHOD path" (as the OpenAPI description states it) -> the capability it needs.
MATRIX = {
    "GET /api/v1/contacts": "contacts.view",
    "POST /api/v1/contacts": "contacts.edit",
    "GET /api/v1/contacts/{contact_id}": "contacts.view",
    "PATCH /api/v1/contacts/{contact_id}": "contacts.edit",
    "DELETE /api/v1/contacts/{contact_id}": "contacts.erase",
    "GET /api/v1/contacts/{contact_id}/merge-preview": "contacts.view",
    "POST /api/v1/contacts/{contact_id}/merge": "contacts.merge",
    "GET /api/v1/contacts/{contact_id}/export": "contacts.export",
    "GET /api/v1/contacts/{contact_id}/timeline": "contacts.view",
    "POST /api/v1/contacts/{contact_id}/notes": "contacts.edit",
    "GET /api/v1/tags": "contacts.view",
    "POST /api/v1/tags": "schema.manage",
    "POST /api/v1/tags/{name}/contacts": "contacts.edit",
    "PATCH /api/v1/tags/{name}": "schema.manage",
    "DELETE /api/v1/tags/{name}": "schema.manage",
    "GET /api/v1/fields": "contacts.view",
    "POST /api/v1/fields": "schema.manage",
    "PATCH /api/v1/fields/{key}": "schema.manage",
    "DELETE /api/v1/fields/{key}": "schema.manage",
    "POST /api/v1/orders": "commerce.edit",
    "GET /api/v1/orders": "commerce.view",
    "GET /api/v1/orders/{order_id}": "commerce.view",
    "POST /api/v1/orders/{order_id}/refunds": "commerce.edit",
    "POST /api/v1/products": "commerce.edit",
    "GET /api/v1/products": "commerce.view",
    "POST /api/v1/carts": "commerce.edit",
    # An attested import (consent from another tool) needs consent.import as well.
    "POST /api/v1/imports/contacts": "contacts.edit",
    "GET /api/v1/imports/{job_id}": "contacts.edit",
    "GET /api/v1/imports/{job_id}/rejected.csv": "contacts.edit",
    "GET /api/v1/contacts/{contact_id}/consent": "consent.view",
    "POST /api/v1/contacts/{contact_id}/consent": "consent.reduce",
    "GET /api/v1/contacts/{contact_id}/consent/history": "consent.view",
    "GET /api/v1/contacts/{contact_id}/consent/proof": "consent.export",
    "POST /api/v1/contacts/{contact_id}/consent/preference-link": "consent.send_link",
    "GET /api/v1/topics": "consent.view",
    "POST /api/v1/topics": "forms.manage",
    "GET /api/v1/topics/{key}": "consent.view",
    "PATCH /api/v1/topics/{key}": "forms.manage",
    "DELETE /api/v1/topics/{key}": "forms.manage",
    "GET /api/v1/forms": "consent.view",
    "POST /api/v1/forms": "forms.manage",
    "GET /api/v1/forms/{slug}": "consent.view",
    "PATCH /api/v1/forms/{slug}": "forms.manage",
    "DELETE /api/v1/forms/{slug}": "forms.manage",
    "GET /api/v1/forms/{slug}/start": PUBLIC,
    "POST /api/v1/forms/{slug}/submit": PUBLIC,
    "POST /api/v1/forms/{slug}/code": PUBLIC,
    "GET /api/v1/consent/incentives": "consent.view",
    "GET /api/v1/consent/churn": "consent.view",
    "GET /api/v1/consent/suppressions": "consent.view",
    "GET /api/v1/contacts/{contact_id}/insights": "insights.view",
    "GET /api/v1/insights/summary": "insights.view",
    "GET /api/v1/insights/model": "insights.view",
    "GET /api/v1/insights/tiers": "insights.view",
    "GET /api/v1/insights/due": "insights.view",
    "GET /api/v1/insights/customers": "insights.view",
    "POST /api/v1/insights/refresh": "insights.configure",
    "GET /api/v1/recommendations": "insights.view",
    "GET /api/v1/templates": "messages.view",
    "POST /api/v1/templates": "messages.author",
    "GET /api/v1/templates/{template_id}": "messages.view",
    "PUT /api/v1/templates/{template_id}": "messages.author",
    "DELETE /api/v1/templates/{template_id}": "messages.author",
    "GET /api/v1/broadcasts": "messages.view",
    "POST /api/v1/broadcasts": "messages.author",
    "GET /api/v1/broadcasts/{broadcast_id}": "messages.view",
    "GET /api/v1/broadcasts/{broadcast_id}/preview": "messages.view",
    "POST /api/v1/broadcasts/{broadcast_id}/approve": "messages.approve",
    "POST /api/v1/messages/transactional": "messages.transactional",
    "GET /api/v1/messages/{message_id}": "messages.view",
    "GET /api/v1/messages/{message_id}/stats": "messages.view",
    "GET /api/v1/sources/{source}/stats": "messages.view",
    "GET /api/v1/contacts/{contact_id}/engagement": "contacts.view",
    "GET /api/v1/segments": "segments.view",
    "POST /api/v1/segments": "segments.edit",
    "GET /api/v1/segments/fields": "segments.view",
    "POST /api/v1/segments/preview": "segments.view",
    "GET /api/v1/segments/{segment_id}": "segments.view",
    "PATCH /api/v1/segments/{segment_id}": "segments.edit",
    "DELETE /api/v1/segments/{segment_id}": "segments.edit",
    "GET /api/v1/segments/{segment_id}/contacts": "segments.view",
    "POST /api/v1/segments/{segment_id}/refresh": "segments.edit",
    "POST /api/v1/segments/actions": "segments.act",
    "POST /api/v1/segments/{segment_id}/actions": "segments.act",
    "GET /api/v1/segments/actions/{job_id}": "segments.view",
    "POST /api/v1/broadcasts/audience": "messages.view",
    "GET /api/v1/broadcasts/{broadcast_id}/audience": "messages.view",
    "GET /api/v1/campaigns": "campaigns.view",
    "POST /api/v1/campaigns": "campaigns.edit",
    "GET /api/v1/campaigns/{campaign_id}": "campaigns.view",
    "PATCH /api/v1/campaigns/{campaign_id}": "campaigns.edit",
    "POST /api/v1/campaigns/{campaign_id}/test": "campaigns.edit",
    "POST /api/v1/campaigns/{campaign_id}/schedule": "campaigns.edit",
    "POST /api/v1/campaigns/{campaign_id}/approve": "campaigns.approve",
    "POST /api/v1/campaigns/{campaign_id}/cancel": "campaigns.edit",
    "GET /api/v1/campaigns/{campaign_id}/report": "campaigns.view",
    "GET /api/v1/journeys": "journeys.view",
    "POST /api/v1/journeys": "journeys.edit",
    "GET /api/v1/journeys/{journey_id}": "journeys.view",
    "PATCH /api/v1/journeys/{journey_id}": "journeys.edit",
    "POST /api/v1/journeys/{journey_id}/publish": "journeys.publish",
    "POST /api/v1/journeys/{journey_id}/pause": "journeys.publish",
    "POST /api/v1/journeys/{journey_id}/enrol": "journeys.edit",
    "POST /api/v1/journeys/{journey_id}/move-waiting": "journeys.publish",
    "GET /api/v1/journeys/{journey_id}/report": "journeys.view",
    "GET /api/v1/contacts/{contact_id}/journeys": "journeys.view",
    "GET /api/v1/journeys/recipes": "journeys.view",
    "POST /api/v1/journeys/recipes/{recipe_id}": "journeys.edit",
    "GET /api/v1/tasks": "tasks.view",
    "POST /api/v1/tasks": "tasks.work",
    "POST /api/v1/tasks/{task_id}/close": "tasks.work",
    "GET /api/v1/tokens": SELF,
    "GET /api/v1/tokens/{token_id}": SELF,
    "DELETE /api/v1/tokens/{token_id}": SELF,
}

SPEC = openapi_spec()
OPERATIONS = sorted(f"{method.upper()} {path}" for path, ops in SPEC["paths"].items()
                    for method in ops)
NO_ROLE = ""


def _resolve(schema: dict) -> dict:
    while "$ref" in schema:
        schema = SPEC["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def sample(schema: dict):
    """The smallest value of the schema's types: enough to pass the schema and reach the
    handler, whose role check comes before any check of what the values mean."""
    schema = _resolve(schema)
    if "anyOf" in schema:
        return sample(next(s for s in schema["anyOf"] if _resolve(s).get("type") != "null"))
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return {key: sample(value) for key, value in schema.get("properties", {}).items()
                if key in schema.get("required", [])}
    if kind == "array":
        return []
    return {"string": "x", "integer": 1, "number": 1, "boolean": False}.get(kind)


@pytest.fixture(scope="module")
def world(module_db):
    """One of everything a path names."""
    from peyvand.audiences.actions import do_create_segment
    from peyvand.journeys.models import Journey
    from peyvand.support.models import StaffTask

    w = one_of_everything()
    segment = do_create_segment(Actor.system("test"), "everyone", {"all": []})
    contact, topic, template, order, broadcast = (w.contact, w.topic, w.template, w.order,
                                                   w.broadcast)
    return {"contact_id": contact.pk, "other_id": contact.pk, "name": "vip", "key": "size",
            "slug": "join", "template_id": template.pk, "order_id": order.pk,
            "broadcast_id": broadcast.pk, "source": "api", "message_id": 999999,
            "job_id": 999999, "token_id": 999999, "topic": topic.key,
            "segment_id": segment.pk, "campaign_id": campaign_of(template, w.tag).pk,
            "journey_id": Journey.objects.create(name="Welcome").pk, "recipe_id": "welcome",
            "task_id": StaffTask.objects.create(contact=contact, title="Call").pk}


@pytest.fixture(scope="module")
def clients(module_db):
    """A token-bearing client per role and one for a user with no role, each knowing the id
    of its own token; and an anonymous client."""
    users = {role: do_create_user(Actor.system("test"), f"{role}-api", role=role,
                                  password="Correct-Horse-42") for role in ROLES}
    users[NO_ROLE] = User.objects.create_user("norole", password="Correct-Horse-42")
    made = {}
    for role, user in users.items():
        key = do_create_token(Actor.system("test"), user, "tests")
        client = Client(headers={"authorization": f"Bearer {key}"})
        client.token_id = ApiToken.objects.get(user=user).pk
        made[role] = client
    return made


def request_for(operation: str, world: dict, token_id: int) -> tuple[str, str, object]:
    method, path = operation.split(" ", 1)
    op = SPEC["paths"][path][method.lower()]
    values = {**world, "token_id": token_id}
    if path.startswith("/api/v1/topics/"):
        values["key"] = world["topic"]
    url = path.format(**values)
    query = [f"{p['name']}={values.get(p['name'], 1)}" for p in op.get("parameters", [])
             if p["in"] == "query" and p.get("required")]
    if query:
        url += "?" + "&".join(query)
    body = op.get("requestBody", {}).get("content", {}).get("application/json")
    return method.lower(), url, sample(body["schema"]) if body else None


def test_every_operation_is_in_the_matrix():
    assert len(OPERATIONS) >= 70
    assert sorted(set(OPERATIONS) - set(MATRIX)) == [], "add these to MATRIX"
    assert sorted(set(MATRIX) - set(OPERATIONS)) == [], "these are gone from the API"
    assert {c for c in MATRIX.values() if c not in (SELF, PUBLIC)} <= set(CAPABILITIES)


@pytest.mark.parametrize("operation", OPERATIONS)
def test_each_role_is_refused_exactly_without_the_capability(world, clients, operation):
    needs = MATRIX.get(operation)
    assert needs is not None, f"{operation} is missing from MATRIX"
    seen, wanted = {}, {}
    for role, client in clients.items():
        method, url, body = request_for(operation, world, client.token_id)
        # Each call starts from the same world: an allowed DELETE must not hide the next one.
        with transaction.atomic():
            seen[role] = send(client, method, url, body).status_code == 403
            transaction.set_rollback(True)
        wanted[role] = needs not in (SELF, PUBLIC) and not can(role, needs)
    assert seen == wanted, f"{operation} needs {needs}: True is 403"
    if needs != PUBLIC:
        method, url, body = request_for(operation, world, clients[NO_ROLE].token_id)
        assert send(Client(), method, url, body).status_code == 401
