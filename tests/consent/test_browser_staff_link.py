"""The contact's consent page in Chromium, fa and en: no signed links, and the action that
e-mails the person their preference link.

Screenshots: test-artifacts/screens/consent-<lang>-staff-link*.png
"""

from __future__ import annotations

import re

import pytest

from peyvand.base.actor import Actor
from peyvand.consent import ledger
from peyvand.consent.ledger import Change
from peyvand.consent.models import Action, LinkSent, Source, Topic
from peyvand.contacts.actions import do_create_contact
from tests.fixtures.browser import chromium_missing

_missing = chromium_missing()
if _missing:
    pytest.skip(_missing, allow_module_level=True)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
CONSENT_LINK = re.compile(r"/consent/[pu]/[A-Za-z0-9_:.\-]{20,}/")


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_send_the_preference_link_from_the_consent_page(page, live_server, shot, sign_in,
                                                        lang):
    topic = Topic.objects.get_or_create(key="news", defaults={
        "name_fa": "اخبار", "name_en": "News", "default_frequency": "monthly"})[0]
    contact = do_create_contact(Actor.system("test"), {
        "first_name": "مریم" if lang == "fa" else "Maryam", "language": lang,
        "email": f"maryam-{lang}@example.com"})
    ledger.append(contact, [Change(Action.OPT_IN, "email", None),
                            Change(Action.OPT_IN, "email", topic.pk, {"frequency": "monthly"})],
                  source=Source.FORM, actor_label="form:spring")
    ledger.append(contact, [Change(Action.CONFIRM, "email", None)], source=Source.FORM,
                  actor_label="contact")
    sign_in(page, lang, role="support")
    page.goto(f"{live_server.url}/consent/contacts/{contact.pk}/")
    assert page.get_attribute("html", "dir") == ("rtl" if lang == "fa" else "ltr")
    assert page.locator("#send-link").is_visible()
    assert not CONSENT_LINK.search(page.content())
    shot(page, f"consent-{lang}-staff-link")
    with page.expect_navigation():
        page.click("#send-link button[type=submit]")
    assert page.locator(".msg-success").is_visible()
    assert not CONSENT_LINK.search(page.content())
    assert LinkSent.objects.get(contact=contact).sent_by == f"support-{lang}"
    shot(page, f"consent-{lang}-staff-link-sent")
