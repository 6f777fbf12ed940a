"""normalise_email: syntax checked, lower-cased, IDNA domains as xn--, never a DNS lookup."""

from __future__ import annotations

import contextlib
import socket

import pytest
from hypothesis import given
from hypothesis import strategies as st

from peyvand.base.normalise import InvalidValue, normalise_email
from peyvand.base.normalise.email import plain_address, validated_address
from tests.base.strategies import (
    ASCII_DIGITS,
    PERSIAN_LETTERS,
    PROPERTY,
    digit_script,
    in_script,
)

_LDH = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" + ASCII_DIGITS
_ATEXT = _LDH + "!#$%&'*+/=?^_`{|}~-"

atom = st.text(alphabet=_ATEXT, min_size=1, max_size=12)
local_part = st.lists(atom, min_size=1, max_size=3).map(".".join)
label = st.builds(
    lambda head, middle, tail: head + middle + tail,
    st.text(alphabet=_LDH, min_size=1, max_size=1),
    st.text(alphabet=_LDH + "-", max_size=10),
    st.text(alphabet=_LDH, min_size=1, max_size=1),
).filter(lambda lbl: lbl[2:4] != "--")  # "ab--" labels are reserved for IDNA forms
tld = st.sampled_from(["com", "ir", "org", "net", "de", "io", "co.uk", "COM", "Ir"])
domain = st.builds(lambda labels, end: ".".join([*labels, end]),
                   st.lists(label, min_size=1, max_size=2), tld)
address = st.builds(lambda local, dom: f"{local}@{dom}", local_part, domain)


@PROPERTY
@given(address)
def test_every_valid_address_round_trips_lower_cased(addr):
    assert normalise_email(addr) == addr.lower()


@PROPERTY
@given(address, digit_script, st.sampled_from(["", " ", "  ", "\t"]))
def test_digit_scripts_and_surrounding_space_do_not_matter(addr, script, pad):
    assert normalise_email(f"{pad}{in_script(addr, script)}{pad}") == addr.lower()


@PROPERTY
@given(st.one_of(address, st.sampled_from(["user@مثال.ایران", "Ali@Bücher.DE", "a@ﻣﺜﺎل.ir"])))
def test_normalise_email_is_idempotent_and_lower_case(addr):
    once = normalise_email(addr)
    assert normalise_email(once) == once
    assert once == once.lower()


@PROPERTY
@given(st.text(alphabet=PERSIAN_LETTERS, min_size=2, max_size=10),
       st.sampled_from(["ir", "ایران", "com"]))
def test_persian_domains_become_ascii_xn_forms(name, end):
    out = normalise_email(f"Sara@{name}.{end}")
    local, dom = out.split("@")
    assert local == "sara"
    assert dom.isascii()
    assert dom.startswith("xn--")
    assert normalise_email(out) == out


def test_idna_examples():
    assert normalise_email("user@مثال.ایران") == "user@xn--mgbh0fb.xn--mgba3a4f16a"
    assert normalise_email("user@bücher.de") == "user@xn--bcher-kva.de"
    assert normalise_email("USER@BÜCHER.DE") == "user@xn--bcher-kva.de"
    assert normalise_email("علی۱۲@EXAMPLE.com") == "علی12@example.com"
    assert normalise_email("<Ali.Rezaei@Example.COM>") == "ali.rezaei@example.com"


@pytest.mark.parametrize("bad", [
    "plainaddress", "@example.com", "ali@", "ali@@example.com", "ali@exa mple.com",
    "ali rezaei@example.com", ".ali@example.com", "ali.@example.com", "ali..r@example.com",
    "ali@example", "ali@-example.com", "ali@example..com", "ali@example.com.",
    "ali@" + "x" * 250 + ".com", "ali@localhost", "ali@site.test", "ali@[127.0.0.1]", "<>",
    "", "   ", None,
])
def test_invalid_addresses_raise_invalid_value_naming_the_field(bad):
    with pytest.raises(InvalidValue) as exc:
        normalise_email(bad)
    assert exc.value.field == "email"
    assert str(exc.value.message)
    with pytest.raises(InvalidValue) as exc:
        normalise_email(bad, "work_email")
    assert exc.value.field == "work_email"


@PROPERTY
@given(st.text(max_size=30).filter(lambda s: "@" not in s))
def test_text_without_an_at_sign_is_never_an_address(text):
    with pytest.raises(InvalidValue) as exc:
        normalise_email(text)
    assert exc.value.field == "email"


@PROPERTY
@given(local_part, local_part, domain)
def test_two_at_signs_are_rejected(a, b, dom):
    with pytest.raises(InvalidValue):
        normalise_email(f"{a}@{b}@{dom}")


def test_never_looks_up_dns(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("normalise_email touched the network")

    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setattr(socket, "gethostbyname", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    try:
        import dns.resolver
    except ImportError:
        pass
    else:
        monkeypatch.setattr(dns.resolver.Resolver, "resolve", no_network)
    # A domain that cannot exist: only a DNS check could refuse it.
    assert normalise_email("someone@no-such-domain-peyvand-test.ir") == \
        "someone@no-such-domain-peyvand-test.ir"
    assert normalise_email("user@مثال.ایران").endswith("xn--mgba3a4f16a")


# --- the fast path for plain ASCII addresses ----------------------------------------------------

_PLAIN_LOCAL = _LDH + "_+-"
plain_local = st.lists(st.text(alphabet=_PLAIN_LOCAL, min_size=1, max_size=12), min_size=1,
                       max_size=3).map(".".join)
plain_label = st.lists(st.text(alphabet=_LDH, min_size=1, max_size=8), min_size=1,
                       max_size=3).map("-".join)
plain_domain = st.builds(lambda labels, end: ".".join([*labels, end]),
                         st.lists(plain_label, min_size=1, max_size=3),
                         st.text(alphabet=_LDH[:52], min_size=2, max_size=6))
plain = st.builds(lambda local, dom: f"{local}@{dom}", plain_local, plain_domain)


def library(raw: str) -> str | None:
    """email-validator's answer alone: the address, or None when it refuses it."""
    try:
        return validated_address(raw)
    except InvalidValue:
        return None


@PROPERTY
@given(plain)
def test_fast_path_takes_plain_addresses_and_agrees_with_the_library(addr):
    fast = plain_address(addr)
    assert fast is not None
    assert fast == library(addr)
    assert normalise_email(addr) == fast


@PROPERTY
@given(st.one_of(
    address,
    st.builds(lambda local, dom: f"{local}@{dom}", plain_local,
              st.sampled_from(["localhost", "a.local", "x.onion", "site.test", "b.TEST",
                               "in.arpa", "z.invalid", "a--b.com", "xn--bcher-kva.de",
                               "ab--cd.ir", "123.456", "mail.ir1", "-a.com", "a-.com",
                               "x" * 64 + ".com", "a." + "b" * 250 + ".ir"])),
    st.builds(lambda local, dom: f"{local}@{dom}", st.text(min_size=1, max_size=70),
              plain_domain),
    st.text(max_size=40),
))
def test_fast_path_answers_only_what_the_library_would(raw):
    fast = plain_address(raw)
    if fast is not None:
        assert fast == library(raw)


@pytest.mark.parametrize("raw", [
    "ali@site.test", "ali@LOCALHOST.localhost", "ali@x.onion", "ali@mail.arpa", "a@b.local",
    "user@xn--bcher-kva.de", "ali@ab--cd.ir", "ali@example.123", "ali!@example.com",
    "ali@مثال.ایران", "علی@example.com", '"ali"@example.com', "ali@example", "x" * 65 + "@a.ir",
    "a@" + "b" * 64 + ".ir", "a@" + ("b" * 60 + ".") * 5 + "ir", "ali@-example.com",
])
def test_addresses_outside_the_fast_path_go_to_the_library(raw, monkeypatch):
    assert plain_address(raw) is None
    import peyvand.base.normalise.email as module

    called = []
    real = module.validated_address
    monkeypatch.setattr(module, "validated_address",
                        lambda *args: called.append(args) or real(*args))
    with contextlib.suppress(InvalidValue):
        normalise_email(raw)
    assert called


@pytest.mark.parametrize("raw", [
    "x" * 64 + "@a.ir", "a@" + ("b" * 63 + ".") * 3 + "c" * 57 + ".ir",
    "a@" + ("b" * 63 + ".") * 3 + "c" * 58 + ".ir", "a@" + "b" * 63 + ".ir",
    "a@" + "b" * 64 + ".ir", "a@b." + "c" * 63, "a@b." + "c" * 64,
])
def test_length_limits_agree_with_the_library(raw):
    fast = plain_address(raw)
    assert fast is None or fast == library(raw)


@pytest.mark.parametrize(("bad", "fa", "en"), [
    ("ali.shop.ir", "نشانهٔ @ ندارد", "it has no @ sign"),
    ("@shop.ir", "پیش از @", "nothing comes before"),
    ("ali@", "پس از @ چیزی", "nothing comes after"),
    ("ali..r@shop.ir", "دو نقطهٔ پشت سر هم", "two dots in a row"),
    ("ali@localhost", "نام دامنهٔ کاملی", "no full domain name"),
    ("ali@shop.test", "رزرو شده", "reserved"),
    (".ali@shop.ir", "نقطه یا خط تیره", "out of place"),
    ("ali reza@shop.ir", "نویسه‌هایی", "characters an address cannot have"),
    ("ali＠shop.ir", "@ معمولی نیست", "not the plain @"),
])
def test_why_an_address_is_refused_is_said_in_the_users_language(bad, fa, en):
    from django.utils import translation

    for language, phrase in (("fa", fa), ("en", en)):
        with translation.override(language), pytest.raises(InvalidValue) as exc:
            normalise_email(bad)
        message = str(exc.value.message)
        assert phrase in message, message
        if language == "fa":  # nothing of the library's English left in the Persian text
            assert not [w for w in message.replace(bad, "").split() if w.isascii() and
                        w.strip(".()،:").isalpha() and w.strip(".()،:") not in ("shop",)]
