"""The API is strict and documented: types as declared, enums and required fields in the
schema, every error under /api/v1 in JSON, CSV answers declared."""

from __future__ import annotations

import pytest

from peyvand.contacts.actions import do_create_contact
from peyvand.contacts.models import Tag
from tests.fixtures.faces import send

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def spec(module_db):
    """What /api/v1/openapi.json serves, fetched once for the module's tests that read it."""
    from django.test import Client

    return Client().get("/api/v1/openapi.json").json()


def body_schema(spec, path, method):
    ref = spec["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
    return spec["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]]


def enum_of(prop) -> list:
    for option in [prop, *prop.get("anyOf", [])]:
        if "enum" in option:
            return option["enum"]
    return []


def assert_json_error(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["detail"] and isinstance(body["errors"], dict)
    return body


# --- types ----------------------------------------------------------------------------------

@pytest.mark.parametrize("url, body, field", [
    ("/api/v1/tags", {"name": 5}, "name"),
    ("/api/v1/fields", {"key": "k", "type": 1}, "type"),
    ("/api/v1/tags/vip/contacts", {"contact_ids": [], "remove": 0}, "remove"),
    ("/api/v1/tags/vip/contacts", {"contact_ids": ["1"]}, "contact_ids"),
    ("/api/v1/topics", {"key": "k", "active": "true"}, "active"),
    ("/api/v1/templates", {"name": 12}, "name"),
])
def test_a_value_of_another_type_is_refused_not_coerced(api, url, body, field):
    errors = assert_json_error(send(api, "post", url, body), 422)["errors"]
    assert any(key == field or key.startswith(field + ".") for key in errors), errors
    assert not Tag.objects.exists()


def test_a_whole_number_written_12_0_is_still_an_id(api, system):
    a = do_create_contact(system, {"email": "a@example.com"})
    b = do_create_contact(system, {"email": "b@example.com"})
    merged = send(api, "post", f"/api/v1/contacts/{a.pk}/merge", {"other_id": float(b.pk)})
    assert merged.status_code == 200, merged.content
    assert "other_id" in assert_json_error(
        send(api, "post", f"/api/v1/contacts/{a.pk}/merge", {"other_id": b.pk + 0.5}),
        422)["errors"]


def test_amounts_and_quantities_take_numbers_or_text(spec):
    line = spec["components"]["schemas"]["LineIn"]["properties"]
    types = {option.get("type") for option in line["quantity"]["anyOf"]}
    assert {"integer", "number", "string"} <= types


# --- the schema says what is required and what is allowed -----------------------------------

def test_enums_and_required_fields_are_in_the_schema(spec):
    field = body_schema(spec, "/api/v1/fields", "post")
    assert "type" in field["required"]
    assert set(enum_of(field["properties"]["type"])) == {"text", "number", "date", "choice",
                                                         "boolean"}
    assert body_schema(spec, "/api/v1/tags", "post")["required"] == ["name"]
    assert body_schema(spec, "/api/v1/contacts/{contact_id}/notes", "post")["required"] == \
        ["body"]
    change = body_schema(spec, "/api/v1/contacts/{contact_id}/consent", "post")
    assert set(change["required"]) == {"action", "channel"}
    assert set(enum_of(change["properties"]["action"])) == {"opt_out", "pause",
                                                            "preference_change"}
    assert "sms" in enum_of(change["properties"]["channel"])
    order = body_schema(spec, "/api/v1/orders", "post")
    assert "completed" in enum_of(order["properties"]["status"])
    template = body_schema(spec, "/api/v1/templates", "post")
    assert set(enum_of(template["properties"]["class"])) >= {"marketing", "transactional"}
    churn = {p["name"]: p for p in spec["paths"]["/api/v1/consent/churn"]["get"]["parameters"]}
    assert enum_of(churn["period"]["schema"]) == ["week", "month"]
    assert body_schema(spec, "/api/v1/contacts", "post")["additionalProperties"] is False


def test_an_enum_value_outside_the_list_is_refused(api):
    assert "type" in assert_json_error(
        send(api, "post", "/api/v1/fields", {"key": "k", "type": "colour"}), 400)["errors"]
    assert_json_error(api.get("/api/v1/consent/churn", {"period": "year"}), 400)
    form = send(api, "post", "/api/v1/forms/nope/submit", {"language": "de", "started": ""})
    assert "language" in assert_json_error(form, 422)["errors"]


def test_csv_answers_are_declared(spec):
    for path in ("/api/v1/imports/{job_id}/rejected.csv", "/api/v1/consent/churn",
                 "/api/v1/contacts/{contact_id}/consent/proof"):
        assert "text/csv" in spec["paths"][path]["get"]["responses"]["200"]["content"], path


def test_the_upload_is_required_and_an_empty_one_refused(api, spec):
    multipart = spec["paths"]["/api/v1/imports/contacts"]["post"]["requestBody"]
    assert multipart["content"]["multipart/form-data"]["schema"]["required"] == ["file"]
    from django.core.files.uploadedfile import SimpleUploadedFile

    for data in ({}, {"file": SimpleUploadedFile("empty.csv", b"", "text/csv")}):
        response = api.post("/api/v1/imports/contacts", data)
        assert "file" in assert_json_error(response, 400)["errors"]


# --- every error under /api/v1 is JSON -------------------------------------------------------

@pytest.mark.parametrize("url", ["/api/v1/imports/abc", "/api/v1/imports/abc/rejected.csv",
                                 "/api/v1/nothing-here", "/api/v1/contacts/abc",
                                 "/api/v1/contacts/1.5/timeline", "/api/v1/templates/x"])
def test_paths_that_name_nothing_are_json_404(api, url):
    assert_json_error(api.get(url), 404)


def test_unrouted_paths_are_json_even_without_a_token(client):
    assert_json_error(client.get("/api/v1/imports/abc"), 404)


def test_a_method_a_path_does_not_take_is_json_405(api):
    response = api.put("/api/v1/contacts", "{}", content_type="application/json")
    assert_json_error(response, 405)
    assert set(response["Allow"].replace(" ", "").split(",")) == {"GET", "POST"}


def test_an_unexpected_error_is_json_500_and_logged(api, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("peyvand.contacts.api.tags_with_counts", broken)
    body = assert_json_error(api.get("/api/v1/tags"), 500)
    assert "boom" not in body["detail"]
    assert any("boom" in (r.exc_text or "") or (r.exc_info and "boom" in str(r.exc_info[1]))
               for r in caplog.records)


def test_the_sites_own_404_stays_a_page(client, owner):
    client.force_login(owner)
    response = client.get("/contacts/abc/")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")


def test_a_request_django_refuses_is_a_json_400(api, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 2
    response = api.post("/api/v1/imports/contacts", {"a": "1", "b": "2", "c": "3", "tag": "x"})
    assert_json_error(response, 400)
