"""Staff cannot act as the person (issue 14, line 5): no page or endpoint hands staff a
contact's preference or unsubscribe link; staff may have it mailed to the person; every
consent change names who really made it."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from peyvand.base.models import AuditEntry
from peyvand.consent import ledger
from peyvand.consent.actions import ConsentRefused, do_send_preference_link, do_staff_change
from peyvand.consent.ledger import Change
from peyvand.consent.links import links_for
from peyvand.consent.models import Action, ConsentChange, LinkSent, Source
from peyvand.contacts.models import TimelineEvent
from peyvand.messaging.models import OutboxMessage
from tests.consent.conftest import ROLES
from tests.outbound import body

SENDERS = {"owner", "marketer", "support"}
# Any signed consent link of ours: preference centre, footer unsubscribe, one-click.
CONSENT_LINK = re.compile(r"/consent/[pu]/[A-Za-z0-9_:.\-]{20,}/")


def snapshot() -> dict:
    return {"ledger": list(ConsentChange.objects.values_list("pk", flat=True)),
            "sent": list(LinkSent.objects.values_list("pk", flat=True)),
            "outbox": list(OutboxMessage.objects.values_list("pk", flat=True)),
            "audit": list(AuditEntry.objects.values_list("action", flat=True)),
            "timeline": TimelineEvent.objects.count()}


@pytest.fixture
def subscriber(person, subscribe):
    return subscribe(person(email="reader@example.com", phone="09351234567", language="en"),
                     channels=("email", "sms"), topic_keys=("news",))


# --- nothing hands staff the links ---------------------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
def test_the_api_no_longer_hands_out_a_contacts_links(api_for, role, subscriber):
    api = api_for(role)
    before = snapshot()
    for url in (f"/api/v1/contacts/{subscriber.pk}/links",
                f"/api/v1/contacts/{subscriber.pk}/links?campaign=x"):
        response = api.get(url)
        assert response.status_code == 404
        assert not CONSENT_LINK.search(response.content.decode())
    assert snapshot() == before


@pytest.mark.parametrize("role", ROLES)
def test_no_staff_page_shows_the_links(client_for, role, subscriber):
    from peyvand.messaging.models import MessageTemplate

    template = MessageTemplate.objects.create(
        name="footer", language="en", subject="Hi",
        html='<p>Hi {{ first_name }}</p><a href="{{ preferences_url }}">prefs</a>'
             '<a href="{{ unsubscribe_url }}">leave</a>', message_class="marketing")
    client = client_for(role)
    for url in (f"/consent/contacts/{subscriber.pk}/", f"/contacts/{subscriber.pk}/",
                f"/messaging/templates/{template.pk}/preview/?contact={subscriber.pk}"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert not CONSENT_LINK.search(response.content.decode()), url
    preview = client.get(f"/messaging/templates/{template.pk}/preview/"
                         f"?contact={subscriber.pk}").content.decode()
    assert f"Hi {subscriber.first_name}" in preview  # the person's own data is shown …
    assert "example.com/p/x" in preview  # … with sample links in place of theirs


# --- mailing the person their link ---------------------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
def test_send_link_role_matrix_through_the_api(api_for, role, subscriber, deliver,
                                               django_capture_on_commit_callbacks):
    api = api_for(role)
    before = snapshot()
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/api/v1/contacts/{subscriber.pk}/consent/preference-link",
                            {}, content_type="application/json")
    if role not in SENDERS:
        assert response.status_code == 403
        assert snapshot() == before
        return
    assert response.status_code == 202
    assert response.json() == {"sent_to": "r•••@example.com"}
    assert not CONSENT_LINK.search(response.content.decode())
    [mail] = deliver()
    assert mail["To"].addresses[0].addr_spec == "reader@example.com"
    assert mail["Subject"] == "Your link to change what you receive from us"
    assert mail["List-Unsubscribe"] is None  # a reply to their request, not marketing
    assert CONSENT_LINK.search(body(mail))
    audit = AuditEntry.objects.get(action="consent.send_link")
    assert (audit.actor_label, audit.target_id, audit.via) == \
        (f"{role}-api", str(subscriber.pk), "api")
    assert "reader@example.com" not in str(audit.details) + audit.summary
    assert TimelineEvent.objects.filter(contact=subscriber, kind="consent.link_sent").exists()


@pytest.mark.parametrize("role", ROLES)
def test_send_link_role_matrix_in_the_web_page(client_for, role, subscriber):
    client = client_for(role)
    page = client.get(f"/consent/contacts/{subscriber.pk}/").content.decode()
    assert ('id="send-link"' in page) == (role in SENDERS)
    before = snapshot()
    response = client.post(f"/consent/contacts/{subscriber.pk}/send-link/")
    if role in SENDERS:
        assert response.status_code == 302
        assert LinkSent.objects.get(contact=subscriber).sent_by == f"{role}-en"
    else:
        assert response.status_code == 403
        assert snapshot() == before


def test_changes_through_a_link_staff_sent_name_the_person_and_the_sender(
        actor_for, client, subscriber, deliver, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        do_send_preference_link(actor_for("support"), subscriber)
    [mail] = deliver()
    url = urlsplit(CONSENT_LINK.search(body(mail)).group(0)).path
    client.post(url, {"op": "pause", "weeks": "2"})
    row = ConsentChange.objects.filter(contact=subscriber).last()
    assert (row.action, row.source, row.actor_label) == ("pause", "preferences", "contact")
    assert row.details["link"] == "preferences"
    assert (row.details["link_sent"], row.details["link_sent_by"]) == ("staff", "support-user")
    # A footer link from a message names no sender.
    client.post(urlsplit(links_for(subscriber.pk)["preferences"]).path, {"op": "resume"})
    row = ConsentChange.objects.filter(contact=subscriber).last()
    assert row.details == {"link": "preferences"}


def test_sending_the_link_is_refused_where_it_would_do_harm_or_nothing(actor_for, person,
                                                                        subscribe, owner_actor):
    from peyvand.consent.actions import record_complaint
    from peyvand.contacts.actions import do_erase_contact

    staff = actor_for("marketer")
    cases = {
        "no e-mail": subscribe(person(phone="09121111111"), channels=("sms",)),
        "complained": subscribe(person()),
        "nothing to manage": person(),
        "erased": subscribe(person()),
    }
    record_complaint(cases["complained"].pk, "email")
    do_erase_contact(owner_actor, cases["erased"])
    cases["erased"].refresh_from_db()
    for name, contact in cases.items():
        before = snapshot()
        with pytest.raises(ConsentRefused if name != "erased" else Exception):
            do_send_preference_link(staff, contact)
        assert snapshot() == before, name
    busy = subscribe(person())
    for _i in range(3):
        do_send_preference_link(staff, busy)
    with pytest.raises(ConsentRefused):
        do_send_preference_link(staff, busy)
    assert LinkSent.objects.filter(contact=busy).count() == 3


# --- who really made each change -----------------------------------------------------------------

def test_staff_changes_name_the_user_and_the_face(api_for, subscriber):
    api = api_for("support")
    response = api.post(f"/api/v1/contacts/{subscriber.pk}/consent",
                        {"action": "opt_out", "channel": "sms"}, content_type="application/json")
    assert response.status_code == 201
    row = ConsentChange.objects.filter(contact=subscriber).last()
    assert (row.source, row.actor_label, row.details["via"]) == ("staff", "support-api", "api")


def test_an_api_sign_up_with_a_token_names_its_user(client, api_for, signup_form, started):
    shop = api_for("marketer")
    url = "/api/v1/forms/spring/submit"
    data = {"email": "checkout@example.com", "topics": ["news"], "channels": ["email"],
            "started": started(signup_form), "language": "en"}
    response = shop.post(url, data, content_type="application/json")
    assert response.status_code == 202
    rows = ConsentChange.objects.filter(contact__identities__value="checkout@example.com")
    assert {(r.source, r.actor_label, r.form.slug) for r in rows} == \
        {("api", "marketer-api", "spring")}
    # Sent without a token it is a person's own form; a wrong token is refused, not ignored.
    before = ConsentChange.objects.count()
    response = client.post(url, {**data, "email": "bad@example.com"},
                           content_type="application/json",
                           headers={"authorization": "Bearer not-a-token"})
    assert response.status_code == 401
    assert ConsentChange.objects.count() == before


def test_a_confirmation_is_recorded_as_the_persons_own_act(person, signup_form):
    from peyvand.consent.actions import confirm_path, do_confirm_email
    from peyvand.consent.models import Signup

    contact = person()
    signup = Signup.objects.create(form=signup_form, contact=contact, nonce="n-1",
                                   incentive_kind="none", language="en", channels=["email"])
    ledger.append(contact, [Change(Action.OPT_IN, "email", None)], source=Source.FORM,
                  actor_label="form:spring", form=signup_form)
    token = confirm_path(signup).rstrip("/").split("/")[-1]
    do_confirm_email(token, ip="203.0.113.5")
    row = ConsentChange.objects.filter(contact=contact).last()
    assert (row.action, row.source, row.actor_label, row.details["link"]) == \
        ("confirm", "form", "contact", "confirm")


def test_staff_still_cannot_subscribe_through_the_staff_change(owner_actor, person):
    contact = person()
    with pytest.raises(ConsentRefused):
        do_staff_change(owner_actor, contact, {"action": "opt_in", "channel": "email"})
