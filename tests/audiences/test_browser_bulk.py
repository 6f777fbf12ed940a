"""Acting on ticked people of the contact list in a real browser, fa and en: the count of
ticked rows follows the boxes, the confirm page says how many, and the job tags exactly them."""

from __future__ import annotations

import pytest

from tests.fixtures.browser import chromium_missing

_missing = chromium_missing()
if _missing:
    pytest.skip(_missing, allow_module_level=True)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("lang", ["fa", "en"])
def test_tick_two_contacts_and_tag_them(page, live_server, sign_in, shot, lang):
    from peyvand.contacts.models import Contact, ContactTag

    people = [Contact.objects.create(first_name=f"P{i}") for i in range(3)]
    sign_in(page, lang, "marketer")
    page.goto(f"{live_server.url}/contacts/")
    chosen = page.locator("[data-chosen-count]")
    act = page.locator("button[data-needs-chosen]")
    assert act.is_disabled()
    for person in people[:2]:
        page.check(f"input[name='ids'][value='{person.pk}']")
    page.wait_for_function(
        "n => document.querySelector('[data-chosen-count]').textContent === n",
        arg="۲" if lang == "fa" else "2")
    assert chosen.first.text_content() == ("۲" if lang == "fa" else "2")
    assert act.is_enabled()
    page.select_option("select[name='action']", "tag")
    page.fill("input[name='tag']", "winback")
    act.click()
    page.wait_for_url("**/segments/act/**")
    body = page.inner_text("main")
    assert ("۲" if lang == "fa" else "2") in body
    shot(page, f"{lang}-bulk-confirm")
    page.click("#act-go")
    page.wait_for_url("**/jobs/**")
    tagged = set(ContactTag.objects.filter(tag__name="winback")
                 .values_list("contact_id", flat=True))
    assert tagged == {people[0].pk, people[1].pk}
