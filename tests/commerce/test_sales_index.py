"""The partial index segments read sales through must name exactly the orders that are not
sales, or PostgreSQL cannot prove a sales query is covered by it."""

from django.db.models import Q

from peyvand.commerce.models import NOT_REVENUE, Order


def test_sales_index_leaves_out_exactly_the_orders_that_are_not_sales():
    index = next(i for i in Order._meta.indexes if i.name == "order_sales_by_contact")
    assert index.condition == Q(deleted_at__isnull=True) & ~Q(status__in=list(NOT_REVENUE))
    assert index.fields == ["contact", "placed_at", "total"]
