"""Every marketing e-mail carries a visible unsubscribe link in its body (docs/security.md): a
template without {{ unsubscribe_url }} gets a footer in the contact's language, and the
template editor says so."""

from __future__ import annotations

import re

import pytest

from peyvand.messaging.actions import do_create_broadcast
from tests.outbound import body

NO_LINK = "<p>سلام {{ first_name }}، حراج پاییزه از فردا.</p>"


def by_address(messages):
    return {m["To"].addresses[0].addr_spec: m for m in messages}


def test_a_template_without_the_link_gets_a_footer_in_each_contacts_language(
        make_contact, template, owner_actor, deliver):
    from peyvand.consent.links import read_contact_token

    sara = make_contact("sara@example.com", language="fa", tags=["vip"])
    sam = make_contact("sam@example.com", language="en", tags=["vip"])
    template("autumn", html=NO_LINK)
    do_create_broadcast(owner_actor, "autumn", "vip")
    got = by_address(deliver())
    for address, person, words, direction in (
            ("sara@example.com", sara, ("این نامه", "لغو عضویت"), "rtl"),
            ("sam@example.com", sam, ("You receive this e-mail", "nsubscribe"), "ltr")):
        html, text = body(got[address], "html"), body(got[address], "plain")
        footer = html.split("data-unsubscribe-footer")[1]
        assert html.split("data-unsubscribe-footer")[0].endswith(f'dir="{direction}" '
                                                                  f'lang="{person.language}" ')
        for part in (footer, text):
            assert all(w in part for w in words), part
            # the person's own unsubscribe page, the one that asks first (not one-click)
            token = re.search(r"https://crm\.example/consent/u/([^/\s\"]+)/(?!one)", part)
            assert read_contact_token("unsubscribe", token.group(1))[0].pk == person.pk


def test_a_template_with_the_link_gets_no_second_one(make_contact, template, owner_actor,
                                                   deliver):
    make_contact("sara@example.com", tags=["vip"])
    template("own", html='<p>سلام</p><p><a href="{{ unsubscribe_url }}">لغو</a></p>')
    # the link in the HTML, but a plain text written without it: only the text gets one
    template("half", html='<p><a href="{{ unsubscribe_url }}">لغو</a></p>', text="سلام")
    do_create_broadcast(owner_actor, "own", "vip")
    do_create_broadcast(owner_actor, "half", "vip")
    own, half = deliver()
    assert "data-unsubscribe-footer" not in body(own, "html")
    assert "لغو عضویت" not in body(own, "plain")  # the text made from the HTML has the link
    assert "data-unsubscribe-footer" not in body(half, "html")
    assert "لغو عضویت" in body(half, "plain") or "unsubscribe" in body(half, "plain").lower()


@pytest.mark.parametrize("language", ["fa", "en"])
def test_the_template_editor_says_a_footer_will_be_added(client_for, template, language,
                                                         api_for):
    bare = template("bare", html=NO_LINK)
    linked = template("linked")  # the fixture's template carries {{ unsubscribe_url }}
    receipt = template("receipt", html="<p>Thanks</p>", message_class="transactional")
    ui = client_for("owner", language)
    page = ui.get(f"/messaging/templates/{bare.pk}/").content.decode()
    assert 'id="footer-note"' in page
    assert ("footer" in page) if language == "en" else ("پانوشت" in page)
    for other in (linked, receipt):
        assert 'id="footer-note"' not in ui.get(
            f"/messaging/templates/{other.pk}/").content.decode()
    flags = {t["name"]: t["unsubscribe_footer"]
             for t in api_for(f"owner-{language}").get("/api/v1/templates").json()["items"]}
    assert flags == {"bare": True, "linked": False, "receipt": False}
