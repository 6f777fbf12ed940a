"""The block editor in Chromium: a shop owner designs an e-mail (heading, text, button, a
product card) without HTML, saves it and previews it at phone width, in Persian and English.

Screenshots: test-artifacts/screens/blocks-<lang>.png (the preview at phone width) and
blocks-<lang>-editor.png.
"""

from __future__ import annotations

import pytest

from peyvand.commerce.models import Product
from peyvand.messaging.models import MessageTemplate
from tests.fixtures.browser import add_block, chromium_missing

_missing = chromium_missing()
if _missing:
    pytest.skip(_missing, allow_module_level=True)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
WORDS = {"fa": {"heading": "حراج پاییزه", "text": "سلام {{ first_name }}!\nتا جمعه ۲۰٪ تخفیف.",
                "button": "دیدن حراج", "name": "ماگ سفالی", "hello": "سلام سارا!"},
         "en": {"heading": "Autumn sale", "text": "Hello {{ first_name }}!\n20% off until Friday.",
                "button": "See the sale", "name": "Clay mug", "hello": "Hello Sara!"}}


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_design_save_and_preview_on_a_phone(page, live_server, sign_in, shot, lang):
    Product.objects.create(sku="MUG-1", name_fa="ماگ سفالی", name_en="Clay mug",
                           price=2_500_000)
    words = WORDS[lang]
    sign_in(page, lang, role="marketer")
    page.goto(f"{live_server.url}/messaging/templates/new/")
    assert page.locator("#block-editor").is_visible()
    assert not page.locator("#id_html").is_visible()  # designed: no HTML to write
    page.fill("#id_name", f"sale-{lang}")
    page.select_option("#id_language", lang)
    page.fill("#id_subject", words["heading"])
    blocks = page.locator("#block-editor > .bk-group > .bk-list > .bk-block")
    add_block(page, "heading")
    blocks.nth(0).locator("[data-field=text]").fill(words["heading"])
    add_block(page, "text")
    blocks.nth(1).locator("[data-field=text]").fill(words["text"])
    add_block(page, "button")
    blocks.nth(2).locator("[data-field=label]").fill(words["button"])
    blocks.nth(2).locator("[data-field=href]").fill("https://shop.example/sale")
    add_block(page, "products")
    blocks.nth(3).locator("[data-field=sku]").fill("MUG-1")
    # move the products above the button, then check the order held
    blocks.nth(3).locator("[data-action=up]").click()
    assert blocks.nth(2).get_attribute("data-type") == "products"
    # a deleted block asks first
    add_block(page, "divider")
    page.once("dialog", lambda dialog: dialog.accept())
    blocks.nth(4).locator("[data-action=delete]").click()
    assert blocks.count() == 4
    shot(page, f"blocks-{lang}-editor")
    page.click("#template-form button[type=submit]")
    page.wait_for_url(f"{live_server.url}/messaging/templates/*/")
    template = MessageTemplate.objects.get(name=f"sale-{lang}")
    assert [b["type"] for b in template.blocks] == ["heading", "text", "products", "button"]
    assert words["name"] in template.html and template.text.startswith(words["heading"])

    page.goto(f"{live_server.url}/messaging/templates/{template.pk}/preview/")
    page.click("#width-phone")
    page.wait_for_url("**width=phone")
    frame = page.frame_locator("#preview-html")
    body = frame.locator("body")
    assert words["hello"] in body.inner_text() and words["name"] in body.inner_text()
    assert page.locator("#preview-html").bounding_box()["width"] <= 377
    direction = frame.locator("h2").evaluate("e => getComputedStyle(e).direction")
    assert direction == ("rtl" if lang == "fa" else "ltr")
    # at phone width the product card takes the whole width (columns stack)
    card = frame.locator(".pv-product").first.bounding_box()
    assert card["width"] > 300
    shot(page, f"blocks-{lang}")
