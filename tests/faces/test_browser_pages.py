"""The main pages in a real browser, in Persian (RTL) and English (LTR).

Each test leaves full-page screenshots in test-artifacts/screens/<lang>-<page>.png.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model

from peyvand.base.actor import Actor
from peyvand.contacts.actions import do_add_note, do_create_contact
from peyvand.contacts.fields import do_save_custom_field
from peyvand.contacts.models import Contact, CustomField, Tag
from tests.fixtures.browser import PASSWORD, chromium_missing

_missing = chromium_missing()
if _missing:
    pytest.skip(_missing, allow_module_level=True)

pytestmark = pytest.mark.django_db(transaction=True)
LANGS = pytest.mark.parametrize("lang", ["fa", "en"])
DIRECTION = {"fa": "rtl", "en": "ltr"}
BIRTHDAY = {"fa": "1370/05/12", "en": "1991-08-03"}
JOINED = {"fa": "1403/02/12", "en": "2024-05-01"}


def digits(text: str, lang: str) -> str:
    return text.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")) if lang == "fa" else text


def assert_direction(page, lang: str) -> None:
    assert page.get_attribute("html", "lang") == lang
    assert page.get_attribute("html", "dir") == DIRECTION[lang]


def submit(page, form: str) -> None:
    with page.expect_navigation():
        page.click(f"{form} button[type=submit]")


def actor_of(user) -> Actor:
    return Actor.for_user(get_user_model().objects.select_related("profile").get(pk=user.pk),
                          "ui")


@pytest.mark.browser
@LANGS
def test_sign_in_and_dashboard(page, live_server, make_user, shot, lang):
    user = make_user(f"owner-{lang}", "owner", language=lang)
    page.goto(f"{live_server.url}/accounts/login/")
    assert_direction(page, "fa")  # nobody signed in, no cookie: Persian first
    if lang == "en":
        submit(page, ".lang-switch")
        assert_direction(page, "en")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "not the password")
    submit(page, "form[action='/accounts/login/']")
    assert page.locator(".form-errors").is_visible()
    shot(page, f"{lang}-login")
    page.fill("#id_password", PASSWORD)
    submit(page, "form[action='/accounts/login/']")
    assert page.url == f"{live_server.url}/"
    assert_direction(page, lang)
    assert page.locator("#empty-install").is_visible()
    shot(page, f"{lang}-dashboard-empty")

    actor = actor_of(user)
    contact = do_create_contact(actor, {"first_name": "مریم", "last_name": "احمدی",
                                        "phone": "09121234567", "tags": ["vip"]})
    do_add_note(actor, contact, "Wants the spring catalogue")
    page.reload()
    assert page.locator('[data-stat="contacts"] .num').inner_text() == digits("1", lang)
    assert page.locator('[data-stat="recent"] .num').inner_text() == digits("1", lang)
    assert page.locator('[data-stat="tags"] .num').inner_text() == digits("1", lang)
    assert page.locator("#empty-install").count() == 0
    assert page.locator("#recent-activity li").count() == 2
    shot(page, f"{lang}-dashboard")
    with page.expect_navigation():
        page.locator("#recent-activity a").first.click()
    assert page.url == f"{live_server.url}/contacts/{contact.pk}/"

    with page.expect_navigation():
        page.click("form[action='/accounts/logout/'] button")
    assert "/accounts/login/" in page.url


@pytest.mark.browser
@LANGS
def test_contact_list_search_filters_and_pagination(page, live_server, sign_in, shot, lang):
    actor = actor_of(sign_in(page, lang))
    do_save_custom_field(actor, key="joined", label_fa="تاریخ عضویت", label_en="Joined",
                         type="date")
    ali = do_create_contact(actor, {
        "first_name": "علی", "last_name": "رضایی", "phone": "+989121112233",
        "email": "ali@example.com", "tags": ["vip"], "fields": {"joined": "2024-05-01"}})
    for i in range(30):
        do_create_contact(actor, {"first_name": f"Person {i:02d}", "email": f"p{i}@example.com",
                                  "tags": ["newsletter"], "fields": {"joined": "2023-01-01"}})
    rows = page.locator("#contact-table tbody tr")

    page.goto(f"{live_server.url}/contacts/")
    assert_direction(page, lang)
    assert rows.count() == 25
    shot(page, f"{lang}-contacts")
    with page.expect_navigation():
        page.click(".pagination a[rel=next]")
    assert rows.count() == 6

    # «علي» (Arabic yeh) finds «علی» (Persian yeh).
    page.fill("#id_q", "علي")
    submit(page, "#contact-filters")
    assert rows.count() == 1 and "علی" in rows.first.inner_text()
    # A mobile typed in Persian digits, local form, finds the stored +98 number,
    # which reads left to right even inside the RTL page.
    page.fill("#id_q", "۰۹۱۲۱۱۱۲۲۳")
    submit(page, "#contact-filters")
    assert rows.count() == 1
    phone = rows.first.locator("bdi")
    phone = page.locator(f"tr[data-contact='{ali.pk}'] td.phones bdi")
    assert phone.inner_text() == "+989121112233"
    assert phone.evaluate("el => getComputedStyle(el).direction") == "ltr"
    shot(page, f"{lang}-contacts-search")

    # Tag filter, then pages that keep it.
    page.fill("#id_q", "")
    page.select_option("#id_tag", "newsletter")
    submit(page, "#contact-filters")
    assert rows.count() == 25
    with page.expect_navigation():
        page.click(".pagination a[rel=next]")
    assert "tag=newsletter" in page.url and "page=2" in page.url
    assert rows.count() == 5
    assert page.locator("#id_tag").input_value() == "newsletter"

    # One custom-field condition, the date typed in this language's calendar.
    page.select_option("#id_tag", "")
    page.select_option("#id_field", "joined")
    page.select_option("#id_op", "eq")
    page.fill("#id_value", JOINED[lang])
    submit(page, "#contact-filters")
    assert rows.count() == 1 and f"/contacts/{ali.pk}/" in rows.first.inner_html()
    shot(page, f"{lang}-contacts-field-filter")

    page.fill("#id_q", "nobody at all")
    submit(page, "#contact-filters")
    assert page.locator("#empty-state").is_visible()


@pytest.mark.browser
@LANGS
def test_contact_detail_timeline_and_note(page, live_server, sign_in, shot, lang):
    actor = actor_of(sign_in(page, lang))
    do_save_custom_field(actor, key="joined", label_fa="تاریخ عضویت", label_en="Joined",
                         type="date")
    contact = do_create_contact(actor, {
        "first_name": "سارا", "last_name": "محمدی", "phone": "09351234567",
        "email": "sara@example.com", "birthday": "1991-08-03", "tags": ["vip", "newsletter"],
        "fields": {"joined": "2024-05-01"}})
    do_add_note(actor, contact, "First call: interested in the winter collection.")
    page.goto(f"{live_server.url}/contacts/{contact.pk}/")
    assert_direction(page, lang)
    details = page.locator("#contact-details").inner_text()
    assert digits("1370/05/12", lang) in details if lang == "fa" else "1991-08-03" in details
    fields = page.locator("#contact-fields").inner_text()
    assert (digits("1403/02/12", lang) if lang == "fa" else "2024-05-01") in fields
    phone = page.locator("#contact-details bdi", has_text="+98935")
    assert phone.evaluate("el => getComputedStyle(el).direction") == "ltr"
    assert page.locator("#timeline li").count() == 2

    page.fill("#id_body", "Sent the catalogue.")
    submit(page, "#note-form")
    assert page.locator(".messages .msg-success").is_visible()
    assert page.locator(".notes li .body").first.inner_text() == "Sent the catalogue."
    first_event = page.locator("#timeline li").first
    assert first_event.get_attribute("data-kind") == "note.added"
    assert "Sent the catalogue." in first_event.inner_text()
    shot(page, f"{lang}-contact")

    # An empty note is refused next to the field.
    submit(page, "#note-form")
    assert page.locator("#note-form .field-error").is_visible()


@pytest.mark.browser
@LANGS
def test_create_contact_with_birthday_in_the_users_calendar(page, live_server, sign_in, shot,
                                                            lang):
    actor = actor_of(sign_in(page, lang))
    do_save_custom_field(actor, key="size", label_fa="اندازه", label_en="Size", type="choice",
                         choices=["S", "M", "L"])
    page.goto(f"{live_server.url}/contacts/new/")
    assert_direction(page, lang)
    page.fill("#id_first_name", "Nima")
    page.fill("#id_emails", "not-an-address")
    page.fill("#id_birthday", "1500/13/40")
    submit(page, "#contact-form")
    assert page.locator("#id_emails ~ .field-error").is_visible()
    assert page.locator("#id_birthday ~ .field-error").is_visible()
    shot(page, f"{lang}-contact-form-errors")

    page.fill("#id_first_name", "نیما")
    page.fill("#id_last_name", "کریمی")
    page.fill("#id_emails", "nima@example.com")
    page.fill("#id_phones", "0912 765 4321")
    page.fill("#id_birthday", BIRTHDAY[lang])
    page.fill("#id_tags", "vip, newsletter")
    page.select_option("#id_field_size", "M")
    shot(page, f"{lang}-contact-form")
    submit(page, "#contact-form")
    contact = Contact.objects.get()
    assert page.url == f"{live_server.url}/contacts/{contact.pk}/"
    assert contact.birthday == dt.date(1991, 8, 3)
    assert contact.identities.filter(value="+989127654321").exists()
    expected = "۱۳۷۰/۰۵/۱۲" if lang == "fa" else "1991-08-03"
    assert expected in page.locator("#contact-details").inner_text()

    # The edit form gives the birthday back as this language types it.
    page.goto(f"{live_server.url}/contacts/{contact.pk}/edit/")
    assert page.locator("#id_birthday").input_value() == BIRTHDAY[lang]


@pytest.mark.browser
@LANGS
def test_merge_preview_and_erase(page, live_server, sign_in, shot, lang):
    actor = actor_of(sign_in(page, lang))
    kept = do_create_contact(actor, {"first_name": "Ali", "email": "ali@example.com",
                                     "birthday": "1990-01-01"})
    other = do_create_contact(actor, {"first_name": "Aly", "last_name": "Rezaei",
                                      "phone": "09120000001", "birthday": "1991-01-01"})
    page.goto(f"{live_server.url}/contacts/{kept.pk}/merge/")
    page.fill("#id_q", "Aly")
    submit(page, "form[role=search]")
    with page.expect_navigation():
        page.click(f"a[href='/contacts/{kept.pk}/merge/{other.pk}/']")
    assert page.locator("#merge-rows tr.conflict").count() == 2  # first name, birthday
    assert page.locator("#merge-rule").is_visible()
    shot(page, f"{lang}-merge-preview")
    with page.expect_navigation():
        page.click("#swap")
    assert page.url.endswith(f"/contacts/{other.pk}/merge/{kept.pk}/")
    with page.expect_navigation():
        page.click("#swap")
    with page.expect_navigation():
        page.click("#confirm-merge")
    assert page.url == f"{live_server.url}/contacts/{kept.pk}/"
    assert not Contact.objects.filter(pk=other.pk).exists()
    assert page.locator("#timeline li").first.get_attribute("data-kind") == "contact.merged"

    with page.expect_navigation():
        page.click(f"a[href='/contacts/{kept.pk}/erase/']")
    assert page.locator("#erase-removed li").count() >= 5
    shot(page, f"{lang}-erase-confirm")
    with page.expect_navigation():
        page.click("#confirm-erase")
    assert page.locator("#erased-badge").is_visible()
    assert "ali@example.com" not in page.content()


@pytest.mark.browser
@LANGS
def test_custom_field_management(page, live_server, sign_in, shot, lang):
    sign_in(page, lang)
    page.goto(f"{live_server.url}/contacts/fields/")
    assert page.locator("#empty-state").is_visible()
    with page.expect_navigation():
        page.click(".page-head a[href='/contacts/fields/new/']")
    assert_direction(page, lang)
    page.select_option("#id_type", "text")
    assert page.locator("#choices-field").is_hidden()  # only choice fields have choices
    page.select_option("#id_type", "choice")
    assert page.locator("#choices-field").is_visible()
    page.fill("#id_label_fa", "اندازهٔ پیراهن")
    page.fill("#id_label_en", "Shirt size")
    page.fill("#id_choices", "S\nM\nL")
    shot(page, f"{lang}-field-form")
    submit(page, "#field-form")
    row = page.locator("tr[data-field='shirt_size']")
    assert row.is_visible() and "Shirt size" in row.inner_text()
    shot(page, f"{lang}-fields")

    with page.expect_navigation():
        row.locator("a[href$='/edit/']").click()
    page.fill("#id_label_en", "T-shirt size")
    submit(page, "#field-form")
    assert "T-shirt size" in page.locator("tr[data-field='shirt_size']").inner_text()

    field = CustomField.objects.get()
    contact = do_create_contact(Actor.system(), {"email": "x@example.com",
                                                 "fields": {"shirt_size": "M"}})
    assert contact.field_values.count() == 1
    with page.expect_navigation():
        page.click(f"a[href='/contacts/fields/{field.pk}/delete/']")
    assert digits("1", lang) in page.locator("#delete-impact").inner_text()
    shot(page, f"{lang}-field-delete")
    with page.expect_navigation():
        page.click("#confirm-delete")
    assert not CustomField.objects.exists()
    assert page.locator("#empty-state").is_visible()


@pytest.mark.browser
@LANGS
def test_tag_management(page, live_server, sign_in, shot, lang):
    actor = actor_of(sign_in(page, lang))
    for i in range(2):
        do_create_contact(actor, {"email": f"t{i}@example.com", "tags": ["vip"]})
    page.goto(f"{live_server.url}/contacts/tags/")
    assert_direction(page, lang)
    page.fill("#id_name", "مشتری وفادار")
    submit(page, "#tag-create")
    assert page.locator("tr[data-tag='مشتری وفادار']").is_visible()
    page.fill("#id_name", "vip")
    submit(page, "#tag-create")
    assert page.locator("#id_name ~ .field-error").is_visible()  # exists already
    shot(page, f"{lang}-tags")

    vip = page.locator("tr[data-tag='vip']")
    assert vip.locator("td.num").inner_text() == digits("2", lang)
    with page.expect_navigation():
        vip.locator("td.num a").click()
    assert "tag=vip" in page.url
    assert page.locator("#contact-table tbody tr").count() == 2

    page.goto(f"{live_server.url}/contacts/tags/")
    with page.expect_navigation():
        page.locator("tr[data-tag='vip'] a[href$='/delete/']").click()
    assert digits("2", lang) in page.locator("#delete-impact").inner_text()
    with page.expect_navigation():
        page.click("#confirm-delete")
    assert not Tag.objects.filter(name="vip").exists()
    assert page.locator("tr[data-tag='vip']").count() == 0


@pytest.mark.browser
@LANGS
def test_user_management_audit_and_jobs(page, live_server, sign_in, shot, lang):
    sign_in(page, lang)
    page.goto(f"{live_server.url}/accounts/users/")
    assert_direction(page, lang)
    with page.expect_navigation():
        page.click("a[href='/accounts/users/new/']")
    page.fill("#id_username", "sara")
    page.fill("#id_password", "short")
    page.select_option("#id_role", "support")
    submit(page, "main form")
    assert page.locator("#id_password ~ .field-error").is_visible()
    shot(page, f"{lang}-user-form")
    page.fill("#id_password", "Another-Horse-77")
    page.select_option("#id_language", "en")
    submit(page, "main form")
    row = page.locator("tr[data-user='sara']")
    assert row.is_visible()

    row.locator("select[name=role]").select_option("marketer")
    with page.expect_navigation():
        row.locator("form[action$='/role/'] button").click()
    sara = get_user_model().objects.select_related("profile").get(username="sara")
    assert sara.profile.role == "marketer"
    with page.expect_navigation():
        page.locator("tr[data-user='sara'] form[action$='/active/'] button").click()
    sara.refresh_from_db()
    assert not sara.is_active
    assert page.locator("tr[data-user='sara'] .badge.red").is_visible()
    shot(page, f"{lang}-users")

    page.goto(f"{live_server.url}/audit/")
    assert page.locator("tbody tr").count() >= 3  # created, role change, deactivated
    page.select_option("#id_action", "user.role_change")
    submit(page, "main form")
    assert page.locator("tbody tr").count() == 1
    shot(page, f"{lang}-audit")

    page.goto(f"{live_server.url}/jobs/")
    assert page.locator("form[action='/jobs/export/'] button[value=csv]").is_visible()
    shot(page, f"{lang}-jobs")
