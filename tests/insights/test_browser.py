"""The insights dashboard in a real browser, Persian (RTL) and English (LTR).

Leaves test-artifacts/screens/insights-<lang>.png.
"""

from __future__ import annotations

import pytest

from tests.fixtures.browser import chromium_missing

_missing = chromium_missing()
if _missing:
    pytest.skip(_missing, allow_module_level=True)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.browser
@pytest.mark.slow
def test_dashboard_screenshot(page, live_server, sign_in, shot):
    """Both languages on one demo shop: loading it is most of the test's time."""
    from peyvand.base.actor import Actor
    from peyvand.demo import load_demo
    from peyvand.insights.actions import refresh_all

    load_demo()
    refresh_all(Actor.system("test"))
    for lang in ("fa", "en"):
        page.context.clear_cookies()
        sign_in(page, lang, "analyst", username=f"analyst-{lang}")
        page.goto(f"{live_server.url}/insights/")
        assert page.get_attribute("html", "dir") == ("rtl" if lang == "fa" else "ltr")
        for chart in ("pyramid", "heatmap", "histogram", "funnel"):
            box = page.locator(f"svg.chart.{chart}").bounding_box()
            assert box and box["width"] > 200 and box["height"] > 100, (lang, chart)
        # Charts fit their cards: nothing overflows the page sideways.
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        cells = page.locator("svg.heatmap rect[data-count]")
        assert cells.count() == 25
        first = page.locator("svg.heatmap rect[data-r='5'][data-f='1']").bounding_box()
        last = page.locator("svg.heatmap rect[data-r='5'][data-f='5']").bounding_box()
        assert (first["x"] > last["x"]) == (lang == "fa")  # F runs along the text
        shot(page, f"insights-{lang}")
        # The model's parameters behind their fold, the due list's reasons, one money unit.
        page.context.clear_cookies()
        sign_in(page, lang, "owner", username=f"owner-{lang}")
        page.goto(f"{live_server.url}/insights/")
        fold = page.locator("#model-details")
        assert not fold.locator("#model-params").is_visible()  # closed until asked for
        fold.locator("summary").click()
        assert fold.locator("#model-params").is_visible()
        fold.scroll_into_view_if_needed()
        shot(page, f"insights-model-{lang}")
        page.goto(f"{live_server.url}/insights/due/")
        shot(page, f"insights-due-{lang}")
        page.goto(f"{live_server.url}/commerce/settings/")
        shot(page, f"money-settings-{lang}")
