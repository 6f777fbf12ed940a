"""The recipes page: all eleven recipes in fa and en; the owner turns one on (live, with its
templates listed and linked), a marketer only creates drafts."""

from __future__ import annotations

import pytest

from peyvand.journeys.models import Journey
from peyvand.journeys.recipes import RECIPES
from peyvand.messaging.models import MessageTemplate
from tests.messaging.conftest import client_for  # noqa: F401 (fixture)

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
