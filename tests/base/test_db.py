"""SQLite gets planner statistics, so batch lookups use the contact index."""

from __future__ import annotations

import pytest
from django.db import connection

from peyvand.base.db import ensure_planner_statistics, refresh_planner_statistics


@pytest.mark.django_db
def test_statistics_are_gathered_once_and_steer_the_consent_lookup(make_user):
    from peyvand.consent.models import ConsentState

    if connection.vendor != "sqlite":
        refresh_planner_statistics()  # PostgreSQL: left to autovacuum, nothing to do
        return
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS sqlite_stat1")
    query = ConsentState.objects.filter(topic__isnull=True, contact_id__in=[1, 2, 3],
                                        channel="email").order_by()
    ensure_planner_statistics()
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")
        assert cursor.fetchone()[0] == 1
    plan = query.explain()
    assert "contact_id=?" in plan, plan  # looked up by contact, not every e-mail row


@pytest.mark.django_db
def test_rows_by_unique_key_in_one_query(django_assert_num_queries):
    from django.utils import timezone

    from peyvand.base.db import find_by_unique_key
    from peyvand.commerce.models import Order
    from peyvand.contacts.models import Contact

    buyer = Contact.objects.create(first_name="Ali")
    for source, external_id in [("import", "S-1"), ("import", "S-2"), ("woo", "S-1")]:
        Order.objects.create(source=source, external_id=external_id, currency="IRR",
                             contact=buyer,
                             placed_at=timezone.now())
    wanted = {("import",): {"S-1", "S-3"}, ("woo",): {"S-1", "S-2"}, ("shop",): set()}
    with django_assert_num_queries(1):
        found = find_by_unique_key(Order, ("source",), "external_id", wanted,
                                   ("source", "external_id"))
    assert sorted(found) == [("import", "S-1"), ("woo", "S-1")]
    with django_assert_num_queries(0):
        assert find_by_unique_key(Order, ("source",), "external_id", {("x",): []},
                                  ("source",)) == []
