"""base.signing: the one helper for public links."""

from __future__ import annotations

import base64
import time
import zlib

import pytest

from peyvand.base.signing import LinkExpired, LinkInvalid, LinkTampered, make_token, read_token


def test_round_trip_and_purpose_salt():
    token = make_token("preferences", {"k": "abc"})
    assert read_token("preferences", token, 60) == {"k": "abc"}
    with pytest.raises(LinkTampered):
        read_token("unsubscribe", token, 60)  # made for another purpose


@pytest.mark.parametrize("mutate", [
    lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),
    lambda t: "x" + t,
    lambda t: t.replace(":", ":x", 1),
    lambda t: "",
    lambda t: "not-a-token",
])
def test_tampered_tokens_are_refused(mutate):
    token = make_token("confirm", {"n": "nonce"})
    with pytest.raises(LinkTampered) as info:
        read_token("confirm", mutate(token), 60)
    assert isinstance(info.value, LinkInvalid)
    assert str(info.value.message)


def test_expired_tokens_are_refused(monkeypatch):
    token = make_token("confirm", {"n": "nonce"})
    later = time.time() + 3600
    monkeypatch.setattr(time, "time", lambda: later)
    with pytest.raises(LinkExpired):
        read_token("confirm", token, 60)
    assert read_token("confirm", token, None) == {"n": "nonce"}  # None: never expires


def test_the_payload_is_readable_so_callers_put_no_ids_in_it():
    token = make_token("preferences", {"k": "random-key"})
    payload = token.split(":")[0]
    raw = base64.urlsafe_b64decode(payload.lstrip(".") + "=" * (-len(payload) % 4))
    text = zlib.decompress(raw) if payload.startswith(".") else raw
    assert b"random-key" in text  # signed, not encrypted: documented in the module


@pytest.mark.parametrize(("purpose", "data"), [
    ("preferences", {"k": "abc"}),
    ("unsubscribe", {"k": "Zx-_09", "ch": "email", "cmp": "broadcast:7"}),
    ("confirm", {"n": "a" * 300}),  # long enough to be compressed
    ("confirm", {"n": "سلام", "x": [1, 2.5, None, True]}),
])
def test_tokens_are_what_django_signing_makes_at_the_same_time(monkeypatch, purpose, data):
    from django.core import signing

    monkeypatch.setattr(time, "time", lambda: 1_800_000_000.5)
    token = make_token(purpose, data)
    assert token == signing.dumps(data, salt="peyvand.link." + purpose, compress=True)
    assert signing.loads(token, salt="peyvand.link." + purpose) == data
    assert read_token(purpose, token, 60) == data


def test_tokens_follow_a_new_secret_key(settings):
    from django.core import signing

    old = make_token("preferences", {"k": "abc"})
    settings.SECRET_KEY = "a-new-secret-key-for-this-test-only-0123456789"
    new = make_token("preferences", {"k": "abc"})
    assert signing.loads(new, salt="peyvand.link.preferences") == {"k": "abc"}
    with pytest.raises(LinkTampered):
        read_token("preferences", old, 60)
