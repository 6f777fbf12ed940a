"""The broadcast form, the reviewer's approval page with its fa/en preview and the template
editor's footer note in Chromium, in Persian and English.

Screenshots: test-artifacts/screens/messaging-<lang>-*.png
"""

from __future__ import annotations

import pytest

from peyvand.base.actor import Actor
from peyvand.contacts.actions import do_create_contact
from peyvand.messaging.actions import do_create_broadcast
from peyvand.messaging.models import Broadcast, MessageTemplate
from tests.fixtures.browser import chromium_missing

_missing = chromium_missing()
if _missing:
    pytest.skip(_missing, allow_module_level=True)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DIRECTION = {"fa": "rtl", "en": "ltr"}


@pytest.fixture
def waiting(make_user):
    """A marketer's Persian broadcast without its own unsubscribe link, awaiting approval."""
    do_create_contact(Actor.system("test"), {"first_name": "سارا", "last_name": "احمدی",
                                             "email": "sara@example.com", "tags": ["vip"]})
    MessageTemplate.objects.create(
        name="حراج پاییزه", language="fa", subject="حراج پاییزه برای {{ first_name }}",
        html="<h2>سلام {{ first_name }}!</h2><p>از فردا تا ۳۰٪ تخفیف روی همهٔ کتاب‌ها.</p>"
             "<p><a href=\"https://shop.example/sale\">دیدن حراج</a></p>")
    marketer = Actor.for_user(make_user("marketer", "marketer"), "ui")
    return do_create_broadcast(marketer, "حراج پاییزه", "vip")


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_the_reviewer_approves_what_they_see(page, live_server, sign_in, shot, waiting, lang):
    sign_in(page, lang, role="reviewer")
    page.goto(f"{live_server.url}/messaging/broadcasts/{waiting.pk}/")
    assert page.locator("html").get_attribute("dir") == DIRECTION[lang]
    renders = page.locator("#broadcast-preview .render")
    assert renders.count() == 2
    persian = page.frame_locator(".render[data-language=fa] iframe")
    english = page.frame_locator(".render[data-language=en] iframe")
    assert "سلام سارا" in persian.locator("body").inner_text()
    assert "لغو عضویت" in persian.locator("[data-unsubscribe-footer]").inner_text()
    assert "Unsubscribe" in english.locator("[data-unsubscribe-footer]").inner_text()
    assert page.locator("#approve").is_visible()
    shot(page, f"messaging-{lang}-approval")
    page.click("#approve")
    page.wait_for_url(f"{live_server.url}/messaging/broadcasts/{waiting.pk}/")
    assert Broadcast.objects.get(pk=waiting.pk).status == "queued"


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_the_broadcast_form_and_the_template_footer_note(page, live_server, sign_in, shot,
                                                         waiting, lang):
    sign_in(page, lang, role="marketer", username=f"writer-{lang}")
    page.goto(f"{live_server.url}/messaging/broadcasts/")
    assert page.locator("#broadcast-rules").is_visible()
    assert page.locator("#id_class").count() == 0  # no class to choose: always marketing
    shot(page, f"messaging-{lang}-broadcast-form")
    template = MessageTemplate.objects.get()
    page.goto(f"{live_server.url}/messaging/templates/{template.pk}/")
    assert page.locator("#footer-note").is_visible()
    options = page.locator("#id_message_class option").all_inner_texts()
    assert len(options) == 1  # a marketer is not offered transactional or alert
    shot(page, f"messaging-{lang}-template-footer-note")
