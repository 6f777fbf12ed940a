"""The date picker on the rule builder's date values, Persian (Jalali, RTL) and English (ISO):
open it on an "Added on … is before" condition, step a month, pick a day with the mouse, move
across a month with the arrow keys and pick with Enter; each pick writes the input, the rule
JSON and the live count. Also Today, Escape and a click outside.

Leaves test-artifacts/screens/segments-datepicker-<lang>.png.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from tests.fixtures.browser import chromium_missing

_missing = chromium_missing()
if _missing:
    pytest.skip(_missing, allow_module_level=True)

pytestmark = pytest.mark.django_db(transaction=True)

COND = ".rb-cond[data-path='rules.all[0]']"
POPUP = f"{COND} .dp-popup"

# What each step writes, and the same day in ISO: Jalali on a Persian page.
DAYS = {
    "fa": {"typed": ("1403/05/12", "2024-08-02"), "clicked": ("1403/06/10", "2024-08-31"),
           "keyed": ("1403/05/14", "2024-08-04")},
    "en": {"typed": ("2024-08-02", "2024-08-02"), "clicked": ("2024-09-10", "2024-09-10"),
           "keyed": ("2024-08-14", "2024-08-14")},
}


def _contacts() -> None:
    from peyvand.contacts.models import Contact

    for name, added in (("Ali", dt.datetime(2024, 7, 1, 12, tzinfo=dt.UTC)),
                        ("Sara", dt.datetime(2024, 8, 20, 12, tzinfo=dt.UTC)),
                        ("Bob", None)):  # Bob was added today
        contact = Contact.objects.create(first_name=name)
        if added:
            Contact.objects.filter(pk=contact.pk).update(created_at=added)


def _count_is(page, n: int) -> None:
    page.wait_for_function(
        "n => document.getElementById('live-count-number').getAttribute('data-count') === n",
        arg=str(n))


def _rule_value(page) -> str:
    return json.loads(page.input_value("#id_rules"))["all"][0]["value"]


def _focused_day(page) -> str | None:
    return page.evaluate("document.activeElement.getAttribute('data-day')")


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("lang", ["fa", "en"])
def test_pick_a_day_for_a_date_condition(page, live_server, sign_in, shot, lang):
    days = DAYS[lang]
    _contacts()
    sign_in(page, lang, "marketer")
    page.goto(f"{live_server.url}/segments/")
    page.click("#new-segment")
    page.wait_for_selector(".rb-group[data-path='rules']")
    page.click(".rb-group[data-path='rules'] > .rb-group-actions .rb-add-condition")
    page.select_option(f"{COND} select.rb-field", "contact.created_at")
    page.select_option(f"{COND} select.rb-op", "lt")
    date_input = page.locator(f"{COND} input.rb-date")
    date_input.fill(days["typed"][0])
    _count_is(page, 1)

    # The picker opens on the typed day, in the page's calendar and digits.
    toggle = page.locator(f"{COND} .dp-toggle")
    assert toggle.get_attribute("aria-expanded") == "false"
    toggle.click()
    page.wait_for_selector(POPUP)
    assert toggle.get_attribute("aria-expanded") == "true"
    title = page.locator(f"{POPUP} .dp-title")
    weekdays = page.locator(f"{POPUP} thead th").all_text_contents()
    if lang == "fa":
        assert "مرداد" in title.text_content() and "۱۴۰۳" in title.text_content()
        assert weekdays[0] == "ش" and weekdays[6] == "ج"  # Saturday to Friday
    else:
        assert title.text_content() == "August 2024"
        assert weekdays[0] == "Mon" and weekdays[6] == "Sun"
    # Its labels are the page's translated ones, not words of the script.
    assert page.get_attribute(f"{POPUP} .dp-prev", "aria-label") == page.get_attribute(
        "#datepicker-strings", "data-previous")
    assert _focused_day(page) == days["typed"][0]

    # A month on, a click on a day: the input, the rule and the count follow.
    page.click(f"{POPUP} .dp-next")
    assert ("شهریور" in title.text_content()) if lang == "fa" else (
        title.text_content() == "September 2024")
    day = page.locator(f"{POPUP} .dp-day[data-day='{days['clicked'][0]}']")
    assert day.text_content() == ("۱۰" if lang == "fa" else "10")
    day.click()
    assert page.locator(POPUP).count() == 0
    assert date_input.input_value() == days["clicked"][0]
    assert _rule_value(page) == days["clicked"][1]
    _count_is(page, 2)
    assert page.evaluate("document.activeElement.classList.contains('dp-toggle')")

    # The keyboard: the next day sits on the reading side; four weeks back crosses a month.
    toggle.click()
    assert _focused_day(page) == days["clicked"][0]
    page.keyboard.press("ArrowLeft" if lang == "fa" else "ArrowRight")
    for _ in range(4):
        page.keyboard.press("ArrowUp")
    assert _focused_day(page) == days["keyed"][0]
    assert ("مرداد" in title.text_content()) if lang == "fa" else (
        title.text_content() == "August 2024")
    page.keyboard.press("Enter")
    assert page.locator(POPUP).count() == 0
    assert date_input.input_value() == days["keyed"][0]
    assert _rule_value(page) == days["keyed"][1]
    _count_is(page, 1)

    # Open on the chosen day: laid out in the reading direction, inside the window.
    toggle.click()
    chosen = page.locator(f"{POPUP} .dp-day[aria-pressed='true']")
    assert chosen.get_attribute("data-day") == days["keyed"][0]
    first = page.locator(f"{POPUP} thead th").first.bounding_box()
    last = page.locator(f"{POPUP} thead th").last.bounding_box()
    assert (first["x"] > last["x"]) if lang == "fa" else (first["x"] < last["x"])
    box = page.locator(POPUP).bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= page.viewport_size["width"]
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shot(page, f"segments-datepicker-{lang}")

    # Today shows this month with today focused; Escape closes and gives focus back.
    page.click(f"{POPUP} .dp-today")
    assert page.evaluate("document.activeElement.getAttribute('aria-current')") == "date"
    page.keyboard.press("Escape")
    assert page.locator(POPUP).count() == 0
    assert page.evaluate("document.activeElement.classList.contains('dp-toggle')")
    assert date_input.input_value() == days["keyed"][0]  # nothing picked

    # A click elsewhere closes it too.
    toggle.click()
    page.wait_for_selector(POPUP)
    page.click("h1")
    assert page.locator(POPUP).count() == 0

    # Between: a picker for each end, side by side without running off the page.
    page.select_option(f"{COND} select.rb-op", "between")
    assert page.locator(f"{COND} .dp-toggle").count() == 2
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.browser
@pytest.mark.slow
def test_jalali_month_lengths_come_from_the_browser(page, live_server, sign_in):
    sign_in(page, "fa", "marketer")
    page.goto(f"{live_server.url}/segments/new/")
    page.click(".rb-group[data-path='rules'] > .rb-group-actions .rb-add-condition")
    page.select_option(f"{COND} select.rb-field", "contact.created_at")
    date_input = page.locator(f"{COND} input.rb-date")
    # 1403 is a leap year: Esfand has 30 days, and Persian digits are read as typed.
    date_input.fill("۱۴۰۳/۱۲/۳۰")
    page.click(f"{COND} .dp-toggle")
    assert _focused_day(page) == "1403/12/30"
    assert page.locator(f"{POPUP} .dp-day").count() == 30
    page.keyboard.press("PageDown")  # Farvardin 1404 has 31 days: the same day of the month
    assert _focused_day(page) == "1404/01/30"
    page.keyboard.press("ArrowDown")  # on into Ordibehesht
    assert _focused_day(page) == "1404/02/06"
    page.keyboard.press("Escape")
    # 1402 is not: Esfand 30 does not exist, so the picker opens on today.
    date_input.fill("1402/12/30")
    page.click(f"{COND} .dp-toggle")
    assert page.evaluate("document.activeElement.getAttribute('aria-current')") == "date"
    page.keyboard.press("Enter")
    today = page.evaluate("""(() => { const d = new Date();
        return [d.getFullYear(), d.getMonth() + 1, d.getDate()]; })()""")
    assert json.loads(page.input_value("#id_rules"))["all"][0]["value"] == (
        dt.date(*today).isoformat())
