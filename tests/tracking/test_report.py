"""The campaign report: every number of a small constructed campaign compared with a hand
recount over its rows (outbox, events, bounce reports, SMS sends, the consent ledger,
orders), for one sending, another on SMS, and both together."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter

import pytest

from peyvand.commerce.models import NOT_REVENUE, Order
from peyvand.consent.actions import do_unsubscribe
from peyvand.consent.models import Action, ConsentChange, Source
from peyvand.contacts.models import Contact
from peyvand.insights.models import CustomerMetrics
from peyvand.messaging.models import OutboxMessage
from peyvand.tracking.models import BounceReport, SmsSend, TrackingEvent
from peyvand.tracking.report import breakdown, report_csv, source_report

from .report_data import APPLE_PROXY, SCANNER, T0, drain, hit, message, minutes, person
from .test_attribution import order

pytestmark = pytest.mark.django_db
MAIL, SMS = "broadcast:1", "broadcast:3"
HUMAN_OPEN, HUMAN_CLICK = ("open", False), ("click", False)


@pytest.fixture
def campaign():
    """Eight people get the e-mail, three the SMS; opens, clicks, bounces, a complaint,
    unsubscribes, orders, tiers."""
    people = [person(f"P{i}", zone="Europe/London" if i % 3 == 0 else "Asia/Tehran")
              for i in range(8)]
    mail = [message(p, MAIL, state=state) for p, state in zip(people, [
        "sent", "sent", "sent", "sent", "bounced", "sent", "failed", "queued"], strict=True)]
    texts = [message(p, SMS, channel="sms", state="sent") for p in people[:3]]
    for sms, status in zip(texts, ["delivered", "failed", "delivered"], strict=True):
        SmsSend.objects.create(gateway="catcher", provider_id=f"x{sms.pk}", to="0912",
                               contact_id=sms.contact_id, message_id=sms.pk, status=status)
    tea, cake = "https://shop.example/tea", "https://shop.example/cake"
    drain(hit("open", mail[0], minutes(0)), hit("open", mail[0], minutes(70)),
          hit("open", mail[1], minutes(1), ua=APPLE_PROXY),
          hit("open", mail[2], minutes(2), ua=APPLE_PROXY), hit("open", mail[2], minutes(200)),
          hit("open", mail[3], minutes(3)),
          hit("click", mail[0], minutes(4), url=tea), hit("click", mail[0], minutes(5), url=cake),
          hit("click", mail[3], minutes(6), url=tea), hit("click", mail[3], minutes(7), url=tea),
          hit("click", mail[5], minutes(8), url=cake, ua=SCANNER),
          hit("click", texts[1], minutes(9), url=tea))
    K = BounceReport.Kind
    for msg, kind in [(mail[4], K.HARD), (mail[4], K.SOFT), (mail[5], K.SOFT),
                      (mail[1], K.COMPLAINT), (mail[1], K.COMPLAINT), (mail[3], K.DELAYED)]:
        BounceReport.objects.create(kind=kind, message_id=msg.pk, contact_id=msg.contact_id)
    do_unsubscribe(people[1], None, reason="too_many", campaign=MAIL)  # both channels
    do_unsubscribe(people[2], ["email"], source=Source.ONE_CLICK, campaign=MAIL)
    do_unsubscribe(people[3], ["email"], reason="other", campaign="broadcast:99")
    day = dt.timedelta(days=1)
    order(people[0], T0 + day, total=12_000)
    order(people[0], T0 + 2 * day, total=30, currency="USD")
    order(people[3], T0 + day, total=5_000, status=Order.Status.CANCELLED)
    order(people[3], T0 + 3 * day, total=7_000)
    order(texts[1].contact, T0 + 10 * day, total=9)  # long after the window
    for p, tier, rung in [(people[0], "most_valuable", "client"), (people[3], "rest", "customer"),
                          (people[5], "rest", "customer")]:
        CustomerMetrics.objects.create(contact=p, as_of=T0.date(), value_tier=tier,
                                       ladder_stage=rung)
    return people


def hand(sources: list[str]) -> dict:
    """The report's numbers, recounted in Python from every row."""
    msgs = {m.pk: m for m in OutboxMessage.objects.all() if m.source in sources}
    hits = [e for e in TrackingEvent.objects.order_by("at", "id") if e.message_id in msgs]
    human = Counter((e.kind, e.machine) for e in hits)
    opened = {e.message_id for e in hits if (e.kind, e.machine) == HUMAN_OPEN}
    any_open = {e.message_id for e in hits if e.kind == "open"}
    reports = [b for b in BounceReport.objects.all() if b.message_id in msgs]
    hard = {b.message_id for b in reports if b.kind == "hard"}
    soft = {b.message_id for b in reports if b.kind == "soft"} - hard
    links: dict[str, list] = {}
    hours = {"open": [0] * 24, "click": [0] * 24}
    for e in hits:
        if not e.machine:
            hours[e.kind][e.local_hour] += 1
        if (e.kind, e.machine) == HUMAN_CLICK:
            link = links.setdefault(e.url, [0, set()])
            link[0] += 1
            link[1].add(e.message_id)
    delivered = len({pk for pk, m in msgs.items() if m.channel == "email" and m.state == "sent"}
                    - hard - soft) + len({s.message_id for s in SmsSend.objects.all()
                                          if s.message_id in msgs and s.status == "delivered"})
    left = {(c.contact_id, c.details.get("reason") or (
        "one_click" if c.source == Source.ONE_CLICK else "unspecified"))
            for c in ConsentChange.objects.filter(action=Action.OPT_OUT)
            if c.details.get("campaign") in sources}
    buyers, revenue = set(), Counter()
    for o, source in attributed_by_hand():
        if source in sources:
            buyers.add(o.contact_id)
            revenue[o.currency] += o.total
    return {
        "sent": sum(m.state in ("sent", "bounced") for m in msgs.values()),
        "delivered": delivered, "opened": len(opened), "machine_opened": len(any_open - opened),
        "clicked": len({e.message_id for e in hits if (e.kind, e.machine) == HUMAN_CLICK}),
        "total_opens": human[HUMAN_OPEN], "total_clicks": human[HUMAN_CLICK],
        "ordered": len(buyers), "revenue": dict(sorted(revenue.items())),
        "bounced": {"hard": len(hard), "soft": len(soft)},
        "complained": len({b.message_id for b in reports if b.kind == "complaint"}),
        "unsubscribed": len({contact for contact, _ in left}),
        "unsubscribe_reasons": dict(sorted(Counter(r for _, r in left).items())),
        "links": sorted(({"url": u, "clicks": n, "unique": len(m)} for u, (n, m) in links.items()),
                        key=lambda link: (-link["clicks"], -link["unique"], link["url"])),
        "hours": hours,
    }


def attributed_by_hand() -> list[tuple[Order, str]]:
    source_of = dict(OutboxMessage.objects.values_list("pk", "source"))
    clicks = [e for e in TrackingEvent.objects.order_by("at", "id")
              if e.kind == "click" and not e.machine]
    found = []
    for o in Order.objects.filter(deleted_at__isnull=True):
        if o.status in (*NOT_REVENUE, Order.Status.REFUNDED):
            continue
        before = [e for e in clicks if e.contact_id == o.contact_id and e.at < o.placed_at]
        if before and before[-1].at >= o.placed_at - dt.timedelta(days=5):
            found.append((o, source_of[before[-1].message_id]))
    return found


@pytest.mark.parametrize("sources", [[MAIL], [SMS], [MAIL, SMS]])
def test_every_number_is_the_hand_recount(campaign, sources):
    report = source_report(sources)
    assert list(report) == list(hand(sources))
    for key, value in hand(sources).items():
        assert report[key] == value, key


def test_the_mail_report_reads_as_the_campaign_went(campaign):
    report = source_report([MAIL])
    # 5 sent + 1 bounced; of the 5 in state sent, one had a soft bounce
    assert (report["sent"], report["delivered"]) == (6, 4)
    assert (report["opened"], report["machine_opened"], report["clicked"]) == (3, 1, 2)
    assert (report["total_opens"], report["total_clicks"]) == (4, 4)
    assert report["bounced"] == {"hard": 1, "soft": 1} and report["complained"] == 1
    assert report["unsubscribed"] == 2
    assert report["unsubscribe_reasons"] == {"one_click": 1, "too_many": 1}
    assert (report["ordered"], report["revenue"]) == (2, {"IRR": 19_000, "USD": 30})
    assert report["links"][0] == {"url": "https://shop.example/tea", "clicks": 3, "unique": 2}
    assert sum(report["hours"]["open"]) == 4 and sum(report["hours"]["click"]) == 4
    assert source_report([SMS])["delivered"] == 2


def test_breakdowns_by_tier_rung_and_segment(campaign):
    people = campaign
    by_tier = breakdown([MAIL], "tier")
    assert by_tier == {
        "most_valuable": {"sent": 1, "opened": 1, "clicked": 1, "ordered": 1},
        "rest": {"sent": 2, "opened": 1, "clicked": 1, "ordered": 1},
        "none": {"sent": 3, "opened": 1, "clicked": 0, "ordered": 0}}
    assert sum(row["sent"] for row in by_tier.values()) == source_report([MAIL])["sent"]
    assert breakdown([MAIL], "rung")["customer"] == by_tier["rest"]
    first_four = Contact.objects.filter(pk__in=[p.pk for p in people[:4]]).values("pk")
    assert breakdown([MAIL], "segment", {"first four": first_four}) == {
        "first four": {"sent": 4, "opened": 3, "clicked": 2, "ordered": 2}}
    with pytest.raises(ValueError):
        breakdown([MAIL], "colour")


def test_csv_has_a_row_per_number(campaign):
    report = source_report([MAIL, SMS])
    rows = list(csv.reader(io.StringIO(report_csv(report))))
    assert rows[0] == ["metric", "key", "value", "unique"]
    values = {(r[0], r[1]): r[2:] for r in rows[1:]}
    assert values[("sent", "")] == [str(report["sent"]), ""]
    assert values[("revenue", "USD")] == ["30", ""]
    assert values[("bounced", "hard")] == ["1", ""]
    assert values[("link", "https://shop.example/tea")] == ["4", "3"]
    assert sum(int(v[0]) for (m, _k), v in values.items() if m == "opens_by_local_hour") == \
        report["total_opens"]
