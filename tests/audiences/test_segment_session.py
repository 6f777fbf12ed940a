"""Segment queries' session: the rule is evaluated once per refresh (into a temporary table
that does not outlive it), and counts run with the memory they need on PostgreSQL."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from peyvand.audiences.actions import ANSWER_TABLE, do_create_segment, refresh_segment
from peyvand.audiences.queries import count_of, matching, segment_work_memory
from peyvand.contacts.models import Contact, ContactTag, Tag

pytestmark = pytest.mark.django_db(transaction=False)

VIP = {"field": "contact.tags", "op": "has", "value": "vip"}


def _answer_table_exists() -> bool:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [f"pg_temp.{ANSWER_TABLE}"])
        else:
            cursor.execute("SELECT COUNT(*) FROM sqlite_temp_master WHERE name = %s",
                           [ANSWER_TABLE])
        return bool(cursor.fetchone()[0])


def test_a_refresh_evaluates_the_rule_once_and_leaves_no_table_behind(system):
    vip = Tag.objects.create(name="vip")
    a, b = (Contact.objects.create(first_name=n) for n in "ab")
    ContactTag.objects.create(contact=a, tag=vip)
    segment = do_create_segment(system, "VIPs", VIP)
    refresh_segment(segment)  # baseline
    ContactTag.objects.create(contact=b, tag=vip)

    with CaptureQueriesContext(connection) as queries:
        result = refresh_segment(segment)
    assert result == {"count": 2, "entered": 1, "left": 0, "baseline": False}
    # the rule's tag lookup appears in one statement only: the temporary table's
    rule_reads = [q["sql"] for q in queries if "contacts_contacttag" in q["sql"]]
    assert len(rule_reads) == 1 and rule_reads[0].startswith("CREATE TEMPORARY TABLE")
    assert not _answer_table_exists()
    # and the next one (same connection, same name) works as well
    assert refresh_segment(segment) == {"count": 2, "entered": 0, "left": 0,
                                        "baseline": False}
    assert not _answer_table_exists()


def test_a_count_is_the_querys_count_with_more_memory_on_postgresql(system):
    vip = Tag.objects.create(name="vip")
    for name in "abc":
        ContactTag.objects.create(contact=Contact.objects.create(first_name=name), tag=vip)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW work_mem")
            before = cursor.fetchone()[0]
    assert count_of(matching(VIP)) == matching(VIP).count() == 3
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        with segment_work_memory():
            cursor.execute("SHOW work_mem")
            assert cursor.fetchone()[0] == "64MB"
        cursor.execute("SHOW jit")  # the connection's options (peyvand/settings.py)
        assert cursor.fetchone()[0] == "off"
    assert before != "64MB"
