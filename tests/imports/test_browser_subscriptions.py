"""The import wizard's subscriptions step in Chromium, fa and en: the owner maps a status
column, attests, and the result counts the subscriptions.

Screenshots: test-artifacts/screens/imports-<lang>-subscriptions*.png
"""

from __future__ import annotations

import pytest

from peyvand.consent.models import ConsentState, Topic
from tests.fixtures.browser import chromium_missing

_missing = chromium_missing()
if _missing:
    pytest.skip(_missing, allow_module_level=True)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ATTEST = ("They subscribed through the double opt-in form of our old listmonk, list "
          "Newsletter, 2021–2024.")


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_owner_imports_subscribers_with_an_attestation(page, live_server, shot, sign_in,
                                                       tmp_path, lang):
    Topic.objects.get_or_create(key="news", defaults={
        "name_fa": "اخبار", "name_en": "News", "default_frequency": "monthly"})
    path = tmp_path / "listmonk.csv"
    path.write_text("email,name,subscription_status,created_at\n"
                    "ann@example.com,Ann,confirmed,2022-03-04T10:11:12Z\n"
                    "bob@example.com,Bob,unsubscribed,\n"
                    "cy@example.com,Cy,unconfirmed,\n", encoding="utf-8")
    sign_in(page, lang, role="owner")
    page.goto(f"{live_server.url}/imports/")
    page.set_input_files("#id_file", str(path))
    with page.expect_navigation():
        page.click("#upload-form button[type=submit]")
    assert page.locator("#subscriptions").is_visible()
    page.select_option("select[name=col_2]", "consent.status")
    page.select_option("select[name=col_3]", "consent.opted_in_at")
    page.select_option("#id_consent_channel", "email")
    page.check("input[name=consent_topics][value=news]")
    page.fill("#id_consent_evidence", "listmonk, list Newsletter, 1403/02/12")
    page.fill("#id_attestation", ATTEST)
    shot(page, f"imports-{lang}-subscriptions")
    with page.expect_navigation():
        page.click("#mapping-form button[type=submit]")
    page.wait_for_selector("#import-done", timeout=20_000)
    assert page.locator("#import-consent").is_visible()
    assert ConsentState.objects.get(contact__identities__value="ann@example.com",
                                    topic=None).status == "in"
    shot(page, f"imports-{lang}-subscriptions-done")
