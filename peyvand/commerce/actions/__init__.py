"""Every write on commerce rows: products, orders, refunds, carts, shop sources.

The API, the WooCommerce receiver, the CLI and the UI all call these, so money conversion,
customer matching, role checks and timeline entries happen the same way on every way in.
Customers are reached only through contacts services (upsert, access, timeline).
The modules split them by what they write; callers import from here.
"""

from peyvand.commerce.actions.bulk import (
    BulkOrders,
    OrderOutcome,
)
from peyvand.commerce.actions.carts import (
    do_upsert_cart,
    mark_abandoned_carts,
)
from peyvand.commerce.actions.checks import (
    AMOUNTS,
    CUSTOMER_KEYS,
    MAX_LINES,
    CommerceInvalid,
    parse_when,
    resolve_customer,
)
from peyvand.commerce.actions.merge import (
    move_commerce_rows,
)
from peyvand.commerce.actions.money import do_save_money_settings, money_settings
from peyvand.commerce.actions.orders import (
    OrderData,
    OrderResult,
    RefundResult,
    check_order,
    check_refund,
    do_add_refund,
    do_mark_order_deleted,
    do_upsert_order,
    refresh_late_deliveries,
)
from peyvand.commerce.actions.products import (
    check_product,
    do_deactivate_product,
    do_upsert_product,
)
from peyvand.commerce.actions.recent_sales import (
    refresh_recent_sales,
)
from peyvand.commerce.actions.sources import (
    do_create_source,
    do_set_source_active,
    retry_delivery,
)
from peyvand.commerce.hooks import ORDER_CHANGED_HOOKS  # where the order writes call them

__all__ = [
    "ORDER_CHANGED_HOOKS", "AMOUNTS", "BulkOrders", "OrderOutcome", "CUSTOMER_KEYS",
    "CommerceInvalid", "MAX_LINES",
    "OrderData", "OrderResult", "RefundResult", "check_order", "check_product", "check_refund",
    "do_add_refund", "do_create_source", "do_deactivate_product", "do_mark_order_deleted",
    "do_save_money_settings", "money_settings",
    "do_set_source_active", "do_upsert_cart", "do_upsert_order", "do_upsert_product",
    "mark_abandoned_carts", "move_commerce_rows", "parse_when", "refresh_late_deliveries",
    "refresh_recent_sales", "resolve_customer", "retry_delivery"
]
