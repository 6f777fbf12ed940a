"""A campaign in Chromium, in Persian and English: a marketer designs the e-mail with blocks,
plans the campaign, sends a test to a seed contact, schedules it; a reviewer approves the
words shown; then, once it went and people opened and clicked, the report.

Screenshots: test-artifacts/screens/campaign-<lang>-check.png (before approval),
campaign-<lang>-report.png, campaigns-<lang>-calendar.png.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from peyvand.campaigns.models import Campaign
from peyvand.messaging.models import MessageTemplate, OutboxMessage
from tests.fixtures.browser import add_block, chromium_missing

_missing = chromium_missing()
if _missing:
    pytest.skip(_missing, allow_module_level=True)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]
WORDS = {"fa": {"heading": "حراج پاییزه", "text": "سلام {{ first_name }}! تا جمعه تخفیف.",
                "button": "دیدن حراج", "campaign": "حراج پاییز"},
         "en": {"heading": "Autumn sale", "text": "Hello {{ first_name }}! Until Friday.",
                "button": "See the sale", "campaign": "Autumn sale"}}


def _people() -> list[int]:
    from peyvand.base.actor import Actor
    from peyvand.consent.ledger import Change, append
    from peyvand.contacts.actions import do_create_contact

    made = []
    for i, name in enumerate(("Sara", "Reza", "Mina", "Omid")):
        contact = do_create_contact(Actor.system("test"), {
            "first_name": name, "email": f"p{i}@example.com", "tags": ["vip"]})
        append(contact.pk, [Change("opt_in", "email", None)], source="preferences",
               actor_label="test")
        made.append(contact.pk)
    return made


def _design(page, base: str, lang: str) -> None:
    words = WORDS[lang]
    page.goto(f"{base}/messaging/templates/new/")
    page.fill("#id_name", f"autumn-{lang}")
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
    page.click("#template-form button[type=submit]")
    page.wait_for_url(f"{base}/messaging/templates/*/")


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_design_plan_test_schedule_approve_and_read(page, browser, live_server, sign_in, shot,
                                                     lang):
    people = _people()
    base = live_server.url
    sign_in(page, lang, role="marketer")
    _design(page, base, lang)
    assert MessageTemplate.objects.get(name=f"autumn-{lang}").blocks

    page.goto(f"{base}/campaigns/")
    page.click("#new-campaign")
    page.fill("#id_name", WORDS[lang]["campaign"])
    page.select_option("#id_tags", "vip")
    page.select_option("#id_template_A", f"autumn-{lang}")
    page.select_option("#id_goal", "orders")
    page.click("#save-campaign")
    page.wait_for_url(f"{base}/campaigns/*/")
    campaign = Campaign.objects.get()
    assert page.get_attribute("#send-check", "data-count") == "4"
    frame = page.frame_locator("#campaign-preview iframe.rendered-html").first
    assert WORDS[lang]["heading"] in frame.locator("body").inner_text()

    page.fill("#id_contacts", str(people[0]))
    page.click("#send-test")
    page.wait_for_selector("#tests li")
    test_rows = OutboxMessage.objects.filter(broadcast__is_test=True)
    assert list(test_rows.values_list("contact_id", flat=True)) == [people[0]]

    page.check("input[name=schedule][value=now]")
    page.click("#save-schedule")
    page.wait_for_selector("[data-status=awaiting_approval]")
    shown = page.frame_locator("#campaign-preview iframe.rendered-html").first
    assert WORDS[lang]["button"] in shown.locator("body").inner_text()
    # Headless Chromium paints a frame only once it has been in view.
    page.locator("#campaign-preview iframe.rendered-html").first.scroll_into_view_if_needed()
    page.wait_for_timeout(200)
    shot(page, f"campaign-{lang}-check")

    reviewer = browser.new_page()
    sign_in(reviewer, lang, role="reviewer")
    reviewer.goto(f"{base}/campaigns/{campaign.pk}/")
    reviewer.click("#approve")
    reviewer.wait_for_selector("[data-status=sending]")
    campaign.refresh_from_db()
    assert campaign.approved_by == f"reviewer-{lang}"

    # It went: the messages were sent, two people opened and one clicked.
    from tests.tracking.report_data import drain, hit

    rows = list(OutboxMessage.objects.filter(broadcast__is_test=False).order_by("pk"))
    assert len(rows) == 4
    OutboxMessage.objects.filter(pk__in=[r.pk for r in rows]).update(
        state="sent", sent_at=timezone.now() - dt.timedelta(minutes=30))
    now = timezone.now()
    drain(hit("open", rows[0], now), hit("open", rows[1], now),
          hit("click", rows[0], now + dt.timedelta(minutes=1),
              url="https://shop.example/sale"))
    reviewer.goto(f"{base}/campaigns/{campaign.pk}/")
    report = reviewer.locator("#campaign-report")
    assert report.get_attribute("data-sent") == "4"
    clicked = reviewer.locator("#report-numbers tr[data-key=clicked] td").inner_text()
    assert clicked.split()[0] == ("۱" if lang == "fa" else "1")
    assert reviewer.locator("svg.campaign-funnel").count() == 1
    clicked_map = reviewer.locator("iframe.click-map")
    assert clicked_map.get_attribute("data-marked") == "1"  # the button people clicked
    badge = reviewer.frame_locator("iframe.click-map").locator(".pv-clicks")
    assert badge.inner_text() == ("۱ · ۱۰۰٪" if lang == "fa" else "1 · 100%")
    clicked_map.scroll_into_view_if_needed()
    shot(reviewer, f"campaign-{lang}-report")
    reviewer.goto(f"{base}/campaigns/calendar/")
    assert reviewer.locator(".cal").count() == 1
    shot(reviewer, f"campaigns-{lang}-calendar")
    reviewer.close()
