"""The path catalogue: every fact a segment rule can ask about a person.

Each path has a type (which fixes its ops), a group for the field picker, a label in both
languages and a `compile` that turns one condition into a `Q` on contacts. A path reads its
facts through the models of the floor that owns them; segments only read.

Over 400 lines on purpose: the whole catalogue in one module, so what a segment may ask about
a person, and how each question reaches SQL, is read in one place.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Avg, Count, F, Max, Min, Q, QuerySet, Sum
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from peyvand.audiences import calendar
from peyvand.audiences.models import CalendarDay
from peyvand.audiences.predicates import (
    OPS_BY_TYPE,
    Context,
    date_predicate,
    everyone,
    no_one,
    number_predicate,
    parse_days,
    parse_texts,
    text_predicate,
    zero_satisfies,
)
from peyvand.commerce.models import NOT_REVENUE, Cart, Order, OrderLine, RecentSales
from peyvand.commerce.queries import changed_since, usable_build
from peyvand.consent.models import Channel as ConsentChannel
from peyvand.consent.models import ConsentState, Status
from peyvand.contacts.models import (
    Contact,
    ContactTag,
    CustomField,
    FieldValue,
    Identity,
    tag_key,
)
from peyvand.insights.models import CustomerMetrics, DueStatus, Stage, Tier
from peyvand.insights.models import Segment as RfmSegment
from peyvand.messaging.models import OutboxMessage
from peyvand.tracking.models import LastEngagement, TrackingEvent

GROUPS: dict[str, Promise] = {
    "contact": _("Contact"), "consent": _("Permission"), "commerce": _("Purchases"),
    "insights": _("Insights"), "engagement": _("Engagement"), "segment": _("Segments"),
}

Compiler = Callable[[dict[str, Any], Context], Q]


@dataclass(frozen=True)
class Field:
    path: str
    type: str
    group: str
    label: Any
    compile: Compiler
    choices: tuple[tuple[str, Any], ...] = ()
    windowed: bool = False  # takes "in_last": {"days": N}
    help: Any = ""

    @property
    def ops(self) -> tuple[str, ...]:
        return OPS_BY_TYPE[self.type]

    @property
    def choice_values(self) -> tuple[str, ...] | None:
        return tuple(v for v, _label in self.choices) if self.choices else None

    def describe(self) -> dict[str, Any]:
        return {"path": self.path, "type": self.type, "group": self.group,
                "label": str(self.label), "ops": list(self.ops),
                "choices": [{"value": v, "label": str(label)} for v, label in self.choices],
                "in_last": self.windowed, "help": str(self.help)}


def contacts_in(qs: QuerySet, column: str = "contact_id") -> Q:
    """Contacts whose id is among `qs`'s `column`: one semi-join. Null ids are left out, or
    its negation (NOT IN a list holding a null) would match no one."""
    return Q(pk__in=qs.filter(**{f"{column}__isnull": False}).values(column))


def _scalar(op: str, is_set_q: Callable[[], Q], match: Callable[[], Q]) -> Q:
    """A fact a person has at most one of, or none: "not set" covers both the missing row and
    the empty value."""
    if op == "is_not_set":
        return ~is_set_q()
    return match()


# ---- contact --------------------------------------------------------------------------------

def _contact_text(column: str, choices: tuple[str, ...] | None = None) -> Compiler:
    def compile(cond: dict[str, Any], ctx: Context) -> Q:
        return text_predicate(column, cond["op"], cond.get("value"), ctx, choices)
    return compile


def _contact_datetime(column: str) -> Compiler:
    def compile(cond: dict[str, Any], ctx: Context) -> Q:
        return date_predicate(column, cond["op"], cond.get("value"), ctx, is_datetime=True)
    return compile


def _birthday(cond: dict[str, Any], ctx: Context) -> Q:
    if cond["op"] != "within_next":
        return date_predicate("birthday", cond["op"], cond.get("value"), ctx, is_datetime=False)
    days = parse_days(cond.get("value"), ctx)
    assert days is not None
    calendar.ensure_days(ctx.today.year + 1)
    gregorian, jalali = calendar.month_days(ctx.today, min(days, 366))
    fa = Q(language=Contact.Language.FA)
    return ((fa & Q(birthday__in=CalendarDay.objects.filter(jalali_md__in=jalali)
                    .values("day")))
            | (~fa & Q(birthday__in=CalendarDay.objects.filter(gregorian_md__in=gregorian)
                       .values("day"))))


def _tags(cond: dict[str, Any], ctx: Context) -> Q:
    names = parse_texts(cond.get("value"), ctx)
    q = contacts_in(ContactTag.objects.filter(tag__key__in=[tag_key(n) for n in names]))
    return q if cond["op"] == "has" else ~q


def _identity(kind: str) -> Compiler:
    def compile(cond: dict[str, Any], ctx: Context) -> Q:
        q = contacts_in(Identity.objects.filter(kind=kind))
        return q if _boolean(cond, ctx) else ~q
    return compile


def _boolean(cond: dict[str, Any], ctx: Context) -> bool:
    value = cond.get("value")
    if not isinstance(value, bool):
        raise ctx.refuse(_("expected true or false, got %(value)r") % {"value": value},
                         ".value")
    return value


def custom_field(key: str, ctx: Context) -> Field | None:
    fields = ctx.cache.get("custom_fields")
    if fields is None:
        fields = ctx.cache["custom_fields"] = {f.key: f for f in CustomField.objects.all()}
    found = fields.get(key)
    if found is None:
        return None
    kind = {CustomField.Type.TEXT: "text", CustomField.Type.CHOICE: "choice",
            CustomField.Type.NUMBER: "number", CustomField.Type.DATE: "date",
            CustomField.Type.BOOLEAN: "boolean"}[found.type]
    column = FieldValue.COLUMN[found.type]
    values = FieldValue.objects.filter(field_id=found.pk)
    choices = tuple((str(c), str(c)) for c in (found.choices or [])) if kind == "choice" else ()

    def compile(cond: dict[str, Any], ctx: Context) -> Q:
        op, value = cond["op"], cond.get("value")
        if kind == "boolean":
            return contacts_in(values.filter(**{column: _boolean(cond, ctx)}))
        if kind in ("text", "choice"):
            is_set = lambda: contacts_in(values.filter(  # noqa: E731
                text_predicate(column, "is_set", None, ctx)))
            return _scalar(op, is_set, lambda: contacts_in(values.filter(
                text_predicate(column, op, value, ctx, tuple(v for v, _l in choices) or None))))
        if kind == "number":
            pred = lambda o: number_predicate(column, o, value, ctx)  # noqa: E731
        else:
            pred = lambda o: date_predicate(column, o, value, ctx,  # noqa: E731
                                            is_datetime=False)
        return _scalar(op, lambda: contacts_in(values.filter(pred("is_set"))),
                       lambda: contacts_in(values.filter(pred(op))))

    return Field(f"contact.fields.{key}", kind, "contact",
                 found.label_fa if ctx.cache.get("language") == "fa" else found.label_en,
                 compile, choices)


# ---- consent --------------------------------------------------------------------------------

CONSENT_STATES = (("in", _("Subscribed")), ("out", _("Unsubscribed")),
                  ("pending", _("Awaiting confirmation")), ("none", _("Never asked")))


def _consent_channel(channel: str) -> Compiler:
    rows = ConsentState.objects.filter(channel=channel, topic__isnull=True)

    def state(value: str) -> Q:
        if value == "none":
            return ~contacts_in(rows)
        return contacts_in(rows.filter(status=value))

    def compile(cond: dict[str, Any], ctx: Context) -> Q:
        op = cond["op"]
        if op in ("is_set", "is_not_set"):
            return contacts_in(rows) if op == "is_set" else ~contacts_in(rows)
        values = parse_texts(cond.get("value"), ctx) if op == "in" else [
            str(cond.get("value"))]
        allowed = [v for v, _label in CONSENT_STATES]
        for v in values:
            if v not in allowed:
                raise ctx.refuse(_("%(value)r is not one of %(choices)s")
                                 % {"value": v, "choices": ", ".join(allowed)}, ".value")
        q = Q(pk__in=[])
        for v in values:
            q |= state(v)
        return ~q if op == "ne" else q

    return compile


def _topics(cond: dict[str, Any], ctx: Context) -> Q:
    keys = parse_texts(cond.get("value"), ctx)
    q = contacts_in(ConsentState.objects.filter(topic__key__in=keys, status=Status.IN))
    return q if cond["op"] == "has" else ~q


def _confirmed_at(cond: dict[str, Any], ctx: Context) -> Q:
    rows = ConsentState.objects.filter(topic__isnull=True)
    op = cond["op"]
    return _scalar(op, lambda: contacts_in(rows.filter(confirmed_at__isnull=False)),
                   lambda: contacts_in(rows.filter(date_predicate(
                       "confirmed_at", op, cond.get("value"), ctx, is_datetime=True))))


def _suppressed(cond: dict[str, Any], ctx: Context) -> Q:
    q = contacts_in(ConsentState.objects.filter(topic__isnull=True).exclude(suppression=""))
    return q if _boolean(cond, ctx) else ~q


# ---- commerce -------------------------------------------------------------------------------

def sales(cond: dict[str, Any], ctx: Context) -> QuerySet:
    """Orders that were sales, within the condition's `in_last` window if it has one."""
    qs = Order.objects.filter(deleted_at__isnull=True).exclude(status__in=NOT_REVENUE)
    window = cond.get("in_last")
    if window is not None:
        days = parse_days(window, ctx)
        assert days is not None
        qs = qs.filter(placed_at__gte=ctx.now - dt.timedelta(days=days))
    return qs


def _order_aggregate(aggregate: Callable[[], Any], *, zero_default: bool,
                     kind: str, kept: str = "") -> Compiler:
    """A figure over a person's orders, as one grouped sub-query. Counts and sums of no
    orders are 0: when 0 meets the condition, the people without orders match too, so the
    query names those who fail it. `kept` names the RecentSales column ("spent", "orders")
    that holds the figure for the kept windows (_kept_or_summed)."""
    def compile(cond: dict[str, Any], ctx: Context) -> Q:
        op, value = cond["op"], cond.get("value")
        grouped = sales(cond, ctx).values("contact_id").annotate(v=aggregate())
        if kind == "datetime":
            pred = lambda o: date_predicate("v", o, value, ctx, is_datetime=True)  # noqa: E731
        else:
            pred = lambda o: number_predicate("v", o, value, ctx,  # noqa: E731
                                              integer=kind == "money")
        if not zero_default:
            return _scalar(op, lambda: contacts_in(grouped), lambda: contacts_in(
                grouped.filter(pred(op))))
        if op in ("is_set", "is_not_set"):
            return everyone() if op == "is_set" else no_one()

        def having(p: Q) -> Q:
            return _kept_or_summed(cond, ctx, kept, grouped, p)

        if zero_satisfies(op, value, ctx):
            return ~having(~pred(op))
        return having(pred(op))

    return compile


def _kept_or_summed(cond: dict[str, Any], ctx: Context, kept: str, grouped: QuerySet,
                    p: Q) -> Q:
    """People with orders in the window whose figure `v` meets `p`. For a kept window
    (commerce.models.RecentSales, rebuilt daily) the figure is read from each customer's
    kept row, except for the few whose orders changed since the build or sit on the
    window's moving edge (commerce.queries.changed_since): theirs is summed from the orders.
    One answer either way; at a million customers the kept rows are ~20× faster
    (bench/segments.py)."""
    window = cond.get("in_last")
    days = parse_days(window, ctx) if kept and window is not None else None
    build = ctx.cache.get(f"recent-sales:{days}") if days is not None else None
    if days is not None and build is None:
        build = usable_build(days, ctx.now)
        ctx.cache[f"recent-sales:{days}"] = build
    if build is None:
        return contacts_in(grouped.filter(p))
    assert days is not None
    changed = changed_since(build, days, ctx.now)
    rows = RecentSales.objects.exclude(contact_id__in=changed).annotate(
        v=F(f"{kept}_{days}")).filter(p)
    return contacts_in(rows) | contacts_in(grouped.filter(contact_id__in=changed).filter(p))


def _products(cond: dict[str, Any], ctx: Context) -> Q:
    skus = parse_texts(cond.get("value"), ctx)
    lines = OrderLine.objects.filter(sku__in=skus, order__in=sales(cond, ctx))
    q = contacts_in(lines, "order__contact_id")
    return q if cond["op"] == "has" else ~q


def _cart(status: str) -> Compiler:
    def compile(cond: dict[str, Any], ctx: Context) -> Q:
        q = contacts_in(Cart.objects.filter(status=status))
        return q if _boolean(cond, ctx) else ~q
    return compile


# ---- insights -------------------------------------------------------------------------------

def _metric(column: str, kind: str, choices: tuple[str, ...] | None = None) -> Compiler:
    rows = CustomerMetrics.objects.all()

    def compile(cond: dict[str, Any], ctx: Context) -> Q:
        op, value = cond["op"], cond.get("value")
        if kind == "choice":
            pred = lambda o: text_predicate(column, o, value, ctx, choices)  # noqa: E731
        elif kind == "date":
            pred = lambda o: date_predicate(column, o, value, ctx,  # noqa: E731
                                            is_datetime=False)
        else:
            pred = lambda o: number_predicate(column, o, value, ctx,  # noqa: E731
                                              integer=kind == "money")
        return _scalar(op, lambda: contacts_in(rows.filter(pred("is_set"))),
                       lambda: contacts_in(rows.filter(pred(op))))

    return compile


# ---- engagement -----------------------------------------------------------------------------

def _messages_of(value: dict[str, Any], ctx: Context) -> QuerySet | None:
    broadcast = value.get("broadcast")
    if broadcast is None:
        return None
    if isinstance(broadcast, bool) or not isinstance(broadcast, int):
        raise ctx.refuse(_("broadcast must be a broadcast's id"), ".value.broadcast")
    return OutboxMessage.objects.filter(source=f"broadcast:{broadcast}")


def _activity(rows: Callable[[], QuerySet], at: str, message: str,
              kept: str | None = None) -> Compiler:
    """Something a person did or got (a message sent, a human open, a click), ever or within
    N days, of any message or one broadcast's. not_within_last is "set and before that":
    done at some time, but not within the last N days. `kept`: the LastEngagement column
    holding each person's latest time of it, read instead of the rows when no broadcast is
    named (one row per person rather than every hit)."""
    def compile(cond: dict[str, Any], ctx: Context) -> Q:
        op, value = cond["op"], cond.get("value")
        if op in ("within_last", "not_within_last"):
            value = {"days": parse_days(value, ctx)}
        if value is None:
            value = {}
        if not isinstance(value, dict) or set(value) - {"broadcast", "days"}:
            raise ctx.refuse(_("expected {\"broadcast\": ID, \"days\": N}, both optional"),
                             ".value")
        days = parse_days(value, ctx, required=False)
        since = ctx.now - dt.timedelta(days=days) if days is not None else None
        messages = _messages_of(value, ctx)
        if kept is not None and messages is None:
            latest = LastEngagement.objects.filter(**{f"{kept}__isnull": False})
            if op == "not_within_last":
                return contacts_in(latest.filter(**{f"{kept}__lt": since}))
            q = contacts_in(latest.filter(**{f"{kept}__gte": since}) if since else latest)
            return q if op in ("has", "within_last") else ~q
        qs = rows()
        if since is not None:
            qs = qs.filter(**{f"{at}__gte": since})
        if messages is not None:
            qs = (qs.filter(pk__in=messages.values("pk")) if message == "pk"
                  else qs.filter(**{f"{message}__in": messages.values("pk")}))
        q = contacts_in(qs)
        if op == "not_within_last":
            return contacts_in(rows()) & ~q
        return q if op in ("has", "within_last") else ~q

    return compile


def _human(kind: str) -> Callable[[], QuerySet]:
    return lambda: TrackingEvent.objects.filter(kind=kind, machine=False)


def _last_event(kept: str) -> Compiler:
    """The latest human open or click, from each person's LastEngagement row."""
    def compile(cond: dict[str, Any], ctx: Context) -> Q:
        op, value = cond["op"], cond.get("value")
        latest = LastEngagement.objects.filter(**{f"{kept}__isnull": False}).annotate(v=F(kept))
        return _scalar(op, lambda: contacts_in(latest), lambda: contacts_in(
            latest.filter(date_predicate("v", op, value, ctx, is_datetime=True))))
    return compile


def _bounced(cond: dict[str, Any], ctx: Context) -> Q:
    q = contacts_in(OutboxMessage.objects.filter(state=OutboxMessage.State.BOUNCED))
    return q if _boolean(cond, ctx) else ~q


def _choices(enum: Any) -> tuple[tuple[str, Any], ...]:
    return tuple(enum.choices)


FIELDS: dict[str, Field] = {f.path: f for f in [
    Field("contact.first_name", "text", "contact", _("First name"), _contact_text("first_name")),
    Field("contact.last_name", "text", "contact", _("Last name"), _contact_text("last_name")),
    Field("contact.language", "choice", "contact", _("Language"),
          _contact_text("language", ("fa", "en")), _choices(Contact.Language)),
    Field("contact.timezone", "text", "contact", _("Time zone"), _contact_text("timezone")),
    Field("contact.source", "text", "contact", _("Source"), _contact_text("source")),
    Field("contact.created_at", "datetime", "contact", _("Added on"),
          _contact_datetime("created_at")),
    Field("contact.birthday", "birthday", "contact", _("Birthday"), _birthday,
          help=_("“within the next N days” counts on the Jalali calendar for Persian-speaking "
                 "contacts and on the Gregorian one for others.")),
    Field("contact.tags", "set", "contact", _("Tags"), _tags),
    Field("contact.has_email", "boolean", "contact", _("Has an e-mail address"),
          _identity(Identity.Kind.EMAIL)),
    Field("contact.has_mobile", "boolean", "contact", _("Has a mobile number"),
          _identity(Identity.Kind.PHONE)),
    *[Field(f"consent.{value}", "choice", "consent", label, _consent_channel(value),
            CONSENT_STATES) for value, label in ConsentChannel.choices],
    Field("consent.topics", "set", "consent", _("Subscribed to topic"), _topics),
    Field("consent.confirmed_at", "datetime", "consent", _("Confirmed subscription on"),
          _confirmed_at),
    Field("consent.suppressed", "boolean", "consent", _("Suppressed on a channel"),
          _suppressed),
    Field("orders.count", "number", "commerce", _("Number of orders"),
          _order_aggregate(lambda: Count("id"), zero_default=True, kind="number",
                           kept="orders"),
          windowed=True),
    Field("orders.total_spent", "money", "commerce", _("Total spent"),
          _order_aggregate(lambda: Sum("total"), zero_default=True, kind="money",
                           kept="spent"),
          windowed=True, help=_("In minor units of the shop's currency.")),
    Field("orders.avg_value", "money", "commerce", _("Average order value"),
          _order_aggregate(lambda: Avg("total"), zero_default=False, kind="number"),
          windowed=True, help=_("In minor units of the shop's currency.")),
    Field("orders.first_at", "datetime", "commerce", _("First order"),
          _order_aggregate(lambda: Min("placed_at"), zero_default=False, kind="datetime")),
    Field("orders.last_at", "datetime", "commerce", _("Last order"),
          _order_aggregate(lambda: Max("placed_at"), zero_default=False, kind="datetime")),
    Field("orders.products", "set", "commerce", _("Bought product (SKU)"), _products,
          windowed=True),
    Field("carts.open", "boolean", "commerce", _("Has an open cart"), _cart(Cart.Status.OPEN)),
    Field("carts.abandoned", "boolean", "commerce", _("Has an abandoned cart"),
          _cart(Cart.Status.ABANDONED)),
    Field("insights.r_score", "number", "insights", _("R score"), _metric("r_score", "number")),
    Field("insights.f_score", "number", "insights", _("F score"), _metric("f_score", "number")),
    Field("insights.m_score", "number", "insights", _("M score"), _metric("m_score", "number")),
    Field("insights.rfm_segment", "choice", "insights", _("RFM segment"),
          _metric("rfm_segment", "choice", tuple(RfmSegment.values)), _choices(RfmSegment)),
    Field("insights.tier", "choice", "insights", _("Value tier (pyramid)"),
          _metric("value_tier", "choice", tuple(Tier.values)), _choices(Tier)),
    Field("insights.ladder", "choice", "insights", _("Loyalty ladder rung"),
          _metric("ladder_stage", "choice", tuple(Stage.values)), _choices(Stage)),
    Field("insights.clv", "money", "insights", _("Predicted value (CLV)"),
          _metric("predicted_value", "money"), help=_("In minor units of the shop's currency.")),
    Field("insights.p_alive", "number", "insights", _("Probability still active"),
          _metric("p_alive", "number"), help=_("From 0 to 1.")),
    Field("insights.expected_purchases", "number", "insights", _("Expected purchases"),
          _metric("expected_purchases", "number")),
    Field("insights.engagement", "number", "insights", _("Engagement score"),
          _metric("engagement_score", "number")),
    Field("insights.due", "choice", "insights", _("Next purchase"),
          _metric("due_status", "choice", tuple(DueStatus.values)), _choices(DueStatus)),
    Field("insights.next_due_at", "date", "insights", _("Next purchase due on"),
          _metric("next_due_date", "date")),
    Field("engagement.received", "activity", "engagement", _("Was sent a message"),
          _activity(lambda: OutboxMessage.objects.filter(state=OutboxMessage.State.SENT),
                    "sent_at", "pk")),
    Field("engagement.opened", "activity", "engagement", _("Opened"),
          _activity(_human(TrackingEvent.Kind.OPEN), "at", "message_id", "last_opened_at"),
          help=_("Opens by people only: those by scanners and privacy proxies are left out.")),
    Field("engagement.clicked", "activity", "engagement", _("Clicked"),
          _activity(_human(TrackingEvent.Kind.CLICK), "at", "message_id", "last_clicked_at")),
    Field("engagement.last_opened_at", "datetime", "engagement", _("Last opened"),
          _last_event("last_opened_at")),
    Field("engagement.last_clicked_at", "datetime", "engagement", _("Last clicked"),
          _last_event("last_clicked_at")),
    Field("engagement.bounced", "boolean", "engagement", _("A message bounced"), _bounced),
]}
