"""Tasks in Chromium, in Persian and English: the list with its badge, closing one through the
form (the confirm is accepted) and the closed tab.

Screenshots: test-artifacts/screens/tasks-<lang>.png (the open list).
"""

from __future__ import annotations

import datetime as dt

import pytest

from tests.fixtures.browser import chromium_missing

_missing = chromium_missing()
if _missing:
    pytest.skip(_missing, allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]
TITLES = {"fa": "تماس درباره‌ی شارژ دوباره", "en": "Call about the refill"}


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_list_close_and_badge(page, live_server, sign_in, shot, lang):
    from django.utils import timezone

    from peyvand.base.actor import Actor
    from peyvand.contacts.actions import do_create_contact
    from peyvand.support.actions import do_create_task
    from peyvand.support.models import StaffTask

    user = sign_in(page, lang, role="support")
    system = Actor.system("journey:1")
    for i, name in enumerate(("Sara", "Reza", "Mina")):
        person = do_create_contact(system, {"first_name": name, "email": f"p{i}@example.com"})
        do_create_task(system, person, TITLES[lang], assignee=user if i == 1 else None,
                       due_at=timezone.now() + dt.timedelta(hours=(i - 1) * 30),
                       source="journey:1:s2", source_label="Refill reminder")
    page.goto(f"{live_server.url}/tasks/")
    assert page.locator("#task-table tbody tr").count() == 3
    assert page.locator(".navbadge[data-badge='3']").count() == 1
    shot(page, f"tasks-{lang}")
    first = page.locator("#task-table tbody tr").first
    first.locator("input[name=note]").fill("will order next week")
    page.once("dialog", lambda dialog: dialog.accept())
    first.locator("button[type=submit]").first.click()
    expect(page.locator("#task-table tbody tr")).to_have_count(2)  # waits for the new page
    expect(page.locator(".navbadge[data-badge='2']")).to_have_count(1)
    assert StaffTask.objects.filter(state="done", outcome_note="will order next week").count() == 1
    page.click("#tab-done")
    assert "will order next week" in page.locator("#task-table").inner_text()
