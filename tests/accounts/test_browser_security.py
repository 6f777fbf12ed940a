"""The security pages in a real browser, in Persian and English: setting up two-factor
sign-in from the QR page, signing in with the code, and the API tokens page. Screenshots in
test-artifacts/screens/<lang>-two-factor-*.png and <lang>-tokens.png."""

from __future__ import annotations

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.fixtures.browser import chromium_missing

from .conftest import PASSWORD, code

_missing = chromium_missing()
if _missing:
    pytest.skip(_missing, allow_module_level=True)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DIRECTION = {"fa": "rtl", "en": "ltr"}


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_two_factor_set_up_sign_in_and_tokens(page, live_server, sign_in, shot, lang):
    user = sign_in(page, lang, "owner")
    page.goto(f"{live_server.url}/accounts/two-factor/")
    assert page.get_attribute("html", "dir") == DIRECTION[lang]
    assert page.locator(".qr svg").is_visible()
    shot(page, f"{lang}-two-factor-setup")
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    page.fill("#id_code", code(device))
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert page.locator('[data-two-factor="on"]').is_visible()
    shot(page, f"{lang}-two-factor-on")

    # Sign out and in again: the password, then the code.
    with page.expect_navigation():
        page.click(".usermenu form[action='/accounts/logout/'] button")
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("form[action='/accounts/login/'] button[type=submit]")
    assert page.url == f"{live_server.url}/accounts/login/verify/"
    assert page.get_attribute("#id_code", "autocomplete") == "one-time-code"
    shot(page, f"{lang}-two-factor-verify")
    device.refresh_from_db()
    page.fill("#id_code", code(device, 1))
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert page.url == f"{live_server.url}/"

    page.goto(f"{live_server.url}/accounts/tokens/")
    page.fill("#id_name", "همگام‌سازی فروشگاه" if lang == "fa" else "shop sync")
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    key = page.locator("[data-new-key] code").inner_text()
    assert key.startswith("pvd_")
    assert page.locator("[data-state=active]").count() == 1
    shot(page, f"{lang}-tokens")
