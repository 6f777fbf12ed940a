"""What a person sees for an address that cannot be read, in Persian (RTL) and English (LTR).

Screenshots: test-artifacts/screens/<lang>-bad-query.png and <lang>-bad-filter.png.
"""

from __future__ import annotations

import pytest

from tests.fixtures.browser import chromium_missing

_missing = chromium_missing()
if _missing:
    pytest.skip(_missing, allow_module_level=True)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]
REASON = {"fa": "نویسهٔ NUL", "en": "NUL characters"}


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_bad_query_pages(page, live_server, sign_in, shot, lang):
    sign_in(page, lang)
    response = page.goto(f"{live_server.url}/contacts/?q=a%00b")
    assert response.status == 400
    assert page.locator("html").get_attribute("dir") == ("rtl" if lang == "fa" else "ltr")
    assert REASON[lang] in page.locator(".error-page").inner_text()
    shot(page, f"{lang}-bad-query")

    response = page.goto(f"{live_server.url}/contacts/?field=x&op=x&value=x")
    assert response.status == 400
    assert page.locator("#contact-filters .field-error").count() >= 1
    shot(page, f"{lang}-bad-filter")
