"""No staff member sends marketing past consent (docs/security.md, "Marketing never passes
consent; transactional messages are narrow").

A broadcast is always marketing, whoever asks and however (UI, API, CLI); only the owner
marks a template transactional or alert, or changes one so marked; a transactional or alert
message goes to one person, through the API (owner tokens) or a system trigger, and never to
an address that hard-bounced or a person who complained.
"""

from __future__ import annotations

import pytest

from peyvand.base.models import AuditEntry
from peyvand.cli import main
from peyvand.messaging.models import Broadcast, MessageTemplate, OutboxMessage
from tests.messaging.conftest import post
from tests.outbound import body

ROLES = ["owner", "marketer", "reviewer", "support", "analyst"]
# Written out from the product rules, not read from roles.CAPABILITIES.
MAY_SEND = {"owner", "marketer"}  # broadcasts (always marketing)
MAY_MARK = {"owner"}  # transactional / alert templates, and single messages from them
EXIT_FAILED, EXIT_DENIED = 1, 3


def world():
    """Everything a refused request could have touched."""
    return (list(Broadcast.objects.values_list("id", "message_class", "status")),
            list(OutboxMessage.objects.values_list("id", "message_class", "state")),
            list(MessageTemplate.objects.order_by("id").values_list(
                "name", "message_class", "subject", "html")),
            AuditEntry.objects.filter(action__startswith="messaging.").count())


@pytest.fixture
def shop(make_contact, template):
    """A tag of two people (one without marketing consent), a marketing template and a
    receipt template the owner marked transactional."""
    make_contact(tags=["vip"])
    make_contact(tags=["vip"], opt_in=())
    template("promo")
    return template("receipt", subject="Order {{ first_name }}", html="<p>Thanks</p>",
                    message_class="transactional")


# --- broadcasts are always marketing --------------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("klass", ["transactional", "alert"])
def test_a_broadcast_asked_as_transactional_or_alert_is_refused_in_the_ui(
        client_for, shop, role, klass):
    before = world()
    r = client_for(role).post("/messaging/broadcasts/",
                              {"template": "promo", "tag": "vip", "class": klass})
    if role in MAY_SEND:
        assert r.status_code == 200
        assert 'id="class-error"' in r.content.decode()
        assert "always marketing" in r.content.decode()
    else:
        assert r.status_code == 403
    assert world() == before


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("klass", ["transactional", "alert"])
def test_a_broadcast_asked_as_transactional_or_alert_is_refused_in_the_api(
        api_for, shop, role, klass):
    api = api_for(role)
    before = world()
    r = post(api, "/api/v1/broadcasts", {"template": "promo", "tag": "vip", "class": klass})
    if role in MAY_SEND:
        assert r.status_code == 400
        assert "always marketing" in r.json()["errors"]["class"]
    else:
        assert r.status_code == 403
    assert world() == before


@pytest.mark.parametrize("role", [*ROLES, "operator"])
@pytest.mark.parametrize("klass", ["transactional", "alert"])
def test_a_broadcast_asked_as_transactional_or_alert_is_refused_in_the_cli(
        make_user, shop, capsys, role, klass):
    acting = [] if role == "operator" else ["--as", make_user(f"{role}-cli", role).username]
    before = world()
    code = main(["send", "--template", "promo", "--tag", "vip", "--class", klass, *acting])
    if role in MAY_SEND or role == "operator":
        assert code == EXIT_FAILED
        assert "always marketing" in capsys.readouterr().err
    else:
        assert code == EXIT_DENIED
    assert world() == before


def test_a_template_marked_transactional_never_goes_to_a_tag(shop, api_for, client_for):
    before = world()
    assert main(["send", "--template", "receipt", "--tag", "vip"]) == EXIT_FAILED
    r = post(api_for("owner"), "/api/v1/broadcasts", {"template": "receipt", "tag": "vip"})
    assert r.status_code == 400 and "marked" in r.json()["errors"]["template"]
    page = client_for("owner").get("/messaging/broadcasts/").content.decode()
    assert '<option value="receipt">' not in page and '<option value="promo">' in page
    assert world() == before


def test_a_marketing_broadcast_passes_consent_and_carries_the_unsubscribe_header(
        shop, owner_actor, deliver):
    from peyvand.messaging.actions import do_create_broadcast

    item = do_create_broadcast(owner_actor, "promo", "vip", "marketing")
    assert item.message_class == "marketing"
    received = deliver()
    assert len(received) == 1  # the contact without consent got nothing
    assert received[0]["List-Unsubscribe"].startswith("<https://")
    denied = OutboxMessage.objects.get(state="failed")
    assert denied.gate_reason == "no_consent"


# --- only the owner marks templates ----------------------------------------------------------

TEMPLATE = {"name": "ship", "language": "en", "channel": "email", "subject": "Shipped",
            "html": "<p>Your parcel is on its way.</p>"}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("klass", ["transactional", "alert"])
def test_only_the_owner_marks_a_template_in_the_ui(client_for, role, klass, db):
    before = world()
    r = client_for(role).post("/messaging/templates/new/", {**TEMPLATE, "message_class": klass})
    if role in MAY_MARK:
        assert r.status_code == 302
        assert MessageTemplate.objects.get(name="ship").message_class == klass
        return
    if role in MAY_SEND:  # a marketer may write templates, not mark them
        assert r.status_code == 200 and 'id="class-error"' in r.content.decode()
        assert "Only the owner" in r.content.decode()
    else:
        assert r.status_code == 403
    assert world() == before


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("klass", ["transactional", "alert"])
def test_only_the_owner_marks_a_template_in_the_api(api_for, role, klass, db):
    api = api_for(role)
    before = world()
    r = post(api, "/api/v1/templates", {**TEMPLATE, "class": klass})
    if role in MAY_MARK:
        assert r.status_code == 201 and r.json()["message_class"] == klass
        return
    assert r.status_code == (400 if role in MAY_SEND else 403)
    assert world() == before


def test_the_marketer_cannot_change_unmark_or_delete_a_marked_template(
        shop, api_for, client_for):
    api, ui = api_for("marketer"), client_for("marketer")
    before = world()
    # new words under the marking: the way marketing would slip past consent
    r = post(api, f"/api/v1/templates/{shop.pk}", {"html": "<p>Big sale!</p>"}, "put")
    assert r.status_code == 400 and "Only the owner" in r.json()["errors"]["message_class"]
    r = post(api, f"/api/v1/templates/{shop.pk}", {"class": "marketing"}, "put")
    assert r.status_code == 400
    assert api.delete(f"/api/v1/templates/{shop.pk}").status_code == 409
    page = ui.get(f"/messaging/templates/{shop.pk}/").content.decode()
    assert 'id="owner-only"' in page
    assert '<option value="transactional"' not in page  # the marketer is not offered it
    r = ui.post(f"/messaging/templates/{shop.pk}/", {
        "name": "receipt", "language": "fa", "channel": "email", "message_class":
        "transactional", "subject": "Sale", "html": "<p>Big sale!</p>"})
    assert r.status_code == 200 and "Only the owner" in r.content.decode()
    r = ui.post(f"/messaging/templates/{shop.pk}/delete/")
    assert r.status_code == 302
    assert world() == before
    # the owner may
    r = post(api_for("owner"), f"/api/v1/templates/{shop.pk}", {"html": "<p>Thanks!</p>"},
             "put")
    assert r.status_code == 200 and r.json()["message_class"] == "transactional"


# --- single messages: owner tokens and system triggers ---------------------------------------

@pytest.mark.parametrize("role", ROLES)
def test_only_owner_tokens_send_a_transactional_message(api_for, make_contact, shop, role):
    person = make_contact("buyer@example.com", opt_in=())
    api = api_for(role)
    before = world()
    r = post(api, "/api/v1/messages/transactional",
             {"template": "receipt", "contact": person.pk, "key": "order-1001"})
    if role in MAY_MARK:
        assert r.status_code == 201, r.content
        row = OutboxMessage.objects.get(pk=r.json()["id"])
        assert (row.source, row.message_class, row.to_address, row.snapshot.html) == \
            ("api:order-1001", "transactional", "buyer@example.com", "<p>Thanks</p>")
        return
    assert r.status_code == 403
    assert world() == before


def test_a_single_message_is_sent_once_per_key_and_only_from_a_marked_template(
        api_for, make_contact, shop):
    api = api_for("owner")
    person, other = make_contact(opt_in=()), make_contact(opt_in=())
    url = "/api/v1/messages/transactional"
    first = post(api, url, {"template": "receipt", "contact": person.pk, "key": "o-1"})
    again = post(api, url, {"template": "receipt", "contact": person.pk, "key": "o-1"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"] and again.json()["created"] is False
    before = world()
    r = post(api, url, {"template": "receipt", "contact": other.pk, "key": "o-1"})
    assert r.status_code == 400 and "another message" in r.json()["errors"]["key"]
    r = post(api, url, {"template": "promo", "contact": person.pk, "key": "o-2"})
    assert r.status_code == 400 and "broadcast" in r.json()["errors"]["template"]
    r = post(api, url, {"template": "receipt", "contact": 999_999, "key": "o-3"})
    assert r.status_code == 400 and "contact" in r.json()["errors"]
    r = post(api, url, {"template": "receipt", "contact": person.pk, "key": "no spaces"})
    assert r.status_code == 400 and "key" in r.json()["errors"]
    assert world() == before


def test_a_transactional_message_skips_marketing_consent_never_a_bounce_or_complaint(
        make_contact, shop, deliver):
    from peyvand.consent.actions import record_bounce, record_complaint
    from peyvand.messaging.actions import trigger_message

    unsubscribed = make_contact("left@example.com", opt_in=())
    bounced = make_contact("dead@example.com")
    complained = make_contact("angry@example.com")
    record_bounce(bounced.pk, "email", hard=True)
    record_complaint(complained.pk, "email")
    for person in (unsubscribed, bounced, complained):
        row = trigger_message("orders", "receipt", person.pk, f"order-{person.pk}")
        assert row.source == f"trigger:orders:order-{person.pk}"
    received = deliver()
    assert [m["To"].addresses[0].addr_spec for m in received] == ["left@example.com"]
    message = received[0]
    assert message["List-Unsubscribe"] is None  # a receipt is not a mailing
    assert "unsubscribe" not in body(message).lower()  # nor does it get the footer
    reasons = dict(OutboxMessage.objects.filter(state="failed")
                   .values_list("to_address", "gate_reason"))
    assert reasons == {"dead@example.com": "hard_bounce", "angry@example.com": "complaint"}


def test_an_alert_goes_to_one_person_and_still_needs_consent(make_contact, template, deliver):
    from peyvand.messaging.actions import trigger_message

    template("back", subject="Back in stock", html="<p>It is back.</p>", message_class="alert")
    asked, never = make_contact("asked@example.com"), make_contact("never@example.com",
                                                                   opt_in=())
    trigger_message("stock", "back", asked.pk, f"sku-1:{asked.pk}")
    trigger_message("stock", "back", never.pk, f"sku-1:{never.pk}")
    received = deliver()
    assert [m["To"].addresses[0].addr_spec for m in received] == ["asked@example.com"]
    assert received[0]["List-Unsubscribe"]  # consent-bound: it can be left
    assert OutboxMessage.objects.get(to_address="never@example.com").gate_reason == \
        "no_consent"


def test_a_broadcast_whose_template_was_marked_since_is_not_approved(shop, actor_for, api_for):
    from peyvand.messaging.actions import do_create_broadcast, do_save_template

    item = do_create_broadcast(actor_for("marketer"), "promo", "vip")
    promo = MessageTemplate.objects.get(name="promo")
    do_save_template(actor_for("owner"), {**{f: getattr(promo, f) for f in (
        "name", "language", "channel", "topic", "content_type", "subject", "html", "text")},
        "message_class": "transactional"}, promo)
    api = api_for("reviewer")
    shown = api.get(f"/api/v1/broadcasts/{item.pk}/preview").json()  # looked at afresh
    r = post(api, f"/api/v1/broadcasts/{item.pk}/approve", {"digest": shown["digest"]})
    assert r.status_code == 409 and "marked" in r.json()["errors"]["template"]
    assert not OutboxMessage.objects.exists()
