import csv
import json
import os

import pytest

from peyvand.base.models import AuditEntry

pytestmark = pytest.mark.django_db


def read_csv(path):
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_csv_export_has_every_live_contact_and_is_audited(cli, people, tmp_path):
    out_file = tmp_path / "contacts.csv"
    code, out, err = cli("contacts", "export", "--format", "csv", "--output", str(out_file))
    assert code == 0, err
    assert "Exported 2 contacts" in out
    assert out_file.read_bytes().startswith(b"\xef\xbb\xbf")  # BOM: Excel reads Persian
    assert os.stat(out_file).st_mode & 0o077 == 0  # personal data: owner-only file
    rows = read_csv(out_file)
    header = list(rows[0])
    assert header == ["id", "first_name", "last_name", "emails", "phones", "language",
                      "timezone", "birthday", "national_id", "source", "tags", "city",
                      "shoe_size", "created_at"]
    by_id = {int(r["id"]): r for r in rows}
    assert set(by_id) == {people["ali"].pk, people["emma"].pk}  # the erased one is left out
    ali = by_id[people["ali"].pk]
    assert ali["first_name"] == "علی" and ali["last_name"] == "کریمی"
    assert ali["phones"] == "+989123456789"
    assert ali["emails"].split("; ") == ["ali@example.com", "ali.k@example.org"]
    assert ali["tags"].split("; ") == ["VIP", "مشتری عمده"]
    assert ali["city"] == "تهران" and ali["shoe_size"] == "42"
    assert ali["birthday"] == "1991-04-04"
    # A cell that a spreadsheet would run as a formula is defused.
    assert by_id[people["emma"].pk]["first_name"].startswith("'=")
    entry = AuditEntry.objects.get(action="contacts.export")
    assert entry.details == {"count": 2, "format": "csv"} and entry.via == "cli"


def test_json_export_is_a_list_of_snapshots_without_timeline(cli, people, tmp_path):
    out_file = tmp_path / "contacts.json"
    code, _out, err = cli("contacts", "export", "--format", "json", "--output", str(out_file))
    assert code == 0, err
    data = json.loads(out_file.read_text(encoding="utf-8"))
    assert [c["id"] for c in data] == sorted([people["ali"].pk, people["emma"].pk])
    ali = data[0]
    assert "timeline" not in ali
    assert ali["phones"] == ["+989123456789"]
    assert ali["fields"]["city"] == "تهران"
    assert ali["notes"][0]["body"] == "Prefers phone calls."
    assert AuditEntry.objects.get(action="contacts.export").details["count"] == 2


def test_single_contact_export_is_the_full_record(cli, people, tmp_path):
    out_file = tmp_path / "ali.json"
    ali = people["ali"]
    code, out, err = cli("contacts", "export", "--format", "json", "--output", str(out_file),
                         "--contact", str(ali.pk))
    assert code == 0, err
    data = json.loads(out_file.read_text(encoding="utf-8"))
    assert data["id"] == ali.pk and data["emails"] == ["ali@example.com", "ali.k@example.org"]
    assert any(e["kind"] == "contact.created" for e in data["timeline"])
    assert AuditEntry.objects.filter(action="contact.export", target_id=str(ali.pk)).exists()


def test_single_contact_export_errors(cli, people, tmp_path):
    out_file = tmp_path / "x.json"
    code, _out, err = cli("contacts", "export", "--format", "csv", "--output", str(out_file),
                          "--contact", str(people["ali"].pk))
    assert code == 2 and "--format json" in err
    code, _out, err = cli("contacts", "export", "--format", "json", "--output", str(out_file),
                          "--contact", "999999")
    assert code == 1 and "999999" in err
    assert not out_file.exists()
    assert not AuditEntry.objects.filter(action__in=["contact.export", "contacts.export"])\
        .exists()


def test_export_into_a_missing_folder_fails_cleanly(cli, people, tmp_path):
    code, _out, err = cli("contacts", "export", "--format", "csv", "--output",
                          str(tmp_path / "no" / "such.csv"))
    assert code == 1 and "does not exist" in err


def test_xlsx_export_has_typed_cells_and_safe_text(cli, tmp_path, owner_actor):
    from openpyxl import load_workbook

    from peyvand.contacts.actions import do_upsert_contact

    do_upsert_contact(owner_actor, {"email": "x@example.com", "first_name": "=HYPERLINK()",
                                    "birthday": "1370/05/12"})
    out = tmp_path / "c.xlsx"
    code, _out, _err = cli("contacts", "export", "--format", "xlsx", "--output", str(out))
    assert code == 0
    rows = list(load_workbook(out, read_only=True).active.iter_rows(values_only=True))
    header, row = rows[0], rows[-1]
    assert header[:3] == ("id", "first_name", "last_name")
    assert row[1] == "'=HYPERLINK()"  # a formula is never run by the spreadsheet
    assert row[header.index("birthday")].date().isoformat() == "1991-08-03"
