"""Campaigns (issue 17): planned, checked, approved by the words shown, scheduled (now, at a
time, at a local hour), test-sent, cancelled; broadcasts made before became campaigns."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from peyvand.base.errors import Invalid
from peyvand.campaigns import actions, sending
from peyvand.campaigns.groups import sources_of
from peyvand.campaigns.models import Campaign, ShopDate
from peyvand.campaigns.words import words_digest
from peyvand.contacts.models import Tag
from peyvand.messaging.models import Broadcast, OutboxMessage
from peyvand.messaging.outbox import claim


@pytest.fixture
def shop(make_contact, template):
    """Three customers tagged "vip" who agreed to e-mail (Tehran, Berlin, New York), one who
    did not, and a marketing template."""
    people = [make_contact(first_name="Sara", tags=["vip"]),
              make_contact(first_name="Anna", tz="Europe/Berlin", language="en", tags=["vip"]),
              make_contact(first_name="John", tz="America/New_York", language="en",
                           tags=["vip"]),
              make_contact(first_name="Mina", tags=["vip"], opt_in=())]
    return {"people": people, "template": template("autumn"),
            "vip": Tag.objects.get(name="vip")}


def plan(actor, shop, **extra):
    raw = {"name": "Autumn sale", "audience": {"tags": [shop["vip"].pk]},
           "template": "autumn", **extra}
    return actions.do_save_campaign(actor, raw)


def test_a_plan_is_refused_naming_each_field(shop, actor_for, template):
    marketer = actor_for("marketer")
    template("receipt", message_class="transactional")
    template("sms-hello", channel="sms", text="سلام", html="", subject="")
    with pytest.raises(Invalid) as refused:
        actions.do_save_campaign(marketer, {"name": " ", "audience": {}, "template": "receipt",
                                            "attribution_days": 0})
    assert set(refused.value.errors) == {"name", "audience", "template", "attribution_days"}
    assert "marketing" in refused.value.errors["template"]
    with pytest.raises(Invalid) as refused:
        plan(marketer, shop, template="sms-hello")
    assert "another channel" in refused.value.errors["template"]
    with pytest.raises(Invalid) as refused:
        plan(marketer, shop, variants=[{"template": "autumn"}, {"template": "autumn"}],
             test_percent=80)
    assert set(refused.value.errors) == {"test_percent"}
    with pytest.raises(Invalid) as refused:
        plan(marketer, shop, schedule="at", send_at="yesterday")
    assert "send_at" in refused.value.errors
    assert not Campaign.objects.exists()


def test_planned_approved_by_the_words_shown_and_sent(shop, actor_for):
    marketer, reviewer = actor_for("marketer"), actor_for("reviewer")
    campaign = plan(marketer, shop)
    assert campaign.status == "draft" and campaign.variants.get().label == "A"
    with pytest.raises(Invalid):  # not submitted yet
        actions.do_approve(reviewer, campaign, words_digest(campaign))
    actions.do_submit(marketer, campaign)
    with pytest.raises(PermissionDenied):
        actions.do_approve(marketer, campaign, words_digest(campaign))
    shown = words_digest(campaign)
    template = shop["template"]
    template.subject = "Changed after the preview"
    template.save()
    with pytest.raises(Invalid) as refused:
        actions.do_approve(reviewer, campaign, shown)
    assert "changed" in refused.value.errors["digest"]
    campaign = actions.do_approve(reviewer, campaign, words_digest(campaign))
    assert campaign.status == "sending" and campaign.approved_by == "reviewer-user"
    variant = campaign.variants.get()
    assert variant.snapshot.subject == "Changed after the preview"
    rows = OutboxMessage.objects.filter(broadcast=variant.broadcast)
    # Every vip with an address is queued; the gate refuses Mina when the sender asks.
    assert rows.count() == 4 and {r.message_class for r in rows} == {"marketing"}
    assert campaign.audience["count"] == 4
    assert sources_of(campaign) == [f"broadcast:{variant.broadcast_id}"]
    template.subject = "Later still"
    template.save()
    variant.refresh_from_db()
    assert variant.snapshot.subject == "Changed after the preview"
    with pytest.raises(Invalid):  # approved: not changed any more
        actions.do_save_campaign(marketer, {"name": "Another"}, campaign)


def test_a_campaign_at_a_time_starts_when_due(shop, actor_for):
    owner = actor_for("owner")
    at = timezone.now() + dt.timedelta(days=2)
    campaign = plan(owner, shop)
    actions.do_schedule(owner, campaign, {"schedule": "at", "send_at": at.isoformat()})
    campaign.refresh_from_db()
    assert campaign.status == "awaiting_approval"
    campaign = actions.do_approve(owner, campaign, words_digest(campaign))
    assert campaign.status == "scheduled" and not OutboxMessage.objects.exists()
    assert sending.start_due(now=at - dt.timedelta(minutes=1)) == 0
    assert sending.start_due(now=at) == 1
    campaign.refresh_from_db()
    assert campaign.status == "sending"
    assert set(OutboxMessage.objects.values_list("next_attempt_at", flat=True)) == {at}


def test_a_local_hour_lands_in_each_contacts_hour(shop, actor_for):
    owner = actor_for("owner")
    day = timezone.localdate() + dt.timedelta(days=3)
    campaign = plan(owner, shop)
    actions.do_schedule(owner, campaign, {"schedule": "local_hour", "local_date":
                                          day.isoformat(), "local_hour": 10})
    campaign = actions.do_approve(owner, campaign, words_digest(campaign))
    assert campaign.status == "scheduled"
    # It starts before 10:00 comes anywhere (UTC+14 first): every message queued in time.
    starts = dt.datetime.combine(day, dt.time(10), tzinfo=dt.UTC) - sending.LOCAL_LEAD
    assert sending.start_due(now=starts - dt.timedelta(minutes=1)) == 0
    assert sending.start_due(now=starts) == 1
    for row in OutboxMessage.objects.select_related("contact"):
        local = row.next_attempt_at.astimezone(ZoneInfo(row.contact.timezone))
        assert (local.date(), local.hour, local.minute) == (day, 10, 0), row.contact.timezone
    assert len({r.next_attempt_at for r in OutboxMessage.objects.all()}) == 3


def test_a_quiet_day_blocks_it_unless_the_owner_sends_anyway(shop, actor_for):
    owner, reviewer = actor_for("owner"), actor_for("reviewer")
    day = timezone.localdate() + dt.timedelta(days=5)
    ShopDate.objects.create(name="Stocktaking", date=day, quiet=True)
    campaign = plan(owner, shop)
    actions.do_schedule(owner, campaign, {"schedule": "local_hour", "local_date":
                                          day.isoformat(), "local_hour": 9})
    with pytest.raises(Invalid) as refused:
        actions.do_approve(reviewer, campaign, words_digest(campaign),
                           quiet_override=True)  # not the reviewer's call
    assert "Stocktaking" in refused.value.errors["schedule"]
    campaign = actions.do_approve(owner, campaign, words_digest(campaign),
                                  quiet_override=True)
    assert campaign.status == "scheduled" and campaign.quiet_override


def test_a_test_send_is_marked_and_never_reported(shop, actor_for):
    marketer = actor_for("marketer")
    campaign = plan(marketer, shop)
    seed = shop["people"][0]
    row = sending.do_test_send(marketer, campaign, [seed.pk])
    assert row.recipients == 1
    broadcast = row.broadcast
    assert broadcast.is_test and broadcast.snapshot.subject.startswith("[آزمایشی] ")
    assert list(broadcast.messages.values_list("contact_id", flat=True)) == [seed.pk]
    assert sources_of(campaign) == []  # nothing of the test is the campaign's
    with pytest.raises(Invalid) as refused:
        sending.do_test_send(marketer, campaign)  # the marketer is no contact
    assert "contacts" in refused.value.errors


def test_cancelling_stops_what_has_not_left(shop, actor_for):
    owner = actor_for("owner")
    campaign = plan(owner, shop)
    actions.do_submit(owner, campaign)
    actions.do_approve(owner, campaign, words_digest(campaign))
    assert actions.do_cancel(owner, campaign) == 4
    assert set(OutboxMessage.objects.values_list("state", flat=True)) == {"cancelled"}
    assert claim("test", 10) == []
    campaign.refresh_from_db()
    assert campaign.status == "cancelled"
    assert Broadcast.objects.get().status == "cancelled"
    with pytest.raises(Invalid):
        actions.do_cancel(owner, campaign)


def test_an_ab_split_is_random_recorded_and_stable(make_contact, template, actor_for):
    from peyvand.campaigns.models import Recipient

    owner = actor_for("owner")
    for i in range(200):
        make_contact(first_name=f"P{i}", tags=["all"])
    template("a")
    template("b", subject="Another subject")
    campaign = actions.do_save_campaign(owner, {
        "name": "Subject test", "audience": {"tags": [Tag.objects.get(name="all").pk]},
        "variants": [{"template": "a"}, {"template": "b"}], "test_percent": 40})
    actions.do_submit(owner, campaign)
    campaign = actions.do_approve(owner, campaign, words_digest(campaign))
    assert campaign.status == "testing" and campaign.decide_at is not None
    a, b = campaign.variants.order_by("label")
    in_a = set(Recipient.objects.filter(variant=a).values_list("contact_id", flat=True))
    in_b = set(Recipient.objects.filter(variant=b).values_list("contact_id", flat=True))
    rest = set(Recipient.objects.filter(campaign=campaign, variant__isnull=True)
               .values_list("contact_id", flat=True))
    assert len(in_a | in_b | rest) == 200 and not (in_a & in_b)
    assert 50 <= len(in_a | in_b) <= 110  # 40% of 200, drawn at random
    assert set(a.broadcast.messages.values_list("contact_id", flat=True)) == in_a
    assert set(b.broadcast.messages.values_list("contact_id", flat=True)) == in_b
    from peyvand.campaigns.ab import group_of

    assert all(group_of(f"campaign:{campaign.pk}", pk, 0.4, 2) == 0 for pk in in_a)


def test_broadcasts_made_before_became_campaigns(shop, actor_for):
    from django.apps import apps

    from peyvand.messaging.actions import do_create_broadcast

    owner, marketer = actor_for("owner"), actor_for("marketer")
    sent = do_create_broadcast(owner, "autumn", "vip")
    waiting = do_create_broadcast(marketer, "autumn", "vip")
    Campaign.objects.all().delete()
    migration = __import__("peyvand.campaigns.migrations.0002_broadcasts_become_campaigns",
                           fromlist=["forwards"])
    migration.forwards(apps, None)
    migration.forwards(apps, None)  # twice: nothing doubled
    by_broadcast = {c.variants.get().broadcast_id: c for c in Campaign.objects.all()}
    assert set(by_broadcast) == {sent.pk, waiting.pk}
    assert by_broadcast[sent.pk].status == "sending"
    assert by_broadcast[waiting.pk].status == "awaiting_approval"
    assert by_broadcast[sent.pk].name == "autumn → vip"
    assert by_broadcast[sent.pk].created_at == sent.created_at
    assert OutboxMessage.objects.filter(broadcast=sent).count() == 4  # nothing lost


def test_a_broadcast_made_the_older_way_is_a_campaign_that_follows_it(shop, actor_for):
    from peyvand.campaigns.adopted import follow_broadcasts
    from peyvand.messaging.actions import do_approve_broadcast, do_create_broadcast
    from peyvand.messaging.content import content_digest

    owner, marketer, reviewer = actor_for("owner"), actor_for("marketer"), actor_for("reviewer")
    at_once = do_create_broadcast(owner, "autumn", "vip")
    waiting = do_create_broadcast(marketer, "autumn", "vip")
    by_broadcast = {c.variants.get().broadcast_id: c for c in Campaign.objects.all()}
    assert by_broadcast[at_once.pk].status == "sending"
    adopted = by_broadcast[waiting.pk]
    assert adopted.status == "awaiting_approval" and adopted.name == "autumn → vip"
    for refused in (lambda: actions.do_approve(owner, adopted, words_digest(adopted)),
                    lambda: actions.do_save_campaign(owner, {"name": "x"}, adopted),
                    lambda: actions.do_schedule(owner, adopted, {"schedule": "now"})):
        with pytest.raises(Invalid) as said:
            refused()
        assert "broadcast page" in said.value.errors["status"]
    do_approve_broadcast(reviewer, waiting, content_digest(waiting.template))
    assert follow_broadcasts() == 1
    adopted.refresh_from_db()
    assert adopted.status == "sending" and adopted.approved_by == "reviewer-user"
    assert sending.start_due() == 0  # never a second broadcast
    assert Broadcast.objects.count() == 2
    assert sources_of(adopted) == [f"broadcast:{waiting.pk}"]


def test_an_sms_campaign_shows_its_parts_and_cost(make_contact, template, actor_for,
                                                  settings):
    from peyvand.campaigns.queries import check_before_send

    settings.PEYVAND_SMS_PART_PRICE = 1_250  # rial per part
    owner = actor_for("owner")
    for i in range(3):
        make_contact(first_name=f"P{i}", email=None, phone=f"0912123450{i}", opt_in=("sms",),
                     tags=["sms"])
    template("sms-sale", channel="sms", subject="", html="",
             text="حراج پاییزه تا جمعه: https://shop.example/sale")
    campaign = actions.do_save_campaign(owner, {
        "name": "SMS sale", "channel": "sms", "template": "sms-sale",
        "audience": {"tags": [Tag.objects.get(name="sms").pk]}})
    check = check_before_send(owner, campaign)
    assert check["count"] == 3 and check["will_send"] == 3
    sms = check["sms"]
    # Persian: UCS-2, 70 characters a part; the link shortened and «لغو ۱۱» added.
    assert sms["encoding"] == "ucs2" and sms["parts"] == 1 and sms["messages"] == 3
    assert sms["cost"] == 3 * 1 * 1_250
    long_text = "حراج " * 30
    template("sms-long", channel="sms", subject="", html="", text=long_text)
    campaign = actions.do_save_campaign(owner, {"template": "sms-long"}, campaign)
    assert check_before_send(owner, campaign)["sms"]["parts"] == 3
