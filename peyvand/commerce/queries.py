"""Reads on commerce rows, used by UI, API, CLI and the contact page alike."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import (
    Count,
    Exists,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Coalesce
from django.http import Http404

from peyvand.base.actor import Actor
from peyvand.base.normalise import search_key
from peyvand.base.roles import require
from peyvand.commerce.models import (
    NOT_REVENUE,
    RECENT_WINDOWS,
    Order,
    OrderLine,
    Product,
    RecentSalesBuild,
    Refund,
    RefundLine,
    ShopSource,
)


def _pk(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Http404


def with_refunded(qs: QuerySet) -> QuerySet:
    """Annotate `refunded` (minor units) with one subquery, so lists stay at fixed queries."""
    total = (Refund.objects.filter(order=OuterRef("pk")).order_by().values("order")
             .annotate(s=Sum("amount")).values("s"))
    return qs.annotate(refunded=Coalesce(Subquery(total, output_field=IntegerField()), 0))


def access_order(actor: Actor, order_id: Any) -> Order:
    """The order, if it exists and the actor may see orders; 404 otherwise."""
    require(actor, "commerce.view")
    order = with_refunded(Order.objects.select_related("contact")).filter(pk=_pk(order_id)) \
        .first()
    if order is None:
        raise Http404
    return order


def search_orders(actor: Actor, *, contact: Any = None, status: str = "",
                  source: str = "") -> QuerySet:
    require(actor, "commerce.view")
    qs = with_refunded(Order.objects.select_related("contact"))
    if contact not in (None, ""):
        qs = qs.filter(contact_id=_pk(contact))
    if status:
        qs = qs.filter(status=status)
    if source:
        qs = qs.filter(source=source)
    return qs.order_by("-placed_at", "-id")


def search_products(actor: Actor, *, q: str = "", category: str = "") -> QuerySet:
    require(actor, "commerce.view")
    qs = Product.objects.all()
    for term in search_key(q).split():
        qs = qs.filter(Q(sku__icontains=term) | Q(name_fa__icontains=term)
                       | Q(name_en__icontains=term))
    if category:
        qs = qs.filter(category=category)
    return qs.order_by("sku")


def revenue_orders() -> QuerySet:
    """Orders that are sales: not cancelled, failed, draft or deleted at the shop."""
    return Order.objects.filter(deleted_at__isnull=True).exclude(status__in=NOT_REVENUE)


def refunds_until(end: Any, contact_ids: Any = None) -> QuerySet:
    """Refunds made before `end`, of any order (callers that count sales keep those of the
    orders they read), each with `names_lines`: whether it names lines given back (a
    return). Only those on the given contacts' orders when `contact_ids` is given."""
    qs = Refund.objects.filter(at__lt=end).annotate(
        names_lines=Exists(RefundLine.objects.filter(refund=OuterRef("pk"))))
    if contact_ids is not None:
        qs = qs.filter(order__contact_id__in=contact_ids)
    return qs.order_by()


def order_lines(contact_ids: Any = None) -> QuerySet:
    """Every order line, or those of the given contacts' orders. Callers that read sales
    keep the lines of the orders they read: for a whole shop that beats a join in SQL."""
    qs = OrderLine.objects.all()
    if contact_ids is not None:
        qs = qs.filter(order__contact_id__in=contact_ids)
    return qs.order_by()


def purchase_summary(contact_id: int) -> dict[str, Any]:
    """What a contact bought: {"orders", "net_revenue" (minor units, totals minus refunds),
    "currency", "first_order_at", "last_order_at", "by_currency": {code: net}}.

    A contact who paid in several currencies gets the one most orders were in as `currency`.
    Two queries whatever the number of orders.
    """
    orders = revenue_orders().filter(contact_id=contact_id)
    rows = list(orders.order_by().values("currency").annotate(
        n=Count("id"), total=Sum("total"), first=Min("placed_at"), last=Max("placed_at")))
    refunded = dict(Refund.objects.filter(order__in=orders).order_by()
                    .values("order__currency").annotate(s=Sum("amount"))
                    .values_list("order__currency", "s"))
    by_currency = {r["currency"]: r["total"] - (refunded.get(r["currency"]) or 0) for r in rows}
    main = max(rows, key=lambda r: (r["n"], r["total"]))["currency"] if rows else None
    return {
        "orders": sum(r["n"] for r in rows),
        "net_revenue": by_currency.get(main, 0) if main else 0,
        "currency": main,
        "first_order_at": min((r["first"] for r in rows), default=None),
        "last_order_at": max((r["last"] for r in rows), default=None),
        "by_currency": by_currency,
    }


def access_source(actor: Actor, source_id: Any) -> ShopSource:
    require(actor, "sources.manage")
    source = ShopSource.objects.filter(pk=_pk(source_id)).first()
    if source is None:
        raise Http404
    return source


def sources_with_counts(actor: Actor) -> QuerySet:
    require(actor, "sources.manage")
    return ShopSource.objects.annotate(
        received=Count("deliveries"),
        failed=Count("deliveries", filter=Q(deliveries__status="failed")),
        last_received_at=Max("deliveries__received_at"),
    ).order_by("name")


# --- kept recent sales (RecentSales) ----------------------------------------------------------

# An order saved just before a build but committed after the build read the orders has an
# `updated_at` a little before `taken_at`: readers treat orders changed within this margin
# before the build as changed after it.
COMMIT_MARGIN = dt.timedelta(minutes=10)


def usable_build(days: int, now: dt.datetime) -> RecentSalesBuild | None:
    """The build a reader at `now` may use for a window of `days`, or None (no build, a
    window not kept, or one whose windows end after `now`: a rule evaluated for an earlier
    moment)."""
    if days not in RECENT_WINDOWS:
        return None
    build = RecentSalesBuild.objects.order_by("-taken_at").first()
    return build if build is not None and build.window_end <= now else None


def changed_since(build: RecentSalesBuild, days: int, now: dt.datetime) -> QuerySet:
    """Customers whose kept sales for the window of `days` ending `now` may be wrong (their
    `contact_id`s): an order of theirs changed since the build (a new, edited, cancelled,
    deleted or moved one), one placed at or after the build's window end, or one placed in
    the slice that has left the window since the build."""
    start, kept_start = now - dt.timedelta(days=days), build.window_end - dt.timedelta(days=days)
    return Order.objects.filter(
        Q(updated_at__gte=build.taken_at - COMMIT_MARGIN)
        | Q(placed_at__gte=build.window_end)
        | Q(placed_at__gte=kept_start, placed_at__lt=start)).values("contact_id")
