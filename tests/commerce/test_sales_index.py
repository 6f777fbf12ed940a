"""Segments sum a person's sales within a window ("spent in the last N days"); the order
index must hold every column that reads, so both databases answer from the index alone."""

from peyvand.commerce.models import Order


def test_the_contact_time_index_covers_a_windowed_sum_of_sales():
    index = next(i for i in Order._meta.indexes if i.name == "order_by_contact_time")
    assert index.fields[:2] == ["contact", "placed_at"]  # one range per person, by time
    # what audiences.fields.sales filters on and what it sums
    assert {"total", "status", "deleted_at"} <= set(index.fields)
    assert index.condition is None  # SQLite matches no partial index to bound parameters


def test_the_time_index_covers_a_year_of_everyones_sales():
    index = next(i for i in Order._meta.indexes if i.name == "order_sales_by_time")
    assert index.fields[0] == "placed_at"  # the window is one range
    # who bought, what they paid, and whether it was a sale: all read from the index
    assert index.fields[1:] == ["contact", "total", "status"]
    # no bound parameter in the condition: SQLite can match it too
    assert index.condition is not None
    assert index.condition.children == [("deleted_at__isnull", True)]
