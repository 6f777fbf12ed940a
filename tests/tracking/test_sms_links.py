"""Short tracked links in SMS: the rewriting, the /t/s/<code> redirect on the fast path and
through Django, and an SMS sent through the catcher gateway carrying one."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from peyvand.base.actor import Actor
from peyvand.consent.ledger import Change, append
from peyvand.contacts.actions import do_create_contact, do_merge_contacts
from peyvand.messaging.actions import do_create_broadcast, trigger_message
from peyvand.messaging.channels.sms import count
from peyvand.messaging.channels.sms.catcher import store
from peyvand.messaging.channels.sms.segments import STOP_FOOTER
from peyvand.messaging.models import MessageTemplate, OutboxMessage, StrategyRule
from peyvand.messaging.sender import Sender
from peyvand.messaging.smtp import SmtpConfig
from peyvand.tracking import sms_links, spool
from peyvand.tracking.events import drain_spool
from peyvand.tracking.fastpath import wrap
from peyvand.tracking.models import MessageTally, ShortLink, SourceCounter, TrackingEvent
from peyvand.tracking.sms_links import (
    ALPHABET,
    CODE_LENGTH,
    find,
    length_as_sent,
    rewrite_sms,
    short_link_length,
    text_as_sent,
)

from .helpers import call, click_token, environ

SHORT = re.compile(rf"https://crm\.example/t/s/([{ALPHABET}]{{{CODE_LENGTH}}})")
PHONE_UA = ("Mozilla/5.0 (Linux; Android 14; SM-A546E) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/126.0 Mobile Safari/537.36")
seen_by_django: list[str] = []


def behind(environ, start_response):
    seen_by_django.append(environ["PATH_INFO"])
    start_response("418 I'm a teapot", [("Content-Type", "text/plain")])
    return [b"django"]


APP = wrap(behind)


@pytest.fixture(autouse=True)
def _reset():
    seen_by_django.clear()


def sms_row(contact, source: str = "broadcast:1", sent_ago: int = 3600,
            channel: str = "sms") -> OutboxMessage:
    return OutboxMessage.objects.create(
        source=source, contact=contact, channel=channel, to_address="+989121234567",
        message_class="marketing", state="sent",
        sent_at=timezone.now() - dt.timedelta(seconds=sent_ago))


def codes(text: str) -> list[str]:
    return SHORT.findall(text)


def spooled() -> list[tuple]:
    return [row for _path, _offset, rows, _done in spool.batches(100) for row in rows]


# --- rewriting ---------------------------------------------------------------------------------

def test_two_urls_get_two_short_links_of_this_message(contact):
    text = "Tea: https://shop.example/tea?utm_source=sms and mugs: http://shop.example/mugs"
    rewritten = rewrite_sms(text, 41, contact_id=contact.pk)
    tea, mugs = codes(rewritten)
    assert tea != mugs
    assert rewritten == (f"Tea: https://crm.example/t/s/{tea} and mugs: "
                         f"https://crm.example/t/s/{mugs}")
    rows = {r.code: r for r in ShortLink.objects.all()}
    assert {(r.message_id, r.contact_id, r.url) for r in rows.values()} == {
        (41, contact.pk, "https://shop.example/tea?utm_source=sms"),
        (41, contact.pk, "http://shop.example/mugs")}
    assert rows[tea].url.endswith("/tea?utm_source=sms")
    # Short: the public URL and 13 characters, whatever the URL it stands for.
    assert all(len(link) == short_link_length() == len("https://crm.example") + 13
               for link in re.findall(r"https://crm\.example/t/s/\S+", rewritten))


def test_the_same_url_twice_and_a_rebuild_keep_one_code(contact):
    text = "https://shop.example/sale — again: https://shop.example/sale"
    first = rewrite_sms(text, 42, contact_id=contact.pk)
    [one, two] = codes(first)
    assert one == two and ShortLink.objects.count() == 1
    # The message built again (a sender crashed after building it): the same link.
    assert rewrite_sms(text, 42, contact_id=contact.pk) == first
    # Another message (another person) gets its own code for the same URL.
    [other] = set(codes(rewrite_sms(text, 43, contact_id=contact.pk)))
    assert other != one and ShortLink.objects.count() == 2


def test_a_text_without_links_is_unchanged_and_nothing_is_stored(contact,
                                                                   django_assert_num_queries):
    text = "سلام سارا، سفارش شما آماده است. shop.example (no scheme) ftp://x.example/"
    with django_assert_num_queries(0):
        assert rewrite_sms(text, 44, contact_id=contact.pk) == text
    assert not ShortLink.objects.exists()


def test_persian_text_around_links_and_a_persian_path(contact):
    text = ("حراج بهاره! https://shop.example/sale، فقط امروز (https://shop.example/x.) "
            "و ماگ: https://shop.example/محصول/ماگ\u200f برای شما")
    rewritten = rewrite_sms(text, 45, contact_id=contact.pk)
    sale, x, mug = codes(rewritten)
    assert rewritten == (f"حراج بهاره! https://crm.example/t/s/{sale}، فقط امروز "
                         f"(https://crm.example/t/s/{x}.) و ماگ: "
                         f"https://crm.example/t/s/{mug}\u200f برای شما")
    assert dict(ShortLink.objects.values_list("code", "url")) == {
        sale: "https://shop.example/sale", x: "https://shop.example/x",
        mug: "https://shop.example/محصول/ماگ"}


def test_consent_and_own_tracking_links_are_left_alone(contact):
    text = ("https://crm.example/consent/u/abc123 https://crm.example/t/c/AAAA "
            "https://shop.example/p/1")
    rewritten = rewrite_sms(text, 46, contact_id=contact.pk)
    [code] = codes(rewritten)
    assert rewritten == ("https://crm.example/consent/u/abc123 https://crm.example/t/c/AAAA "
                         f"https://crm.example/t/s/{code}")


def test_codes_are_random_letters_of_the_alphabet(contact):
    text = " ".join(f"https://shop.example/{i}" for i in range(40))
    found = codes(rewrite_sms(text, 47, contact_id=contact.pk))
    assert len(set(found)) == 40
    assert all(len(c) == CODE_LENGTH and set(c) <= set(ALPHABET) for c in found)
    assert not set("0O1lI") & set(ALPHABET)


def test_a_taken_code_is_drawn_again_and_a_link_made_meanwhile_is_reused(contact,
                                                                         monkeypatch):
    rewrite_sms("https://shop.example/a", 48, contact_id=contact.pk)
    taken = ShortLink.objects.get().code
    draws = iter([taken, "Zz234567"])
    monkeypatch.setattr(sms_links, "new_code", lambda: next(draws))
    assert codes(rewrite_sms("https://shop.example/b", 48, contact_id=contact.pk)) == [
        "Zz234567"]
    # Another builder stored (message, URL) between our look-up and our insert.
    monkeypatch.setattr(sms_links, "new_code", lambda: "Yy234567")
    assert sms_links._create(48, "https://shop.example/a", contact.pk) == taken
    assert ShortLink.objects.count() == 2


def test_the_text_as_sent_counts_like_the_rewritten_one(contact):
    text = ("حراج بهاره تا ۳۰٪: "
            "https://shop.example/collections/spring-sale?utm_source=sms&utm_campaign=spring")
    sent = rewrite_sms(text, 49, contact_id=contact.pk)
    assert length_as_sent(text) == len(sent) < len(text)
    assert count(text_as_sent(text)) == count(sent)
    assert count(text)[1] == 2 and count(sent)[1] == 1  # a part saved on every message
    assert text_as_sent("no link") == "no link"


# --- the redirect --------------------------------------------------------------------------

def counted(source: str) -> tuple[int, int, int]:
    row = SourceCounter.objects.filter(source=source).first()
    return (row.clicks, row.human_clicks, row.clicked) if row else (0, 0, 0)


def test_short_link_redirects_spools_a_click_and_counts_it(contact):
    message = sms_row(contact)
    # First a sealed click on the sending's e-mail to the same person.
    other = sms_row(contact, channel="email")
    call(APP, environ(f"/t/c/{click_token(other.pk, contact.pk, 'https://shop.example/')}"))
    drain_spool()
    before = counted("broadcast:1")
    [code] = codes(rewrite_sms("https://shop.example/tea", message.pk, contact_id=contact.pk))

    status, headers, body = call(APP, environ(f"/t/s/{code}", ua=PHONE_UA))
    assert status == "302 Found" and body == b"" and seen_by_django == []
    assert headers["Location"] == "https://shop.example/tea"
    assert headers["Referrer-Policy"] == "no-referrer" and "no-store" in headers["Cache-Control"]
    # The spool row of a sealed click: hit id, kind, message, contact, issued, url, topic "",
    # user agent, time.
    [row] = spooled()
    created = ShortLink.objects.get(code=code).created_at
    assert row[1:8] == ("c", message.pk, contact.pk, int(created.timestamp()),
                        "https://shop.example/tea", "", PHONE_UA)
    assert re.fullmatch(r"[0-9a-f]{24}", row[0]) and abs(row[8] - created.timestamp()) < 60

    assert drain_spool() == 1
    event = TrackingEvent.objects.get(message_id=message.pk)
    assert (event.kind, event.contact_id, event.url, event.topic, event.machine,
            event.ua_class) == ("click", contact.pk, "https://shop.example/tea", "", False,
                                "mobile")
    after = counted("broadcast:1")
    assert after == (before[0] + 1, before[1] + 1, before[2] + 1)
    assert MessageTally.objects.get(message_id=message.pk).human_clicks == 1


def test_a_persian_target_is_percent_encoded(contact):
    message = sms_row(contact)
    [code] = codes(rewrite_sms("https://shop.example/محصول/ماگ", message.pk,
                               contact_id=contact.pk))
    _s, headers, _b = call(APP, environ(f"/t/s/{code}/"))
    assert headers["Location"] == ("https://shop.example/%D9%85%D8%AD%D8%B5%D9%88%D9%84/"
                                   "%D9%85%D8%A7%DA%AF")
    drain_spool()
    assert TrackingEvent.objects.get().url == "https://shop.example/محصول/ماگ"


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_fast_path_leaves_no_stale_connection():
    # As served: no request signals, so the fast path drops an obsolete connection itself.
    from django.db import connection

    [code] = codes(rewrite_sms("https://shop.example/tea", 52, contact_id=None))
    connection.errors_occurred = True  # as after a failed query: checked before the next use
    assert call(APP, environ(f"/t/s/{code}"))[0] == "302 Found"
    assert call(APP, environ(f"/t/s/{code}"))[0] == "302 Found"
    assert not connection.errors_occurred and spool.pending() == 2
    assert [row[3] for row in spooled()] == [0, 0]  # no contact: the drain asks the outbox


@pytest.mark.parametrize("code", ["Zz234567", "short", "Zz2345670", "OOOOOOOO", "Zz23456%"])
def test_an_unknown_code_goes_to_django_unrecorded(contact, code):
    status, headers, _b = call(APP, environ(f"/t/s/{code}"))
    assert status.startswith("418") and "Location" not in headers
    assert spool.pending() == 0 and seen_by_django == [f"/t/s/{code}"]


def test_a_code_that_cannot_be_one_is_not_even_looked_up(db, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert find("OOOOOOOO") is None and find("abc") is None and find("") is None
    with django_assert_num_queries(1):
        assert find("Zz234567") is None


def test_unknown_code_through_django_is_a_404_page_never_a_redirect(client, contact):
    response = client.get("/t/s/Zz234567")
    assert response.status_code == 404 and "Location" not in response.headers
    assert "tracking/unknown_short_link.html" in [t.name for t in response.templates]
    assert "no-store" in response["Cache-Control"] and spool.pending() == 0


def test_the_django_view_records_like_the_fast_path(client, contact):
    message = sms_row(contact)
    [code] = codes(rewrite_sms("https://shop.example/tea", message.pk, contact_id=contact.pk))
    response = client.get(f"/t/s/{code}", headers={"user-agent": PHONE_UA})
    assert response.status_code == 302 and response["Location"] == "https://shop.example/tea"
    assert response["Referrer-Policy"] == "no-referrer"
    assert client.post(f"/t/s/{code}").status_code == 405
    assert drain_spool() == 1
    assert TrackingEvent.objects.get().message_id == message.pk


def test_after_a_merge_the_click_goes_to_the_survivor(contact, other_contact, owner_actor):
    message = sms_row(other_contact)
    [code] = codes(rewrite_sms("https://shop.example/tea", message.pk,
                               contact_id=other_contact.pk))
    do_merge_contacts(owner_actor, contact, [other_contact])
    assert ShortLink.objects.get().contact_id is None  # the outbox row moved instead
    call(APP, environ(f"/t/s/{code}"))
    drain_spool()
    assert TrackingEvent.objects.get().contact_id == contact.pk


def test_erasing_a_person_removes_their_links(contact, other_contact):
    rewrite_sms("https://shop.example/a?u=09121234567", 50, contact_id=contact.pk)
    rewrite_sms("https://shop.example/a", 51, contact_id=other_contact.pk)
    assert sms_links.erase_links(contact.pk) == 1
    assert list(ShortLink.objects.values_list("contact_id", flat=True)) == [other_contact.pk]


def test_the_erase_hook_removes_a_persons_links(contact, other_contact):
    from peyvand.contacts.actions import do_erase_contact

    rewrite_sms("https://shop.example/a?u=09121234567", 50, contact_id=contact.pk)
    rewrite_sms("https://shop.example/a", 51, contact_id=other_contact.pk)
    do_erase_contact(Actor.system("test"), contact)
    assert list(ShortLink.objects.values_list("contact_id", flat=True)) == [other_contact.pk]
    assert not ShortLink.objects.filter(url__contains="0912").exists()


# --- an SMS sent through the catcher --------------------------------------------------------

CONFIG = SmtpConfig(host="127.0.0.1", port=9, from_address="news@shop.example",
                    from_name="Shop", connections=1)
TEXT = "سلام {{ first_name }}! حراج بهاره: https://shop.example/sale?utm_source=sms"


@pytest.fixture
def sms_person(db, settings):
    settings.PEYVAND_SMS_URL = "catcher://"
    StrategyRule.objects.all().delete()  # whatever the hour: no quiet hours holding it back
    person = do_create_contact(Actor.system("test"), {
        "first_name": "سارا", "phone": "09121234567", "tags": ["club"]})
    append(person.pk, [Change("opt_in", "sms", None)], source="preferences",
           actor_label="test")
    return person


def send(person, message_class: str, owner_actor) -> tuple[OutboxMessage, str]:
    template = MessageTemplate.objects.create(
        name=f"sms {message_class}", channel="sms", language="fa", subject="", html="",
        text=TEXT, message_class=message_class)
    if message_class == "marketing":
        do_create_broadcast(owner_actor, template, "club")
    else:
        trigger_message("spring", template, person.pk, "sale-1")
    assert Sender(config=CONFIG).run().sent == 1
    return OutboxMessage.objects.get(), store().objects.get().text


@pytest.mark.parametrize("message_class", ["marketing", "alert"])
def test_an_sms_goes_out_with_its_short_link_and_the_click_counts(sms_person, owner_actor,
                                                                  message_class):
    row, text = send(sms_person, message_class, owner_actor)
    [code] = codes(text)
    footer = f"\n{STOP_FOOTER}" if message_class == "marketing" else ""
    assert text == f"سلام سارا! حراج بهاره: https://crm.example/t/s/{code}{footer}"
    link = ShortLink.objects.get()
    assert (link.message_id, link.contact_id, link.url) == (
        row.pk, sms_person.pk, "https://shop.example/sale?utm_source=sms")
    # The person taps it an hour later (sooner would be a scanner's click).
    OutboxMessage.objects.update(sent_at=timezone.now() - dt.timedelta(hours=1))
    status, headers, _b = call(APP, environ(f"/t/s/{code}", ua=PHONE_UA))
    assert status == "302 Found" and headers["Location"] == link.url
    drain_spool()
    event = TrackingEvent.objects.get()
    assert (event.message_id, event.contact_id, event.kind, event.machine) == (
        row.pk, sms_person.pk, "click", False)
    assert counted(row.source) == (1, 1, 1)


def test_a_transactional_sms_keeps_its_links(sms_person, owner_actor):
    _row, text = send(sms_person, "transactional", owner_actor)
    assert text == "سلام سارا! حراج بهاره: https://shop.example/sale?utm_source=sms"
    assert not ShortLink.objects.exists()
