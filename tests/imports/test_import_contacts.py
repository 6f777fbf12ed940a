"""The contact import engine: created / updated / merged / rejected, idempotence, batches."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest

from peyvand.base.models import AuditEntry
from peyvand.contacts.actions import contact_snapshot, do_upsert_contact, refresh_search_text
from peyvand.contacts.models import (
    Contact,
    ContactTag,
    CustomField,
    FieldValue,
    Identity,
    Tag,
    TimelineEvent,
)
from peyvand.imports import contacts as engine
from peyvand.imports.contacts import ImportFailed, import_contacts, search_text_for
from tests.imports.conftest import read_report

pytestmark = pytest.mark.django_db
HEADER = ["نام", "نام خانوادگی", "ایمیل", "موبایل", "کد ملی", "برچسب‌ها"]


def run(actor, path, **kwargs):
    return import_contacts(actor, path, **kwargs).totals.as_dict()


def totals(read=0, created=0, updated=0, merged=0, rejected=0):
    return {"read": read, "created": created, "updated": updated, "merged": merged,
            "rejected": rejected}


def everything():
    """The whole contact floor as data, to show a second import changed nothing."""
    return ([contact_snapshot(c) for c in Contact.objects.order_by("pk")],
            TimelineEvent.objects.count(), ContactTag.objects.count(), Tag.objects.count(),
            FieldValue.objects.count())


def test_rows_become_contacts_with_normalised_values(operator, write_csv):
    path = write_csv([HEADER,
                      ["علي", "رضايي", "Ali@Example.COM", "۰۹۱۲ ۳۴۵ ۶۷۸۹", "", "vip، یلدا"],
                      ["Sara", "Karimi", "", "٠٩٣٥١٢٣٤٥٦٧", "0013542419", ""]])
    assert run(operator, path) == totals(read=2, created=2)
    ali = Contact.objects.get(identities__value="ali@example.com")
    assert (ali.first_name, ali.last_name, ali.source) == ("علی", "رضایی", "import")
    assert set(ali.identities.values_list("kind", "value", "is_primary")) == {
        ("email", "ali@example.com", True), ("phone", "+989123456789", True)}
    assert sorted(ali.tags.values_list("name", flat=True)) == ["vip", "یلدا"]
    sara = Contact.objects.get(identities__value="+989351234567")
    assert sara.national_id == "0013542419"
    # The bulk path fills the same search key the actions would.
    for contact in (ali, sara):
        stored = contact.search_text
        refresh_search_text(contact)
        assert stored == contact.search_text
    events = TimelineEvent.objects.filter(kind="contact.created")
    assert events.count() == 2
    assert set(events.values_list("actor_label", flat=True)) == {operator.label}


def test_search_text_for_matches_the_actions():
    assert search_text_for("علي", "Rezaei", "", [("email", "a@b.ir"), ("phone", "+989123456789")]) \
        == "علی | rezaei | a@b.ir | +989123456789 | 09123456789"


def test_malformed_rows_are_reported_with_row_column_value_reason(operator, write_csv,
                                                                   tmp_path):
    path = write_csv([
        HEADER,
        ["A", "", "not-an-email", "", "", ""],           # 2 bad e-mail
        ["B", "", "", "0912", "", ""],                   # 3 bad mobile
        ["C", "", "c@example.com", "", "1234567890", ""],  # 4 bad national id
        ["D", "", "d@example.com", "", "", "", "extra"],  # 5 too many cells
        ["E", "", "e@example.com"],                      # 6 too few cells
        ["", "", "", "", "", ""],                        # 7 empty: not a row
        ["F", "", "", "", "", "vip"],                    # 8 neither e-mail nor mobile
        ["G", "", "g@example.com", "", "", ""],          # 9 fine
        ["H", "", "h@example.com", "", "", "", ""],      # 10 a trailing empty cell is fine
    ])
    report = tmp_path / "rejected.csv"
    assert run(operator, path, report_path=report) == totals(read=8, created=2, rejected=6)
    lines = read_report(report)
    got = {(r["row"], r["column"], r["value"]) for r in lines}
    assert got == {("2", "ایمیل", "not-an-email"), ("3", "موبایل", "0912"),
                   ("4", "کد ملی", "1234567890"), ("5", "", ""), ("6", "", ""),
                   ("8", "ایمیل, موبایل", "")}
    reasons = {r["row"]: r["reason"] for r in lines}
    assert "e-mail" in reasons["2"] and "phone number" in reasons["3"]
    assert "national ID" in reasons["4"] and "7 cells" in reasons["5"]
    assert "3 cells" in reasons["6"] and "mobile number is required" in reasons["8"]
    # The row as it was follows, so it can be fixed and imported again.
    assert lines[0]["نام"] == "A" and lines[0]["ایمیل"] == "not-an-email"
    assert not Contact.objects.filter(first_name__in="ABCDEF").exists()


def test_each_bad_cell_of_a_row_is_reported(operator, write_csv, tmp_path):
    path = write_csv([["email", "email 2", "mobile", "birthday"],
                      ["ok@example.com", "bad@", "123", "1403/13/40"]])
    report = tmp_path / "r.csv"
    assert run(operator, path, report_path=report) == totals(read=1, rejected=1)
    assert {(r["column"], r["value"]) for r in read_report(report)} == {
        ("email 2", "bad@"), ("mobile", "123"), ("birthday", "1403/13/40")}


def test_duplicates_within_the_file_become_one_contact(operator, write_csv):
    path = write_csv([["email", "mobile", "first name", "tags"],
                      ["a@example.com", "", "Ann", "x"],
                      ["", "09121111111", "", "y"],
                      ["A@example.com", "09121111111", "Anna", ""],  # links the two above
                      ["b@example.com", "", "Bob", ""],
                      ["b@example.com", "", "", ""]])
    assert run(operator, path) == totals(read=5, created=2, merged=3)
    ann = Contact.objects.get(identities__value="a@example.com")
    assert ann.first_name == "Ann"  # the first row wins, later ones fill blanks (a merge)
    assert set(ann.identities.values_list("value", flat=True)) == {"a@example.com",
                                                                   "+989121111111"}
    assert sorted(ann.tags.values_list("name", flat=True)) == ["x", "y"]
    assert Contact.objects.count() == 2


def test_duplicates_across_batches_merge_into_the_contact_made_earlier(operator, write_csv):
    rows = [["email", "mobile", "first name"]]
    rows += [[f"p{i}@example.com", "", f"P{i}"] for i in range(5)]
    rows += [["p1@example.com", "09121111111", ""], ["", "09121111111", "Later"]]
    assert run(operator, write_csv(rows), batch_size=2) == totals(read=7, created=5, merged=2)
    p1 = Contact.objects.get(identities__value="p1@example.com")
    assert p1.first_name == "P1"
    assert p1.identities.count() == 2
    assert Contact.objects.count() == 5


def test_rows_matching_the_database_update_or_merge(operator, owner_actor, write_csv):
    ann = do_upsert_contact(owner_actor, {"email": "ann@example.com", "first_name": "Ann"})
    bob = do_upsert_contact(owner_actor, {"phone": "09122222222", "last_name": "Brown"})
    path = write_csv([["email", "mobile", "first name", "last name"],
                      ["ann@example.com", "", "", "Adams"],         # updated
                      ["ann@example.com", "09122222222", "", ""],  # joins Ann and Bob
                      ["new@example.com", "", "New", ""]])         # created
    assert run(operator, path) == totals(read=3, created=1, updated=1, merged=1)
    assert not Contact.objects.filter(pk=bob.contact.pk).exists()
    kept = Contact.objects.get(pk=ann.contact.pk)  # the oldest survives
    assert (kept.first_name, kept.last_name) == ("Ann", "Adams")  # upsert never blanks
    assert set(kept.identities.values_list("value", flat=True)) == {"ann@example.com",
                                                                    "+989122222222"}
    assert AuditEntry.objects.filter(action="contact.merge").count() == 1
    assert AuditEntry.objects.filter(action="contacts.import").count() == 1


def test_importing_the_same_file_twice_changes_nothing(operator, owner_actor, write_csv):
    CustomField.objects.create(key="city", label_fa="شهر", label_en="City", type="text")
    CustomField.objects.create(key="points", label_fa="امتیاز", label_en="Points",
                               type="number")
    do_upsert_contact(owner_actor, {"email": "old@example.com", "first_name": "Old"})
    path = write_csv([
        ["نام", "ایمیل", "موبایل", "شهر", "points", "تاریخ تولد", "tags"],
        ["علی", "ali@example.com", "09121234567", "تهران", "۱۲", "1370/01/01", "a, b"],
        ["Ali", "ali@example.com", "", "", "", "", "c"],          # same person, in-file
        ["Old", "old@example.com", "", "شیراز", "3", "", ""],     # in the database
        ["Old", "old@example.com", "", "اصفهان", "", "", ""],     # twice, conflicting
        ["X", "bad", "", "", "", "", ""],
    ])
    first = run(operator, path, tag="fair")
    assert first == totals(read=5, created=1, updated=2, merged=1, rejected=1)
    before = everything()
    second = run(operator, path, tag="fair")
    assert second == totals(read=5, updated=4, rejected=1)
    assert everything() == before
    ali = Contact.objects.get(identities__value="ali@example.com")
    assert ali.birthday == dt.date(1991, 3, 21)
    assert {fv.field.key: fv.value for fv in ali.field_values.select_related("field")} == {
        "city": "تهران", "points": 12}
    assert sorted(ali.tags.values_list("name", flat=True)) == ["a", "b", "c", "fair"]


def test_an_interrupted_import_can_be_run_again(operator, write_csv, monkeypatch):
    rows = [["email", "first name"]] + [[f"u{i}@example.com", f"U{i}"] for i in range(10)]
    rows.insert(4, ["u0@example.com", "again"])
    path = write_csv(rows)
    calls = []

    def stop_after_two_batches(totals, done, total):
        calls.append(totals.read)
        if len(calls) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        import_contacts(operator, path, batch_size=3, progress=stop_after_two_batches)
    assert Contact.objects.count() == 5  # two batches of three rows were committed
    again = run(operator, path, batch_size=3)
    assert again["read"] == 11 and again["created"] == 5
    assert Contact.objects.count() == 10
    assert Identity.objects.count() == 10
    assert TimelineEvent.objects.filter(kind="contact.created").count() == 10
    u0 = Contact.objects.get(identities__value="u0@example.com")
    assert u0.first_name == "U0"


def test_custom_fields_are_typed_and_empty_cells_keep_values(operator, owner_actor,
                                                             write_csv, tmp_path):
    CustomField.objects.create(key="points", label_fa="امتیاز", label_en="Points",
                               type="number")
    CustomField.objects.create(key="member", label_fa="عضو", label_en="Member",
                               type="boolean")
    do_upsert_contact(owner_actor, {"email": "a@example.com", "fields": {"points": "7"}})
    path = write_csv([["email", "points", "member"],
                      ["a@example.com", "", "بله"],
                      ["b@example.com", "۱۲٫۵", "no"],
                      ["c@example.com", "lots", ""]])
    report = tmp_path / "r.csv"
    assert run(operator, path, report_path=report) == totals(read=3, created=1, updated=1,
                                                               rejected=1)
    a = Contact.objects.get(identities__value="a@example.com")
    assert {fv.field.key: fv.value for fv in a.field_values.select_related("field")} == {
        "points": 7, "member": True}
    b = Contact.objects.get(identities__value="b@example.com")
    assert {fv.field.key: fv.value for fv in b.field_values.select_related("field")} == {
        "points": 12.5, "member": False}
    assert [(r["row"], r["column"], r["value"]) for r in read_report(report)] == [
        ("4", "points", "lots")]


def test_xlsx_import_with_dates_and_numbers(operator, tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["First name", "Mobile", "Birthday", "National ID"])
    sheet.append(["Ali", 9123456789, dt.datetime(1990, 5, 17), 13542419])
    sheet.append(["Sara", "۰۹۱۲۳۴۵۶۷۸۸", "1370/02/12", None])
    path = tmp_path / "contacts.xlsx"
    book.save(path)
    assert run(operator, path) == totals(read=2, created=2)
    ali = Contact.objects.get(identities__value="+989123456789")
    assert (ali.birthday, ali.national_id) == (dt.date(1990, 5, 17), "0013542419")
    sara = Contact.objects.get(identities__value="+989123456788")
    assert sara.birthday == dt.date(1991, 5, 2)


def test_mapping_overrides_and_unusable_files(operator, write_csv, tmp_path):
    path = write_csv([["Contact", "Who"], ["a@example.com", "Ann"]])
    with pytest.raises(ImportFailed, match="E-mail or Mobile"):
        import_contacts(operator, path)
    assert run(operator, path, mapping={"Contact": "email", "Who": "first_name"}) == \
        totals(read=1, created=1)
    assert Contact.objects.get().first_name == "Ann"
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\x00\x01\x02")
    with pytest.raises(ImportFailed, match="not a text file"):
        import_contacts(operator, bad)
    with pytest.raises(ImportFailed):
        import_contacts(operator, path, tag="x" * 65)


def test_a_collision_during_the_bulk_write_falls_back_to_upserts(operator, owner_actor,
                                                                 write_csv, monkeypatch):
    existing = do_upsert_contact(owner_actor, {"email": "taken@example.com"}).contact
    real = engine.find_owners
    calls = []

    def blind_once(keys):
        # The first look-up misses the existing owner, as if it was created just after.
        calls.append(1)
        return {} if len(calls) == 1 else real(keys)

    monkeypatch.setattr(engine, "find_owners", blind_once)
    path = write_csv([["email", "first name"], ["taken@example.com", "T"],
                      ["free@example.com", "F"]])
    assert run(operator, path) == totals(read=2, created=1, updated=1)
    existing.refresh_from_db()
    assert existing.first_name == "T"
    assert Contact.objects.count() == 2


@pytest.mark.parametrize("role, allowed", [("owner", True), ("marketer", True),
                                           ("support", True), ("reviewer", False),
                                           ("analyst", False)])
def test_only_roles_that_edit_contacts_may_import(actor_for, write_csv, role, allowed):
    from django.core.exceptions import PermissionDenied

    actor = actor_for(role)
    path = write_csv([["email"], ["a@example.com"]])
    if allowed:
        assert run(actor, path) == totals(read=1, created=1)
        return
    with pytest.raises(PermissionDenied):
        import_contacts(actor, path)
    assert not Contact.objects.exists() and not TimelineEvent.objects.exists()
    assert not AuditEntry.objects.filter(action="contacts.import").exists()


def test_an_export_imports_back_into_the_same_contacts(operator, owner_actor, tmp_path):
    from peyvand.contacts.export import write_export_file

    CustomField.objects.create(key="city", label_fa="شهر", label_en="City", type="text")
    do_upsert_contact(owner_actor, {"emails": ["a@example.com", "a2@example.com"],
                                    "phones": ["09121111111"], "first_name": "علی",
                                    "birthday": "1370/01/01", "national_id": "0013542419",
                                    "tags": ["x", "y"], "fields": {"city": "تهران"}})
    do_upsert_contact(owner_actor, {"phone": "09122222222", "language": "en"})
    path = tmp_path / "export.csv"
    write_export_file(operator, "csv", path)
    keep = ["first_name", "last_name", "language", "birthday", "national_id", "emails",
            "phones", "tags", "fields"]
    before = sorted((contact_snapshot(c) for c in Contact.objects.all()),
                    key=lambda s: s["phones"])
    Contact.objects.all().delete()
    assert run(operator, path) == totals(read=2, created=2)
    after = sorted((contact_snapshot(c) for c in Contact.objects.all()),
                   key=lambda s: s["phones"])
    assert [{k: s[k] for k in keep} for s in after] == [{k: s[k] for k in keep}
                                                         for s in before]


@pytest.mark.parametrize("role, may_create", [("owner", True), ("marketer", True),
                                              ("support", False)])
def test_new_people_in_bulk_get_only_existing_tags_unless_the_role_manages_tags(
        actor_for, write_csv, tmp_path, role, may_create):
    """Tags are schema (issue 14, line 16): the bulk path for new people follows the rule
    do_upsert_contact holds people already known to. Support's rows naming a tag that does
    not exist are rejected with the reason; rows with existing tags go in."""
    Tag.objects.create(name="vip")
    actor = actor_for(role)
    path = write_csv([["email", "tags"], ["a@example.com", "vip"],
                      ["b@example.com", "brand-new"]])
    report = tmp_path / "rejected.csv"
    result = import_contacts(actor, path, report_path=report)
    if may_create:
        assert result.totals.as_dict() == totals(read=2, created=2)
        assert Tag.objects.filter(name="brand-new").exists()
        return
    assert result.totals.as_dict() == totals(read=2, created=1, rejected=1)
    assert not Tag.objects.filter(name="brand-new").exists()
    assert list(Contact.objects.values_list("identities__value", flat=True)) == \
        ["a@example.com"]
    [rejected] = read_report(report)
    assert "brand-new" in rejected["reason"] and "may not create tags" in rejected["reason"]


def test_the_tag_for_every_row_must_exist_for_support(actor_for, write_csv):
    support = actor_for("support")
    path = write_csv([["email"], ["a@example.com"]])
    with pytest.raises(ImportFailed, match="may not create tags"):
        import_contacts(support, path, tag="brand-new")
    assert not Contact.objects.exists() and not Tag.objects.exists()
    Tag.objects.create(name="existing")
    assert run(support, path, tag="existing") == totals(read=1, created=1)
