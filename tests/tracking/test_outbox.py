"""Tracking against messaging's outbox, read lazily: contact, send time, Message-ID, source."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from peyvand.tracking.bounces import bounce_address, process_report
from peyvand.tracking.events import drain_spool
from peyvand.tracking.fastpath import wrap
from peyvand.tracking.links import click_url, open_pixel_url
from peyvand.tracking.models import TrackingEvent

from .helpers import call, environ
from .test_bounces import sample

outbox_models = pytest.importorskip("peyvand.messaging.models")
APP = wrap(lambda env, start: [])


def outbox(contact, source="broadcast:1", sent_ago=3600, header_id=""):
    return outbox_models.OutboxMessage.objects.create(
        source=source, contact=contact, channel="email", to_address="sara@example.com",
        message_class="marketing", state="sent", message_id=header_id,
        sent_at=timezone.now() - dt.timedelta(seconds=sent_ago))


def path(url: str) -> str:
    return "/t/" + url.split("/t/", 1)[1]


def test_links_take_the_contact_from_the_outbox(contact):
    message = outbox(contact)
    call(APP, environ(path(open_pixel_url(message.pk))))
    call(APP, environ(path(click_url(message.pk, "https://shop.example/", "tea"))))
    drain_spool()
    assert set(TrackingEvent.objects.values_list("contact_id", "machine")) == {
        (contact.pk, False)}
    assert bounce_address(message.pk) == bounce_address(message.pk, contact_id=contact.pk)


def test_a_hit_seconds_after_sending_is_a_machine(contact):
    message = outbox(contact, sent_ago=1)
    call(APP, environ(path(open_pixel_url(message.pk))))
    drain_spool()
    assert TrackingEvent.objects.get().machine_reason == "too-fast"


def test_dsn_without_verp_is_matched_by_message_id(contact):
    message = outbox(contact, header_id="<20240504.abc@shop.example>")
    report = process_report(sample("postfix_hard.eml", verp="postmaster@shop.example"))
    assert (report.message_id, report.contact_id) == (message.pk, contact.pk)
    message.refresh_from_db()
    assert message.state == "bounced" and message.smtp_reply.startswith("5.")


def test_source_stats(api_for, contact, other_contact):
    first, second = outbox(contact), outbox(other_contact)
    outbox(contact, source="broadcast:2")
    for message in (first, second):
        call(APP, environ(path(open_pixel_url(message.pk))))
    call(APP, environ(path(click_url(first.pk, "https://shop.example/", "tea"))))
    drain_spool()
    body = api_for("analyst").get("/api/v1/sources/broadcast:1/stats").json()
    assert (body["messages"], body["human_opened_messages"], body["clicked_messages"]) == (
        2, 2, 1)
    assert (body["human_open_rate"], body["click_rate"]) == (1.0, 0.5)
