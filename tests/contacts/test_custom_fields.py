"""Custom-field definitions: valid keys, no duplicates, choices required, safe type changes."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest

from peyvand.base.normalise import InvalidValue
from peyvand.contacts.actions import do_create_contact
from peyvand.contacts.fields import do_delete_custom_field, do_save_custom_field, parse_field_value
from peyvand.contacts.models import CustomField, FieldValue

pytestmark = pytest.mark.django_db


def save(actor, instance=None, **data):
    defaults = {"key": "city", "label_fa": "شهر", "label_en": "City", "type": "text"}
    return do_save_custom_field(actor, instance, **{**defaults, **data})


def test_a_definition_is_cleaned(owner_actor):
    field = save(owner_actor, key="", label_en="Postal Code", label_fa="كد پستي")
    assert (field.key, field.label_fa, field.label_en) == ("postal_code", "کد پستی", "Postal Code")
    choice = save(owner_actor, key="size", type="choice", choices="S, M،L\nM, ")
    assert choice.choices == ["S", "M", "L"]
    number = save(owner_actor, key="orders", type="number", choices=["ignored"])
    assert number.choices == []


@pytest.mark.parametrize("key", ["1st", "۱st", "کد", "!!", "x" * 65])
def test_bad_keys_are_refused(owner_actor, key):
    with pytest.raises(InvalidValue) as exc:
        save(owner_actor, key=key, label_en="")
    assert exc.value.field == "key"
    assert not CustomField.objects.exists()


def test_duplicate_keys_are_refused(owner_actor):
    save(owner_actor)
    with pytest.raises(InvalidValue) as exc:
        save(owner_actor, key="City", label_fa="شهر دوم")
    assert exc.value.field == "key"
    assert CustomField.objects.count() == 1


@pytest.mark.parametrize("data, field", [
    ({"type": "choice", "choices": []}, "choices"),
    ({"type": "choice", "choices": " ,، "}, "choices"),
    ({"type": "colour"}, "type"),
    ({"label_fa": " ", "label_en": ""}, "label_fa"),
])
def test_incomplete_definitions_name_the_problem(owner_actor, data, field):
    with pytest.raises(InvalidValue) as exc:
        save(owner_actor, **data)
    assert exc.value.field == field
    assert not CustomField.objects.exists()


def test_type_change_is_refused_once_values_exist(owner_actor):
    field = save(owner_actor, key="orders", type="text")
    assert save(owner_actor, field, key="orders", type="number").type == "number"
    do_create_contact(owner_actor, {"email": "a@example.com", "fields": {"orders": "3"}})
    with pytest.raises(InvalidValue) as exc:
        save(owner_actor, field, key="orders", type="text")
    assert exc.value.field == "type"
    field.refresh_from_db()
    assert field.type == "number"
    # Relabelling without changing the type stays possible.
    assert save(owner_actor, field, key="orders", type="number", label_en="Orders").label_en \
        == "Orders"


def test_deleting_a_field_removes_its_values(owner_actor):
    field = save(owner_actor)
    do_create_contact(owner_actor, {"email": "a@example.com", "fields": {"city": "Yazd"}})
    assert do_delete_custom_field(owner_actor, field) == 1
    assert not FieldValue.objects.exists()


@pytest.mark.parametrize("type, raw, expected", [
    ("text", "  سلام  دنيا ", "سلام دنیا"),
    ("number", "۱٬۲۳۴٫۵", decimal.Decimal("1234.5")),
    ("number", "-3", decimal.Decimal("-3")),
    ("number", 7, decimal.Decimal("7")),
    ("date", "۱۴۰۳/۰۲/۱۲", dt.date(2024, 5, 1)),
    ("boolean", "YES", True),
    ("boolean", "نه", False),
    ("boolean", False, False),
    ("choice", "M", "M"),
    ("text", "   ", None),
    ("number", None, None),
])
def test_parse_field_value(owner_actor, type, raw, expected):
    field = save(owner_actor, key="f", type=type, choices=["S", "M"])
    assert parse_field_value(field, raw) == expected


def test_a_persian_label_alone_is_enough(owner_actor):
    # A Persian-only owner: no key, no English label; the key is made for the API and imports.
    field = save(owner_actor, key="", label_fa="سایز کفش", label_en="")
    assert (field.key, field.label_fa, field.label_en) == ("sayz_kfsh", "سایز کفش", "سایز کفش")
    again = save(owner_actor, key="", label_fa="سایز کفش", label_en="")
    assert again.key == "sayz_kfsh_2"
    digits = save(owner_actor, key="", label_fa="۱۲۳", label_en="")
    assert digits.key == "field_123"
    # Editing keeps the key the API and imports already use.
    edited = save(owner_actor, field, key="", label_fa="شماره کفش", label_en="")
    assert edited.key == "sayz_kfsh" and edited.label_fa == "شماره کفش"
