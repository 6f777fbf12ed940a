"""Tracking plugs into messaging at start-up; without it messages go out plain."""

from __future__ import annotations

import email
import email.policy

import pytest

from peyvand.messaging import outbox
from peyvand.messaging import tracker as tracker_module
from peyvand.messaging.actions import do_create_broadcast
from peyvand.messaging.channels.sms import catcher
from peyvand.messaging.models import OutboxMessage, StrategyRule
from peyvand.messaging.sender import Sender
from peyvand.messaging.smtp import SmtpConfig

CONFIG = SmtpConfig(host="127.0.0.1", port=9, from_address="news@shop.example",
                    from_name="Shop", connections=1)
LINK = '<p><a href="https://shop.example/tea">Tea</a></p>'


def built_jobs(make_contact, template, owner_actor):
    StrategyRule.objects.all().delete()
    make_contact("sara@example.com", tags=["tea"])
    do_create_broadcast(owner_actor, template("tea", html=LINK + "</body>"), "tea")
    sender = Sender(config=CONFIG)
    return sender._prepare(outbox.claim(sender.worker, 10))


def html_of(data: bytes) -> str:
    message = email.message_from_bytes(data, policy=email.policy.default)
    return message.get_body(("html",)).get_content()


def test_tracking_registers_its_tracker_and_sms_stores():
    from peyvand.tracking.actions import record_sms
    from peyvand.tracking.bounces import bounce_address
    from peyvand.tracking.links import open_pixel_url, rewrite_links

    assert tracker_module.REGISTERED == ["peyvand.tracking.follow.TRACKER"]
    used = tracker_module.tracker()
    assert used is not tracker_module.PLAIN
    assert (used.rewrite_links, used.open_pixel_url, used.bounce_address, used.sms_sent) == (
        rewrite_links, open_pixel_url, bounce_address, record_sms)
    assert "tracking.CatcherSms" in catcher.STORES["fallback"]
    assert catcher.STORES["preferred"] == ["mailcatcher.CaughtSms"]


def test_with_tracking_links_pixel_and_return_path_are_tracked(make_contact, template,
                                                               owner_actor):
    [job] = built_jobs(make_contact, template, owner_actor)
    html = html_of(job.data)
    assert 'href="https://shop.example/tea"' not in html and "/t/" in html
    assert 'width="1" height="1"' in html
    assert job.envelope_from != CONFIG.from_address


def test_without_tracking_the_plain_default_applies(make_contact, template, owner_actor,
                                                    monkeypatch):
    monkeypatch.setattr(tracker_module, "REGISTERED", [])
    assert tracker_module.tracker() is tracker_module.PLAIN
    [job] = built_jobs(make_contact, template, owner_actor)
    html = html_of(job.data)
    assert 'href="https://shop.example/tea"' in html and "/t/" not in html
    assert 'width="1" height="1"' not in html
    assert job.envelope_from == CONFIG.from_address


@pytest.mark.parametrize("registered", [True, False])
def test_an_sms_is_followed_only_with_tracking(make_contact, template, owner_actor,
                                               monkeypatch, settings, registered):
    from peyvand.mailcatcher.models import CaughtSms
    from peyvand.tracking.models import SmsSend

    if not registered:
        monkeypatch.setattr(tracker_module, "REGISTERED", [])
    settings.PEYVAND_SMS_URL = "catcher://"
    StrategyRule.objects.all().delete()
    make_contact(phone="09121234567", opt_in=("sms",), tags=["club"])
    sms = template("sms", channel="sms", subject="", html="", text="Hello")
    do_create_broadcast(owner_actor, sms, "club")
    assert Sender(config=CONFIG).run().sent == 1
    row = OutboxMessage.objects.get()
    assert row.smtp_reply == f"catcher c{CaughtSms.objects.get().pk}"
    assert SmsSend.objects.filter(message_id=row.pk).exists() == registered
