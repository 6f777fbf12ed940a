"""REST API for orders, refunds, products and carts.

Thin: parse input, build an API Actor, call commerce.actions / queries, render. Amounts are
sent in the major unit of the currency given (toman for IRT, dollars for USD) and returned in
minor units of the stored currency (rial for every Iranian unit, cents for USD).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.db.models import Prefetch
from ninja import Field, Query, Router, Schema

from peyvand.api_common import (  # noqa: I001
    ERRORS,
    Body,
    ErrorOut,
    NumberOrText,
    Paging,
    Status,
    api_actor,
    one_of,
    page_of,
)
from peyvand.base.actor import Actor
from peyvand.commerce.actions import (
    MAX_LINES,
    do_add_refund,
    do_upsert_cart,
    do_upsert_order,
    do_upsert_product,
)
from peyvand.commerce.models import Cart, Order, Product
from peyvand.commerce.queries import access_order, search_orders, search_products
from peyvand.contacts.api import ExternalIdIn

router = Router(tags=["commerce"])

Amount = NumberOrText | None  # 12.5, or text: "1,250,000", "۱۲٬۵۰۰"


# --- input --------------------------------------------------------------------------------------

class CustomerIn(Body):
    contact_id: NumberOrText | None = Field(None, description="an existing contact; else "
                                                               "matched or created from "
                                                               "e-mail/mobile")
    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    external_ids: list[ExternalIdIn] | None = None


class LineIn(Body):
    sku: str | None = None
    name: str | None = None
    quantity: NumberOrText | None = "1"
    unit_price: Amount = None
    line_total: Amount = Field(None, description="defaults to quantity × unit_price")


class DeliveryIn(Body):
    status: Annotated[str, one_of(*Order.Delivery.values)] | None = Field(
        None, description="derived from the dates if left out")
    promised_at: str | None = Field(None, description="1403/02/12 or 2024-05-01")
    delivered_at: str | None = None


class RefundLineIn(Body):
    sku: str | None = None
    quantity: NumberOrText | None = "1"
    amount: Amount = None


class RefundIn(Body):
    id: str | None = Field(None, description="the refund's id at the source (same as "
                                             "external_id)")
    external_id: str | None = Field(None, description="sending the same one twice refunds once")
    amount: Amount = None
    currency: str | None = Field(None, description="defaults to the order's")
    reason: str | None = None
    at: str | None = None
    lines: list[RefundLineIn] | None = None


class OrderIn(Body):
    source: str | None = Field("api", description="where the order comes from")
    external_id: str | None = Field(None, description="its id there; (source, external_id) "
                                                      "is unique, so sending it again updates")
    number: str | None = None
    placed_at: str | None = Field(None, description="ISO date-time; a date may be Jalali")
    status: Annotated[str, one_of(*Order.Status.values)] | None = None
    currency: str | None = Field(None, description="IRR, IRT (toman), IRHR, IRHT, USD, EUR…")
    subtotal: Amount = Field(None, description="defaults to the sum of the lines")
    discount: Amount = None
    shipping: Amount = None
    tax: Amount = None
    total: Amount = Field(None, description="defaults to subtotal − discount + shipping + tax")
    channel: str | None = None
    customer: CustomerIn | None = None
    contact_id: NumberOrText | None = None
    lines: list[LineIn] | None = Field(None, max_length=MAX_LINES)
    delivery: DeliveryIn | None = None
    refunds: list[RefundIn] | None = Field(None, description="refunds with ids; replaces "
                                                             "those sent before")
    cart_id: str | None = Field(None, description="the cart this order converts")
    modified_at: str | None = Field(None, description="when the order last changed at its "
                                                      "source; a version older than the one "
                                                      "stored changes nothing (`stale`)")


class ProductIn(Body):
    sku: str | None = None
    name_fa: str | None = None
    name_en: str | None = None
    category: str | None = None
    price: Amount = None
    cost: Amount = None
    currency: str | None = None
    active: bool | None = None


class CartIn(Body):
    source: str | None = "api"
    external_id: str | None = None
    customer: CustomerIn | None = None
    contact_id: NumberOrText | None = None
    currency: str | None = None
    status: Annotated[str, one_of(*Cart.Status.values)] | None = None
    updated_at: str | None = None
    lines: list[LineIn] | None = Field(None, max_length=MAX_LINES)


class OrderFilter(Paging):
    contact: int | None = Field(None, ge=1, le=2**63 - 1, description="a contact's id")
    status: str = ""
    source: str = ""


class ProductFilter(Paging):
    q: str = ""
    category: str = ""


# --- output -------------------------------------------------------------------------------------

class LineOut(Schema):
    sku: str
    name: str
    quantity: int
    unit_price: int
    line_total: int
    product_id: int | None


class RefundOut(Schema):
    id: int
    order_id: int
    amount: int
    currency: str
    reason: str
    at: dt.datetime
    external_id: str


class RefundCreatedOut(RefundOut):
    created: bool


class DeliveryOut(Schema):
    status: str
    promised_at: dt.date | None
    delivered_at: dt.date | None


class OrderSummaryOut(Schema):
    id: int
    source: str
    external_id: str
    number: str
    contact_id: int
    placed_at: dt.datetime
    status: str
    currency: str
    subtotal: int
    discount: int
    shipping: int
    tax: int
    total: int
    refunded: int
    net: int = Field(description="total − refunded")
    channel: str
    delivery: DeliveryOut
    deleted: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class OrderOut(OrderSummaryOut):
    lines: list[LineOut]
    refunds: list[RefundOut]


class OrderUpsertOut(OrderOut):
    created: bool
    changed: list[str]
    stale: bool = Field(False, description="an older version than the one stored: ignored")


class OrderPage(Schema):
    items: list[OrderSummaryOut]
    count: int
    page: int
    page_size: int


class ProductOut(Schema):
    id: int
    sku: str
    name_fa: str
    name_en: str
    category: str
    price: int
    cost: int | None
    currency: str
    active: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class ProductUpsertOut(ProductOut):
    created: bool


class ProductPage(Schema):
    items: list[ProductOut]
    count: int
    page: int
    page_size: int


class CartOut(Schema):
    id: int
    source: str
    external_id: str
    contact_id: int
    status: str
    currency: str
    total: int
    updated_at: dt.datetime
    converted_order_id: int | None
    lines: list[LineOut]
    created: bool


# --- helpers ------------------------------------------------------------------------------------

def _line_out(line) -> dict[str, Any]:
    return {"sku": line.sku, "name": line.name, "quantity": line.quantity,
            "unit_price": line.unit_price, "line_total": line.line_total,
            "product_id": line.product_id}


def _refund_out(refund, currency: str) -> dict[str, Any]:
    return {"id": refund.pk, "order_id": refund.order_id, "amount": refund.amount,
            "currency": currency, "reason": refund.reason, "at": refund.at,
            "external_id": refund.external_id}


def _summary_out(order: Order) -> dict[str, Any]:
    data = {name: getattr(order, name) for name in (
        "id", "source", "external_id", "number", "contact_id", "placed_at", "status",
        "currency", "subtotal", "discount", "shipping", "tax", "total", "refunded", "channel",
        "created_at", "updated_at")}
    data["net"] = order.total - order.refunded
    data["deleted"] = order.deleted_at is not None
    data["delivery"] = {"status": order.delivery_status, "promised_at": order.promised_at,
                        "delivered_at": order.delivered_at}
    return data


def _order_out(actor: Actor, pk: int, **extra: Any) -> dict[str, Any]:
    order = access_order(actor, pk)
    data = _summary_out(order)
    data["lines"] = [_line_out(ln) for ln in order.lines.all()]
    data["refunds"] = [_refund_out(r, order.currency) for r in order.refunds.all()]
    return {**data, **extra}


def _product_out(product: Product) -> dict[str, Any]:
    return {name: getattr(product, name) for name in (
        "id", "sku", "name_fa", "name_en", "category", "price", "cost", "currency", "active",
        "created_at", "updated_at")}


def _raw(payload: Schema) -> dict[str, Any]:
    return payload.dict(exclude_unset=True)


# --- orders -------------------------------------------------------------------------------------

@router.post("/orders", response={200: OrderUpsertOut, 201: OrderUpsertOut, ERRORS: ErrorOut})
def upsert_order(request, payload: OrderIn):
    """Create or update an order by (source, external_id): the same payload twice gives one
    order (201, then 200 with `changed` empty); unknown customers become contacts."""
    actor = api_actor(request)
    raw = _raw(payload)
    raw.setdefault("source", "api")
    result = do_upsert_order(actor, raw)
    body = _order_out(actor, result.order.pk, created=result.created, changed=result.changed,
                      stale=result.stale)
    return Status(201 if result.created else 200, body)


@router.get("/orders", response={200: OrderPage, ERRORS: ErrorOut})
def list_orders(request, filters: Query[OrderFilter]):
    qs = search_orders(api_actor(request), contact=filters.contact, status=filters.status,
                       source=filters.source)
    page, count = page_of(qs, filters)
    return {"items": [_summary_out(o) for o in page], "count": count, "page": filters.page,
            "page_size": filters.page_size}


@router.get("/orders/{order_id}", response={200: OrderOut, ERRORS: ErrorOut})
def get_order(request, order_id: int):
    return _order_out(api_actor(request), order_id)


@router.post("/orders/{order_id}/refunds",
             response={200: RefundCreatedOut, 201: RefundCreatedOut, ERRORS: ErrorOut})
def add_refund(request, order_id: int, payload: RefundIn):
    """Refund (part of) an order; never more than is left. An external_id sent twice gives
    the first refund back (200)."""
    actor = api_actor(request)
    order = access_order(actor, order_id)
    raw = _raw(payload)
    if raw.get("id") and not raw.get("external_id"):
        raw["external_id"] = raw["id"]
    result = do_add_refund(actor, order, raw)
    body = {**_refund_out(result.refund, order.currency), "created": result.created}
    return Status(201 if result.created else 200, body)


# --- products -----------------------------------------------------------------------------------

@router.post("/products", response={200: ProductUpsertOut, 201: ProductUpsertOut,
                                    ERRORS: ErrorOut})
def upsert_product(request, payload: ProductIn):
    """Create or update the product with this SKU; fields left out are kept."""
    product, created = do_upsert_product(api_actor(request), _raw(payload))
    return Status(201 if created else 200, {**_product_out(product), "created": created})


@router.get("/products", response={200: ProductPage, ERRORS: ErrorOut})
def list_products(request, filters: Query[ProductFilter]):
    qs = search_products(api_actor(request), q=filters.q, category=filters.category)
    page, count = page_of(qs, filters)
    return {"items": [_product_out(p) for p in page], "count": count, "page": filters.page,
            "page_size": filters.page_size}


# --- carts --------------------------------------------------------------------------------------

@router.post("/carts", response={200: CartOut, 201: CartOut, ERRORS: ErrorOut})
def upsert_cart(request, payload: CartIn):
    """Create or replace a cart by (source, external_id); open carts left alone for an hour
    become abandoned and show on the contact's timeline."""
    raw = _raw(payload)
    raw.setdefault("source", "api")
    cart, created = do_upsert_cart(api_actor(request), raw)
    cart = Cart.objects.prefetch_related(Prefetch("lines")).get(pk=cart.pk)
    body = {name: getattr(cart, name) for name in (
        "id", "source", "external_id", "contact_id", "status", "currency", "total",
        "updated_at", "converted_order_id")}
    body["lines"] = [_line_out(ln) for ln in cart.lines.all()]
    body["created"] = created
    return Status(201 if created else 200, body)
