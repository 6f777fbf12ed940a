"""The rejected-rows report is opened in spreadsheets: the file's own values (and headers)
cannot run there as formulas, as in the exports; the preview says which encoding was read."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from peyvand.imports.contacts import import_contacts
from peyvand.imports.orders import import_orders
from tests.imports.conftest import read_report

pytestmark = pytest.mark.django_db
FORMULAS = ['=HYPERLINK("http://evil.example","x")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)",
            "\t=1+1", "\r=1+1"]


def test_contact_report_cells_cannot_run_as_formulas(operator, write_csv, tmp_path):
    rows = [["=name", "email", "@note"]] + [[f, f, f] for f in FORMULAS] \
        + [["Sara", "+98 not an address", "-"]]
    report = tmp_path / "rejected.csv"
    result = import_contacts(operator, write_csv(rows), report_path=report,
                             mapping={"=name": "first_name", "email": "email", "@note": ""})
    assert result.totals.rejected == len(FORMULAS) + 1
    lines = read_report(report)
    assert list(lines[0])[4:] == ["'=name", "email", "'@note"]
    firsts: dict[str, dict] = {}
    for line in lines:  # an e-mail cell is a list: one line per address in it
        firsts.setdefault(line["row"], line)
    lines = list(firsts.values())
    for line, formula in zip(lines, FORMULAS, strict=False):
        assert line["email"] == line["'=name"] == "'" + formula  # the row as it was
        assert line["value"].startswith("'" + formula.strip()[:2])  # the cell's first address
    assert lines[-1]["value"] == "'+98 not an address" and lines[-1]["'@note"] == "'-"


def test_order_report_cells_cannot_run_as_formulas(operator, write_csv, tmp_path):
    rows = [["order_id", "email", "product", "quantity", "unit_price", "placed_at", "currency"],
            ["", "a@example.com", "=1+1", "1", "1000", "2024-08-02", "IRT"],
            ["A-1", "@bad", "tea", "1", "1000", "2024-08-02", "IRT"]]
    report = tmp_path / "rejected.csv"
    import_orders(operator, write_csv(rows), report_path=report)
    lines = read_report(report)
    assert [line["product"] for line in lines] == ["'=1+1", "tea"]
    assert lines[1]["value"] == lines[1]["email"] == "'@bad"


def test_numbers_stay_numbers_in_the_report(operator, write_csv, tmp_path):
    report = tmp_path / "rejected.csv"
    import_contacts(operator, write_csv([["email", "mobile"], ["nope", "+989121234567"],
                                         ["-5", "-12"]]), report_path=report)
    lines = read_report(report)
    assert {(line["email"], line["mobile"]) for line in lines} == {("nope", "+989121234567"),
                                                                   ("-5", "-12")}
    assert {line["value"] for line in lines} == {"nope", "-5", "-12"}


def test_the_preview_names_the_encoding_it_read(make_user):
    client = Client()
    client.force_login(make_user("wizard", "marketer", language="en"))
    content = "name,email\r\nCafé Müller,cafe@example.com\r\n".encode("cp1252")
    response = client.post("/imports/", {"file": SimpleUploadedFile("c.csv", content)})
    page = client.get(response["Location"]).content.decode()
    assert "Encoding: cp1252" in page and "Café Müller" in page
