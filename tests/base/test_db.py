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
