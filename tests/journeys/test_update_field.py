"""The `update_field` step: one custom field set through contacts' update action."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest

from peyvand.base.errors import Invalid
from peyvand.contacts.fields import do_save_custom_field
from peyvand.contacts.models import CustomField, FieldValue, TimelineEvent
from peyvand.journeys.actions import enrol
from peyvand.journeys.definition import check_definition
from peyvand.journeys.models import Enrolment, StepRun
from peyvand.journeys.runner import run_due
from tests.journeys.conftest import steps

pytestmark = pytest.mark.django_db


@pytest.fixture
def fields(system):
    do_save_custom_field(system, key="stage", label_fa="مرحله", label_en="Stage", type="text")
    do_save_custom_field(system, key="points", label_fa="امتیاز", label_en="Points",
                         type="number")
    do_save_custom_field(system, key="since", label_fa="از", label_en="Since", type="date")


def value(contact, key):
    row = FieldValue.objects.filter(contact=contact, field__key=key).first()
    return row.value if row else None


def test_the_step_sets_and_clears_fields(live, make_contact, fields):
    journey = live(steps({"type": "update_field", "field": "stage", "value": "welcomed"},
                         {"type": "update_field", "field": "points", "value": "۱۲"},
                         {"type": "update_field", "field": "since", "value": "2027-01-02"},
                         {"type": "update_field", "field": "stage", "value": None}))
    person = make_contact()
    item, _reason = enrol(journey, person.pk, "test")
    run_due("w")
    item.refresh_from_db()
    assert (item.state, item.exit_reason) == (Enrolment.State.DONE, "completed")
    assert value(person, "points") == decimal.Decimal(12)
    assert value(person, "since") == dt.date(2027, 1, 2)
    assert value(person, "stage") is None  # set by s1, cleared by s4
    outcomes = list(StepRun.objects.filter(enrolment=item).order_by("id")
                    .values_list("node", "outcome"))
    assert outcomes == [("s1", "updated"), ("s2", "updated"), ("s3", "updated"),
                        ("s4", "updated")]
    assert TimelineEvent.objects.filter(contact=person, kind="contact.updated").count() >= 4


def test_a_value_refused_at_run_time_is_recorded_and_the_journey_goes_on(live, make_contact,
                                                                         fields):
    journey = live(steps({"type": "update_field", "field": "points", "value": "5"},
                         {"type": "tag", "add": "after"}))
    CustomField.objects.filter(key="points").update(type="boolean")  # changed since
    person = make_contact()
    item, _reason = enrol(journey, person.pk, "test")
    run_due("w")
    item.refresh_from_db()
    run = StepRun.objects.get(enrolment=item, node="s1")
    assert run.outcome == "refused" and run.detail["reason"]
    assert item.state == Enrolment.State.DONE
    assert list(person.tags.values_list("name", flat=True)) == ["after"]


@pytest.mark.parametrize(("step", "path"), [
    ({"value": "x"}, "steps.s1.field"),
    ({"field": "nope", "value": "x"}, "steps.s1.field"),
    ({"field": "stage"}, "steps.s1.value"),
    ({"field": "points", "value": "many"}, "steps.s1.value"),
    ({"field": "since", "value": "someday"}, "steps.s1.value"),
    ({"field": "stage", "value": "x", "tag": "y"}, "steps.s1.tag"),
])
def test_the_grammar(fields, step, path):
    with pytest.raises(Invalid) as refused:
        check_definition(steps({"type": "update_field", **step}), templates=False)
    assert list(refused.value.errors) == [path]
