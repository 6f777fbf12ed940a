from __future__ import annotations

import base64
import re

import pytest

from peyvand.tracking.links import (
    KIND_CLICK,
    KIND_OPEN,
    BadToken,
    Hit,
    click_url,
    open_pixel_url,
    rewrite_links,
    seal,
    unseal,
)


def test_open_pixel_url_is_absolute_signed_and_hides_ids(settings):
    url = open_pixel_url(4242, contact_id=777)
    assert url.startswith("https://crm.example/t/o/") and url.endswith(".gif")
    token = url.rsplit("/", 1)[1][:-4]
    assert len(token) < 40
    hit = unseal(token)
    assert (hit.kind, hit.message_id, hit.contact_id) == (KIND_OPEN, 4242, 777)
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    # Neither id appears in the token, in any byte order or as varint.
    for value in (4242, 777):
        assert value.to_bytes(2, "big") not in raw and value.to_bytes(2, "little") not in raw
    assert "4242" not in token and "777" not in token


def test_click_url_round_trips_url_and_topic():
    target = "https://shop.example/محصول/ماگ?utm_source=news&x=1#top"
    hit = unseal(click_url(9, target, "  Mugs  ", contact_id=5).rsplit("/", 1)[1])
    assert (hit.kind, hit.message_id, hit.contact_id, hit.url, hit.topic) == (
        KIND_CLICK, 9, 5, target, "mugs")


def test_same_ids_give_unrelated_looking_tokens():
    a = seal(Hit(KIND_OPEN, 1, 1, 1000))
    b = seal(Hit(KIND_OPEN, 2, 1, 1000))
    assert a[:8] != b[:8]


@pytest.mark.parametrize("position", [0, 5, 12, -1])
def test_tampered_tokens_are_refused(position):
    token = seal(Hit(KIND_CLICK, 3, 4, 1000, "https://a.example/", ""))
    chars = list(token)
    chars[position] = "A" if chars[position] != "A" else "B"
    with pytest.raises(BadToken):
        unseal("".join(chars))


@pytest.mark.parametrize("token", ["", "x", "!!!!", "A" * 5000, "AAAAAAAAAAAAAAAAAAAAAAAAAAAA"])
def test_garbage_tokens_are_refused(token):
    with pytest.raises(BadToken):
        unseal(token)


def test_token_from_another_key_is_refused():
    token = seal(Hit(KIND_OPEN, 1, 1, 1000), secret="another-installation-secret-key-000000")
    with pytest.raises(BadToken):
        unseal(token)


def test_only_http_urls_are_tracked():
    for bad in ("javascript:alert(1)", "mailto:a@b.c", "//evil.example/", "/relative",
                "https:///path", "https://a.example/\r\nSet-Cookie: x=1", "ftp://a.example/"):
        with pytest.raises(ValueError):
            click_url(1, bad, contact_id=1)


def test_rewrite_links_skips_marked_consent_and_non_http_links():
    html = (
        '<p><a href="https://shop.example/a" data-topic="Tea">tea</a> '
        "<a class='x' href='http://shop.example/b?x=1&amp;y=2'>b</a> "
        '<a href="https://shop.example/c" data-no-track>c</a> '
        '<a href="https://crm.example/consent/unsubscribe/TOKEN/">unsubscribe</a> '
        '<a href="mailto:hi@shop.example">mail</a> <a name="top">anchor</a></p>')
    out = rewrite_links(html, 31, contact_id=8)
    tracked = re.findall(r'href="https://crm\.example/t/c/([^"]+)"', out)
    assert len(tracked) == 2
    first, second = (unseal(t) for t in tracked)
    assert (first.url, first.topic, first.message_id, first.contact_id) == (
        "https://shop.example/a", "tea", 31, 8)
    assert second.url == "http://shop.example/b?x=1&y=2" and second.topic == ""
    assert "class='x'" in out and ">tea</a>" in out
    assert '<a href="https://shop.example/c" data-no-track>' in out
    assert 'href="https://crm.example/consent/unsubscribe/TOKEN/"' in out
    assert 'href="mailto:hi@shop.example"' in out and '<a name="top">' in out


def test_public_url_comes_from_the_setting(settings):
    settings.PEYVAND_PUBLIC_URL = "http://localhost:9000/"
    assert open_pixel_url(1, contact_id=1).startswith("http://localhost:9000/t/o/")
