from __future__ import annotations

import base64
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


@pytest.mark.parametrize("token", ["", "x", "!!!!", "A" * 5000, "AAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                                   "توکن" + "A" * 30, "A" * 30 + "\x00", "A" * 29 + "=="])
def test_garbage_tokens_are_refused(token):
    with pytest.raises(BadToken):
        unseal(token)


def test_only_the_canonical_spelling_of_a_token_is_accepted():
    token = next(t for t in (seal(Hit(KIND_OPEN, i, 1, 1000)) for i in range(1, 500))
                 if "-" in t and "_" in t)
    assert unseal(token).kind == KIND_OPEN
    for other in (token.replace("-", "+"), token.replace("_", "/"), token + "=",
                  token[:10] + "\n" + token[10:], token[:10] + " " + token[10:]):
        with pytest.raises(BadToken):
            unseal(other)


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


# --- the per-message fast path keeps the token format ---------------------------------------

GOLDEN_SECRET = "golden-secret-for-token-format-tests-0123456789"


@pytest.mark.parametrize(("hit", "token"), [
    (Hit(KIND_CLICK, 123456, 4567, 1_800_000_000, "https://shop.example/p/1?utm_source=news",
         "mugs"),
     "h65Tc7n5gDeMifUPq712Yg8ZFUBE6PIfqNl1S81xvvQJpA0Yp9V7OjQ8Oo8y6qQtXBwHx-l30yAYonTmlMlz0eIB"),
    (Hit(KIND_CLICK, 7, 0, 1_800_000_000, "https://shop.example/" + "a/" * 40, ""),  # zlib
     "X4BXBF-T1PSoYeJ2jKryZNaKftQ1Wi4_phpPi9Rwu7HJ3BjjvJ8wcQQidOvWtmJudkkw"),
    (Hit(KIND_OPEN, 2**40, 99, 1_800_000_000), "3WlJv1_su_e3Mq0mvlDgFGh0IETel0s"),
])
def test_tokens_are_byte_for_byte_those_links_in_sent_mail_carry(hit, token):
    # Made by the first implementation: links already sent must keep unsealing.
    assert seal(hit, secret=GOLDEN_SECRET) == token
    assert unseal(token, secret=GOLDEN_SECRET) == hit


def test_rewritten_links_and_pixel_are_the_tokens_seal_makes(monkeypatch):
    from peyvand.tracking import links

    monkeypatch.setattr(links.time, "time", lambda: 1_800_000_000.9)
    html = ('<a href="https://shop.example/a" data-topic="Tea">a</a>'
            '<a href="https://shop.example/b?x=1&amp;y=2">b</a>'
            '<a href="https://shop.example/' + "long/" * 30 + '">c</a>')
    tokens = re.findall(r'href="https://crm\.example/t/c/([^"]+)"',
                        rewrite_links(html, 2**33, contact_id=300))
    expected = [Hit(KIND_CLICK, 2**33, 300, 1_800_000_000, url, topic) for url, topic in (
        ("https://shop.example/a", "tea"), ("https://shop.example/b?x=1&y=2", ""),
        ("https://shop.example/" + "long/" * 30, ""))]
    assert tokens == [seal(hit) for hit in expected]
    assert [unseal(t) for t in tokens] == expected
    pixel = open_pixel_url(2**33, contact_id=300).rsplit("/", 1)[1][:-4]
    assert pixel == seal(Hit(KIND_OPEN, 2**33, 300, 1_800_000_000))


def test_negative_ids_are_refused():
    with pytest.raises(ValueError):
        seal(Hit(KIND_OPEN, -1, 1, 1000))
    with pytest.raises(ValueError):
        rewrite_links('<a href="https://shop.example/">x</a>', 1, contact_id=-1)


def test_keyed_mac_is_hmac_sha256_for_every_key():
    import hashlib
    import hmac

    from peyvand.tracking.links import _mac

    for key in (b"", b"k", hashlib.sha256(b"x").digest(), b"long" * 40):
        for data in (b"", b"payload", bytes(range(256)) * 3):
            assert _mac(key, data) == hmac.digest(key, data, "sha256")
            assert _mac(key, data) == hmac.digest(key, data, "sha256")  # from the cached key


def test_consent_links_are_left_alone_whatever_else_the_tag_says():
    tag = '<a data-no-track href="https://crm.example/consent/p/TOKEN/" data-topic="x">'
    assert rewrite_links(tag, 1, contact_id=1) == tag
    tag = '<a href="javascript:void(0)" data-no-track>'
    assert rewrite_links(tag, 1, contact_id=1) == tag


_URL_PARTS = st.lists(st.sampled_from(
    ["/", "consent", "/consent/", "con", "sent/", "?", "#", "\t", "@", "[", "]", "::1", ":80",
     "a", ".example", "%2F", "\\", " ", "é", "٠"]), max_size=12)


@settings(max_examples=600, deadline=None)
@given(scheme=st.sampled_from(["http://", "https://", "HTTPS://"]), host=_URL_PARTS,
       rest=_URL_PARTS)
def test_consent_links_are_judged_as_urlsplit_judges_them(scheme, host, rest):
    from urllib.parse import urlsplit

    from peyvand.tracking.links import _is_consent_link, is_trackable

    url = scheme + "".join(host) + "".join(rest)
    if not is_trackable(url):
        return
    try:
        expected: bool | type[Exception] = urlsplit(url).path.startswith("/consent/")
    except ValueError:
        expected = ValueError
    try:
        got: bool | type[Exception] = _is_consent_link(url)
    except ValueError:
        got = ValueError
    assert got == expected


@pytest.mark.parametrize("marker", ["data-no-track", "DATA-No-Track", "data-no-trac\u212a"])
def test_no_track_is_found_in_any_case(marker):  # \u212a: the Kelvin sign, a "k" to re.I
    tag = f'<a {marker} href="https://shop.example/x">'
    assert rewrite_links(tag, 1, contact_id=1) == tag
    tracked = '<a data-no-trackx href="https://shop.example/x">'
    assert rewrite_links(tracked, 1, contact_id=1) != tracked
