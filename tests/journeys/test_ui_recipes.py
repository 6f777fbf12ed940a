"""The recipes page: all eleven recipes in fa and en; the owner turns one on (live, with its
templates listed and linked), a marketer only creates drafts."""

from __future__ import annotations

import pytest

from peyvand.journeys.models import Journey
from peyvand.journeys.recipes import RECIPES
from peyvand.messaging.models import MessageTemplate
from tests.messaging.conftest import api_for, client_for  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("language", ["fa", "en"])
def test_the_page_lists_every_recipe(client_for, language):  # noqa: F811
    page = client_for("owner", language).get("/journeys/recipes/")
    assert page.status_code == 200
    html = page.content.decode()
    for recipe in RECIPES:
        assert f'data-recipe="{recipe.id}"' in html
    assert html.count('data-action="turn-on"') == len(RECIPES)
    assert html.count('data-action="draft"') == len(RECIPES)
    assert page.context["language"] == language
    if language == "fa":
        assert "ارسال" in html or "صبر" in html  # the steps in Persian words


def test_the_journeys_list_links_to_the_recipes(client_for):  # noqa: F811
    page = client_for("owner").get("/journeys/")
    assert b'href="/journeys/recipes/"' in page.content


def test_the_owner_turns_a_recipe_on(client_for):  # noqa: F811
    response = client_for("owner").post("/journeys/recipes/welcome/use/",
                                         {"language": "en", "publish": "1"}, follow=True)
    journey = Journey.objects.get()
    assert journey.status == Journey.Status.LIVE
    assert response.redirect_chain[-1][0] == f"/journeys/{journey.pk}/"
    html = response.content.decode()
    for template in MessageTemplate.objects.all():
        assert template.language == "en"
        assert f'href="/messaging/templates/{template.pk}/"' in html


def test_a_marketer_sees_only_create_as_draft(client_for):  # noqa: F811
    client = client_for("marketer")
    html = client.get("/journeys/recipes/").content.decode()
    assert 'data-action="turn-on"' not in html
    assert html.count('data-action="draft"') == len(RECIPES)
    refused = client.post("/journeys/recipes/welcome/use/", {"language": "fa", "publish": "1"})
    assert refused.status_code == 403
    assert not Journey.objects.exists() and not MessageTemplate.objects.exists()
    client.post("/journeys/recipes/welcome/use/", {"language": "fa", "publish": "0"})
    assert Journey.objects.get().status == Journey.Status.DRAFT


def test_an_analyst_reads_the_page_without_buttons(client_for):  # noqa: F811
    client = client_for("analyst")
    html = client.get("/journeys/recipes/").content.decode()
    assert 'data-action="draft"' not in html
    assert client.post("/journeys/recipes/welcome/use/",
                       {"language": "fa"}).status_code == 403


def test_an_unknown_language_is_said_and_nothing_made(client_for):  # noqa: F811
    response = client_for("owner").post("/journeys/recipes/welcome/use/",
                                         {"language": "de"}, follow=True)
    assert response.redirect_chain[-1][0] == "/journeys/recipes/"
    assert not Journey.objects.exists()


def test_the_api_lists_and_uses_recipes(api_for):  # noqa: F811
    owner, marketer = api_for("owner"), api_for("marketer")
    listed = owner.get("/api/v1/journeys/recipes").json()
    assert [r["id"] for r in listed] == [r.id for r in RECIPES]
    assert all(r["steps"] and r["name"] and r["description"] for r in listed)
    refused = marketer.post("/api/v1/journeys/recipes/welcome",
                            {"language": "fa", "publish": True}, content_type="application/json")
    assert refused.status_code == 403 and not Journey.objects.exists()
    draft = marketer.post("/api/v1/journeys/recipes/birthday", {"language": "fa"},
                          content_type="application/json")
    assert draft.status_code == 201
    assert (draft.json()["status"], draft.json()["re_entry"]) == ("draft", "after_days")
    live = owner.post("/api/v1/journeys/recipes/win_back", {"language": "en", "publish": True},
                      content_type="application/json")
    assert (live.status_code, live.json()["status"], live.json()["version"]) == (201, "live", 1)
    unknown = owner.post("/api/v1/journeys/recipes/nope", {"language": "en"},
                         content_type="application/json")
    assert unknown.status_code == 400 and "recipe" in unknown.json()["errors"]


def test_the_cli_lists_and_uses_recipes(cli, make_user):
    make_user("boss", "owner")
    make_user("mina", "marketer")
    code, out, _err = cli("journeys", "recipes", "--as", "boss")
    assert code == 0 and all(r.id in out for r in RECIPES)
    code, _out, _err = cli("journeys", "use-recipe", "welcome", "--language", "fa",
                           "--publish", "--as", "mina")
    assert code == 3 and not Journey.objects.exists()
    code, out, _err = cli("journeys", "use-recipe", "welcome", "--language", "fa",
                          "--publish", "--as", "boss")
    assert code == 0 and Journey.objects.get().status == Journey.Status.LIVE
    assert MessageTemplate.objects.count() == 3
