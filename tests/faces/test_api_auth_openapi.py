"""Bearer tokens guard every endpoint; the OpenAPI description is public."""

from __future__ import annotations

import re

import pytest
from django.test import Client, RequestFactory
from django.utils import translation

from peyvand.accounts.actions import do_revoke_token, do_set_active, hash_token
from peyvand.accounts.api import BearerAuth
from peyvand.accounts.models import ApiToken
from peyvand.base.actor import Actor

pytestmark = pytest.mark.django_db


def assert_401(response):
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["detail"]
    assert response["WWW-Authenticate"] == "Bearer"


def test_missing_token_is_401_json(client):
    assert_401(client.get("/api/v1/contacts"))
    assert_401(client.post("/api/v1/contacts", {"email": "a@example.com"},
                           content_type="application/json"))


@pytest.mark.parametrize("header", [
    "Bearer pvd_not-a-real-token",
    "Bearer not-even-our-prefix",
    "Bearer ",
    "Basic dXNlcjpwYXNz",
    "pvd_no-scheme",
])
def test_invalid_token_is_401(header, api):
    assert_401(Client(headers={"authorization": header}).get("/api/v1/contacts"))


def test_valid_token_works_and_is_stored_hashed(api):
    assert api.get("/api/v1/contacts").status_code == 200
    token = ApiToken.objects.get(user=api.user)
    assert token.key_hash == hash_token(api.key) and api.key not in (token.key_hash,
                                                                      token.prefix)
    assert token.last_used_at is not None


def test_revoked_token_is_401(api):
    do_revoke_token(Actor.system("test"), ApiToken.objects.get(user=api.user))
    assert_401(api.get("/api/v1/contacts"))


def test_token_of_deactivated_user_is_401(api_for):
    support = api_for("support")
    do_set_active(Actor.system("test"), support.user, False)
    assert_401(support.get("/api/v1/contacts"))


def test_signed_in_session_without_token_is_401(client, make_user):
    # The API is for programs: a browser session (and its CSRF exposure) does not count.
    client.force_login(make_user("sess", "owner"))
    assert_401(client.get("/api/v1/contacts"))


def test_bearer_requests_need_no_csrf_token(api):
    strict = Client(enforce_csrf_checks=True, headers={"authorization": f"Bearer {api.key}"})
    response = strict.post("/api/v1/contacts", {"email": "csrf@example.com"},
                           content_type="application/json")
    assert response.status_code == 201


def test_answers_in_the_token_users_language(make_user):
    from peyvand.accounts.actions import do_create_token

    user = make_user("farsi", "owner", language="fa")
    key = do_create_token(Actor.system("test"), user)
    request = RequestFactory().get("/api/v1/contacts")
    with translation.override("en"):
        assert BearerAuth().authenticate(request, key) == user
        assert translation.get_language() == "fa"
        assert request.user == user


def test_openapi_is_public_json_listing_the_paths(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    paths = spec["paths"]
    for path in ("/api/v1/contacts", "/api/v1/contacts/{contact_id}",
                 "/api/v1/contacts/{contact_id}/merge", "/api/v1/contacts/{contact_id}/export",
                 "/api/v1/tags", "/api/v1/tags/{name}/contacts", "/api/v1/fields",
                 "/api/v1/fields/{key}"):
        assert path in paths, path
    assert set(paths["/api/v1/contacts"]) == {"get", "post"}
    assert set(paths["/api/v1/contacts/{contact_id}"]) == {"get", "patch", "delete"}
    schemes = spec["components"]["securitySchemes"]
    assert any(s.get("scheme") == "bearer" for s in schemes.values())


def test_docs_page_is_served_from_bundled_assets(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "cdn.jsdelivr" not in html and "django-ninja.dev" not in html
    assert "//" not in "".join(re.findall(r'(?:src|href)="([^"]*)"', html))
    # The Swagger UI bundle and its start-up script are this server's static files.
    for asset in re.findall(r'<script src="([^"]+)"', html) + re.findall(
            r'<link[^>]*stylesheet[^>]*href="([^"]+)"', html):
        assert asset.startswith("/static/"), asset
        assert client.get(asset).status_code == 200, asset
    assert "swagger-ui-bundle" in html and "openapi.json" in html


def test_openapi_description_names_every_tag_area_and_the_token_page(client):
    spec = client.get("/api/v1/openapi.json").json()
    description = spec["info"]["description"]
    assert "Settings → Security → API tokens" in description
    tags = {tag for ops in spec["paths"].values() for op in ops.values()
            for tag in op.get("tags", [])}
    for area in ("consent", "campaigns", "journeys", "insights", "imports", "tasks"):
        assert area in tags and area in description.lower(), area
