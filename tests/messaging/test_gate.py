"""The OutboundGate: consent, caps (F1), spacing (F2), content caps (F3), quiet hours (F6)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from peyvand.messaging.gate import ALLOW, DEFER, DENY, check_outbound
from peyvand.messaging.models import OutboxMessage, StrategyRule

TEHRAN = ZoneInfo("Asia/Tehran")


@pytest.fixture(autouse=True)
def _no_default_rules(db):
    StrategyRule.objects.all().delete()


def sent(contact, at, channel="email", content_type="", state="sent", source=None):
    n = OutboxMessage.objects.count()
    return OutboxMessage.objects.create(
        source=source or f"test:{n}", contact=contact, channel=channel,
        to_address="x@example.com", message_class="marketing", content_type=content_type,
        state=state, sent_at=at if state in ("sent", "bounced") else None)


def rule(**kw):
    return StrategyRule.objects.create(**kw)


def test_no_consent_is_denied_and_consent_allows(make_contact):
    without = make_contact(opt_in=())
    with_consent = make_contact()
    d = check_outbound(without.pk, "email", topic=None, message_class="marketing")
    assert (d.verdict, d.reason) == (DENY, "no_consent")
    assert "consent" in d.text
    assert check_outbound(with_consent.pk, "email", topic=None,
                          message_class="marketing").verdict == ALLOW


def test_suppressed_contact_is_denied(make_contact):
    from peyvand.consent.actions import record_bounce

    contact = make_contact()
    record_bounce(contact.pk, "email", True)
    d = check_outbound(contact.pk, "email", topic=None, message_class="marketing")
    assert (d.verdict, d.reason) == (DENY, "hard_bounce")
    # a transactional message skips caps but never this: the address is dead
    d = check_outbound(contact.pk, "email", topic="transactional", message_class="transactional")
    assert (d.verdict, d.reason) == (DENY, "hard_bounce")


def test_cap_per_channel_counts_only_sent_messages(make_contact):
    contact = make_contact()
    now = timezone.now()
    rule(kind="cap", channel="email", max_count=2, period_hours=24)
    sent(contact, now - dt.timedelta(hours=5))
    sent(contact, now, state="queued")  # not sent: does not count
    sent(contact, now, state="failed")  # refused: sent_at None, does not count
    assert check_outbound(contact.pk, "email", topic=None, message_class="marketing",
                          at=now).verdict == ALLOW
    sent(contact, now - dt.timedelta(hours=1))
    d = check_outbound(contact.pk, "email", topic=None, message_class="marketing", at=now)
    assert (d.verdict, d.reason) == (DEFER, "cap")
    # the oldest of the two leaves the 24 h window 19 h from now
    assert d.until == now - dt.timedelta(hours=5) + dt.timedelta(hours=24)
    # the cap is on e-mail only: SMS is free
    from tests.messaging.conftest import opt

    opt(contact.pk, "sms")
    assert check_outbound(contact.pk, "sms", topic=None, message_class="marketing",
                          at=now.replace(hour=9, minute=0).astimezone(TEHRAN)
                          ).verdict == ALLOW


def test_overall_cap_counts_every_channel(make_contact):
    contact = make_contact()
    now = timezone.now()
    rule(kind="cap", channel="", max_count=2, period_hours=168)
    sent(contact, now - dt.timedelta(days=2), channel="sms")
    sent(contact, now - dt.timedelta(days=1), channel="email")
    d = check_outbound(contact.pk, "email", topic=None, message_class="marketing", at=now)
    assert d.verdict == DEFER and d.reason == "cap"
    assert d.until == now - dt.timedelta(days=2) + dt.timedelta(days=7)


def test_transactional_skips_caps_spacing_and_quiet_hours(make_contact):
    contact = make_contact(opt_in=())  # no marketing consent needed for a receipt
    now = timezone.now()
    rule(kind="cap", channel="", max_count=1, period_hours=24)
    rule(kind="spacing", channel="", spacing_minutes=600)
    sent(contact, now - dt.timedelta(minutes=1))
    d = check_outbound(contact.pk, "email", topic="transactional",
                       message_class="transactional", at=now)
    assert (d.verdict, d.reason) == (ALLOW, "transactional")


def test_spacing_applies_across_channels(make_contact):
    contact = make_contact(opt_in=("email", "sms"), phone="09121234567")
    noon = dt.datetime(2026, 5, 1, 12, 0, tzinfo=TEHRAN)
    rule(kind="spacing", channel="", spacing_minutes=240)
    sent(contact, noon - dt.timedelta(hours=1), channel="sms")
    d = check_outbound(contact.pk, "email", topic=None, message_class="marketing", at=noon)
    assert (d.verdict, d.reason) == (DEFER, "spacing")
    assert d.until == noon + dt.timedelta(hours=3)
    later = noon + dt.timedelta(hours=3, minutes=1)
    assert check_outbound(contact.pk, "email", topic=None, message_class="marketing",
                          at=later).verdict == ALLOW


def test_content_cap_limits_one_offer_type_only(make_contact):
    contact = make_contact()
    now = timezone.now()
    rule(kind="content_cap", channel="", content_type="discount", max_count=1, period_hours=72)
    sent(contact, now - dt.timedelta(hours=10), content_type="discount")
    d = check_outbound(contact.pk, "email", topic=None, message_class="marketing",
                       content_type="discount", at=now)
    assert (d.verdict, d.reason) == (DEFER, "content_cap")
    assert check_outbound(contact.pk, "email", topic=None, message_class="marketing",
                          content_type="news", at=now).verdict == ALLOW


@pytest.mark.parametrize(("local", "expect_until"), [
    (dt.datetime(2026, 5, 1, 23, 30), dt.datetime(2026, 5, 2, 8, 0)),  # before midnight
    (dt.datetime(2026, 5, 2, 3, 0), dt.datetime(2026, 5, 2, 8, 0)),  # after midnight
    (dt.datetime(2026, 5, 2, 22, 0), dt.datetime(2026, 5, 3, 8, 0)),  # the first quiet minute
    (dt.datetime(2026, 5, 2, 8, 0), None),  # the first loud minute
    (dt.datetime(2026, 5, 2, 21, 59), None),
])
def test_default_sms_quiet_hours_across_midnight(make_contact, local, expect_until):
    import importlib

    from django.apps import apps

    # the migration's default: SMS 22:00-08:00 in the contact's zone
    importlib.import_module("peyvand.messaging.migrations.0002_default_quiet_hours") \
        .add_default(apps, None)
    assert StrategyRule.objects.filter(kind="quiet", channel="sms").count() == 1
    contact = make_contact(opt_in=("sms",), phone="09121234567")
    at = local.replace(tzinfo=TEHRAN)
    d = check_outbound(contact.pk, "sms", topic=None, message_class="marketing", at=at)
    if expect_until is None:
        assert d.verdict == ALLOW
    else:
        assert (d.verdict, d.reason) == (DEFER, "quiet_hours")
        assert d.until == expect_until.replace(tzinfo=TEHRAN)
    # e-mail has no quiet hours by default
    assert check_outbound(contact.pk, "email", topic=None, message_class="marketing",
                          at=at).verdict in (ALLOW, DENY)


def test_quiet_hours_use_the_contacts_time_zone(make_contact):
    rule(kind="quiet", channel="sms", quiet_start=dt.time(22), quiet_end=dt.time(8))
    berlin = make_contact(opt_in=("sms",), phone="+4915112345678", tz="Europe/Berlin")
    tehran = make_contact(opt_in=("sms",), phone="09121234568")
    # 23:00 in Tehran is 21:30 in Berlin (summer: UTC+3:30 vs UTC+2)
    at = dt.datetime(2026, 6, 1, 23, 0, tzinfo=TEHRAN)
    assert check_outbound(berlin.pk, "sms", topic=None, message_class="marketing",
                          at=at).verdict == ALLOW
    d = check_outbound(tehran.pk, "sms", topic=None, message_class="marketing", at=at)
    assert d.verdict == DEFER and d.until == dt.datetime(2026, 6, 2, 8, 0, tzinfo=TEHRAN)
    late = dt.datetime(2026, 6, 2, 1, 0, tzinfo=TEHRAN)  # 23:30 in Berlin
    d = check_outbound(berlin.pk, "sms", topic=None, message_class="marketing", at=late)
    assert d.until == dt.datetime(2026, 6, 2, 8, 0, tzinfo=ZoneInfo("Europe/Berlin"))


def test_cap_that_ends_in_quiet_hours_waits_for_morning(make_contact):
    contact = make_contact(opt_in=("sms",), phone="09121234567")
    rule(kind="quiet", channel="sms", quiet_start=dt.time(22), quiet_end=dt.time(8))
    rule(kind="cap", channel="sms", max_count=1, period_hours=12)
    at = dt.datetime(2026, 5, 1, 12, 0, tzinfo=TEHRAN)
    sent(contact, dt.datetime(2026, 5, 1, 11, 0, tzinfo=TEHRAN), channel="sms")
    d = check_outbound(contact.pk, "sms", topic=None, message_class="marketing", at=at)
    # the cap frees the contact at 23:00, inside quiet hours: the answer is 08:00 next day
    assert d.verdict == DEFER and d.reason == "cap"
    assert d.until == dt.datetime(2026, 5, 2, 8, 0, tzinfo=TEHRAN)


def test_topic_consent_is_checked(make_contact):
    from peyvand.consent.models import Topic
    from tests.messaging.conftest import opt

    news = Topic.objects.create(key="mnews", name_fa="خبر", name_en="News")
    offers = Topic.objects.create(key="moffers", name_fa="پیشنهاد", name_en="Offers")
    contact = make_contact()
    opt(contact.pk, "email", topic_id=news.pk)
    assert check_outbound(contact.pk, "email", topic="mnews",
                          message_class="marketing").verdict == ALLOW
    d = check_outbound(contact.pk, "email", topic=offers.key, message_class="marketing")
    assert (d.verdict, d.reason) == (DENY, "topic_not_chosen")


def test_active_rules_are_read_fresh_as_the_orm_reads_them(django_assert_num_queries):
    from peyvand.messaging.strategy import active_rules

    def fields(rules):
        return [{f.attname: getattr(r, f.attname) for f in StrategyRule._meta.concrete_fields}
                for r in rules]

    assert active_rules() == []
    quiet = rule(kind="quiet", channel="sms", quiet_start=dt.time(22), quiet_end=dt.time(8))
    cap = rule(kind="cap", channel="", max_count=2, period_hours=24)
    rule(kind="spacing", spacing_minutes=5, active=False)
    with django_assert_num_queries(1):
        rules = active_rules()
    assert fields(rules) == fields(StrategyRule.objects.filter(active=True))
    assert [r.pk for r in rules] == [cap.pk, quiet.pk]  # the model's ordering
    assert isinstance(rules[0], StrategyRule) and rules[1].quiet_start == dt.time(22)
    cap.delete()  # an edit shows at once, not after a cache expires
    assert [r.pk for r in active_rules()] == [quiet.pk]
