"""Broadcasts to segments (issue 16): an audience of segments and tags with exclusions, its
count and the people the gate would refuse (by reason) shown before approval, and the
members taken once, when the broadcast is queued. A broadcast to one tag is unchanged."""

from __future__ import annotations

import pytest

from peyvand.audiences import broadcast_audience
from peyvand.audiences.actions import do_create_segment
from peyvand.base.actor import Actor
from peyvand.cli import main
from peyvand.consent.ledger import Change, append
from peyvand.messaging.actions import (
    MessagingInvalid,
    do_approve_broadcast,
    do_create_broadcast,
)
from peyvand.messaging.audience import refusal_preview
from peyvand.messaging.models import Broadcast, OutboxMessage
from peyvand.messaging.queries import audience_preview, broadcast_preview
from tests.messaging.conftest import post

VIP = {"field": "contact.tags", "op": "has", "value": "vip"}
TEHRAN = {"field": "contact.tags", "op": "has", "value": "tehran"}


@pytest.fixture(autouse=True)
def segment_kind(db):
    broadcast_audience.register()  # AudiencesConfig.ready, once the lead wires it


@pytest.fixture
def shop(make_contact, template):
    """Five VIPs: two in Tehran, one who opted out, one without an e-mail address, one
    tagged "staff"; and a customer who is no VIP."""
    system = Actor.system("test")
    people = {
        "sara": make_contact(first_name="Sara", tags=["vip", "tehran"]),
        "reza": make_contact(first_name="Reza", tags=["vip", "tehran"]),
        "mina": make_contact(first_name="Mina", tags=["vip"]),
        "omid": make_contact(first_name="Omid", tags=["vip"], email=None,
                             phone="09121234567", opt_in=()),
        "nima": make_contact(first_name="Nima", tags=["vip", "staff"]),
        "lale": make_contact(first_name="Lale", tags=["customer"]),
    }
    append(people["mina"].pk, [Change("opt_out", "email", None)], source="preferences",
           actor_label="test")
    template("autumn")
    return {"people": people, "vip": do_create_segment(system, "VIPs", VIP),
            "tehran": do_create_segment(system, "Tehran", TEHRAN)}


def ids(*contacts) -> set[int]:
    return {c.pk for c in contacts}


def test_segment_audience_with_exclusions_is_counted_and_its_refusals_grouped(
        shop, actor_for):
    marketer = actor_for("marketer")
    p = shop["people"]
    item = do_create_broadcast(marketer, "autumn", audience={
        "segments": [shop["vip"].pk], "exclude_segments": [shop["tehran"].pk],
        "exclude_tags": [p["nima"].tags.get(name="staff").pk]})
    assert item.status == "awaiting_approval" and item.tag is None
    assert item.audience_label == "Segments: VIPs — except tags: staff — except segments: Tehran"
    preview = audience_preview(marketer, item)
    # VIPs minus Tehran minus staff: Mina (opted out) and Omid (no e-mail address).
    assert preview["count"] == 2 and preview["frozen"] is False
    assert preview["refused"] == 2 and preview["will_send"] == 0
    assert {r["reason"]: r["count"] for r in preview["reasons"]} == {
        "no_address": 1, "opted_out": 1}
    assert not preview["estimate"]
    assert "unsubscribed" in next(r["text"] for r in preview["reasons"]
                                  if r["reason"] == "opted_out")


def test_refusals_include_contacts_who_never_agreed(shop):
    from peyvand.contacts.models import Contact

    p = shop["people"]
    Contact.objects.filter(pk=p["lale"].pk)  # opted in by the fixture; a new one has not
    from peyvand.contacts.actions import do_create_contact

    quiet = do_create_contact(Actor.system("t"), {"first_name": "Q", "email": "q@example.com"})
    members = Contact.objects.filter(pk__in=[quiet.pk, p["sara"].pk])
    preview = refusal_preview(members, "email", "")
    assert preview["count"] == 2 and preview["refused"] == 1 and preview["will_send"] == 1
    assert [r["reason"] for r in preview["reasons"]] == ["no_consent"]


def test_the_preview_is_an_estimate_past_its_cap(shop, monkeypatch):
    from peyvand.contacts.models import Contact
    from peyvand.messaging import audience

    monkeypatch.setattr(audience, "PREVIEW_CAP", 1)
    p = shop["people"]
    preview = refusal_preview(Contact.objects.filter(pk__in=ids(p["mina"], p["sara"])),
                              "email", "")
    assert preview["estimate"] is True and preview["evaluated"] == 1


def test_members_are_taken_when_queued_and_the_count_recorded(shop, actor_for, make_contact):
    marketer, reviewer = actor_for("marketer"), actor_for("reviewer")
    p = shop["people"]
    item = do_create_broadcast(marketer, "autumn", audience={"segments": [shop["tehran"].pk]})
    late = make_contact(first_name="Late", tags=["tehran"])  # joins before approval: counted
    digest = broadcast_preview(reviewer, item)["digest"]
    item = do_approve_broadcast(reviewer, item, digest)
    assert item.status == "queued"
    assert set(item.messages.values_list("contact_id", flat=True)) == ids(p["sara"], p["reza"],
                                                                          late)
    assert item.audience["count"] == 3 and item.audience["names"] == {"segments": ["Tehran"]}
    make_contact(first_name="Later", tags=["tehran"])  # joins after: not sent it
    assert item.messages.count() == 3
    frozen = audience_preview(reviewer, item)
    assert frozen == {"count": 3, "frozen": True, "queued": 3, "no_address": 0}


def test_a_deleted_segment_is_refused_at_approval(shop, actor_for):
    from peyvand.audiences.actions import do_delete_segment

    marketer, reviewer = actor_for("marketer"), actor_for("reviewer")
    item = do_create_broadcast(marketer, "autumn", audience={"segments": [shop["tehran"].pk]})
    do_delete_segment(Actor.system("t"), shop["tehran"])
    with pytest.raises(MessagingInvalid) as exc:
        do_approve_broadcast(reviewer, item, broadcast_preview(reviewer, item)["digest"])
    assert "segments" in exc.value.errors
    assert not OutboxMessage.objects.exists()


@pytest.mark.parametrize("audience,field", [
    ({"segments": [999]}, "segments"),
    ({"exclude_segments": [1]}, "audience"),  # nothing to include
    ({"planets": [1]}, "audience"),
    ({"segments": ["x"]}, "audience"),
])
def test_bad_audiences_are_refused(shop, owner_actor, audience, field):
    with pytest.raises(MessagingInvalid) as exc:
        do_create_broadcast(owner_actor, "autumn", audience=audience)
    assert field in exc.value.errors
    assert not Broadcast.objects.exists()


def test_a_tag_audience_is_unchanged(shop, owner_actor):
    p = shop["people"]
    item = do_create_broadcast(owner_actor, "autumn", "tehran")
    assert item.audience == {"tag_id": item.tag_id, "tag_name": "tehran"}
    assert item.audience_spec == {} and item.audience_label == "tehran"
    assert set(item.messages.values_list("contact_id", flat=True)) == ids(p["sara"], p["reza"])
    assert (item.queued_count, item.no_address_count) == (2, 0)


def test_api_creates_and_previews_a_segment_broadcast(shop, api_for):
    api = api_for("marketer")
    body = {"template": "autumn", "segments": [shop["vip"].pk],
            "exclude_segments": [shop["tehran"].pk], "exclude_tags": ["staff"]}
    before = post(api, "/api/v1/broadcasts/audience", body)
    assert before.status_code == 200, before.content
    assert before.json()["count"] == 2 and before.json()["refused"] == 2
    made = post(api, "/api/v1/broadcasts", body)
    assert made.status_code == 201, made.content
    out = made.json()
    assert out["audience_spec"]["segments"] == [shop["vip"].pk]
    assert out["audience_label"].startswith("Segments: VIPs")
    seen = api.get(f"/api/v1/broadcasts/{out['id']}/audience").json()
    assert seen["count"] == 2 and {r["reason"] for r in seen["reasons"]} == {
        "no_address", "opted_out"}
    bad = post(api, "/api/v1/broadcasts", {"template": "autumn", "segments": [999]})
    assert bad.status_code == 400 and "segments" in bad.json()["errors"]
    legacy = post(api, "/api/v1/broadcasts", {"template": "autumn", "tag": "vip"})
    assert legacy.status_code == 201 and legacy.json()["tag"] == "vip"


@pytest.mark.parametrize("language,words", [("en", "People in the audience now"),
                                            ("fa", "dir=\"rtl\"")])
def test_pages_show_the_audience_before_approval(shop, client_for, actor_for, language, words):
    marketer = actor_for("marketer")
    item = do_create_broadcast(marketer, "autumn", audience={
        "segments": [shop["vip"].pk], "exclude_segments": [shop["tehran"].pk]})
    page = client_for("reviewer", language).get(f"/messaging/broadcasts/{item.pk}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="audience-preview" data-count="3" data-refused="2"' in html
    assert 'data-reason="opted_out"' in html and 'data-reason="no_address"' in html
    assert words in html


def test_the_form_counts_then_sends_to_segments(shop, client_for):
    browser = client_for("marketer")
    form = browser.get("/messaging/broadcasts/").content.decode()
    assert 'name="segments"' in form and "VIPs" in form and 'name="exclude_tags"' in form
    data = {"template": "autumn", "tag": "", "segments": [shop["vip"].pk],
            "exclude_segments": [shop["tehran"].pk]}
    counted = browser.post("/messaging/broadcasts/", {**data, "preview": "1"})
    assert counted.status_code == 200
    assert 'data-count="3"' in counted.content.decode()
    assert not Broadcast.objects.exists()
    sent = browser.post("/messaging/broadcasts/", data)
    item = Broadcast.objects.get()
    assert sent.status_code == 302 and item.audience_spec == {
        "segments": [shop["vip"].pk], "exclude_segments": [shop["tehran"].pk]}


def test_cli_sends_to_a_segment(shop, capsys):
    p = shop["people"]
    assert main(["send", "--template", "autumn", "--segment", str(shop["tehran"].pk)]) == 0
    item = Broadcast.objects.get()
    assert set(item.messages.values_list("contact_id", flat=True)) == ids(p["sara"], p["reza"])
    assert main(["send", "--template", "autumn"]) == 2
