"""Bought together: item-to-item co-purchase with support, confidence and lift.

Baskets are sales (commerce's revenue orders) in the look-back window; a product counts once
per order however many lines or units name it. Counts come from one sparse matrix product
(orders × products)ᵀ(orders × products).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import numpy as np

from peyvand.commerce.models import OrderLine, Product
from peyvand.commerce.queries import revenue_orders
from peyvand.insights.metrics import bulk_insert, cutoff
from peyvand.insights.models import InsightSettings, ProductAssociation

# Related products kept per product (recommendations need a handful).
KEEP_PER_PRODUCT = 20


def associations(order_ids: np.ndarray, product_ids: np.ndarray, *, min_orders: int,
                 keep: int = KEEP_PER_PRODUCT) -> tuple[list[tuple], int]:
    """[(product, related, together, support, confidence, lift)] best first per product,
    and the number of baskets."""
    from scipy import sparse  # here, not with the module: every process loads this app

    if len(order_ids) == 0:
        return [], 0
    orders, o_idx = np.unique(order_ids, return_inverse=True)
    products, p_idx = np.unique(product_ids, return_inverse=True)
    basket = sparse.csr_matrix((np.ones(len(o_idx), dtype=np.int32), (o_idx, p_idx)),
                               shape=(len(orders), len(products)))
    basket.data[:] = 1  # duplicates were summed; a product counts once per order
    co = (basket.T @ basket).tocoo()
    count = np.asarray(basket.sum(axis=0)).ravel().astype(float)
    n = float(len(orders))
    keep_mask = (co.row != co.col) & (co.data >= min_orders)
    a, b, together = co.row[keep_mask], co.col[keep_mask], co.data[keep_mask].astype(float)
    confidence = together / count[a]
    lift = confidence / (count[b] / n)
    support = together / n
    order = np.lexsort((-confidence, -lift, a))
    rows = []
    taken: dict[int, int] = defaultdict(int)
    for i in order:
        if taken[a[i]] >= keep:
            continue
        taken[a[i]] += 1
        rows.append((int(products[a[i]]), int(products[b[i]]), int(together[i]),
                     float(support[i]), float(confidence[i]), float(lift[i])))
    return rows, int(n)


def window_start(as_of: dt.date, s: InsightSettings) -> dt.datetime:
    """The first moment of the look-back window that ends with `as_of`."""
    return cutoff(as_of) - dt.timedelta(days=s.crosssell_days)


def rebuild(baskets: dict[str, np.ndarray], s: InsightSettings) -> dict[str, Any]:
    """Replace every association with those of the given baskets: the (order, product)
    pairs of every sale line in the window, which the full refresh collects while it reads
    the lines for its metrics (metrics.load_frame with `baskets`), so the lines are read
    once."""
    order_ids, product_ids = baskets["order_id"], baskets["product_id"]
    rows, baskets_n = associations(order_ids, product_ids, min_orders=s.crosssell_min_orders)
    ProductAssociation.objects.all().delete()
    bulk_insert(ProductAssociation._meta.db_table,
                ["product_id", "related_id", "orders_together", "support", "confidence",
                 "lift"], rows)
    return {"baskets": baskets_n, "pairs": len(rows),
            "products": int(len(np.unique(product_ids))) if len(product_ids) else 0}


def for_product(product: Product, limit: int = 5) -> list[ProductAssociation]:
    """Products most often bought with this one, beyond chance (lift > 1)."""
    return list(ProductAssociation.objects.filter(product=product, lift__gt=1,
                                                  related__active=True)
                .select_related("related").order_by("-lift", "-confidence")[:limit])


def owned_products(contact_id: int) -> set[int]:
    orders = revenue_orders().filter(contact_id=contact_id)
    return set(OrderLine.objects.filter(order__in=orders, product__isnull=False)
               .values_list("product_id", flat=True))


def for_contact(contact_id: int, limit: int = 5) -> list[dict[str, Any]]:
    """Products bought with what the contact has, that they do not have yet; scored by the
    sum of confidences over their products (each rule with lift > 1)."""
    owned = owned_products(contact_id)
    if not owned:
        return []
    rules = (ProductAssociation.objects.filter(product_id__in=owned, lift__gt=1,
                                               related__active=True)
             .exclude(related_id__in=owned).select_related("related", "product"))
    best: dict[int, dict[str, Any]] = {}
    for rule in rules:
        entry = best.setdefault(rule.related_id, {"product": rule.related, "score": 0.0,
                                                  "because": rule.product, "rule": rule})
        entry["score"] += rule.confidence
        if (rule.lift, rule.confidence) > (entry["rule"].lift, entry["rule"].confidence):
            entry["because"], entry["rule"] = rule.product, rule
    ranked = sorted(best.values(), key=lambda e: (-e["score"], -e["rule"].lift,
                                                  e["product"].sku))
    return ranked[:limit]
