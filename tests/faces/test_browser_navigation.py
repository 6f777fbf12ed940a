"""The main menu in a real browser: grouped, the current group marked, folded on a phone.

Screenshots: test-artifacts/screens/<lang>-nav-<desktop|phone>*.png.
"""

from __future__ import annotations

import pytest

from tests.fixtures.browser import chromium_missing

_missing = chromium_missing()
if _missing:
    pytest.skip(_missing, allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]
LANGS = pytest.mark.parametrize("lang", ["fa", "en"])
PHONE = {"width": 390, "height": 844}
GROUP = {"fa": {"customers": "مشتریان", "marketing": "بازاریابی"},
         "en": {"customers": "Customers", "marketing": "Marketing"}}


def current_group(page) -> str:
    return page.locator('.navgroup:has(summary[aria-current="true"])').get_attribute("data-group")


@LANGS
def test_desktop_menu_groups_and_marks_the_current_one(page, live_server, sign_in, shot, lang):
    sign_in(page, lang)
    page.goto(f"{live_server.url}/contacts/tags/")
    assert not page.locator(".navtoggle").is_visible()  # a wide screen needs no Menu button
    groups = page.locator(".navgroup > details > summary")
    assert groups.count() == 5 and all(groups.nth(i).is_visible() for i in range(5))
    assert current_group(page) == "customers"
    customers = page.locator('.navgroup[data-group="customers"] summary')
    assert customers.inner_text() == GROUP[lang]["customers"]
    customers.click()
    current = page.locator('.navitems a[aria-current="page"]')
    assert current.count() == 1 and current.is_visible()
    assert current.get_attribute("href") == "/contacts/tags/"
    shot(page, f"{lang}-nav-desktop-customers")
    # One group open at a time; a click elsewhere closes it.
    page.locator('.navgroup[data-group="marketing"] summary').click()
    # (toggle events are queued: expect waits for the script's answer)
    expect(page.locator(".navgroup > details[open]")).to_have_count(1)
    page.locator("main h1").click()
    expect(page.locator(".navgroup > details[open]")).to_have_count(0)

    page.goto(f"{live_server.url}/messaging/broadcasts/")
    assert current_group(page) == "marketing"
    assert page.locator('.navgroup[data-group="marketing"] summary').inner_text() == \
        GROUP[lang]["marketing"]
    page.goto(f"{live_server.url}/")
    assert page.locator('.brand[aria-current="page"]').count() == 1
    assert page.locator('.navgroups [aria-current]').count() == 0
    shot(page, f"{lang}-nav-desktop-dashboard")


@LANGS
def test_phone_menu_folds_behind_a_button(browser, live_server, sign_in, shot, lang):
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        sign_in(page, lang)
        page.goto(f"{live_server.url}/messaging/templates/")
        toggle = page.locator(".navtoggle")
        assert toggle.is_visible()
        assert not page.locator(".mainnav").is_visible()
        shot(page, f"{lang}-nav-phone-closed")
        toggle.click()
        assert page.locator(".mainnav").is_visible()
        assert current_group(page) == "marketing"
        # it opens on the current group (peyvand.js; without script the group is one tap away)
        expect(page.locator('.navgroup[data-group="marketing"] > details[open]')).to_have_count(1)
        current = page.locator('.navitems a[aria-current="page"]')
        assert current.is_visible() and current.get_attribute("href") == "/messaging/templates/"
        shot(page, f"{lang}-nav-phone-open")
        # The menu leads somewhere: a page of another group, now the current one.
        page.locator('.navgroup[data-group="customers"] summary').click()
        with page.expect_navigation():
            page.locator('.navgroup[data-group="customers"] a[href="/contacts/"]').click()
        assert not page.locator(".mainnav").is_visible()
        assert current_group(page) == "customers"
    finally:
        context.close()
