"""Every JSON body the API takes, found in its OpenAPI description (so a new endpoint is covered
without a line here), gets random bodies shaped like its schema, with text that holds lone
surrogates ("\\ud800") and NUL: never a 500, and unstorable text is a 400 naming where it was."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from peyvand.base.normalise.text import unstorable_text_reason
from tests.fixtures.faces import campaign_of, one_of_everything, openapi_spec, send

pytestmark = pytest.mark.django_db

SPEC = openapi_spec()
JSON_BODIES = [
    (method.upper(), path, op["requestBody"]["content"]["application/json"]["schema"])
    for path, ops in SPEC["paths"].items() for method, op in ops.items()
    if "application/json" in op.get("requestBody", {}).get("content", {})
]

# Text a database cannot hold, alone or inside ordinary text.
BAD = st.sampled_from(["\ud800", "\udfff", "\udc00\ud800", "a\x00b", "\x00"])
TEXT = (st.text(max_size=12)
        | st.sampled_from(["", "a@example.com", "09123456789", "1403/02/12", "vip", "email"])
        | st.builds(lambda a, bad, b: a + bad + b, st.text(max_size=4), BAD, st.text(max_size=4)))
ANY_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | TEXT,
                        lambda inner: st.lists(inner, max_size=2)
                        | st.dictionaries(TEXT, inner, max_size=2), max_leaves=4)


def _resolve(schema: dict) -> dict:
    while "$ref" in schema:
        schema = SPEC["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def shaped(schema: dict, depth: int = 0) -> st.SearchStrategy:
    """Values mostly of the schema's shape (so bodies reach the handlers), sometimes any JSON."""
    schema = _resolve(schema)
    if depth > 3:
        return ANY_JSON
    if "anyOf" in schema:
        own = st.one_of([shaped(s, depth + 1) for s in schema["anyOf"]])
    elif "enum" in schema:
        own = st.sampled_from(schema["enum"]) | TEXT
    elif schema.get("type") == "object" or "properties" in schema:
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        required = set(schema.get("required", []))
        own = st.fixed_dictionaries(
            {k: shaped(v, depth + 1) for k, v in props.items() if k in required},
            optional={k: shaped(v, depth + 1) for k, v in props.items() if k not in required})
        if isinstance(extra, dict):
            own = own | st.dictionaries(TEXT, shaped(extra, depth + 1), max_size=3)
    elif schema.get("type") == "array":
        own = st.lists(shaped(schema.get("items", {}), depth + 1), max_size=3)
    else:
        own = {"string": TEXT, "integer": st.integers(), "number": st.floats(),
               "boolean": st.booleans(), "null": st.none()}.get(schema.get("type"), ANY_JSON)
    return own | own | own | ANY_JSON


def first_bad_text(value, path=()):
    """Where the body holds unstorable text (keys included), or None."""
    if isinstance(value, str):
        return path if unstorable_text_reason(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            if unstorable_text_reason(str(key)):
                return path
            found = first_bad_text(item, (*path, str(key)))
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = first_bad_text(item, (*path, str(index)))
            if found is not None:
                return found
    return None


@pytest.fixture
def world(db):
    """One of everything a body's URL can name."""
    from peyvand.audiences.actions import do_create_segment
    from peyvand.base.actor import Actor
    from peyvand.journeys.models import Journey
    from peyvand.support.models import StaffTask

    w = one_of_everything()
    segment = do_create_segment(Actor.system("test"), "everyone", {"all": []})
    contact, topic, template, order, broadcast = (w.contact, w.topic, w.template, w.order,
                                                   w.broadcast)
    return {"contact_id": contact.pk, "name": "vip", "slug": "join", "template_id": template.pk,
            "order_id": order.pk, "broadcast_id": broadcast.pk, "fields/{key}": "size",
            "topics/{key}": topic.key, "segment_id": segment.pk,
            "campaign_id": campaign_of(template, w.tag).pk,
            "journey_id": Journey.objects.create(name="Welcome").pk, "recipe_id": "welcome",
            "task_id": StaffTask.objects.create(contact=contact, title="Call").pk}


def url_for(path: str, world: dict) -> str:
    for name in ("contact_id", "name", "slug", "template_id", "order_id", "broadcast_id",
                 "segment_id", "campaign_id", "journey_id", "task_id", "recipe_id"):
        path = path.replace("{" + name + "}", str(world[name]))
    for prefix in ("fields/{key}", "topics/{key}"):
        path = path.replace(prefix, prefix.replace("{key}", world[prefix]))
    assert "{" not in path, path
    return path


def test_every_json_body_is_covered():
    # The list comes from the OpenAPI description; this only proves it is not empty.
    assert len(JSON_BODIES) >= 20
    assert ("POST", "/api/v1/contacts") in {(m, p) for m, p, _ in JSON_BODIES}


RANDOM = settings(max_examples=40, deadline=None, derandomize=True,
                  suppress_health_check=[HealthCheck.function_scoped_fixture,
                                         HealthCheck.too_slow, HealthCheck.filter_too_much])


@pytest.mark.parametrize("method, path, schema", JSON_BODIES,
                         ids=[f"{m} {p}" for m, p, _ in JSON_BODIES])
def test_random_bodies_never_500(api, world, method, path, schema):
    url = url_for(path, world)

    @RANDOM
    @given(body=shaped(schema))
    def check(body):
        response = send(api, method.lower(), url, json.dumps(body))
        assert response.status_code < 500, (body, response.content)
        assert response["Content-Type"].startswith("application/json")
        where = first_bad_text(body)
        if where is not None:
            assert response.status_code == 400, (body, response.content)
            reported = next(iter(response.json()["errors"]))
            # The reason names the place (or the object holding a bad key), as the client
            # wrote it, or "body" for the top level.
            assert reported == (".".join(where) or "body"), (body, reported)
        elif response.status_code >= 400:
            assert response.json()["detail"]

    check()


@pytest.mark.parametrize("raw, field", [
    ('{"email": "a@example.com", "first_name": "\\ud800"}', "first_name"),
    ('{"email": "a@example.com", "tags": ["ok", "x\\udfff"]}', "tags.1"),
    ('{"email": "a@example.com", "external_ids": [{"source": "s", "id": "\\udc00"}]}',
     "external_ids.0.id"),
    ('{"email": "a@example.com", "fields": {"\\ud800": 1}}', "fields"),
    ('{"\\ud800": 1}', "body"),
])
def test_lone_surrogates_are_400_naming_the_field(api, raw, field):
    from peyvand.contacts.models import Contact

    response = api.post("/api/v1/contacts", raw, content_type="application/json")
    assert response.status_code == 400, response.content
    body = response.json()
    assert "surrogate" in body["detail"] and field in body["errors"]
    assert not Contact.objects.exists()
