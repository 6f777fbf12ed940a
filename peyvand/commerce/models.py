"""Products, orders, refunds, carts and the shops that send them.

Money is always an integer in minor units with its stored currency beside it (see money.py):
rial for every Iranian unit, cents for USD/EUR.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from peyvand.contacts.models import Contact


class MoneySettings(models.Model):
    """The one row (pk 1) saying how the shop reads amounts: rial amounts are shown in toman
    or in rial on every page, chart and export header. Stored amounts do not change."""

    class Unit(models.TextChoices):
        TOMAN = "toman", _("Toman")
        RIAL = "rial", _("Rial")

    display_unit = models.CharField(_("show rial amounts in"), max_length=8,
                                    choices=Unit.choices, default=Unit.TOMAN)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"money shown in {self.display_unit}"


class ShopSource(models.Model):
    """A shop that pushes orders, customers and products to us by webhook."""

    class Kind(models.TextChoices):
        WOOCOMMERCE = "woocommerce", "WooCommerce"

    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices,
                            default=Kind.WOOCOMMERCE)
    # Also the key of its orders and customer ids ("woocommerce:NAME"), so never renamed.
    name = models.SlugField(_("name"), max_length=48, unique=True, allow_unicode=True)
    # In the webhook URL: finds the source without revealing the secret.
    token = models.CharField(max_length=64, unique=True, editable=False)
    # HMAC key the shop signs each delivery with; needed in clear to verify.
    secret = models.CharField(max_length=128, editable=False)
    # The shop's currency as it names it (IRT = toman); product payloads do not say it.
    currency = models.CharField(_("currency"), max_length=4, default="IRT")
    active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_by_label = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def source_key(self) -> str:
        return f"{self.kind}:{self.name}"

    def webhook_path(self) -> str:
        return reverse("hooks:woocommerce", args=[self.token])


class Product(models.Model):
    sku = models.CharField(_("SKU"), max_length=100, unique=True)
    name_fa = models.CharField(_("name (Persian)"), max_length=200, blank=True)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    category = models.CharField(_("category"), max_length=100, blank=True, db_index=True)
    price = models.BigIntegerField(_("price"), default=0)
    cost = models.BigIntegerField(_("cost"), null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, default="IRR")
    active = models.BooleanField(_("active"), default=True)
    # The shop's own id for products that arrive by webhook ("woocommerce:NAME", "93").
    source = models.CharField(max_length=64, blank=True, default="")
    external_id = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sku"]
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], condition=~Q(external_id=""),
                                    name="product_unique_external_id"),
        ]

    def __str__(self) -> str:
        return self.sku

    def name(self, language: str = "fa") -> str:
        first, second = (self.name_fa, self.name_en) if language == "fa" else \
            (self.name_en, self.name_fa)
        return first or second or self.sku


class Order(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending payment")
        PROCESSING = "processing", _("Processing")
        ON_HOLD = "on_hold", _("On hold")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")
        REFUNDED = "refunded", _("Refunded")
        FAILED = "failed", _("Failed")
        DRAFT = "draft", _("Draft")

    class Delivery(models.TextChoices):
        PENDING = "pending", _("Not shipped")
        ON_TIME = "on_time", _("On time")
        LATE = "late", _("Late")
        BACK_ORDERED = "back_ordered", _("Back-ordered")
        DELIVERED = "delivered", _("Delivered")

    # Where the order came from ("api", "csv", "woocommerce:NAME") and its id there.
    source = models.CharField(_("source"), max_length=64)
    external_id = models.CharField(_("external id"), max_length=100)
    number = models.CharField(_("number"), max_length=64, blank=True)
    # PROTECT: revenue must never vanish with a contact; merges move orders first.
    contact = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="orders")
    placed_at = models.DateTimeField(_("placed at"), db_index=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices,
                              default=Status.PROCESSING)
    currency = models.CharField(_("currency"), max_length=3)
    subtotal = models.BigIntegerField(_("subtotal"), default=0)
    discount = models.BigIntegerField(_("discount"), default=0)
    shipping = models.BigIntegerField(_("shipping"), default=0)
    tax = models.BigIntegerField(_("tax"), default=0)
    total = models.BigIntegerField(_("total"), default=0)
    channel = models.CharField(_("channel"), max_length=32, blank=True)
    delivery_status = models.CharField(_("delivery"), max_length=16, choices=Delivery.choices,
                                       default=Delivery.PENDING, db_index=True)
    promised_at = models.DateField(_("promised for"), null=True, blank=True)
    delivered_at = models.DateField(_("delivered on"), null=True, blank=True)
    # Deleted (trashed) at the source: kept for history, left out of every sum.
    deleted_at = models.DateTimeField(null=True, blank=True)
    # When the source last changed the order (WooCommerce date_modified), as of the version
    # applied here: a delivery of an older version never overwrites a newer one.
    source_modified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Not a column: annotated by commerce.queries.with_refunded (sum of refunds, minor units).
    refunded: int

    class Meta:
        ordering = ["-placed_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"],
                                    name="order_unique_source_id"),
        ]
        # A person's orders by time, wide enough that "spent in the last N days" (segments)
        # reads sales from the index alone (bench/segments.py). Not a partial index: SQLite
        # cannot match one against bound parameters.
        indexes = [models.Index(fields=["contact", "placed_at", "total", "status", "deleted_at"],
                                name="order_by_contact_time"),
                   # Segments' "spent in the last N days" over every buyer at once: one
                   # range of the window, read from the index alone (bench/segments.py).
                   models.Index(fields=["placed_at", "contact", "total", "status"],
                                condition=models.Q(deleted_at__isnull=True),
                                name="order_sales_by_time"),
                   # Whose orders changed since the recent sales were kept (RecentSales).
                   models.Index(fields=["updated_at", "contact"], name="order_changed_since")]

    def __str__(self) -> str:
        return f"#{self.number or self.external_id}"

    @property
    def display_number(self) -> str:
        return self.number or self.external_id


# Orders that never were a sale: left out of purchase summaries and revenue.
NOT_REVENUE = (Order.Status.CANCELLED, Order.Status.FAILED, Order.Status.DRAFT)

# The windows (days) whose sales are kept per customer in RecentSales.
RECENT_WINDOWS = (30, 90, 180, 365)


class RecentSales(models.Model):
    """Each customer's sales (sum of totals, number of orders) placed in the 30, 90, 180 and
    365 days before the last build's `window_end`, kept so that a segment's "spent in the
    last N days" over a million customers reads one small row each instead of summing their
    orders (issue 16). Rebuilt from the orders by actions.recent_sales; a reader takes the
    customers whose orders changed since, or have a sale on a window's moving edge, from the
    orders instead, so the answer stays exact (audiences.fields)."""

    contact = models.OneToOneField(Contact, primary_key=True, on_delete=models.CASCADE,
                                   related_name="+")
    spent_30 = models.BigIntegerField(default=0)
    orders_30 = models.PositiveIntegerField(default=0)
    spent_90 = models.BigIntegerField(default=0)
    orders_90 = models.PositiveIntegerField(default=0)
    spent_180 = models.BigIntegerField(default=0)
    orders_180 = models.PositiveIntegerField(default=0)
    spent_365 = models.BigIntegerField(default=0)
    orders_365 = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.contact_id}: {self.spent_365} in {self.orders_365} orders in a year"


class RecentSalesBuild(models.Model):
    """The one row saying what RecentSales holds: sales placed before `window_end`, read
    from the orders as they were at `taken_at` (no earlier than window_end)."""

    window_end = models.DateTimeField()
    taken_at = models.DateTimeField()
    customers = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"recent sales to {self.window_end:%Y-%m-%d %H:%M}"


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    # The product may be deleted or unknown; sku and name keep what was sold.
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    sku = models.CharField(_("SKU"), max_length=100, blank=True)
    name = models.CharField(_("name"), max_length=300, blank=True)
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    unit_price = models.BigIntegerField(_("unit price"), default=0)
    line_total = models.BigIntegerField(_("line total"), default=0)

    class Meta:
        ordering = ["order", "id"]
        indexes = [models.Index(fields=["product", "order"])]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.sku or self.name}"


class Refund(models.Model):
    """Money given back on an order (a return when it has lines); in the order's currency."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="refunds")
    amount = models.BigIntegerField(_("amount"))
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    at = models.DateTimeField(_("at"), db_index=True)
    # The source's refund id; makes replays of the same refund harmless.
    external_id = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "external_id"], condition=~Q(external_id=""),
                                    name="refund_unique_external_id"),
        ]

    def __str__(self) -> str:
        return f"{self.order} −{self.amount}"


class RefundLine(models.Model):
    refund = models.ForeignKey(Refund, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(OrderLine, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    sku = models.CharField(max_length=100, blank=True)
    quantity = models.PositiveIntegerField(default=1)
    amount = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.quantity} × {self.sku}"


class Cart(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        ABANDONED = "abandoned", _("Abandoned")
        CONVERTED = "converted", _("Converted")

    source = models.CharField(max_length=64)
    external_id = models.CharField(max_length=100)
    contact = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="carts")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    currency = models.CharField(max_length=3)
    total = models.BigIntegerField(default=0)
    # When the shopper last touched the cart (not when we last saved the row).
    updated_at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    abandoned_at = models.DateTimeField(null=True, blank=True)
    converted_order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="carts")

    class Meta:
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"],
                                    name="cart_unique_source_id"),
        ]
        indexes = [models.Index(fields=["status", "updated_at"])]

    def __str__(self) -> str:
        return f"cart {self.source}:{self.external_id}"


class CartLine(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    sku = models.CharField(max_length=100, blank=True)
    name = models.CharField(max_length=300, blank=True)
    quantity = models.PositiveIntegerField(default=1)
    unit_price = models.BigIntegerField(default=0)
    line_total = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["cart", "id"]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.sku or self.name}"


class WebhookDelivery(models.Model):
    """One request a shop sent, stored as received before anything is done with it."""

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        PROCESSED = "processed", _("Processed")
        FAILED = "failed", _("Failed")

    source = models.ForeignKey(ShopSource, on_delete=models.CASCADE, related_name="deliveries")
    delivery_id = models.CharField(max_length=64, blank=True)
    topic = models.CharField(_("topic"), max_length=64, blank=True)
    payload = models.TextField(blank=True)
    headers = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices,
                              default=Status.RECEIVED)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("error"), blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=200, blank=True)
    # Whose data the payload holds, once known: erasure blanks the payload.
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "delivery_id"],
                                    condition=~Q(delivery_id=""),
                                    name="delivery_once_per_source"),
        ]
        indexes = [models.Index(fields=["source", "status"])]

    def __str__(self) -> str:
        return f"{self.source} {self.topic} {self.delivery_id}"
