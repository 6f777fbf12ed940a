"""Generated messages parse with the stdlib parser without defects, Persian and English."""

from __future__ import annotations

import email
import email.policy

from hypothesis import given, settings
from hypothesis import strategies as st

from peyvand.messaging.mime import MimeTemplate, encode_header

MIME = MimeTemplate(from_name="فروشگاه پیوند", from_address="news@shop.example",
                    domain="shop.example")


def parse(raw: bytes):
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    for part in msg.walk():
        assert not part.defects, part.defects
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    # Canonical: no bare CR or LF, so the sender hands it to SMTP unchecked (canonical=True).
    assert raw.count(b"\n") == raw.count(b"\r\n") == raw.count(b"\r")
    return msg


def build(subject="سلام سارا، تخفیف ویژه", name="سارا احمدی", html="<p>سلام</p>",
          text="سلام\n", unsubscribe=("<https://crm.example/c/one/abc>",), eight_bit=False):
    return MIME.build(to_name=name, to_address="sara@example.com", subject=subject, text=text,
                      html=html, message_id=MIME.message_id(7),
                      unsubscribe=list(unsubscribe) if unsubscribe else None,
                      eight_bit=eight_bit)


def encodings(msg) -> list[str]:
    return [part["Content-Transfer-Encoding"] for part in msg.walk()
            if not part.is_multipart()]


def test_persian_message_structure_and_headers():
    msg = parse(build())
    assert msg["Subject"] == "سلام سارا، تخفیف ویژه"
    assert msg["From"].addresses[0].display_name == "فروشگاه پیوند"
    assert msg["To"].addresses[0].display_name == "سارا احمدی"
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert msg.get_body(("plain",)).get_content() == "سلام\r\n"
    assert msg.get_body(("html",)).get_content() == "<p>سلام</p>"
    assert msg["Message-ID"].startswith("<7.") and msg["Message-ID"].endswith("@shop.example>")
    assert msg["Date"] and msg["MIME-Version"] == "1.0"
    assert msg["List-Unsubscribe"] == "<https://crm.example/c/one/abc>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_english_text_only_and_no_unsubscribe_for_transactional():
    msg = parse(build(subject="Your receipt", name="Sam Lee", html="", text="Thanks.\n",
                      unsubscribe=None))
    assert msg["Subject"] == "Your receipt"
    assert msg.get_content_type() == "text/plain"
    assert msg.get_content() == "Thanks.\r\n"
    assert msg["List-Unsubscribe"] is None


def test_long_persian_subject_and_body_keep_lines_short():
    subject = "پیشنهاد " * 60
    body = "<p>" + "متن طولانی بدون شکستن خط " * 400 + "</p>"
    msg = parse(build(subject=subject, html=body, text=body))
    assert msg["Subject"] == subject.strip()
    assert msg.get_body(("html",)).get_content() == body


def test_ascii_subject_that_looks_encoded_is_encoded():
    assert encode_header("=?utf-8?b?abc?=").startswith("=?utf-8?b?")
    assert parse(build(subject="=?utf-8?b?abc?="))["Subject"] == "=?utf-8?b?abc?="


names = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=60)


@settings(max_examples=150, deadline=None)
@given(subject=st.text(st.characters(blacklist_categories=("Cs",)), max_size=200),
       first=names, body=st.text(max_size=500))
def test_any_subject_name_and_body_parse_without_defects(subject, first, body):
    msg = parse(build(subject=subject, name=first, html=body or "x", text=body))
    assert msg["Subject"] == " ".join(subject.split())
    assert msg.get_body(("plain",)).get_content().replace("\r\n", "\n") == \
        body.replace("\r\n", "\n").replace("\r", "\n")


def _words_one_character_at_a_time(value: str) -> str:
    """The first encode_header: whole characters into each word while they fit."""
    from peyvand.messaging.mime import _WORD_BYTES, _word

    value = " ".join(value.split())
    if value.isascii() and "=?" not in value and len(value) <= 900:
        return value
    words, chunk = [], b""
    for char in value:
        if len(chunk) + len(char.encode()) > _WORD_BYTES:
            words.append(_word(chunk))
            chunk = b""
        chunk += char.encode()
    words.append(_word(chunk))
    return "\r\n ".join(words)


@settings(max_examples=300, deadline=None)
@given(value=st.text(st.characters(blacklist_categories=("Cs",)), max_size=300)
       | st.text(alphabet="a =?", min_size=880, max_size=1000))
def test_header_words_split_as_one_character_at_a_time_would(value):
    assert encode_header(value) == _words_one_character_at_a_time(value)


@settings(max_examples=200, deadline=None)
@given(text=st.text(st.characters(blacklist_categories=("Cs",)), max_size=3000))
def test_base64_bodies_are_the_stdlib_encoding_in_76_character_lines(text):
    from email.base64mime import body_encode

    from peyvand.messaging.mime import b64_body

    canonical = text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\r\n")
    expected = body_encode(canonical.encode(), maxlinelen=76, eol="\r\n")
    assert b64_body(text) == expected.removesuffix("\r\n").encode()


def test_8bit_bodies_go_as_they_are_and_parse_the_same():
    html = '<p dir="rtl">سلام سارا</p>\n<p>. a line that starts with a dot</p>'
    raw = build(html=html, text="سلام\r\nخط دوم\n", eight_bit=True)
    msg = parse(raw)
    assert encodings(msg) == ["8bit", "8bit"]
    assert msg.get_body(("plain",)).get_content() == "سلام\r\nخط دوم\r\n"
    assert msg.get_body(("html",)).get_content() == html.replace("\n", "\r\n")
    assert "سلام سارا".encode() in raw  # not encoded
    assert len(raw) < len(build(html=html, text="سلام\r\nخط دوم\n"))


def test_8bit_falls_back_to_base64_per_part_for_long_lines_and_nul():
    long_line = "<p>" + "متن " * 300 + "</p>"  # 2,107 octets on one line
    msg = parse(build(html=long_line, text="short\n", eight_bit=True))
    assert encodings(msg) == ["8bit", "base64"]
    assert msg.get_body(("html",)).get_content() == long_line
    msg = parse(build(html="", text="a\0b\n", unsubscribe=None, eight_bit=True))
    assert encodings(msg) == ["base64"]


def test_an_8bit_part_that_holds_our_boundary_goes_base64():
    boundary = parse(build(eight_bit=True)).get_boundary()  # ours all start the same
    assert boundary.startswith("=_pv")
    forged = f"<p>x</p>\n--{boundary[:-1]}\n--{boundary[:-1]}1--\n<p>y</p>"
    msg = parse(build(html=forged, eight_bit=True))
    assert encodings(msg) == ["8bit", "base64"]
    assert msg.get_body(("html",)).get_content() == forged.replace("\n", "\r\n")


@settings(max_examples=200, deadline=None)
@given(text=st.text(st.characters(blacklist_categories=("Cs",)), max_size=3000),
       html=st.text(st.characters(blacklist_categories=("Cs",)), max_size=3000))
def test_8bit_messages_parse_without_defects_whatever_the_text(text, html):
    from peyvand.messaging.mime import _canonical

    msg = parse(build(text=text, html=html, eight_bit=True))
    parts = [p for p in msg.walk() if not p.is_multipart()]
    for part, source in zip(parts, (text, html) if html else (text,), strict=True):
        expected = _canonical(source)
        eight_bit = part["Content-Transfer-Encoding"] == "8bit"
        if eight_bit and not html and not expected.endswith(b"\r\n"):
            expected += b"\r\n"  # a whole message ends with a line end
        assert part.get_payload(decode=True) == expected
