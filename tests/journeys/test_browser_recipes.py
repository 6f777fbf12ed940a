"""Journey recipes in Chromium, in Persian and English: from the journeys list to the
recipes page (click 1), "Turn on" with its confirmation (click 2), then the journey page,
live, naming the templates made.

Screenshots: test-artifacts/screens/journeys-recipes-<lang>.png (the recipes page).
"""

from __future__ import annotations

import pytest

from peyvand.journeys.models import Journey
from peyvand.journeys.recipes import RECIPES
from tests.fixtures.browser import chromium_missing

_missing = chromium_missing()
if _missing:
    pytest.skip(_missing, allow_module_level=True)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_two_clicks_turn_a_recipe_on(page, live_server, sign_in, shot, lang):
    base = live_server.url
    sign_in(page, lang, role="owner")
    page.goto(f"{base}/journeys/")
    page.click("#start-from-recipe a")
    page.wait_for_url(f"{base}/journeys/recipes/")
    assert page.locator("section.recipe").count() == len(RECIPES)
    assert page.locator("html").get_attribute("dir") == ("rtl" if lang == "fa" else "ltr")
    assert page.locator('[data-recipe="welcome"] select').input_value() == lang
    shot(page, f"journeys-recipes-{lang}")
    asked: list[str] = []

    def answer(dialog):
        asked.append(dialog.message)
        dialog.accept()

    page.on("dialog", answer)
    page.click('[data-recipe="abandoned_cart"] button[data-action="turn-on"]')
    page.wait_for_url(f"{base}/journeys/*/")
    assert asked and "2" in asked[0].translate(str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789"))
    journey = Journey.objects.get()
    assert journey.status == Journey.Status.LIVE
    assert page.locator(".msg-success a").count() == 2  # the two templates, to edit
