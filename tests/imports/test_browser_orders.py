"""The order import wizard in Chromium, fa and en: upload, the plan with the currency
question, preview again, import, the job page with the totals and how the file was read.

Screenshots: test-artifacts/screens/orders-import-<lang>.png (the preview) and
orders-import-<lang>-done.png (the job page).
"""

from __future__ import annotations

import pytest

from peyvand.commerce.models import Order
from tests.fixtures.browser import chromium_missing

_missing = chromium_missing()
if _missing:
    pytest.skip(_missing, allow_module_level=True)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CSV = ("شماره سفارش,تاریخ,ایمیل,کالا,تعداد,قیمت واحد,یادداشت داخلی\n"
       "A-1,۱۴۰۳/۰۲/۱۲,ali@example.com,چای,2,180000,هدیه\n"
       "A-1,۱۴۰۳/۰۲/۱۲,ali@example.com,استکان,1,240000,\n"
       "A-2,,sara@example.com,چای,1,180000,\n")


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_marketer_imports_orders_after_the_preview(page, live_server, shot, sign_in, tmp_path,
                                                   lang):
    path = tmp_path / "orders.csv"
    path.write_text(CSV, encoding="utf-8")
    sign_in(page, lang, role="marketer")
    page.goto(f"{live_server.url}/commerce/orders/")
    with page.expect_navigation():
        page.click("#import-orders-link")
    page.set_input_files("#id_file", str(path))
    with page.expect_navigation():
        page.click("#upload-form button[type=submit]")
    assert "یادداشت داخلی" in page.locator("#plan-ignored").inner_text()
    assert "۱۴۰۳/۰۲/۱۲" in page.locator("#plan-dates").inner_text()
    # Import without a currency: refused, the question stays.
    with page.expect_navigation():
        page.click("#orders-import")
    assert page.locator("#id_currency_error").is_visible()
    page.select_option("#id_currency", "IRT")
    with page.expect_navigation():
        page.click("#orders-again")
    assert "IRT" in page.locator("#plan-currency").inner_text()
    shot(page, f"orders-import-{lang}")
    with page.expect_navigation():
        page.click("#orders-import")
    page.wait_for_selector("#import-done", timeout=20_000)
    assert page.locator("#import-notes").is_visible()
    assert page.locator("[data-total=rejected]").inner_text() in ("1", "۱")
    shot(page, f"orders-import-{lang}-done")
    assert Order.objects.filter(external_id="A-1").exists()
