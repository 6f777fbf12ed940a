"""Malformed input is a 4xx with a JSON reason, never a 500."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from peyvand.contacts.actions import do_create_contact
from peyvand.contacts.models import Contact
from tests.fixtures.faces import send

pytestmark = pytest.mark.django_db

CONTACT_KEYS = ["email", "emails", "phone", "phones", "external_ids", "first_name",
                "last_name", "language", "timezone", "birthday", "national_id", "source",
                "tags", "fields"]


@pytest.fixture
def contact(system):
    return do_create_contact(system, {"email": "base@example.com", "first_name": "Base"})


def assert_client_error(response, status: int | None = None) -> dict:
    assert 400 <= response.status_code < 500, response.content
    if status is not None:
        assert response.status_code == status, response.content
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"]
    assert isinstance(body["errors"], dict)
    return body


@pytest.mark.parametrize("raw", ["{bad", '{"email": "a@example.com",}', "\xff\xfe", "nul\x00l"])
def test_broken_json_is_400(api, contact, raw):
    for method, url in (("post", "/api/v1/contacts"),
                        ("patch", f"/api/v1/contacts/{contact.pk}")):
        assert_client_error(send(api, method, url, raw.encode("latin-1")), 400)


@pytest.mark.parametrize("raw", ["null", "[]", "42", '"text"', "true"])
def test_json_that_is_not_an_object_is_422(api, raw):
    assert_client_error(send(api, "post", "/api/v1/contacts", raw), 422)


def test_empty_body_is_422(api):
    assert_client_error(api.post("/api/v1/contacts", "", content_type="application/json"), 422)


@pytest.mark.parametrize("body, field", [
    ({"email": ["a@example.com"], "first_name": {"x": 1}}, "first_name"),
    ({"email": "a@example.com", "fields": ["size"]}, "fields"),
    ({"email": "a@example.com", "external_ids": "shop:1"}, "external_ids"),
    ({"email": "a@example.com", "tags": {"vip": True}}, "tags"),
    ({"email": "a@example.com", "birthday": ["2020-01-01"]}, "birthday"),
])
def test_wrong_types_are_named(api, body, field):
    errors = assert_client_error(send(api, "post", "/api/v1/contacts", body), 422)["errors"]
    assert any(key == field or key.startswith(field + ".") for key in errors), errors
    assert not Contact.objects.exists()


def test_numbers_are_taken_only_where_the_schema_declares_them(api):
    # Mobiles, external ids, amounts: declared number-or-text, read as text.
    response = send(api, "post", "/api/v1/contacts", {"phone": 9123456789,
                                                     "external_ids": [{"source": "s", "id": 5}]})
    assert response.status_code == 201, response.json()
    assert response.json()["phones"] == ["+989123456789"]
    assert response.json()["external_ids"] == [{"source": "s", "id": "5"}]


@pytest.mark.parametrize("body, field", [
    ({"email": 12}, "email"),
    ({"email": "n@example.com", "first_name": 7}, "first_name"),
    ({"email": "n@example.com", "tags": [1]}, "tags"),
    ({"email": "n@example.com", "birthday": 20240501}, "birthday"),
])
def test_a_number_where_text_is_declared_is_refused(api, body, field):
    errors = assert_client_error(send(api, "post", "/api/v1/contacts", body), 422)["errors"]
    assert any(key == field or key.startswith(field + ".") for key in errors), errors
    assert not Contact.objects.exists()


def test_null_everywhere(api, contact):
    nulls = {key: None for key in CONTACT_KEYS}
    created = send(api, "post", "/api/v1/contacts", nulls)
    assert "email" in assert_client_error(created, 400)["errors"]
    patched = send(api, "patch", f"/api/v1/contacts/{contact.pk}", nulls)
    # Null lists clear addresses, which a contact must keep at least one of.
    assert "email" in assert_client_error(patched, 400)["errors"]
    for key in CONTACT_KEYS:
        response = send(api, "patch", f"/api/v1/contacts/{contact.pk}", {key: None})
        assert response.status_code < 500, key
        if key not in ("email", "emails", "phone", "phones"):
            assert response.status_code == 200, (key, response.json())
    for url, body in (("/api/v1/tags", {"name": None}), ("/api/v1/fields", {"type": None}),
                      (f"/api/v1/contacts/{contact.pk}/merge", {"other_id": None}),
                      ("/api/v1/tags/vip/contacts", {"contact_ids": None, "remove": None}),
                      (f"/api/v1/contacts/{contact.pk}/notes", {"body": None})):
        assert_client_error(send(api, "post", url, body))


def test_huge_strings(api, contact):
    long = "ب" * 20_000
    body = assert_client_error(send(api, "post", "/api/v1/contacts", {
        "email": long + "@example.com", "phone": "9" * 20_000, "first_name": long,
        "national_id": long, "timezone": long, "tags": [long], "birthday": long}), 400)
    assert {"email", "phone", "first_name", "national_id", "timezone", "tags",
            "birthday"} <= set(body["errors"])
    note = send(api, "post", f"/api/v1/contacts/{contact.pk}/notes", {"body": "x" * 10_001})
    assert "body" in assert_client_error(note, 400)["errors"]
    assert api.get("/api/v1/contacts", {"q": "x" * 5000}).status_code == 200


def test_body_over_the_upload_limit_is_413(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    response = send(api, "post", "/api/v1/contacts", {"email": "a@example.com",
                                                     "first_name": "x" * 20_000})
    assert_client_error(response, 413)


def test_unknown_fields_are_named(api, contact):
    body = assert_client_error(send(api, "post", "/api/v1/contacts", {
        "email": "a@example.com", "fist_name": "typo"}), 422)
    assert "fist_name" in body["errors"]
    patched = send(api, "patch", f"/api/v1/contacts/{contact.pk}", {"nickname": "x"})
    assert "nickname" in assert_client_error(patched, 422)["errors"]
    nested = send(api, "post", "/api/v1/contacts", {
        "email": "a@example.com", "external_ids": [{"source": "s", "id": "1", "x": 2}]})
    assert "external_ids.0.x" in assert_client_error(nested, 422)["errors"]
    assert not Contact.objects.exclude(pk=contact.pk).exists()


@pytest.mark.parametrize("path", ["abc", "1.5", "١", "0x10", "%20", "1e3"])
def test_ids_that_are_not_integers(api, path):
    for url in (f"/api/v1/contacts/{path}", f"/api/v1/contacts/{path}/timeline",
                f"/api/v1/contacts/{path}/export"):
        response = api.get(url)
        assert response.status_code in (404, 422), (url, response.status_code)
        assert_client_error(response)


@pytest.mark.parametrize("path", ["-1", "0", str(2**63), "9" * 40])
def test_integer_ids_out_of_range_are_404(api, path):
    assert_client_error(api.get(f"/api/v1/contacts/{path}"), 404)
    assert_client_error(api.delete(f"/api/v1/contacts/{path}"), 404)


@pytest.mark.parametrize("value", ["x", 1.5, -1, 2**64, [1], None])
def test_bad_ids_in_bodies_and_queries(api, contact, value):
    merge = send(api, "post", f"/api/v1/contacts/{contact.pk}/merge", {"other_id": value})
    assert "other_id" in assert_client_error(merge, 422)["errors"]
    tagging = send(api, "post", "/api/v1/tags/vip/contacts", {"contact_ids": [value]})
    assert_client_error(tagging, 422)
    preview = api.get(f"/api/v1/contacts/{contact.pk}/merge-preview",
                      {"other_id": json.dumps(value)})
    assert_client_error(preview, 422)


def test_too_many_ids_at_once(api):
    response = send(api, "post", "/api/v1/tags/vip/contacts",
                    {"contact_ids": list(range(1, 10_002))})
    assert "contact_ids" in assert_client_error(response, 422)["errors"]


def test_nul_characters_are_refused(api, contact):
    # Valid JSON and schema-valid text, refused by a rule: 400 (422 is for the schema).
    body = assert_client_error(send(api, "post", "/api/v1/contacts", {
        "email": "a@example.com", "first_name": "a\x00b"}), 400)
    assert "first_name" in body["errors"]
    nested = send(api, "post", "/api/v1/contacts", {"email": "a@example.com",
                                                   "fields": {"k\x00": 1}})
    assert "fields" in assert_client_error(nested, 400)["errors"]
    assert "q" in assert_client_error(api.get("/api/v1/contacts", {"q": "a\x00"}), 400)["errors"]
    assert not Contact.objects.exclude(pk=contact.pk).exists()


# --- random input ---------------------------------------------------------------------------

samples = st.sampled_from(["", " ", "09123456789", "۰۹۱۲۳۴۵۶۷۸۹", "+98 912 000 1111",
                           "a@example.com", "B@Example.COM", "1403/02/12", "2024-05-01",
                           "1403/13/40", "0013542419", "Asia/Tehran", "fa", "EN", "yes", "قرمز",
                           "blue", "-1", "1e400", "NaN", "علي"])
texts = samples | st.text(max_size=40)
scalars = st.none() | st.booleans() | st.integers() | st.floats() | texts
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                           max_leaves=6)
field_keys = st.sampled_from(["size", "joined", "vip", "colour", "nope", ""])
# Mostly well-shaped bodies with odd values, so requests reach our own validation and the
# database; the rest is any JSON at all.
shaped = st.fixed_dictionaries({}, optional={
    **{key: st.none() | texts | st.integers() for key in CONTACT_KEYS},
    "email": st.none() | st.emails() | texts,
    "emails": st.lists(st.emails() | texts, max_size=3) | texts,
    "phones": st.lists(st.from_regex(r"(\+98|0)?9[0-9]{9}", fullmatch=True) | texts,
                       max_size=3) | st.none(),
    "tags": st.lists(texts, max_size=3) | texts | st.none(),
    "external_ids": st.lists(st.dictionaries(st.sampled_from(["source", "id"]),
                                             texts | st.integers()), max_size=2),
    "fields": st.dictionaries(field_keys, scalars, max_size=4) | st.none(),
})
anything = st.fixed_dictionaries({}, optional={key: json_values for key in CONTACT_KEYS})
contact_bodies = shaped | shaped | anything | json_values

RANDOM = settings(max_examples=200, deadline=None, derandomize=True,
                  suppress_health_check=[HealthCheck.function_scoped_fixture,
                                         HealthCheck.too_slow])


@pytest.fixture
def all_field_types(system):
    from peyvand.contacts.fields import do_save_custom_field

    for key, kind in (("size", "number"), ("joined", "date"), ("vip", "boolean"),
                      ("colour", "choice")):
        do_save_custom_field(system, key=key, label_fa=key, label_en=key, type=kind,
                             choices=["قرمز", "blue"] if kind == "choice" else None)


def random_check(response):
    assert response.status_code < 500
    if response.status_code >= 400:
        assert_client_error(response)
    else:
        assert isinstance(response.json()["id"], int)


@pytest.mark.slow
@RANDOM
@given(body=contact_bodies)
def test_random_json_to_post_contacts_is_never_a_500(api, all_field_types, body):
    random_check(send(api, "post", "/api/v1/contacts", json.dumps(body)))


@pytest.mark.slow
@RANDOM
@given(body=contact_bodies)
def test_random_json_to_patch_contact_is_never_a_500(api, all_field_types, contact, body):
    random_check(send(api, "patch", f"/api/v1/contacts/{contact.pk}", json.dumps(body)))
