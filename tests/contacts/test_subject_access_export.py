"""The subject-access export holds everything kept about the person: their own data, then
each floor's section (orders, carts, consent ledger with IP and browser, sign-ups, messages,
tracking events, interests, insight figures), the same through the UI, the API and the CLI."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from peyvand.base.models import AuditEntry
from peyvand.contacts.actions import do_export_contact
from peyvand.contacts.hooks import EXPORT_HOOKS
from peyvand.contacts.models import Contact
from peyvand.insights.actions import refresh_all

from .everywhere import ADDRESS, MOBILE, NATIONAL_ID, OLD_ADDRESS

pytestmark = pytest.mark.django_db

SECTIONS = {"orders", "carts", "consent", "signups", "messages", "tracking_events",
            "interests", "sms_sends", "bounces", "insights", "timeline", "notes"}


@pytest.fixture
def exported(owner_actor, everywhere_person):
    refresh_all(owner_actor)  # RFM, tiers, ladder, lifetime value, purchase cycle
    return do_export_contact(owner_actor, Contact.objects.get(pk=everywhere_person.contact_id))


def test_every_section_is_there_and_json(exported):
    assert set(exported) >= SECTIONS
    assert json.loads(json.dumps(exported, ensure_ascii=False)) == exported


def test_their_own_data(exported):
    assert exported["emails"] == [ADDRESS, OLD_ADDRESS]
    assert exported["phones"] == [MOBILE] and exported["national_id"] == NATIONAL_ID
    assert exported["fields"] == {"city": "Tabriz"}
    assert set(exported["tags"]) == {"vip", "news"}
    assert [n["body"] for n in exported["notes"]] == [f"Called from {MOBILE} about {ADDRESS}"]


def test_orders_with_lines_and_refunds_and_carts(exported):
    orders = {o["number"]: o for o in exported["orders"]}
    assert set(orders) == {"E-1", "901"}
    pos = orders["E-1"]
    assert (pos["source"], pos["currency"], pos["status"]) == ("pos", "IRR", "completed")
    assert pos["lines"] == [{"sku": "MUG-1", "name": "Mug", "quantity": 2,
                             "unit_price": 2_500_000, "line_total": 5_000_000}]
    assert pos["total"] == 5_000_000 and pos["refunded"] == 2_500_000
    assert [(r["amount"], r["reason"]) for r in pos["refunds"]] == [
        (2_500_000, f"asked by {ADDRESS}")]
    assert orders["901"]["source"] == "woocommerce:myshop"
    assert [line["sku"] for line in orders["901"]["lines"]] == ["TEE-1"]
    [cart] = exported["carts"]
    assert (cart["external_id"], cart["status"], cart["total"]) == ("C-1", "abandoned",
                                                                    10_000_000)
    assert [line["sku"] for line in cart["lines"]] == ["TEE-1"]


def test_consent_ledger_with_ip_and_browser_and_signups(exported):
    history = exported["consent"]["history"]
    signed_up = [h for h in history if h["source"] == "form" and h["action"] == "opt_in"]
    assert signed_up and all(h["ip"] == "203.0.113.77" and h["user_agent"] == "ErasaBrowser/1.0"
                             and h["form"] == "spring" and h["text"] for h in signed_up)
    confirmed = [h for h in history if h["action"] == "confirm" and h["channel"] == "email"]
    assert [h["ip"] for h in confirmed] == ["203.0.113.78"]
    bounced = [h for h in history if h["source"] == "bounce"]
    assert bounced and bounced[0]["details"]["reason"] == "hard_bounce"
    current = {(c["channel"], c["topic"]): c["status"] for c in exported["consent"]["current"]}
    assert current[("email", None)] == "out" and current[("sms", None)] == "in"
    [signup] = exported["signups"]
    assert (signup["form"], signup["ip"], signup["channels"], signup["topics"]) == (
        "spring", "203.0.113.77", ["email"], ["news"])
    assert signup["confirmed_at"] is not None


def test_messages_what_when_and_how_they_ended(exported):
    assert [(m["channel"], m["template"], m["state"]) for m in exported["messages"]] == [
        ("email", None, "sent"), ("email", "hello", "sent"), ("sms", "sms", "sent")]
    email = next(m for m in exported["messages"] if m["template"] == "hello")
    assert (email["to_address"], email["channel"], email["state"]) == (ADDRESS, "email", "sent")
    assert email["sent_at"] and email["message_class"] == "marketing"
    # The words they received: the approved snapshot rendered with the data it was sent with.
    assert email["subject"] == f"Hi {exported['first_name']}"
    assert "unsubscribe" in email["body_text"].lower()
    confirmation = next(m for m in exported["messages"] if m["message_class"] == "confirmation")
    assert confirmation["subject"] and "/consent/c/" in confirmation["body_text"]
    sms = next(m for m in exported["messages"] if m["channel"] == "sms")
    assert (sms["to_address"], sms["state"]) == (MOBILE, "sent")
    [sent_sms] = exported["sms_sends"]
    assert (sent_sms["to"], sent_sms["gateway"]) == (MOBILE, "catcher")


def test_tracking_events_interests_and_bounces(exported):
    opened, clicked = exported["tracking_events"]
    assert (opened["kind"], opened["reader"], opened["machine"]) == ("open", "browser", False)
    assert (clicked["kind"], clicked["url"], clicked["topic"]) == (
        "click", f"https://shop.example/account?u={ADDRESS}", "account")
    assert [i["topic"] for i in exported["interests"]] == ["account"]
    assert exported["interests"][0]["score"] > 0
    [bounce] = exported["bounces"]
    assert (bounce["recipient"], bounce["status"], bounce["kind"]) == (ADDRESS, "5.1.1", "hard")


def test_insight_figures(exported):
    figures = exported["insights"]["figures"]
    assert figures["order_count"] == 2, (figures, exported["orders"])
    assert figures["net_revenue"] == 5_000_000 - 2_500_000 + \
        10_000_000
    for name in ("r_score", "f_score", "m_score", "rfm_segment", "value_tier", "ladder_stage",
                 "predicted_value", "p_alive", "expected_purchases", "cycle_days",
                 "next_due_date", "due_status", "engagement_score"):
        assert name in figures, name
    assert figures["rfm_segment"] and figures["value_tier"] and figures["ladder_stage"]
    assert [t["tier"] for t in exported["insights"]["tier_history"]] == [figures["value_tier"]]


def test_timeline_is_whole(exported):
    kinds = {e["kind"] for e in exported["timeline"]}
    assert {"contact.created", "contact.merged", "note.added", "order.placed",
            "consent.opt_in", "message.sent", "message.opened", "message.clicked",
            "message.bounced"} <= kinds
    clicked = next(e for e in exported["timeline"] if e["kind"] == "message.clicked")
    assert "account" in clicked["data"]["url"]


def test_every_floor_contributes_through_the_registry():
    """contacts imports no floor above it: each registers its own section."""
    names = {hook.__module__ for hook in EXPORT_HOOKS}
    assert names == {"peyvand.commerce.personal_data", "peyvand.consent.personal_data",
                     "peyvand.messaging.personal_data", "peyvand.tracking.personal_data",
                     "peyvand.insights.personal_data", "peyvand.audiences.personal_data",
                     "peyvand.support.personal_data"}


def test_ui_api_and_cli_give_the_same_export(owner_actor, everywhere_person, tmp_path):
    from peyvand.accounts.actions import do_create_token
    from peyvand.base.actor import Actor
    from peyvand.cli import main

    pk = everywhere_person.contact_id
    client = Client()
    client.force_login(owner_actor.user)
    ui = json.loads(client.post(f"/contacts/{pk}/export/").content)
    key = do_create_token(Actor.system("test"), owner_actor.user, "tests")
    api = Client(headers={"authorization": f"Bearer {key}"}) \
        .get(f"/api/v1/contacts/{pk}/export").json()
    out = tmp_path / "person.json"
    assert main(["contacts", "export", "--contact", str(pk), "--format", "json",
                 "--output", str(out), "--as", "owner"]) == 0
    cli = json.loads(out.read_text(encoding="utf-8"))
    for data in (ui, api, cli):
        assert set(data) >= SECTIONS
        assert data["orders"] == ui["orders"] and data["consent"]["history"] == \
            ui["consent"]["history"]
    assert AuditEntry.objects.filter(action="contact.export", target_id=str(pk)).count() == 3
