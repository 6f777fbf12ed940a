from __future__ import annotations

import os
import threading

import pytest

from peyvand.contacts.models import TimelineEvent
from peyvand.tracking import spool
from peyvand.tracking.events import classify_ua, drain_spool
from peyvand.tracking.fastpath import GIF, wrap
from peyvand.tracking.models import TrackingEvent

from .helpers import call, click_token, environ, open_token

DJANGO_SAW = []


def behind(environ, start_response):
    DJANGO_SAW.append(environ["PATH_INFO"])
    start_response("418 I'm a teapot", [("Content-Type", "text/plain")])
    return [b"django"]


APP = wrap(behind)


@pytest.fixture(autouse=True)
def _reset():
    DJANGO_SAW.clear()


def test_open_pixel_answers_the_gif_and_spools_one_hit(contact):
    status, headers, body = call(APP, environ(f"/t/o/{open_token(7, contact.pk)}.gif"))
    assert status == "200 OK" and body == GIF and len(body) == 43
    assert headers["Content-Type"] == "image/gif" and "no-store" in headers["Cache-Control"]
    assert spool.pending() == 1 and DJANGO_SAW == []
    assert drain_spool() == 1
    event = TrackingEvent.objects.get()
    assert (event.kind, event.message_id, event.contact_id, event.machine) == (
        "open", 7, contact.pk, False)
    assert event.ua_class == "browser"
    assert spool.pending() == 0


def test_tampered_pixel_still_shows_the_image_but_records_nothing(contact):
    token = open_token(7, contact.pk)
    status, _h, body = call(APP, environ(f"/t/o/{token[:-2]}xx.gif"))
    assert status == "200 OK" and body == GIF
    assert spool.pending() == 0 and drain_spool() == 0


def test_click_redirects_to_the_signed_url(contact):
    url = "https://shop.example/p/1?utm_medium=email"
    status, headers, _b = call(APP, environ(f"/t/c/{click_token(7, contact.pk, url, 'tea')}"))
    assert status.startswith("302") and headers["Location"] == url
    drain_spool()
    event = TrackingEvent.objects.get()
    assert (event.kind, event.url, event.topic, event.machine) == ("click", url, "tea", False)


def test_persian_urls_are_percent_encoded_in_the_location(contact):
    url = "https://shop.example/محصول/ماگ?q=چای#x"
    _s, headers, _b = call(APP, environ(f"/t/c/{click_token(7, contact.pk, url)}"))
    assert headers["Location"] == ("https://shop.example/%D9%85%D8%AD%D8%B5%D9%88%D9%84/"
                                   "%D9%85%D8%A7%DA%AF?q=%DA%86%D8%A7%DB%8C#x")
    headers["Location"].encode("latin-1")
    drain_spool()
    assert TrackingEvent.objects.get().url == url


def test_tampered_click_goes_to_django_and_is_not_recorded(contact):
    token = click_token(7, contact.pk, "https://shop.example/")
    bad = token[:10] + ("A" if token[10] != "A" else "B") + token[11:]
    status, headers, _b = call(APP, environ(f"/t/c/{bad}"))
    assert status.startswith("418") and "Location" not in headers
    assert spool.pending() == 0


def test_bad_click_through_django_is_a_400_page_never_a_redirect(client, contact):
    response = client.get("/t/c/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    assert response.status_code == 400 and "Location" not in response.headers
    assert "tracking/bad_link.html" in [t.name for t in response.templates]
    assert spool.pending() == 0


def test_django_views_record_like_the_fast_path(client, contact):
    assert client.get(f"/t/o/{open_token(3, contact.pk)}.gif").content == GIF
    response = client.get(f"/t/c/{click_token(3, contact.pk, 'https://a.example/x')}")
    assert response.status_code == 302 and response["Location"] == "https://a.example/x"
    assert drain_spool() == 2


def test_other_paths_and_methods_pass_through(contact):
    call(APP, environ("/contacts/"))
    call(APP, environ(f"/t/c/{click_token(1, contact.pk, 'https://a.example/')}", method="POST"))
    assert len(DJANGO_SAW) == 2 and DJANGO_SAW[0] == "/contacts/"
    assert spool.pending() == 0


def test_concurrent_hits_each_become_exactly_one_event(contact):
    tokens = [open_token(i % 5 + 1, contact.pk) for i in range(40)]
    clicks = [click_token(i % 5 + 1, contact.pk, f"https://a.example/{i % 2}") for i in range(40)]
    errors = []

    def worker(chunk):
        try:
            for i in chunk:
                call(APP, environ(f"/t/o/{tokens[i]}.gif"))
                call(APP, environ(f"/t/c/{clicks[i]}"))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(range(k, 40, 8),)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert drain_spool(batch=7) == 80
    assert spool.pending() == 0
    assert TrackingEvent.objects.count() == 80
    assert TrackingEvent.objects.filter(kind="click").count() == 40
    assert drain_spool() == 0 and TrackingEvent.objects.count() == 80


def test_a_forked_child_writes_its_own_segment_with_its_own_hit_ids(contact):
    """granian forks its workers: a child must never append to its parent's segment nor
    reuse its hit ids (the spool forgets its writer at the fork, not by asking the pid)."""
    call(APP, environ(f"/t/o/{open_token(1, contact.pk)}.gif"))  # the parent's segment is open
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            call(APP, environ(f"/t/o/{open_token(2, contact.pk)}.gif"))
            code = 0
        finally:
            os._exit(code)
    assert os.waitpid(pid, 0)[1] == 0
    call(APP, environ(f"/t/o/{open_token(3, contact.pk)}.gif"))
    segments = sorted(spool.spool_dir().glob("*.hits"))
    writers = sorted(int(s.name.partition("-")[0]) for s in segments)
    assert writers == sorted([os.getpid(), pid])
    lines = {s.name.partition("-")[0]: s.read_bytes().splitlines() for s in segments}
    assert len(lines[str(os.getpid())]) == 2 and len(lines[str(pid)]) == 1
    prefixes = {line.split(b" ", 1)[1][:16] for ls in lines.values() for line in ls}
    assert len(prefixes) == 2  # the child drew its own random prefix
    assert drain_spool() == 3 and TrackingEvent.objects.count() == 3


def test_a_drain_interrupted_after_storing_does_not_count_twice(contact, monkeypatch):
    call(APP, environ(f"/t/o/{open_token(1, contact.pk)}.gif"))
    # The process dies after the events were committed, before the offset was saved.
    monkeypatch.setattr(spool, "save_offset", lambda path, offset: None)
    assert drain_spool() == 1
    monkeypatch.undo()
    assert drain_spool() == 0 and TrackingEvent.objects.count() == 1 and spool.pending() == 0


def test_half_written_and_corrupt_lines(contact):
    call(APP, environ(f"/t/o/{open_token(1, contact.pk)}.gif"))
    [segment] = list(spool.spool_dir().glob("*.hits"))
    good = segment.read_bytes()
    with open(segment, "ab") as fh:
        fh.write(b"00000000 [\"corrupt\"]\n")  # a damaged line: skipped, never stored
        fh.write(good)  # written twice (same hit id): stored once
        fh.write(good[:20])  # a line still being written: left for the next drain
    assert drain_spool() == 1 and spool.pending() == 0
    with open(segment, "ab") as fh:
        fh.write(good[20:])  # the writer finishes the line (same hit id: stored once)
    call(APP, environ(f"/t/o/{open_token(1, contact.pk)}.gif"))
    assert spool.pending() == 2
    assert drain_spool() == 1 and TrackingEvent.objects.count() == 2


def test_sealed_segments_are_removed_once_drained(contact, monkeypatch):
    monkeypatch.setattr(spool, "SEGMENT_BYTES", 10)  # every hit starts a new segment
    for _ in range(3):
        call(APP, environ(f"/t/o/{open_token(1, contact.pk)}.gif"))
    assert len(list(spool.spool_dir().glob("*.hits"))) == 3
    assert drain_spool() == 3
    assert len(list(spool.spool_dir().glob("*.hits"))) == 1  # the one still open
    spool.close()
    call(APP, environ(f"/t/o/{open_token(1, contact.pk)}.gif"))
    assert drain_spool() == 1 and len(list(spool.spool_dir().glob("*.hits"))) == 1


@pytest.mark.parametrize(("ua", "expected"), [
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/124.0 Safari/537.36", "browser"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
     "like Gecko) Mobile/15E148", "mobile"),
    ("Mozilla/5.0 (Linux; Android 14; SM-A546E) AppleWebKit/537.36 Chrome/124.0 Mobile",
     "mobile"),
    ("Mozilla/5.0", "apple-mail-privacy-proxy"),
    ("Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com "
     "GoogleImageProxy)", "browser"),
    ("Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)", "browser"),
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "bot"),
    ("python-requests/2.31.0", "bot"),
    ("curl/8.5.0", "bot"),
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 HeadlessChrome/120.0", "bot"),
    ("Barracuda Sentinel (EE)", "bot"),
    ("", "unknown"),
    ("SomethingElse/1.0", "unknown"),
])
def test_user_agent_classes(ua, expected):
    assert classify_ua(ua) == expected


def test_machine_opens_and_clicks_are_flagged(contact):
    call(APP, environ(f"/t/o/{open_token(1, contact.pk)}.gif", ua="Mozilla/5.0"))
    call(APP, environ(f"/t/o/{open_token(2, contact.pk, ago=0)}.gif"))  # within seconds
    call(APP, environ(f"/t/c/{click_token(3, contact.pk, 'https://a.example/')}",
                      ua="Mozilla/5.0 (compatible; proofpoint URL scanner)"))
    call(APP, environ(f"/t/c/{click_token(4, contact.pk, 'https://a.example/', ago=2)}"))
    drain_spool()
    reasons = dict(TrackingEvent.objects.values_list("message_id", "machine_reason"))
    assert reasons == {1: "privacy-proxy", 2: "too-fast", 3: "scanner", 4: "too-fast"}
    assert not TrackingEvent.objects.filter(machine=False).exists()


def test_clicking_every_link_at_once_is_a_scanner(contact):
    for i in range(4):
        call(APP, environ(f"/t/c/{click_token(9, contact.pk, f'https://a.example/{i}', 'x')}"))
    call(APP, environ(f"/t/c/{click_token(10, contact.pk, 'https://a.example/0', 'x')}"))
    drain_spool()
    assert set(TrackingEvent.objects.filter(message_id=9).values_list("machine_reason",
                                                                     flat=True)) == {"all-links"}
    assert not TrackingEvent.objects.get(message_id=10).machine
    clicked = TimelineEvent.objects.filter(contact=contact, kind="message.clicked")
    assert [e.data["message_id"] for e in clicked] == [10]


def test_timeline_gets_first_open_per_message_and_every_human_click(contact):
    for _ in range(3):
        call(APP, environ(f"/t/o/{open_token(5, contact.pk)}.gif"))
    drain_spool()
    call(APP, environ(f"/t/o/{open_token(5, contact.pk)}.gif"))
    call(APP, environ(f"/t/o/{open_token(6, contact.pk)}.gif"))
    call(APP, environ(f"/t/c/{click_token(5, contact.pk, 'https://a.example/', 'tea')}"))
    call(APP, environ(f"/t/c/{click_token(5, contact.pk, 'https://a.example/', 'tea')}"))
    drain_spool()
    opened = TimelineEvent.objects.filter(contact=contact, kind="message.opened")
    assert sorted(e.data["message_id"] for e in opened) == [5, 6]
    clicked = TimelineEvent.objects.filter(contact=contact, kind="message.clicked")
    assert clicked.count() == 2
    assert clicked.first().data == {"message_id": 5, "url": "https://a.example/", "topic": "tea"}


def test_hits_for_unknown_or_erased_contacts_are_kept_without_a_person(contact):
    from peyvand.base.actor import Actor
    from peyvand.contacts.actions import do_erase_contact

    do_erase_contact(Actor.system("test"), contact)
    call(APP, environ(f"/t/o/{open_token(1, contact.pk)}.gif"))
    call(APP, environ(f"/t/o/{open_token(1, 999999)}.gif"))
    assert drain_spool() == 2
    assert not TrackingEvent.objects.exclude(contact=None).exists()
