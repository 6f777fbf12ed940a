"""Segment rules give the members a plain reading of docs/subsystems/audiences.md gives.

One fixed world of ~45 people touching every path (names in both scripts, birthdays on leap
days, consent in every state, sales and non-sales, machine and human opens, an erased person,
two saved segments) is built once per module. Hypothesis draws rule trees; each is run as the
compiled query (`queries.matching`) and as `evaluate` below, a straightforward Python reading
of the document over facts read back from the database, and the two member sets must be equal.
The suite runs this on SQLite, and CI again on PostgreSQL: the same rule, the same members.

`evaluate` is written from the document, not from the compiler: it calls no code of
peyvand/audiences (the world's setup only fills the compiler's birthday day table once, which
every test of this module would otherwise pay for).
"""

from __future__ import annotations

import calendar as gregorian_calendar
import datetime as dt
import os
import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import jdatetime
import pytest
from django.db.models import F
from django.utils import timezone
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from peyvand.audiences import calendar
from peyvand.audiences.models import Segment
from peyvand.audiences.queries import matching
from peyvand.commerce.actions import refresh_recent_sales
from peyvand.commerce.models import Cart, Order, OrderLine, RecentSales, RecentSalesBuild
from peyvand.commerce.queries import changed_since
from peyvand.consent import ledger
from peyvand.consent.models import ConsentState, Topic
from peyvand.contacts.models import Contact, ContactTag, CustomField, FieldValue, Identity, Tag
from peyvand.insights.models import CustomerMetrics
from peyvand.messaging.models import OutboxMessage
from peyvand.tracking import last_engagement
from peyvand.tracking.models import TrackingEvent

pytestmark = pytest.mark.django_db
# More for a deeper search: PEYVAND_RULE_EXAMPLES=5000 pytest -n 0 tests/audiences/…
EXAMPLES = int(os.environ.get("PEYVAND_RULE_EXAMPLES", "200"))

TZ = timezone.get_default_timezone()


def local(y: int, m: int, d: int, h: int = 12, mi: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, h, mi, tzinfo=TZ)


# Moments the rules run at: late evening before a Feb 28 that celebrates Feb 29 birthdays;
# 01:00 Tehran (still the previous day in UTC) two days before an Esfand 29 that celebrates
# Esfand 30 birthdays (1404 is not a leap year); and a plain midday.
NOWS = (local(2026, 2, 27, 23, 50), local(2026, 3, 18, 1, 0), local(2026, 3, 10, 12, 0))
BASE = NOWS[2]
DAY = dt.timedelta(days=1)

# ---- the world ------------------------------------------------------------------------------

FIRST_NAMES = ["Ali", "ali", "ALICE", "Bob", "Sara", "سارا", "علی", "محمد", "Mohammad", "",
               "Ann-Marie", "50%_off"]
LAST_NAMES = ["Ahmadi", "احمدی", "Smith", "smithson", "", "O'Brien", "رضایی", "Rezaei", "a_b"]
TIMEZONES = ["Asia/Tehran", "Europe/London", "America/Toronto"]
SOURCES = ["import", "form:join", "api", "", "woocommerce:shop", "Form"]
TAGS = ["vip", "newsletter", "wholesale", "مشتری-ویژه"]
TOPICS = ["news", "products", "offers", "events"]  # seeded by consent's migrations
CHANNELS = ["email", "sms", "direct_mail", "phone"]
SKUS = ["SKU-A", "SKU-B", "sku-a", "TEA-1", "کتاب-۱"]
TOTALS = [0, 7, 999, 1000, 2500, 50000, 120000]
SALE_STATUSES = ["completed", "completed", "completed", "processing", "refunded", "pending",
                 "on_hold"]
NOT_SALE_STATUSES = ["cancelled", "failed", "draft"]
CITIES = ["Tehran", "tehran", "Shiraz", "شیراز", ""]
SIZES = [Decimal("38"), Decimal("40.5"), Decimal("1.1"), Decimal("0"), Decimal("-2.25"),
         Decimal("19.99")]
PLANS = ["gold", "silver", "bronze"]
BROADCASTS = [7, 8]
RFM = ["champions", "loyal", "potential_loyalist", "new", "promising", "need_attention",
       "about_to_sleep", "at_risk", "cant_lose", "hibernating"]
TIERS = ["most_valuable", "most_growable", "rest", "below_zero"]
STAGES = ["suspect", "prospect", "customer", "client", "supporter", "advocate"]
DUES = ["not_due", "due", "overdue", "lapsed"]
FLOATS = [0.0, 0.1, 0.25, 0.5, 0.9, 1.0, 1.5, 3.25, 12.5, 40.0, 77.75]
CLVS = [0, 5000, 120000, -300]

# Birthdays: Feb 29s, an Esfand 30 (2021-03-20 is 1399/12/30), days around Nowruz in years
# whose Farvardin 1st falls on the 20th or the 21st, and around the NOWS.
BIRTHDAYS = [dt.date(1992, 2, 29), dt.date(2000, 2, 29), dt.date(2021, 3, 20),
             dt.date(2009, 3, 20), dt.date(1990, 3, 21), dt.date(1991, 3, 21),
             dt.date(1993, 3, 20), dt.date(1988, 2, 28), dt.date(1985, 3, 1),
             dt.date(1979, 3, 12), dt.date(1999, 3, 18), dt.date(1970, 12, 31),
             dt.date(2001, 1, 1), dt.date(1995, 3, 10), dt.date(1980, 2, 27),
             dt.date(1966, 3, 19), dt.date(2004, 3, 11), dt.date(1975, 8, 2)]


@dataclass(repr=False)
class World:
    facts: dict[int, dict[str, Any]]  # contact id -> what evaluate reads
    segments: dict[int, Any]  # saved segment id -> its rules
    special: dict[str, int]  # a few hand-made people, by name
    fields: dict[str, str]  # custom field key -> type

    def __repr__(self) -> str:
        return f"World({len(self.facts)} people)"


SEGMENT_IDS = (9101, 9102)


def _build() -> dict[str, int]:
    rng = random.Random(20260310)
    # The compiler fills its birthday day table on first use; once here, not once per test.
    calendar.ensure_days(max(now.year for now in NOWS) + 1)
    hits = iter(range(1, 10**6))
    fields = {
        "city": CustomField.objects.create(key="city", label_fa="شهر", label_en="City",
                                           type="text"),
        "size": CustomField.objects.create(key="size", label_fa="سایز", label_en="Size",
                                           type="number"),
        "joined": CustomField.objects.create(key="joined", label_fa="عضویت",
                                             label_en="Joined", type="date"),
        "plan": CustomField.objects.create(key="plan", label_fa="طرح", label_en="Plan",
                                           type="choice", choices=PLANS),
        "opt": CustomField.objects.create(key="opt", label_fa="گزینه", label_en="Option",
                                          type="boolean"),
    }
    tags = {name: Tag.objects.get_or_create(name=name)[0] for name in TAGS}
    topics = {t.key: t for t in Topic.objects.filter(key__in=TOPICS)}
    assert len(topics) == len(TOPICS)

    def person(n: int, **given: Any) -> Contact:
        created = given.pop("created_at", BASE - dt.timedelta(days=rng.randint(0, 800),
                                                              minutes=rng.randint(0, 1439)))
        contact = Contact.objects.create(
            first_name=given.pop("first_name", rng.choice(FIRST_NAMES)),
            last_name=given.pop("last_name", rng.choice(LAST_NAMES)),
            language=given.pop("language", rng.choice(["fa", "en"])),
            timezone=rng.choice(TIMEZONES), source=rng.choice(SOURCES),
            birthday=given.pop("birthday", rng.choice(BIRTHDAYS + [None] * 4)))
        Contact.objects.filter(pk=contact.pk).update(created_at=created)
        if rng.random() < 0.7:
            Identity.objects.create(contact=contact, kind="email", value=f"p{n}@example.com")
        if rng.random() < 0.5:
            Identity.objects.create(contact=contact, kind="phone", value=f"+98912{n:07d}")
        for name in rng.sample(TAGS, rng.randint(0, 2)):
            ContactTag.objects.create(contact=contact, tag=tags[name])
        _custom_values(rng, contact, fields)
        _consent(rng, contact, topics)
        return contact

    def orders(contact: Contact, specs: list[tuple[dt.datetime, int, str, bool, list[str]]]):
        for placed_at, total, status, deleted, skus in specs:
            order = Order.objects.create(
                source="shop", external_id=f"o{next(hits)}", contact=contact,
                placed_at=placed_at, status=status, currency="IRR", total=total,
                deleted_at=placed_at + DAY if deleted else None)
            for sku in skus:
                OrderLine.objects.create(order=order, sku=sku, quantity=1, unit_price=total,
                                         line_total=total)

    def random_orders(contact: Contact) -> None:
        specs = []
        for _i in range(rng.choice([0, 0, 1, 1, 2, 3, 4])):
            status = rng.choice(SALE_STATUSES + NOT_SALE_STATUSES)
            placed = BASE - dt.timedelta(days=rng.randint(-3, 500), minutes=rng.randint(0, 1439))
            specs.append((placed, rng.choice(TOTALS), status, rng.random() < 0.12,
                          rng.sample(SKUS, rng.randint(0, 2))))
        orders(contact, specs)
        for _i in range(rng.choice([0, 0, 0, 1, 2])):
            Cart.objects.create(source="shop", external_id=f"c{next(hits)}", contact=contact,
                                status=rng.choice(["open", "abandoned", "converted"]),
                                currency="IRR", total=1000, updated_at=BASE)

    def metrics(contact: Contact) -> None:
        if rng.random() < 0.35:
            return
        CustomerMetrics.objects.create(
            contact=contact, as_of=BASE.date(), r_score=rng.randint(0, 5),
            f_score=rng.randint(1, 5), m_score=rng.randint(1, 5),
            rfm_segment=rng.choice(RFM + [""]), value_tier=rng.choice(TIERS + [""]),
            ladder_stage=rng.choice(STAGES), predicted_value=rng.choice(CLVS + [None]),
            p_alive=rng.choice([0.1, 0.25, 0.5, 0.9, 1.0, None]),
            expected_purchases=rng.choice([0.0, 1.5, 3.25, None]),
            engagement_score=rng.choice([0.0, 12.5, 40.0, 77.75]),
            due_status=rng.choice(DUES + [""]),
            next_due_date=rng.choice([None, BASE.date() + dt.timedelta(days=rng.randint(-60,
                                                                                       60))]))

    def messages(contact: Contact, specs: list[tuple[str, str, dt.datetime | None]]) -> list:
        made = []
        for source, state, sent_at in specs:
            made.append(OutboxMessage.objects.create(
                source=source, contact=contact, channel="email", to_address="x@example.com",
                message_class="marketing", state=state, sent_at=sent_at))
        return made

    def event(contact: Contact | None, message_id: int, kind: str, at: dt.datetime,
              machine: bool = False) -> None:
        # Kept as the drain keeps it: each person's latest human open and click.
        last_engagement.note_stored([TrackingEvent.objects.create(
            hit_id=f"h{next(hits)}", kind=kind, message_id=message_id, contact=contact, at=at,
            machine=machine)])

    def random_engagement(contact: Contact) -> list:
        specs = []
        for source in rng.sample([f"broadcast:{b}" for b in BROADCASTS] + ["api:k", "trigger:t"],
                                 rng.randint(0, 3)):
            state = rng.choice(["sent", "sent", "sent", "bounced", "queued", "failed"])
            sent_at = (BASE - dt.timedelta(days=rng.randint(0, 250), minutes=rng.randint(0, 1439))
                       if state in ("sent", "bounced") else None)
            specs.append((source, state, sent_at))
        made = messages(contact, specs)
        for message in made:
            for _i in range(rng.choice([0, 0, 1, 2])):
                at = (message.sent_at or BASE) + dt.timedelta(hours=rng.randint(0, 24 * 40))
                event(contact, message.pk, rng.choice(["open", "click"]), at,
                      machine=rng.random() < 0.3)
        return made

    everyone: list[tuple[Contact, list]] = []
    for n in range(36):
        contact = person(n)
        random_orders(contact)
        metrics(contact)
        everyone.append((contact, random_engagement(contact)))
    # Forwarded messages: someone opens another person's broadcast; an open nobody owns.
    sent = [(c, m) for c, ms in everyone for m in ms]
    for contact, _ms in everyone[:6]:
        other = rng.choice(sent)[1]
        event(contact, other.pk, rng.choice(["open", "click"]),
              BASE - dt.timedelta(days=rng.randint(0, 100)))
    if sent:
        event(None, sent[0][1].pk, "open", BASE)

    special: dict[str, int] = {}
    leap = person(100, first_name="Leap", language="en", birthday=dt.date(1992, 2, 29))
    esfand = person(101, first_name="اسفند", language="fa", birthday=dt.date(2021, 3, 20))
    nowruz = person(102, first_name="Nowruz", language="fa", birthday=dt.date(1990, 3, 21))
    midnight = person(103, first_name="Midnight", created_at=local(2026, 3, 3, 0, 30))
    orders(midnight, [(local(2026, 3, 3, 0, 30), 1000, "completed", False, ["SKU-A"])])
    never = person(104, first_name="Never")
    orders(never, [(BASE - 3 * DAY, 5000, "cancelled", False, ["SKU-B"]),
                   (BASE - 4 * DAY, 7000, "completed", True, ["SKU-B"]),
                   (BASE - 5 * DAY, 9000, "draft", False, [])])
    bot = person(105, first_name="Bot")
    (bot_message,) = messages(bot, [("broadcast:7", "sent", BASE - 2 * DAY)])
    event(bot, bot_message.pk, "open", BASE - DAY, machine=True)
    lapsed = person(106, first_name="Lapsed")
    (old_message,) = messages(lapsed, [("broadcast:8", "sent", BASE - 200 * DAY)])
    event(lapsed, old_message.pk, "open", BASE - 199 * DAY)
    empty = person(107, first_name="", last_name="")
    week = person(108, first_name="Week", created_at=BASE - 7 * DAY)
    erased = person(109, first_name="Erased")
    orders(erased, [(BASE - DAY, 120000, "completed", False, ["SKU-A"])])
    messages(erased, [("broadcast:7", "bounced", BASE - DAY)])
    Contact.objects.filter(pk=erased.pk).update(erased_at=BASE - DAY)
    for name, contact in [("leap", leap), ("esfand", esfand), ("nowruz", nowruz),
                          ("midnight", midnight), ("never", never), ("bot", bot),
                          ("lapsed", lapsed), ("empty", empty), ("week", week),
                          ("erased", erased)]:
        special[name] = contact.pk

    Segment.objects.create(pk=SEGMENT_IDS[0], name="vip or big", rules={"any": [
        {"field": "contact.tags", "op": "has", "value": ["vip"]},
        {"field": "orders.total_spent", "op": "gte", "value": 100000}]})
    Segment.objects.create(pk=SEGMENT_IDS[1], name="fa, not vip or big", rules={"all": [
        {"not": {"field": "segment", "op": "eq", "value": SEGMENT_IDS[0]}},
        {"field": "contact.language", "op": "eq", "value": "fa"}]})
    return special


def _custom_values(rng: random.Random, contact: Contact, fields: dict[str, CustomField]):
    """Each field: a value, an empty row, or no row at all."""
    picks = {"city": ("text_value", CITIES + [None]), "size": ("number_value", SIZES + [None]),
             "joined": ("date_value", [BASE.date() - dt.timedelta(days=d)
                                       for d in (0, 1, 30, 400)] + [None]),
             "plan": ("text_value", PLANS + ["", None]), "opt": ("bool_value", [True, False, None])}
    for key, (column, values) in picks.items():
        if rng.random() < 0.3:
            continue
        FieldValue.objects.create(contact=contact, field=fields[key],
                                  **{column: rng.choice(values)})


def _consent(rng: random.Random, contact: Contact, topics: dict[str, Topic]) -> None:
    """Each channel in one of the states the ledger leads to, through the ledger."""
    steps: list[tuple[dt.datetime, str, str, str | None, str]] = []  # at, action, channel, topic

    def at() -> dt.datetime:
        return BASE - dt.timedelta(days=rng.randint(0, 400), minutes=rng.randint(0, 1439))

    for channel in CHANNELS:
        scenario = rng.choice(["none", "none", "in", "pending", "confirmed", "out", "bounced"])
        first, second = sorted([at(), at()])
        if scenario == "in":
            steps.append((first, "opt_in", channel, None, "preferences"))
        elif scenario == "pending":
            steps.append((first, "opt_in", channel, None, "form"))
        elif scenario == "confirmed":
            steps += [(first, "opt_in", channel, None, "form"),
                      (second, "confirm", channel, None, "form")]
        elif scenario == "out":
            steps += [(first, "opt_in", channel, None, "preferences"),
                      (second, "opt_out", channel, None, "staff")]
        elif scenario == "bounced":
            steps.append((first, "opt_out", channel, None, "bounce"))
        if scenario in ("in", "confirmed", "out"):
            for key in rng.sample(TOPICS, rng.randint(0, 2)):
                steps.append((first + dt.timedelta(minutes=1), "opt_in", channel, key,
                              "preferences"))
                if rng.random() < 0.3:
                    steps.append((first + dt.timedelta(minutes=2), "opt_out", channel, key,
                                  "preferences"))
    for when, action, channel, key, source in sorted(steps, key=lambda s: s[0]):
        ledger.append(contact, [ledger.Change(action, channel,
                                              topics[key].pk if key else None)],
                      source=source, actor_label="test", at=when)


def _facts() -> dict[int, dict[str, Any]]:
    """What is known of each person, read back with plain queries: one dict per contact."""
    facts: dict[int, dict[str, Any]] = {}
    for c in Contact.objects.all():
        facts[c.pk] = {
            "id": c.pk, "erased": c.erased_at is not None, "first_name": c.first_name,
            "last_name": c.last_name, "language": c.language, "timezone": c.timezone,
            "source": c.source, "created_at": c.created_at, "birthday": c.birthday,
            "tags": set(), "fields": {}, "identities": set(), "consent": {},
            "confirmed_at": [], "suppressed": False, "topics": set(), "orders": [],
            "carts": set(), "metrics": None, "sent": [], "events": [], "bounced": False}
    for contact_id, name in ContactTag.objects.values_list("contact_id", "tag__name"):
        facts[contact_id]["tags"].add(name)
    for value in FieldValue.objects.select_related("field"):
        facts[value.contact_id]["fields"][value.field.key] = value.value
    for contact_id, kind in Identity.objects.values_list("contact_id", "kind"):
        facts[contact_id]["identities"].add(kind)
    for s in ConsentState.objects.select_related("topic"):
        p = facts[s.contact_id]
        if s.topic is None:
            p["consent"][s.channel] = s.status
            if s.confirmed_at is not None:
                p["confirmed_at"].append(s.confirmed_at)
            p["suppressed"] |= s.suppression != ""
        elif s.status == "in":
            p["topics"].add(s.topic.key)
    for o in Order.objects.prefetch_related("lines"):
        facts[o.contact_id]["orders"].append({
            "placed_at": o.placed_at, "total": o.total, "status": o.status,
            "deleted": o.deleted_at is not None, "skus": {line.sku for line in o.lines.all()}})
    for contact_id, status in Cart.objects.values_list("contact_id", "status"):
        facts[contact_id]["carts"].add(status)
    for m in CustomerMetrics.objects.all():
        facts[m.contact_id]["metrics"] = {
            "r_score": m.r_score, "f_score": m.f_score, "m_score": m.m_score,
            "rfm_segment": m.rfm_segment, "tier": m.value_tier, "ladder": m.ladder_stage,
            "clv": m.predicted_value, "p_alive": m.p_alive,
            "expected_purchases": m.expected_purchases, "engagement": m.engagement_score,
            "due": m.due_status, "next_due_at": m.next_due_date}
    source_of = dict(OutboxMessage.objects.values_list("pk", "source"))
    for m in OutboxMessage.objects.all():
        p = facts[m.contact_id]
        if m.state == "sent":
            p["sent"].append({"at": m.sent_at, "source": m.source})
        p["bounced"] |= m.state == "bounced"
    for e in TrackingEvent.objects.filter(contact__isnull=False):
        facts[e.contact_id]["events"].append({"kind": e.kind, "machine": e.machine, "at": e.at,
                                              "source": source_of.get(e.message_id)})
    return facts


@pytest.fixture(scope="module")
def world(module_db) -> World:
    special = _build()
    # Kept recent sales (commerce.RecentSales) built three days before the earliest moment,
    # with the orders of two people in three written long before the build and the others'
    # "since": the 30/90/180/365 day windows read the kept rows for some people and sum the
    # orders for the others.
    old = Order.objects.annotate(third=F("contact_id") % 3).exclude(third=0)
    old.update(updated_at=min(NOWS) - dt.timedelta(days=400))
    refresh_recent_sales(now=min(NOWS) - dt.timedelta(days=3))
    segments = dict(Segment.objects.values_list("pk", "rules"))
    fields = dict(CustomField.objects.values_list("key", "type"))
    return World(_facts(), segments, special, fields)


# ---- the document, read in Python -----------------------------------------------------------

NOT_SALES = {"cancelled", "failed", "draft"}


def evaluate(rule: dict[str, Any], p: dict[str, Any], w: World, now: dt.datetime) -> bool:
    if "all" in rule:
        return all(evaluate(r, p, w, now) for r in rule["all"])
    if "any" in rule:
        return any(evaluate(r, p, w, now) for r in rule["any"])
    if "not" in rule:
        return not evaluate(rule["not"], p, w, now)
    return _condition(rule, p, w, now)


def members(rule: dict[str, Any], w: World, now: dt.datetime) -> set[int]:
    """Erased people never match."""
    return {pk for pk, p in w.facts.items() if not p["erased"] and evaluate(rule, p, w, now)}


def _sales(p: dict[str, Any], cond: dict[str, Any], now: dt.datetime) -> list[dict[str, Any]]:
    found = [o for o in p["orders"] if not o["deleted"] and o["status"] not in NOT_SALES]
    if "in_last" in cond:
        found = [o for o in found if o["placed_at"] >= now - dt.timedelta(
            days=cond["in_last"]["days"])]
    return found


def _condition(cond: dict[str, Any], p: dict[str, Any], w: World, now: dt.datetime) -> bool:
    path, op, value = cond["field"], cond["op"], cond.get("value")
    group, _dot, name = path.partition(".")
    if path == "segment":
        ids = value if op == "in" else [value]
        member = any(evaluate(w.segments[i], p, w, now) for i in ids)
        return not member if op == "ne" else member
    if group == "contact":
        if name.startswith("fields."):
            key = name.removeprefix("fields.")
            return _value(w.fields[key], op, value, p["fields"].get(key), p, now)
        if name == "tags":
            return _has(op, value, p["tags"])
        if name == "has_email":
            return ("email" in p["identities"]) == value
        if name == "has_mobile":
            return ("phone" in p["identities"]) == value
        kind = {"language": "choice", "created_at": "datetime", "birthday": "birthday"}.get(
            name, "text")
        return _value(kind, op, value, p[name], p, now)
    if group == "consent":
        if name == "topics":
            return _has(op, value, p["topics"])
        if name == "suppressed":
            return p["suppressed"] == value
        if name == "confirmed_at":
            return _any_of("datetime", op, value, p["confirmed_at"], p, now)
        state = p["consent"].get(name, "none")  # none: never asked
        if op == "is_set":
            return state != "none"
        if op == "is_not_set":
            return state == "none"
        return {"eq": state == value, "ne": state != value,
                "in": state in (value or [])}[op]
    if group == "orders":
        sales = _sales(p, cond, now)
        if name == "products":
            return _has(op, value, set().union(*[o["skus"] for o in sales]))
        totals = [o["total"] for o in sales]
        placed = [o["placed_at"] for o in sales]
        fact: Any = {"count": len(totals), "total_spent": sum(totals),
                     "avg_value": Decimal(sum(totals)) / len(totals) if totals else None,
                     "first_at": min(placed, default=None),
                     "last_at": max(placed, default=None)}[name]
        kind = "datetime" if name.endswith("_at") else "number"
        return _value(kind, op, value, fact, p, now)
    if group == "carts":
        return (name in p["carts"]) == value
    if group == "insights":
        metrics = p["metrics"] or {}
        kind = ("choice" if name in ("rfm_segment", "tier", "ladder", "due")
                else "date" if name == "next_due_at" else "number")
        return _value(kind, op, value, metrics.get(name), p, now)
    # engagement
    if name == "bounced":
        return p["bounced"] == value
    if name in ("last_opened_at", "last_clicked_at"):
        kind = "open" if name == "last_opened_at" else "click"
        ats = [e["at"] for e in p["events"] if e["kind"] == kind and not e["machine"]]
        return _value("datetime", op, value, max(ats, default=None), p, now)
    if name == "received":
        done = p["sent"]
    else:
        kind = "open" if name == "opened" else "click"
        done = [e for e in p["events"] if e["kind"] == kind and not e["machine"]]
    return _activity(op, value, done, now)


def _has(op: str, value: Any, held: set[str]) -> bool:
    wanted = set(value) if isinstance(value, list) else {value}
    return bool(held & wanted) if op == "has" else not held & wanted


def _activity(op: str, value: Any, done: list[dict[str, Any]], now: dt.datetime) -> bool:
    """has {broadcast?, days?}; within_last {days} = has {days}; not_within_last {days}: did it
    (set) but not within the last N days."""
    value = value or {}
    days, broadcast = value.get("days"), value.get("broadcast")
    if op in ("within_last", "not_within_last"):
        broadcast = None

    def counts(d: dict[str, Any]) -> bool:
        return ((days is None or (d["at"] is not None
                                  and d["at"] >= now - dt.timedelta(days=days)))
                and (broadcast is None or d["source"] == f"broadcast:{broadcast}"))

    recent = any(counts(d) for d in done)
    if op in ("has", "within_last"):
        return recent
    if op == "has_not":
        return not recent
    return bool(done) and not recent  # not_within_last


def _is_set(kind: str, fact: Any) -> bool:
    return fact is not None and not (kind in ("text", "choice") and fact == "")


def _value(kind: str, op: str, value: Any, fact: Any, p: dict[str, Any],
           now: dt.datetime) -> bool:
    """One fact a person has or not: without it every condition but is_not_set is false."""
    if op == "is_set":
        return _is_set(kind, fact)
    if op == "is_not_set":
        return not _is_set(kind, fact)
    if not _is_set(kind, fact):
        return False
    if kind in ("text", "choice"):
        if op == "eq":
            return fact == value
        if op == "ne":
            return fact != value
        if op == "in":
            return fact in value
        if op == "contains":
            return value.lower() in fact.lower()
        return fact.lower().startswith(value.lower())  # starts_with
    if kind == "boolean":
        return fact == value
    if kind == "number":
        n = Decimal(str(fact))

        def num(v: Any) -> Decimal:
            return Decimal(str(v))

        if op == "between":
            return num(value[0]) <= n <= num(value[1])
        return {"eq": n == num(value), "ne": n != num(value), "lt": n < num(value),
                "lte": n <= num(value), "gt": n > num(value), "gte": n >= num(value)}[op]
    # date, datetime, birthday
    today = timezone.localdate(now)
    day = timezone.localdate(fact) if kind == "datetime" else fact
    if op in ("within_last", "not_within_last"):
        days = dt.timedelta(days=value["days"])
        inside = fact >= now - days if kind == "datetime" else day >= today - days
        return inside if op == "within_last" else not inside
    if op == "within_next":
        if kind == "birthday":
            return _birthday_within(fact, p["language"] == "fa", today, value["days"])
        return today <= day <= today + dt.timedelta(days=value["days"])
    if op == "between":
        low, high = (dt.date.fromisoformat(v) for v in value)
        return low <= day <= high
    on = dt.date.fromisoformat(value)
    return {"eq": day == on, "lt": day < on, "lte": day <= on, "gt": day > on,
            "gte": day >= on}[op]


def _any_of(kind: str, op: str, value: Any, facts: list[Any], p: dict[str, Any],
            now: dt.datetime) -> bool:
    """A fact a person may have several of (a confirmation per channel): any one will do."""
    if op == "is_set":
        return bool(facts)
    if op == "is_not_set":
        return not facts
    return any(_value(kind, op, value, f, p, now) for f in facts)


def _birthday_within(born: dt.date, jalali: bool, today: dt.date, days: int) -> bool:
    """Today or one of the next `days` days is the birthday: Jalali month and day for fa
    people, Gregorian otherwise; Feb 29 (Esfand 30) on Feb 28 (Esfand 29) in years without."""
    if jalali:
        j = jdatetime.date.fromgregorian(date=born)
        born_md = (j.month, j.day)
    else:
        born_md = (born.month, born.day)
    for offset in range(min(days, 800) + 1):
        day = today + dt.timedelta(days=offset)
        if jalali:
            jd = jdatetime.date.fromgregorian(date=day)
            md, leap_md, has_leap_day = (jd.month, jd.day), (12, 29), jd.isleap()
            missing = (12, 30)
        else:
            md, leap_md = (day.month, day.day), (2, 28)
            has_leap_day, missing = gregorian_calendar.isleap(day.year), (2, 29)
        if md == born_md or (born_md == missing and md == leap_md and not has_leap_day):
            return True
    return False


# ---- rule trees -----------------------------------------------------------------------------

TEXT = ("eq", "ne", "in", "contains", "starts_with", "is_set", "is_not_set")
CHOICE = ("eq", "ne", "in", "is_set", "is_not_set")
NUMBER = ("eq", "ne", "lt", "lte", "gt", "gte", "between", "is_set", "is_not_set")
DATE = ("eq", "lt", "lte", "gt", "gte", "between", "within_last", "not_within_last",
        "within_next", "is_set", "is_not_set")

days = st.one_of(st.sampled_from([0, 1, 2, 3, 6, 7, 8, 14, 30, 60, 90, 180, 199, 200, 365,
                                  366, 400, 1000]), st.integers(0, 800))
near_days = st.integers(-900, 40).map(lambda n: (BASE.date() + dt.timedelta(days=n)).isoformat())
edge_days = st.sampled_from(["2026-03-02", "2026-03-03", "2026-03-04", "2026-02-27",
                             "2026-02-28", "2026-03-10", "2026-03-17", "2026-03-18"])
birth_days = st.one_of(
    st.sampled_from(BIRTHDAYS).flatmap(lambda d: st.integers(-1, 1).map(
        lambda n: (d + dt.timedelta(days=n)).isoformat())),
    st.integers(-25000, -5000).map(lambda n: (BASE.date() + dt.timedelta(days=n)).isoformat()))


def _values(op: str, one: st.SearchStrategy, day_values: st.SearchStrategy | None = None,
            ) -> st.SearchStrategy:
    if op in ("is_set", "is_not_set"):
        return st.just(None)
    if op in ("within_last", "not_within_last", "within_next"):
        return days.map(lambda n: {"days": n})
    if op == "in":
        return st.lists(one, min_size=1, max_size=3)
    if op == "between":
        return st.lists(day_values if day_values is not None else one, min_size=2, max_size=2)
    return day_values if day_values is not None else one


def conditions(path: str, ops: tuple[str, ...], one: st.SearchStrategy | None = None, *,
               day_values: st.SearchStrategy | None = None,
               window: bool = False) -> st.SearchStrategy:
    def build(op: str) -> st.SearchStrategy:
        value = _values(op, one if one is not None else day_values, day_values)
        in_last = st.one_of(st.none(), days.map(lambda n: {"days": n})) if window \
            else st.none()

        def make(v: Any, last: Any) -> dict[str, Any]:
            cond: dict[str, Any] = {"field": path, "op": op}
            if v is not None:
                cond["value"] = v
            if last is not None:
                cond["in_last"] = last
            return cond

        return st.builds(make, value, in_last)

    return st.sampled_from(ops).flatmap(build)


def texts(pool: list[str]) -> st.SearchStrategy:
    fragments = ["al", "AL", "li", "sm", "سا", "ع", "%", "_", "'", "zz", "", "a_", "IC"]
    return st.sampled_from(sorted(set(pool + fragments)))


def numbers(pool: list[Any], integers: bool = False) -> st.SearchStrategy:
    if integers:
        return st.one_of(st.sampled_from(pool), st.integers(-10, 300000))
    return st.one_of(st.sampled_from(pool), st.integers(-3, 200),
                     st.decimals(-5, 200, places=2).map(float))


def dates_and_datetimes(path: str) -> st.SearchStrategy:
    return conditions(path, DATE, day_values=st.one_of(near_days, edge_days))


def booleans(path: str) -> st.SearchStrategy:
    return st.builds(lambda v: {"field": path, "op": "eq", "value": v}, st.booleans())


def sets(path: str, pool: list[str], window: bool = False) -> st.SearchStrategy:
    one = st.sampled_from(pool + ["ghost"])
    return conditions(path, ("has", "has_not"), st.one_of(one, st.lists(one, min_size=1,
                                                                         max_size=3)),
                      window=window)


def activities(path: str) -> st.SearchStrategy:
    has = st.builds(
        lambda op, v: {"field": path, "op": op, "value": v},
        st.sampled_from(["has", "has_not"]),
        st.fixed_dictionaries({}, optional={"broadcast": st.sampled_from([*BROADCASTS, 99]),
                                            "days": days}))
    recent = st.builds(lambda op, n: {"field": path, "op": op, "value": {"days": n}},
                       st.sampled_from(["within_last", "not_within_last"]), days)
    return st.one_of(has, recent)


COUNTS = [0, 1, 2, 3, 4, -1]
MONEY = sorted({0, 1, 7, 999, 1000, 1001, 2500, 3499, 50000, 52500, 100000, 120000, 170000,
                -5, 5000, -300})

CONDITIONS = st.one_of(
    conditions("contact.first_name", TEXT, texts(FIRST_NAMES + ["Leap", "Nowruz", "Never"])),
    conditions("contact.last_name", TEXT, texts(LAST_NAMES)),
    conditions("contact.timezone", TEXT, texts(TIMEZONES + ["asia/", "Europe"])),
    conditions("contact.source", TEXT, texts(SOURCES + ["form", "woo"])),
    conditions("contact.language", CHOICE, st.sampled_from(["fa", "en"])),
    dates_and_datetimes("contact.created_at"),
    conditions("contact.birthday", DATE, day_values=birth_days),
    sets("contact.tags", TAGS),
    booleans("contact.has_email"), booleans("contact.has_mobile"),
    conditions("contact.fields.city", TEXT, texts(CITIES)),
    conditions("contact.fields.size", NUMBER, numbers([float(s) for s in SIZES])),
    conditions("contact.fields.joined", DATE, day_values=near_days),
    conditions("contact.fields.plan", CHOICE, st.sampled_from(PLANS)),
    booleans("contact.fields.opt"),
    *[conditions(f"consent.{c}", CHOICE, st.sampled_from(["in", "out", "pending", "none"]))
      for c in CHANNELS],
    sets("consent.topics", TOPICS),
    dates_and_datetimes("consent.confirmed_at"),
    booleans("consent.suppressed"),
    conditions("orders.count", NUMBER, numbers(COUNTS), window=True),
    conditions("orders.total_spent", NUMBER, numbers(MONEY, integers=True), window=True),
    conditions("orders.avg_value", NUMBER, numbers(MONEY, integers=True), window=True),
    dates_and_datetimes("orders.first_at"), dates_and_datetimes("orders.last_at"),
    sets("orders.products", SKUS, window=True),
    booleans("carts.open"), booleans("carts.abandoned"),
    *[conditions(f"insights.{s}", NUMBER, numbers([0, 1, 2, 3, 4, 5, 6]))
      for s in ("r_score", "f_score", "m_score")],
    conditions("insights.rfm_segment", CHOICE, st.sampled_from(RFM)),
    conditions("insights.tier", CHOICE, st.sampled_from(TIERS)),
    conditions("insights.ladder", CHOICE, st.sampled_from(STAGES)),
    conditions("insights.due", CHOICE, st.sampled_from(DUES)),
    conditions("insights.clv", NUMBER, numbers(CLVS, integers=True)),
    *[conditions(f"insights.{s}", NUMBER, numbers(FLOATS))
      for s in ("p_alive", "expected_purchases", "engagement")],
    conditions("insights.next_due_at", DATE, day_values=near_days),
    activities("engagement.received"), activities("engagement.opened"),
    activities("engagement.clicked"),
    dates_and_datetimes("engagement.last_opened_at"),
    dates_and_datetimes("engagement.last_clicked_at"),
    booleans("engagement.bounced"),
    st.builds(lambda op, ids: {"field": "segment", "op": op,
                               "value": ids if op == "in" else ids[0]},
              st.sampled_from(["eq", "ne", "in"]),
              st.lists(st.sampled_from(SEGMENT_IDS), min_size=1, max_size=2)),
)


def rules(depth: int = 3) -> st.SearchStrategy:
    if depth == 0:
        return CONDITIONS
    inner = rules(depth - 1)
    return st.one_of(
        CONDITIONS, CONDITIONS,
        st.lists(inner, max_size=3).map(lambda rs: {"all": rs}),
        st.lists(inner, max_size=3).map(lambda rs: {"any": rs}),
        inner.map(lambda r: {"not": r}))


def _check(rule: dict[str, Any], w: World, now: dt.datetime) -> set[int]:
    got = set(matching(rule, now=now).values_list("pk", flat=True))
    want = members(rule, w, now)
    assert got == want, (f"{rule} at {now}: the query alone found {sorted(got - want)}, "
                         f"the document alone {sorted(want - got)}")
    return got


# ---- the property ---------------------------------------------------------------------------

@settings(deadline=None, max_examples=EXAMPLES,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(rule=rules(), now=st.sampled_from(NOWS))
@example(rule={"not": {"all": []}}, now=NOWS[0])
@example(rule={"field": "contact.birthday", "op": "within_next", "value": {"days": 2}},
         now=NOWS[1])
def test_a_rule_matches_whom_the_document_says(world, rule, now):
    found = _check(rule, world, now)
    live = sum(not p["erased"] for p in world.facts.values())
    event("no one" if not found else "everyone" if len(found) == live else "some")


def test_the_world_is_not_trivial(world):
    """The property is only as good as the data: most conditions split the people."""
    live = [p for p in world.facts.values() if not p["erased"]]
    assert len(live) >= 40
    # Both ways of reading a kept window are exercised: kept rows, and people summed again.
    build = RecentSalesBuild.objects.get()
    changed = set(changed_since(build, 365, min(NOWS)).values_list("contact_id", flat=True))
    kept = set(RecentSales.objects.values_list("contact_id", flat=True))
    assert len(kept - changed) >= 5 and len(changed) >= 5
    assert {p["language"] for p in live} == {"fa", "en"}
    assert any(p["consent"].get("email") == "pending" for p in live)
    assert any(p["topics"] for p in live)
    assert any(o["status"] in NOT_SALES for p in live for o in p["orders"])
    assert any(o["deleted"] for p in live for o in p["orders"])
    assert any(e["machine"] for p in live for e in p["events"])
    assert any(p["metrics"] and p["metrics"]["tier"] == "" for p in live)
    assert any(p["fields"].get("city") == "" for p in live)
    assert 5 < len(members({"field": "segment", "op": "eq", "value": SEGMENT_IDS[0]},
                           world, BASE)) < len(live) - 5


# ---- tricky semantics, by example -----------------------------------------------------------

def _ids(rule: dict[str, Any], world: World, now: dt.datetime = BASE) -> set[int]:
    return _check(rule, world, now)


def test_ne_is_set_and_different_but_not_eq_takes_those_without(world):
    no_plan = {pk for pk, p in world.facts.items()
               if not p["erased"] and p["fields"].get("plan") in (None, "")}
    assert no_plan
    ne = _ids({"field": "contact.fields.plan", "op": "ne", "value": "gold"}, world)
    not_eq = _ids({"not": {"field": "contact.fields.plan", "op": "eq", "value": "gold"}}, world)
    assert not ne & no_plan
    assert no_plan <= not_eq
    assert not_eq - ne == no_plan


def test_only_sales_count_and_no_sales_is_zero_but_no_average(world):
    never = world.special["never"]  # a cancelled, a deleted and a draft order
    assert never in _ids({"field": "orders.count", "op": "lt", "value": 1}, world)
    assert never in _ids({"field": "orders.total_spent", "op": "eq", "value": 0}, world)
    assert never in _ids({"field": "orders.avg_value", "op": "is_not_set"}, world)
    assert never not in _ids({"field": "orders.avg_value", "op": "lte", "value": 0}, world)
    assert never not in _ids({"field": "orders.products", "op": "has", "value": "SKU-B"},
                             world)


def test_datetimes_compare_by_the_local_day(world):
    midnight = world.special["midnight"]  # 00:30 in Tehran on March 3rd: March 2nd in UTC
    assert midnight in _ids({"field": "orders.last_at", "op": "eq", "value": "2026-03-03"},
                            world)
    assert midnight not in _ids({"field": "orders.last_at", "op": "eq",
                                 "value": "2026-03-02"}, world)
    assert midnight in _ids({"field": "contact.created_at", "op": "gt",
                             "value": "2026-03-02"}, world)
    assert midnight not in _ids({"field": "contact.created_at", "op": "lt",
                                 "value": "2026-03-03"}, world)


def test_within_last_includes_the_moment_n_days_ago(world):
    week = world.special["week"]  # added exactly 7 days before BASE
    assert week in _ids({"field": "contact.created_at", "op": "within_last",
                         "value": {"days": 7}}, world)
    assert week not in _ids({"field": "contact.created_at", "op": "within_last",
                             "value": {"days": 6}}, world)
    assert week in _ids({"field": "contact.created_at", "op": "not_within_last",
                         "value": {"days": 6}}, world)


def test_leap_day_birthdays_are_celebrated_the_day_before_in_other_years(world):
    leap, esfand, nowruz = (world.special[k] for k in ("leap", "esfand", "nowruz"))
    tomorrow = {"field": "contact.birthday", "op": "within_next", "value": {"days": 1}}
    # 2026-02-27 23:50: tomorrow is Feb 28 2026, no Feb 29 this year.
    assert leap in _ids(tomorrow, world, NOWS[0])
    assert leap not in _ids({**tomorrow, "value": {"days": 0}}, world, NOWS[0])
    # 2026-03-18 01:00 is Esfand 27, 1404; Esfand 29 (the 20th) ends a year without a 30th.
    soon = {"field": "contact.birthday", "op": "within_next", "value": {"days": 2}}
    assert esfand in _ids(soon, world, NOWS[1])
    assert esfand not in _ids({**soon, "value": {"days": 1}}, world, NOWS[1])
    # Born 1990-03-21, Farvardin 1st 1369: on 1405/01/01, which is 2026-03-21.
    assert nowruz in _ids({**soon, "value": {"days": 3}}, world, NOWS[1])
    assert nowruz not in _ids(soon, world, NOWS[1])


def test_machine_opens_are_not_opens(world):
    bot = world.special["bot"]
    assert bot in _ids({"field": "engagement.received", "op": "has",
                        "value": {"broadcast": 7, "days": 3}}, world)
    assert bot not in _ids({"field": "engagement.opened", "op": "has", "value": {}}, world)
    assert bot in _ids({"field": "engagement.last_opened_at", "op": "is_not_set"}, world)


def test_not_within_last_on_an_activity_is_done_but_not_lately(world):
    lapsed, bot = world.special["lapsed"], world.special["bot"]  # bot never opened (as a human)
    stale = _ids({"field": "engagement.opened", "op": "not_within_last",
                  "value": {"days": 90}}, world)
    assert lapsed in stale and bot not in stale
    not_lately = _ids({"field": "engagement.opened", "op": "has_not", "value": {"days": 90}},
                      world)
    assert {lapsed, bot} <= not_lately


def test_an_empty_text_is_not_a_value(world):
    empty = world.special["empty"]
    assert empty in _ids({"field": "contact.first_name", "op": "is_not_set"}, world)
    for op in ("eq", "contains", "starts_with"):
        assert empty not in _ids({"field": "contact.first_name", "op": op, "value": ""}, world)
    assert empty not in _ids({"field": "contact.first_name", "op": "in", "value": ["", "Bob"]},
                             world)


def test_erased_people_never_match(world):
    erased = world.special["erased"]
    assert erased not in _ids({"all": []}, world)
    assert erased not in _ids({"not": {"any": []}}, world)
    assert erased not in _ids({"field": "engagement.bounced", "op": "eq", "value": True}, world)
    assert _ids({"any": []}, world) == set()
