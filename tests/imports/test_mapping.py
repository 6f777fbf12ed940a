"""Columns matched to contact fields from Persian and English headers, and overrides."""

from __future__ import annotations

import pytest

from peyvand.contacts.models import CustomField
from peyvand.imports.mapping import MappingError, auto_mapping, check_mapping, resolve_mapping


def test_persian_headers_in_every_spelling():
    headers = ["نام", "نام‌خانوادگی", "موبايل", "ايميل", "کد ملي", "تاریخ تولد", "برچسب‌ها",
               "یادداشت"]
    assert auto_mapping(headers, []) == ["first_name", "last_name", "phone", "email",
                                         "national_id", "birthday", "tags", ""]


def test_english_headers():
    headers = ["First Name", "last_name", "E-mail", "Mobile", "phone", "Tags", "Birthday",
               "National ID", "Language", "Company"]
    assert auto_mapping(headers, []) == ["first_name", "last_name", "email", "phone", "phone",
                                         "tags", "birthday", "national_id", "language", ""]


def test_a_single_value_field_takes_only_its_first_column():
    assert auto_mapping(["name", "first name", "email"], []) == ["first_name", "", "email"]


@pytest.mark.django_db
def test_custom_fields_by_key_and_label():
    CustomField.objects.create(key="postal_code", label_fa="کد پستی", label_en="Postal code",
                               type="text")
    CustomField.objects.create(key="size", label_fa="سایز", label_en="Shirt size", type="text")
    fields = list(CustomField.objects.all())
    assert auto_mapping(["email", "کد پستی", "Shirt Size", "postal_code"], fields) == \
        ["email", "fields.postal_code", "fields.size", ""]


def test_overrides_by_header_or_number_and_ignoring():
    headers = ["Name", "Contact", "Cell", "Note"]
    targets = resolve_mapping(headers, {"Contact": "email", "#4": "first name",
                                        "Cell": ""}, [])
    # Naming another column for first_name takes it from the guessed "Name".
    assert targets == ["", "email", "", "first_name"]
    assert resolve_mapping(headers, {"Contact": "ایمیل", "cell": "موبایل"}, [])[1:3] == \
        ["email", "phone"]


@pytest.mark.parametrize("overrides, message", [
    ({"Nope": "email"}, "no column"),
    ({"Name": "shoe size"}, "Unknown field"),
    ({"Name": ""}, None),
])
def test_override_errors_name_the_problem(overrides, message):
    headers = ["Name", "Email"]
    if message is None:
        assert resolve_mapping(headers, overrides, []) == ["", "email"]
        return
    with pytest.raises(MappingError, match=message):
        resolve_mapping(headers, overrides, [])


def test_check_mapping_refuses_unusable_mappings():
    with pytest.raises(MappingError, match="E-mail or Mobile"):
        check_mapping(["a", "b"], ["first_name", ""], [])
    with pytest.raises(MappingError, match="same field"):
        check_mapping(["a", "b", "c"], ["first_name", "first_name", "email"], [])
    with pytest.raises(MappingError, match="Unknown field"):
        check_mapping(["a"], ["fields.nope"], [])
    with pytest.raises(MappingError):
        check_mapping(["a", "b"], ["email"], [])
    assert check_mapping(["a", "b"], ["email", "email"], []) == ["email", "email"]


def test_numbered_columns_of_list_fields():
    assert auto_mapping(["Email", "Email 2", "موبایل ۲", "Name 2"], []) == \
        ["email", "email", "phone", ""]
