"""What is approved is what is sent (docs/security.md): approval freezes the words and the
audience, the reviewer sees them rendered in Persian and English first, and every outbox row
keeps what its person received."""

from __future__ import annotations

import re

import pytest

from peyvand.messaging.actions import (
    MessagingInvalid,
    do_approve_broadcast,
    do_create_broadcast,
    do_save_template,
)
from peyvand.messaging.models import Broadcast, OutboxMessage
from tests.messaging.conftest import post
from tests.outbound import body

ORIGINAL = "<p>سلام {{ first_name }}، حراج پاییزه از فردا.</p>"
EDITED = "<p>سلام {{ first_name }}، همه‌چیز رایگان!</p>"


@pytest.fixture
def waiting(make_contact, template, actor_for):
    """A marketer's broadcast to two people, waiting for approval."""
    make_contact("sara@example.com", first_name="سارا", tags=["vip"])
    make_contact("sam@example.com", first_name="Sam", language="en", tags=["vip"])
    template("autumn", subject="حراج برای {{ first_name }}", html=ORIGINAL)
    marketer = actor_for("marketer")
    return marketer, do_create_broadcast(marketer, "autumn", "vip")


def edit(marketer, html: str) -> None:
    from peyvand.messaging.models import MessageTemplate

    current = MessageTemplate.objects.get(name="autumn")
    do_save_template(marketer, {**{f: getattr(current, f) for f in (
        "name", "language", "channel", "topic", "message_class", "content_type", "subject",
        "text")}, "html": html}, current)


def digest_on_page(page: str) -> str:
    return re.search(r'name="digest" value="([0-9a-f]{64})"', page).group(1)


def test_the_words_approved_are_sent_even_when_the_template_changes_afterwards(
        waiting, client_for, deliver):
    marketer, item = waiting
    reviewer = client_for("reviewer")
    page = reviewer.get(f"/messaging/broadcasts/{item.pk}/").content.decode()
    assert "حراج پاییزه" in page
    reviewer.post(f"/messaging/broadcasts/{item.pk}/approve/", {"digest": digest_on_page(page)})
    item.refresh_from_db()
    assert item.status == "queued" and item.snapshot.html == ORIGINAL
    assert item.audience == {"tag_id": item.tag_id, "tag_name": "vip"}
    edit(marketer, EDITED)  # after approval, before the sender runs
    texts = [body(m, "html") for m in deliver()]
    assert len(texts) == 2
    assert all("حراج پاییزه" in t and "رایگان" not in t for t in texts)


def test_an_edit_after_the_preview_is_not_approved(waiting, client_for, api_for):
    marketer, item = waiting
    reviewer = client_for("reviewer")
    page = reviewer.get(f"/messaging/broadcasts/{item.pk}/").content.decode()
    shown = digest_on_page(page)
    edit(marketer, EDITED)  # while the reviewer reads
    r = reviewer.post(f"/messaging/broadcasts/{item.pk}/approve/", {"digest": shown},
                      follow=True)
    assert "changed after this preview" in r.content.decode()
    api = api_for("reviewer")
    r = post(api, f"/api/v1/broadcasts/{item.pk}/approve", {"digest": shown})
    assert r.status_code == 409 and "digest" in r.json()["errors"]
    item.refresh_from_db()
    assert item.status == "awaiting_approval" and item.snapshot is None
    assert not OutboxMessage.objects.exists()
    # looked at again, the new words may be approved, and they are what is frozen
    fresh = api.get(f"/api/v1/broadcasts/{item.pk}/preview").json()
    assert fresh["digest"] != shown and "رایگان" in fresh["renders"][0]["html"]
    r = post(api, f"/api/v1/broadcasts/{item.pk}/approve", {"digest": fresh["digest"]})
    assert r.status_code == 200 and r.json()["digest"] == fresh["digest"]


def test_approval_names_the_words_it_approves(waiting, api_for, actor_for):
    _marketer, item = waiting
    with pytest.raises(MessagingInvalid):
        do_approve_broadcast(actor_for("reviewer"), item, "")
    r = api_for("reviewer").post(f"/api/v1/broadcasts/{item.pk}/approve")
    assert r.status_code in (400, 422)
    assert Broadcast.objects.get().status == "awaiting_approval"
    assert not OutboxMessage.objects.exists()


def test_the_owner_broadcast_is_frozen_when_it_is_sent(make_contact, template, owner_actor,
                                                        actor_for, deliver):
    make_contact("sara@example.com", first_name="سارا", tags=["vip"])
    template("autumn", subject="حراج", html=ORIGINAL)
    item = do_create_broadcast(owner_actor, "autumn", "vip")
    assert item.status == "queued" and item.snapshot is not None
    edit(owner_actor, EDITED)
    (message,) = deliver()
    assert "حراج پاییزه" in body(message, "html")


def test_the_reviewer_sees_the_message_rendered_in_persian_and_english(waiting, client_for,
                                                                      api_for):
    _marketer, item = waiting
    for language in ("en", "fa"):
        user = f"reviewer-{language}"
        page = client_for(user, language).get(
            f"/messaging/broadcasts/{item.pk}/").content.decode()
        # rendered for a contact of the audience, before the approve button
        assert page.index('id="broadcast-preview"') < page.index('id="approve"')
        assert page.count('class="render"') == 2
        assert 'data-language="fa"' in page and 'data-language="en"' in page
        assert "حراج برای سارا" in page  # the sample contact's own name
        # the template has no unsubscribe link: the footer shows, in each language
        assert "Unsubscribe" in page and "لغو عضویت" in page
    shown = api_for("reviewer").get(f"/api/v1/broadcasts/{item.pk}/preview").json()
    assert [r["language"] for r in shown["renders"]] == ["fa", "en"]
    assert shown["frozen"] is False and shown["footer"] is True
    assert shown["renders"][0]["subject"] == "حراج برای سارا"
    assert 'dir="rtl"' in shown["renders"][0]["html"]


def test_each_message_keeps_what_its_person_received(make_contact, template, owner_actor,
                                                     system, client_for, api_for, deliver):
    from peyvand.contacts.actions import do_update_contact

    sara = make_contact("sara@example.com", first_name="سارا", tags=["vip"])
    template("autumn", subject="حراج برای {{ first_name }}", html=ORIGINAL)
    item = do_create_broadcast(owner_actor, "autumn", "vip")
    deliver()
    row = OutboxMessage.objects.get()
    assert row.state == "sent" and row.snapshot_id == item.snapshot_id
    assert '"first_name":"سارا"' in row.merge_data and len(row.content_digest) == 64
    do_update_contact(system, sara, {"first_name": "زهرا"})  # later: the record still holds
    got = api_for("analyst").get(f"/api/v1/messages/{row.pk}").json()
    assert got["how"] == "rendered" and got["verified"] is True
    assert got["subject"] == "حراج برای سارا" and "لغو عضویت" in got["html"]
    assert got["content_digest"] == row.content_digest
    page = client_for("support", "fa").get(f"/messaging/messages/{row.pk}/").content.decode()
    assert 'id="verified"' in page and "حراج برای سارا" in page
    assert f'href="/messaging/messages/{row.pk}/"' in client_for("owner").get(
        f"/messaging/broadcasts/{item.pk}/outbox/").content.decode()
    OutboxMessage.objects.filter(pk=row.pk).update(
        merge_data=row.merge_data.replace("سارا", "مریم"))
    assert api_for("owner").get(f"/api/v1/messages/{row.pk}").json()["verified"] is False


def test_erasure_forgets_the_merge_data(make_contact, template, owner_actor, api_for,
                                        deliver):
    from peyvand.contacts.actions import do_erase_contact

    sara = make_contact("sara@example.com", first_name="سارا", tags=["vip"])
    template("autumn")
    do_create_broadcast(owner_actor, "autumn", "vip")
    deliver()
    do_erase_contact(owner_actor, sara)
    row = OutboxMessage.objects.get()
    assert row.merge_data == "" and row.to_address == ""
    assert api_for("owner").get(f"/api/v1/messages/{row.pk}").json()["how"] == "not_rendered"
