import pytest

from peyvand.audiences.actions import (
    do_create_segment,
    do_delete_segment,
    do_update_segment,
    refresh_segment,
)
from peyvand.audiences.hooks import SEGMENT_CHANGED_HOOKS
from peyvand.audiences.models import SegmentChange, SegmentMember
from peyvand.base.errors import Invalid
from peyvand.contacts.models import Contact, ContactTag, Tag, TimelineEvent

pytestmark = pytest.mark.django_db(transaction=False)

VIP = {"field": "contact.tags", "op": "has", "value": "vip"}
heard: list = []


def remember(segment_id, entered, left, at):
    heard.append((segment_id, sorted(entered), sorted(left)))


@pytest.fixture
def hook():
    SEGMENT_CHANGED_HOOKS.register("tests.audiences.test_membership.remember")
    heard.clear()
    yield heard
    SEGMENT_CHANGED_HOOKS._paths.remove("tests.audiences.test_membership.remember")
    SEGMENT_CHANGED_HOOKS._loaded = None


def _tag(contact, tag):
    ContactTag.objects.create(contact=contact, tag=tag)


def test_refresh_records_who_entered_and_left_after_a_baseline(system, hook,
                                                               django_capture_on_commit_callbacks):
    vip = Tag.objects.create(name="vip")
    a, b, c = (Contact.objects.create(first_name=n) for n in "abc")
    _tag(a, vip)
    _tag(b, vip)
    segment = do_create_segment(system, "VIPs", VIP)

    first = refresh_segment(segment)
    assert first == {"count": 2, "entered": 0, "left": 0, "baseline": True}
    assert not SegmentChange.objects.exists()  # a baseline is no one "entering"

    ContactTag.objects.filter(contact=b).delete()
    _tag(c, vip)
    with django_capture_on_commit_callbacks(execute=True):
        second = refresh_segment(segment)
    assert second == {"count": 2, "entered": 1, "left": 1, "baseline": False}
    assert set(SegmentMember.objects.values_list("contact_id", flat=True)) == {a.pk, c.pk}
    assert set(SegmentChange.objects.values_list("contact_id", "kind")) == {
        (c.pk, "entered"), (b.pk, "left")}
    assert TimelineEvent.objects.filter(contact=c, kind="segment.entered").count() == 1
    assert TimelineEvent.objects.filter(contact=b, kind="segment.left").count() == 1
    assert hook == [(segment.pk, [c.pk], [b.pk])]

    # Nothing changed: nothing recorded.
    assert refresh_segment(segment)["entered"] == 0
    assert SegmentChange.objects.count() == 2


def test_a_new_rule_starts_membership_afresh(system):
    Contact.objects.create(first_name="a")
    segment = do_create_segment(system, "All", {"all": []})
    assert refresh_segment(segment)["count"] == 1
    do_update_segment(system, segment, rules={"field": "contact.first_name", "op": "eq",
                                              "value": "zz"})
    segment.refresh_from_db()
    assert segment.refreshed_at is None and not SegmentMember.objects.exists()
    assert refresh_segment(segment)["baseline"] is True


def test_cycles_and_used_segments_are_refused(system):
    inner = do_create_segment(system, "Inner", VIP)
    outer = do_create_segment(system, "Outer", {"field": "segment", "op": "eq",
                                                "value": inner.pk})
    with pytest.raises(Invalid) as cycle:
        do_update_segment(system, inner, rules={"field": "segment", "op": "eq",
                                                "value": outer.pk})
    assert "include itself" in str(cycle.value)
    with pytest.raises(Invalid) as used:
        do_delete_segment(system, inner)
    assert used.value.status == 409 and "Outer" in str(used.value)
    with pytest.raises(Invalid):
        do_create_segment(system, "Outer", VIP)  # the name is taken
