"""Creating contacts: values are normalised on the way in and every bad value names its field."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest
from django.utils import timezone

from peyvand.contacts.actions import ContactInvalid, IdentityConflict, do_create_contact
from peyvand.contacts.models import Contact, FieldValue, Identity
from peyvand.contacts.timeline import timeline_for

pytestmark = pytest.mark.django_db


def test_create_normalises_names_mobile_email_and_dates(owner_actor):
    contact = do_create_contact(owner_actor, {
        "first_name": "  علي ", "last_name": "كريمي\u200f", "email": "Ali.Karimi@Example.COM",
        "phone": "۰۹۱۲ ۳۴۵ ۶۷۸۹", "birthday": "۱۳۷۰/۰۱/۰۱", "national_id": "۰۴۹۹۳۷۰۸۹۹",
        "language": "EN", "tags": ["مشتري ويژه", " vip "],
    })
    contact.refresh_from_db()
    assert (contact.first_name, contact.last_name) == ("علی", "کریمی")
    assert contact.birthday == dt.date(1991, 3, 21)
    assert contact.national_id == "0499370899"
    assert contact.language == "en"
    assert contact.source == "ui"
    idents = {(i.kind, i.value, i.is_primary) for i in contact.identities.all()}
    assert idents == {("email", "ali.karimi@example.com", True), ("phone", "+989123456789", True)}
    assert sorted(t.name for t in contact.tags.all()) == ["vip", "مشتری ویژه"]
    assert [e.kind for e in timeline_for(contact.pk)] == ["contact.created"]


def test_create_stores_typed_custom_field_values(owner_actor, make_field):
    make_field("city")
    make_field("orders", "number")
    make_field("since", "date")
    make_field("size", "choice", ["S", "M", "L"])
    make_field("wholesale", "boolean")
    contact = do_create_contact(owner_actor, {"email": "a@example.com", "fields": {
        "city": "تهران", "orders": "۱۲٫۵", "since": "1403/02/12", "size": "M", "wholesale": "بله",
    }})
    values = {fv.field.key: fv.value for fv in FieldValue.objects.filter(contact=contact)}
    assert values == {"city": "تهران", "orders": decimal.Decimal("12.5"),
                      "since": dt.date(2024, 5, 1), "size": "M", "wholesale": True}


def errors_for(actor, raw) -> dict[str, str]:
    with pytest.raises(ContactInvalid) as exc:
        do_create_contact(actor, raw)
    return exc.value.errors


@pytest.mark.parametrize("raw, field", [
    ({"first_name": "x" * 151}, "first_name"),
    ({"last_name": "ی" * 151}, "last_name"),
    ({"email": "not-an-address"}, "email"),
    ({"phone": "021 8877 6655"}, "phone"),
    ({"phone": "12345"}, "phone"),
    ({"national_id": "0499370898"}, "national_id"),
    ({"birthday": "1403/13/01"}, "birthday"),
    ({"language": "de"}, "language"),
    ({"timezone": "Mars/Olympus"}, "timezone"),
    ({"external_ids": [{"source": "shop"}]}, "external_ids"),
    ({"tags": ["x" * 65]}, "tags"),
])
def test_each_bad_value_is_reported_under_its_field(owner_actor, raw, field):
    errors = errors_for(owner_actor, {"email": "ok@example.com", **raw}
                        if field != "email" else raw)
    assert list(errors) == [field]
    assert errors[field]
    assert not Contact.objects.exists()


def test_future_birthday_is_refused(owner_actor):
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    errors = errors_for(owner_actor, {"email": "a@example.com", "birthday": tomorrow.isoformat()})
    assert "future" in errors["birthday"]


def test_all_errors_are_collected_at_once(owner_actor):
    errors = errors_for(owner_actor, {"first_name": "x" * 200, "email": "bad", "phone": "bad",
                                      "national_id": "123"})
    assert set(errors) == {"first_name", "email", "phone", "national_id"}


def test_an_email_or_mobile_is_required(owner_actor):
    errors = errors_for(owner_actor, {"first_name": "Sara"})
    assert set(errors) == {"email"}


def test_custom_field_errors_name_the_field(owner_actor, make_field):
    make_field("orders", "number")
    make_field("since", "date")
    make_field("size", "choice", ["S", "M"])
    make_field("wholesale", "boolean")
    errors = errors_for(owner_actor, {"email": "a@example.com", "fields": {
        "orders": "many", "since": "1403/13/40", "size": "XXL", "wholesale": "maybe",
        "nope": "x",
    }})
    assert set(errors) == {"fields.orders", "fields.since", "fields.size", "fields.wholesale",
                           "fields.nope"}
    assert "nope" in errors["fields.nope"]
    assert "XXL" in errors["fields.size"]
    assert not FieldValue.objects.exists()


@pytest.mark.parametrize("value", ["NaN", "Infinity", "1e20", True, "12abc", "۱۲ تا"])
def test_bad_numbers_are_refused(owner_actor, make_field, value):
    make_field("orders", "number")
    errors = errors_for(owner_actor, {"email": "a@example.com", "fields": {"orders": value}})
    assert list(errors) == ["fields.orders"]


def test_creating_with_someone_elses_identity_is_a_conflict(owner_actor):
    first = do_create_contact(owner_actor, {"email": "a@example.com"})
    with pytest.raises(IdentityConflict) as exc:
        do_create_contact(owner_actor, {"email": "A@EXAMPLE.com", "first_name": "Other"})
    assert (exc.value.field, exc.value.value, exc.value.owner_id) == \
        ("email", "a@example.com", first.pk)
    assert Contact.objects.count() == 1
    assert Identity.objects.count() == 1
