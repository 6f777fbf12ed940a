import datetime as dt

import pytest
from django.utils import timezone

from peyvand.audiences.queries import matching
from peyvand.audiences.rules import compile_rules
from peyvand.base.errors import Invalid
from peyvand.commerce.models import Order
from peyvand.contacts.models import Contact, ContactTag, Tag

pytestmark = pytest.mark.django_db


def _names(rules):
    return set(matching(rules).values_list("first_name", flat=True))


def test_each_group_of_paths_compiles_to_the_expected_people():
    ali = Contact.objects.create(first_name="Ali", language="fa", birthday=dt.date(1991, 3, 21))
    bob = Contact.objects.create(first_name="Bob", language="en")
    now = timezone.now()
    Order.objects.create(source="x", external_id="1", contact=ali, placed_at=now,
                         currency="IRR", total=500)
    Order.objects.create(source="x", external_id="2", contact=ali, currency="IRR", total=700,
                         placed_at=now - dt.timedelta(days=400))
    ContactTag.objects.create(contact=bob, tag=Tag.objects.create(name="vip"))
    spent = {"field": "orders.total_spent", "op": "gt", "value": 1000}
    assert _names(spent) == {"Ali"}
    assert _names({**spent, "in_last": {"days": 365}}) == set()
    assert _names({"field": "orders.count", "op": "lt", "value": 1}) == {"Bob"}
    recent = {"field": "orders.first_at", "op": "within_last", "value": {"days": 3}}
    assert _names({**recent, "field": "orders.last_at"}) == {"Ali"}
    assert _names({"not": recent}) == {"Ali", "Bob"}
    assert _names({"field": "contact.tags", "op": "has", "value": "vip"}) == {"Bob"}
    assert _names({"any": [{"field": "contact.tags", "op": "has_not", "value": ["vip"]}]}) == {
        "Ali"}
    assert _names({"field": "consent.email", "op": "eq", "value": "none"}) == {"Ali", "Bob"}
    assert _names({"field": "engagement.clicked", "op": "within_last",
                   "value": {"days": 90}}) == set()
    assert _names({"field": "insights.tier", "op": "ne", "value": "rest"}) == set()
    assert _names({"field": "contact.birthday", "op": "within_next",
                   "value": {"days": 366}}) == {"Ali"}


def test_an_op_the_type_cannot_take_is_refused_naming_the_node():
    with pytest.raises(Invalid) as refused:
        compile_rules({"all": [{"field": "orders.count", "op": "contains", "value": 1}]})
    assert refused.value.errors == {
        "rules.all[0].op": "orders.count (number) cannot take 'contains'; "
                           "it takes eq, ne, lt, lte, gt, gte, between, is_set, is_not_set"}


def test_an_empty_group_or_an_always_true_condition_holds_under_not_and_any():
    # An empty Q() negates to itself and is dropped from an `|`: `not` of "everyone" matched
    # everyone, and `any` of it no one.
    Contact.objects.create(first_name="Ali")
    assert _names({"not": {"all": []}}) == set()
    assert _names({"any": [{"all": []}]}) == {"Ali"}
    assert _names({"any": [{"field": "orders.count", "op": "is_set"}]}) == {"Ali"}
    assert _names({"not": {"field": "orders.total_spent", "op": "is_set"}}) == set()
    assert _names({"not": {"any": []}}) == {"Ali"}


def test_an_empty_text_is_no_value_whatever_the_op():
    Contact.objects.create(first_name="", last_name="Empty")
    Contact.objects.create(first_name="Bob")
    for op, value in [("eq", ""), ("contains", ""), ("starts_with", ""), ("in", ["", "Bob"])]:
        found = set(matching({"field": "contact.first_name", "op": op, "value": value})
                    .values_list("last_name", flat=True))
        assert "Empty" not in found, op
    assert set(matching({"field": "contact.first_name", "op": "is_not_set"})
               .values_list("last_name", flat=True)) == {"Empty"}


def test_an_event_of_no_one_does_not_empty_a_negated_condition():
    from peyvand.tracking import last_engagement
    from peyvand.tracking.models import TrackingEvent

    Contact.objects.create(first_name="Ali")
    last_engagement.note_stored([TrackingEvent.objects.create(
        hit_id="h1", kind="open", message_id=1, contact=None, at=timezone.now())])
    assert _names({"field": "engagement.opened", "op": "has_not", "value": {}}) == {"Ali"}
    assert _names({"not": {"field": "engagement.opened", "op": "has", "value": {}}}) == {"Ali"}


def test_not_within_last_on_an_activity_is_done_but_not_lately():
    # The document: not_within_last is "set and before that"; has_not {"days": N} is the one
    # that takes those who never did it too.
    from peyvand.tracking import last_engagement
    from peyvand.tracking.models import TrackingEvent

    now = timezone.now()
    old = Contact.objects.create(first_name="Old")
    Contact.objects.create(first_name="Never")
    last_engagement.note_stored([TrackingEvent.objects.create(
        hit_id="h1", kind="click", message_id=1, contact=old, at=now - dt.timedelta(days=100))])
    stale = {"field": "engagement.clicked", "op": "not_within_last", "value": {"days": 90}}
    assert _names(stale) == {"Old"}
    assert _names({**stale, "value": {"days": 120}}) == set()
    assert _names({"field": "engagement.clicked", "op": "has_not",
                   "value": {"days": 90}}) == {"Old", "Never"}


def test_a_decimal_custom_field_equals_the_number_written():
    # A float 1.1 is 1.100000000000000088…: never equal to PostgreSQL's numeric 1.1.
    from peyvand.contacts.models import CustomField, FieldValue

    size = CustomField.objects.create(key="size", label_fa="سایز", label_en="Size",
                                      type="number")
    ali = Contact.objects.create(first_name="Ali")
    FieldValue.objects.create(contact=ali, field=size, number_value="1.1")
    for op, value in [("eq", 1.1), ("eq", "1.10"), ("lte", 1.1), ("gte", 1.1),
                      ("between", [1.1, 1.1])]:
        assert _names({"field": "contact.fields.size", "op": op, "value": value}) == {"Ali"}, op
    assert _names({"field": "contact.fields.size", "op": "ne", "value": 1.1}) == set()


def test_a_fraction_compares_exactly_with_whole_number_columns():
    # r_score and the order count are whole numbers: 2.5 was truncated to 2 before comparing.
    from peyvand.insights.models import CustomerMetrics

    ali = Contact.objects.create(first_name="Ali")
    Contact.objects.create(first_name="Bob")
    CustomerMetrics.objects.create(contact=ali, as_of=timezone.localdate(), r_score=2,
                                   p_alive=0.1)
    Order.objects.create(source="x", external_id="1", contact=ali, placed_at=timezone.now(),
                         currency="IRR", total=500)
    assert _names({"field": "insights.r_score", "op": "lt", "value": 2.5}) == {"Ali"}
    assert _names({"field": "insights.r_score", "op": "eq", "value": 2.01}) == set()
    assert _names({"field": "insights.r_score", "op": "between", "value": [1.5, 2.5]}) == {
        "Ali"}
    assert _names({"field": "insights.p_alive", "op": "eq", "value": 0.1}) == {"Ali"}
    assert _names({"field": "orders.count", "op": "eq", "value": 0.5}) == set()
    assert _names({"field": "orders.count", "op": "lt", "value": 0.5}) == {"Bob"}
    assert _names({"field": "orders.count", "op": "gte", "value": 0.5}) == {"Ali"}
    assert _names({"field": "orders.avg_value", "op": "lt", "value": 500.5}) == {"Ali"}
