"""The preference centre and the hosted sign-up form in Chromium, in Persian and English.

Screenshots: test-artifacts/screens/consent-<lang>-*.png
"""

from __future__ import annotations

import pytest

from peyvand.base.actor import Actor
from peyvand.consent import ledger
from peyvand.consent.actions import do_save_form
from peyvand.consent.ledger import Change
from peyvand.consent.links import links_for
from peyvand.consent.models import Action, ConsentState, Source, Topic
from peyvand.consent.queries import consent_decision
from peyvand.contacts.actions import do_create_contact
from tests.fixtures.browser import chromium_missing

_missing = chromium_missing()
if _missing:
    pytest.skip(_missing, allow_module_level=True)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
LANGS = pytest.mark.parametrize("lang", ["fa", "en"])
DIRECTION = {"fa": "rtl", "en": "ltr"}
TOPICS = [("news", "اخبار", "News", "monthly"), ("products", "محصولات تازه", "New products",
                                                  "monthly"),
          ("offers", "پیشنهادها و تخفیف‌ها", "Offers and discounts", "weekly"),
          ("events", "رویدادها", "Events", "monthly")]


@pytest.fixture(autouse=True)
def _clean(settings):
    from django.core.cache import cache

    settings.CONSENT_MIN_FILL_SECONDS = 0
    cache.clear()


@pytest.fixture
def topics(db):
    # A transactional test starts from an empty database: the seeded topics are gone.
    return {key: Topic.objects.get_or_create(key=key, defaults={
        "name_fa": fa, "name_en": en, "default_frequency": freq, "position": i,
        "default_opt_in": key == "news"})[0] for i, (key, fa, en, freq) in enumerate(TOPICS)}


def subscriber(lang: str, topics) -> int:
    contact = do_create_contact(Actor.system("test"), {
        "first_name": "سارا" if lang == "fa" else "Sara", "language": lang,
        "email": f"sara-{lang}@example.com", "phone": "09121234567" if lang == "fa"
        else "09127654321"})
    changes = []
    for channel in ("email", "sms"):
        changes.append(Change(Action.OPT_IN, channel, None,
                              {"format": "html"} if channel == "email" else {}))
        for key in ("news", "offers"):
            changes.append(Change(Action.OPT_IN, channel, topics[key].pk,
                                  {"frequency": topics[key].default_frequency}))
    ledger.append(contact, changes, source=Source.FORM, actor_label="test")
    ledger.append(contact, [Change(Action.CONFIRM, c) for c in ("email", "sms")],
                  source=Source.FORM, actor_label="test")
    return contact.pk


def click(page, selector: str) -> None:
    with page.expect_navigation():
        page.click(selector)


@LANGS
def test_preference_centre_change_pause_and_leave(page, live_server, shot, topics, lang):
    contact_id = subscriber(lang, topics)
    url = links_for(contact_id, live_server.url)["preferences"]
    page.goto(url)  # no ?lang: the person's own language
    assert page.get_attribute("html", "lang") == lang
    assert page.get_attribute("html", "dir") == DIRECTION[lang]
    assert page.locator("#topic-choices li").count() == 4
    shot(page, f"consent-{lang}-preferences")

    # A preference: news less often, events added, offers dropped, plain-text e-mail.
    page.select_option("select[name=frequency_news]", "quarterly")
    page.check("input[name=topic_events]")
    page.uncheck("input[name=topic_offers]")
    page.select_option("#id_format", "text")
    click(page, "#save-preferences")
    assert page.locator(".msg-success").is_visible()
    shot(page, f"consent-{lang}-saved")
    states = {(s.channel, s.topic.key if s.topic else None): s for s in
              ConsentState.objects.filter(contact_id=contact_id).select_related("topic")}
    assert states[("email", "news")].frequency == "quarterly"
    assert states[("email", "events")].status == "in"
    assert states[("sms", "offers")].status == "out"
    assert states[("email", None)].format == "text"

    # A pause of two weeks.
    page.select_option("#id_weeks", "2")
    click(page, "#pause-button")
    assert page.locator("#paused-notice").is_visible()
    assert consent_decision(contact_id, "email", "news").reason == "paused"
    shot(page, f"consent-{lang}-paused")

    # Leaving: the opt-down offer comes first, then it is declined.
    click(page, "#unsubscribe-start")
    assert page.locator("#opt-down").is_visible()
    assert page.locator("#offer-less").is_visible()  # news is monthly-or-more somewhere
    shot(page, f"consent-{lang}-optdown")
    assert consent_decision(contact_id, "email", "events").reason == "paused"  # still on
    page.check("input[name=reason][value=too_many]")
    click(page, "#unsubscribe-confirm")
    assert page.locator("#unsubscribed").is_visible()
    shot(page, f"consent-{lang}-unsubscribed")
    for channel in ("email", "sms"):
        assert consent_decision(contact_id, channel, "news").reason == "opted_out"

    # The switch shows the same page in the other language.
    page.goto(url)
    other = "en" if lang == "fa" else "fa"
    click(page, "#switch-language")
    assert page.get_attribute("html", "lang") == other
    assert page.locator("#nothing-subscribed").is_visible()


def spring_form():
    return do_save_form(Actor.system("test"), {
        "slug": "spring", "name": "Spring", "title_fa": "خبرنامه بهار",
        "title_en": "Spring newsletter", "identity": "either", "ask_first_name": True,
        "channels": ["email", "sms"], "topics": ["news", "offers", "events"],
        "incentive_kind": "save", "incentive_fa": "۱۰٪ تخفیف برای خرید اول",
        "incentive_en": "10% off your first order",
        "consent_text_fa": "می‌خواهم پیام‌هایی را که برگزیدم دریافت کنم. هر زمان بخواهم "
                           "می‌توانم انتخاب‌هایم را تغییر دهم یا لغو عضویت کنم.",
        "consent_text_en": "I want to receive the messages I chose. I can change my choices "
                           "or unsubscribe at any time."})


@LANGS
def test_hosted_sign_up_form(page, live_server, shot, topics, lang):
    spring_form()
    page.goto(f"{live_server.url}/consent/f/spring/?lang={lang}")
    assert page.get_attribute("html", "dir") == DIRECTION[lang]
    assert page.locator("#incentive").is_visible()
    shot(page, f"consent-{lang}-signup")
    page.fill("#id_email", f"new-{lang}@example.com")
    page.fill("#id_first_name", "مریم" if lang == "fa" else "Maryam")
    page.uncheck("input[name=channels][value=sms]")
    page.check("input[name=topics][value=events]")
    click(page, "#signup-form button[type=submit]")
    assert page.locator("#signup-thanks").is_visible()
    shot(page, f"consent-{lang}-signup-thanks")
    keys = set(ConsentState.objects.filter(contact__identities__value=f"new-{lang}@example.com")
               .values_list("topic__key", "status"))
    assert keys == {(None, "pending"), ("news", "pending"), ("events", "pending")}


@LANGS
def test_staff_pages(page, live_server, shot, sign_in, topics, lang):
    import datetime as dt

    from django.utils import timezone

    form = spring_form()
    # Five months of history: people join early, some leave each month for some reason.
    start = timezone.now() - dt.timedelta(days=150)
    for i in range(12):
        person = do_create_contact(Actor.system("test"), {"email": f"h{i}@example.com"})
        joined = start + dt.timedelta(days=i)
        ledger.append(person, [Change(Action.OPT_IN, "email", None),
                               Change(Action.OPT_IN, "email", topics["news"].pk)],
                      source=Source.FORM, actor_label="f", form=form, at=joined)
        ledger.append(person, [Change(Action.CONFIRM, "email")], source=Source.FORM,
                      actor_label="f", form=form, at=joined)
        if i % 3 == 0:
            reason = ("too_many", "not_relevant", "never_signed_up", "too_many")[i // 3]
            ledger.append(person, [Change(Action.OPT_OUT, "email", None, {"reason": reason})],
                          source=Source.UNSUBSCRIBE, actor_label="contact",
                          at=joined + dt.timedelta(days=30 * (i // 3 + 1)))
    contact_id = subscriber(lang, topics)
    ledger.append(contact_id, [Change(Action.OPT_OUT, "sms", None, {"reason": "sms_stop"})],
                  source=Source.SMS_KEYWORD, actor_label="sms:test",
                  at=timezone.now())
    sign_in(page, lang)
    for name, path in (("forms", "/consent/"), ("form", f"/consent/forms/{form.pk}/"),
                       ("churn", "/consent/churn/?by=reason"),
                       ("contact", f"/consent/contacts/{contact_id}/"),
                       ("suppressions", "/consent/suppressions/")):
        page.goto(live_server.url + path)
        assert page.get_attribute("html", "dir") == DIRECTION[lang]
        shot(page, f"consent-{lang}-staff-{name}")
    page.goto(f"{live_server.url}/consent/contacts/{contact_id}/")
    assert page.locator('#consent-now [data-channel="sms"][data-status="out"]').is_visible()
