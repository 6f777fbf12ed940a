"""Hostile files are refused fast, with the reason, by the reader, the wizard, the API and the
CLI: shared-string and zip bombs, DTDs and XML entities, too many rows, columns or bytes,
endless lines, damaged sheets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from peyvand.base.models import Job
from peyvand.contacts.models import Contact
from peyvand.imports.contacts import ImportFailed, import_contacts
from peyvand.imports.reader import UnreadableFile, open_table
from tests.imports.test_api import client_for, post_file  # noqa: F401 (a fixture)
from tests.imports.test_cli import peyvand_contacts

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


def workbook(path: Path, rows: list[list[object]]) -> Path:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    book.save(path)
    return path


def replace_part(path: Path, name: str, write) -> Path:
    """The XLSX at `path` with part `name` written anew by write(stream), in place."""
    with zipfile.ZipFile(path) as old:
        parts = [(info, old.read(info)) for info in old.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as new:
        for info, data in parts:
            if info.filename != name:
                new.writestr(info.filename, data)
        with new.open(name, "w", force_zip64=True) as stream:
            write(stream)
    return path


MAIN = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"
OFFICE = b"http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE = b"http://schemas.openxmlformats.org/package/2006/relationships"
SHEET_TYPE = b"application/vnd.openxmlformats-officedocument.spreadsheetml"


def strings_workbook(path: Path, write_strings) -> Path:
    """An XLSX as Excel lays it out: a sheet whose two cells, "email" and an address, are
    the first two shared strings of the part write_strings(stream) writes."""
    parts = {
        "[Content_Types].xml": b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        b'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats'
        b'-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        b'<Override PartName="/xl/workbook.xml" ContentType="' + SHEET_TYPE + b'.sheet.main+'
        b'xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="' + SHEET_TYPE +
        b'.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="' +
        SHEET_TYPE + b'.sharedStrings+xml"/></Types>',
        "_rels/.rels": b'<Relationships xmlns="' + PACKAGE + b'"><Relationship Id="rId1" Type="'
        + OFFICE + b'/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": b'<workbook xmlns="' + MAIN + b'" xmlns:r="' + OFFICE + b'"><sheets>'
        b'<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": b'<Relationships xmlns="' + PACKAGE + b'"><Relationship '
        b'Id="rId1" Type="' + OFFICE + b'/worksheet" Target="worksheets/sheet1.xml"/>'
        b'<Relationship Id="rId2" Type="' + OFFICE + b'/sharedStrings" Target="sharedStrings.'
        b'xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": b'<worksheet xmlns="' + MAIN + b'"><dimension ref="A1:A2"/>'
        b'<sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2" t="s">'
        b'<v>1</v></c></row></sheetData></worksheet>',
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        for name, data in parts.items():
            book.writestr(name, data)
        with book.open("xl/sharedStrings.xml", "w", force_zip64=True) as stream:
            write_strings(stream)
    return path


def shared_strings(count: int):
    """An <sst> of `count` short texts (a hundred different ones, repeated)."""
    def write(stream):
        stream.write(b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns='
                     b'"http://schemas.openxmlformats.org/spreadsheetml/2006/main">')
        stream.write(b"<si><t>email</t></si><si><t>a@b.ir</t></si>")
        block = b"".join(b"<si><t>%d</t></si>" % i for i in range(100)) * 1000
        for _ in range(count // 100_000):
            stream.write(block)
        stream.write(b"</sst>")
    return write


@pytest.fixture(scope="module")
def strings_bomb(tmp_path_factory) -> Path:
    """About 500 KB that unpacks to 90 MB: five million shared strings."""
    return strings_workbook(tmp_path_factory.mktemp("bomb") / "bomb.xlsx",
                            shared_strings(5_000_000))


def open_in_a_child(path: Path, tmp_path: Path, **env: str) -> dict:
    """Open the table in a fresh process: how long the refusal took and the peak RSS (VmHWM:
    getrusage's maxrss would include the parent's, inherited across fork and exec)."""
    child = (
        "import json, sys, time\n"
        "import django\n"
        "django.setup()\n"
        "from django.utils import translation\n"
        "translation.activate('en')\n"
        "from peyvand.imports.reader import UnreadableFile, open_table\n"
        "started = time.monotonic()\n"
        "try:\n"
        "    open_table(sys.argv[1]).close()\n"
        "    outcome = 'read'\n"
        "except UnreadableFile as exc:\n"
        "    outcome = str(exc)\n"
        "status = open('/proc/self/status').read()\n"
        "rss_mb = int(status.split('VmHWM:')[1].split()[0]) / 1024\n"
        "print(json.dumps({'seconds': time.monotonic() - started, 'outcome': outcome,\n"
        "                  'rss_mb': rss_mb}))\n")
    done = subprocess.run(
        [sys.executable, "-c", child, str(path)], cwd=ROOT, capture_output=True, text=True,
        timeout=120, env={**os.environ, "DJANGO_SETTINGS_MODULE": "peyvand.settings",
                          "PEYVAND_HOME": str(tmp_path), **env})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_a_500_kb_xlsx_with_5_million_shared_strings_is_refused_fast_and_small(strings_bomb,
                                                                                 tmp_path):
    assert 300_000 < strings_bomb.stat().st_size < 700_000
    with zipfile.ZipFile(strings_bomb) as book:
        assert book.getinfo("xl/sharedStrings.xml").file_size > 80_000_000
    result = open_in_a_child(strings_bomb, tmp_path)
    assert "packed more than 100 to 1" in result["outcome"]
    assert result["seconds"] < 5 and result["rss_mb"] < 200


def test_the_same_workbook_with_few_shared_strings_is_read(tmp_path):
    with open_table(strings_workbook(tmp_path / "x.xlsx", shared_strings(0))) as table:
        assert table.headers == ["email"] and list(table.rows()) == [(2, ["a@b.ir"])]


def test_shared_strings_are_counted_even_when_the_ratio_is_allowed(strings_bomb, tmp_path):
    result = open_in_a_child(strings_bomb, tmp_path, PEYVAND_IMPORT_XLSX_MAX_RATIO="100000")
    assert "more than 3,000,000 different texts" in result["outcome"]
    assert result["seconds"] < 5 and result["rss_mb"] < 200


def test_the_declared_count_of_shared_strings_is_believed_when_it_is_too_high(tmp_path,
                                                                              settings):
    settings.IMPORT_XLSX_MAX_SHARED_STRINGS = 1000

    def write(stream):
        stream.write(b'<sst xmlns="' + MAIN + b'" count="5000" uniqueCount="5000"><si><t>email'
                     b'</t></si><si><t>a@b.ir</t></si></sst>')

    path = strings_workbook(tmp_path / "x.xlsx", write)
    with pytest.raises(UnreadableFile, match="more than 1,000 different texts"):
        open_table(path)


@pytest.mark.parametrize("prefix", [b"", b"x:"])
def test_shared_strings_are_counted_with_or_without_a_prefix(tmp_path, settings, prefix):
    settings.IMPORT_XLSX_MAX_SHARED_STRINGS, settings.IMPORT_XLSX_MAX_RATIO = 2, 100_000
    si = b"<%ssi><%st>x</%st></%ssi>" % (prefix, prefix, prefix, prefix)

    def write(stream):  # no count declared; the third text is 1 MB in, across a chunk
        stream.write(b'<%ssst xmlns%s="%s">' % (prefix, b":" + prefix[:-1] if prefix else b"",
                                                 MAIN))
        stream.write(si * 2 + b" " * (1024 * 1024 - 70) + si + b"</%ssst>" % prefix)

    path = strings_workbook(tmp_path / "x.xlsx", write)
    with pytest.raises(UnreadableFile, match="more than 2 different texts"):
        open_table(path)


def test_a_zip_bomb_sheet_is_refused_by_its_ratio(tmp_path):
    path = workbook(tmp_path / "x.xlsx", [["email"], ["a@b.ir"]])

    def write(stream):
        stream.write(b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/'
                     b'main"><sheetData>')
        row = b'<row><c t="inlineStr"><is><t>x</t></is></c></row>' * 20_000
        for _ in range(50):
            stream.write(row)
        stream.write(b"</sheetData></worksheet>")

    replace_part(path, "xl/worksheets/sheet1.xml", write)
    started = time.monotonic()
    with pytest.raises(UnreadableFile, match="packed more than 100 to 1"):
        open_table(path)
    assert time.monotonic() - started < 1


def test_an_xlsx_that_unpacks_past_the_limit_is_refused(tmp_path, settings):
    settings.IMPORT_XLSX_MAX_UNCOMPRESSED_BYTES = 4096
    path = workbook(tmp_path / "x.xlsx", [["email"], ["a@b.ir"]])
    with pytest.raises(UnreadableFile, match="unpacks to more than"):
        open_table(path)


DTD = b'<!DOCTYPE workbook [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;">]>'


def with_dtd(path: Path, part: str = "xl/workbook.xml", dtd: bytes = DTD) -> Path:
    with zipfile.ZipFile(path) as book:
        xml = book.read(part)
    head, rest = xml.split(b"?>", 1) if xml.startswith(b"<?xml") else (b"", xml)
    return replace_part(path, part, lambda s: s.write(head + b"?>" + dtd + rest if head
                                                      else dtd + rest))


@pytest.mark.parametrize(("part", "dtd"), [
    ("xl/workbook.xml", DTD),
    ("xl/worksheets/sheet1.xml", b"<!DOCTYPE worksheet>"),  # a DTD without entities too
    ("[Content_Types].xml", b'<!DOCTYPE Types SYSTEM "http://example.com/t.dtd">'),
])
def test_an_xlsx_with_a_dtd_gets_a_clear_error(tmp_path, part, dtd):
    path = with_dtd(workbook(tmp_path / "x.xlsx", [["email"], ["a@b.ir"]]), part, dtd)
    with pytest.raises(UnreadableFile, match="document type declaration"):
        open_table(path)


def test_openpyxl_reads_through_defusedxml():
    from openpyxl.xml import functions

    assert openpyxl.DEFUSEDXML and functions.iterparse.__module__.startswith("defusedxml")


def test_the_wizard_api_and_cli_say_why_an_xlsx_is_refused(tmp_path, make_user, client_for,  # noqa: F811
                                                            capsys):
    path = with_dtd(workbook(tmp_path / "x.xlsx", [["email"], ["a@b.ir"]]))
    content = path.read_bytes()
    ui = Client()
    ui.force_login(make_user("wizard", "marketer"))
    page = ui.post("/imports/", {"file": SimpleUploadedFile("x.xlsx", content)},
                   HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200 and "document type declaration" in page.content.decode()
    response = post_file(client_for("marketer"), content, "x.xlsx")
    assert response.status_code == 400
    assert "document type declaration" in response.json()["errors"]["file"]
    assert peyvand_contacts("import", str(path)) == 1
    assert "document type declaration" in capsys.readouterr().err
    assert not Contact.objects.exists()
    assert not Job.objects.exclude(status="failed").exists()


def test_a_sheet_damaged_after_its_first_rows_fails_the_import_with_the_reason(tmp_path,
                                                                             operator):
    path = workbook(tmp_path / "x.xlsx", [["email"], ["a@b.ir"]])

    def write(stream):
        # Far enough in that openpyxl has opened the sheet and read rows before it breaks.
        stream.write(b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/'
                     b'main"><dimension ref="A1:A3002"/><sheetData><row r="1"><c r="A1" '
                     b't="inlineStr"><is><t>email</t></is></c></row>')
        for n in range(2, 3002):
            stream.write(b'<row r="%d"><c r="A%d" t="inlineStr"><is><t>p%d@example.com</t>'
                         b'</is></c></row>' % (n, n, n))
        stream.write(b'<row r="3002"><c r="A3002"</sheetData></worksheet>')

    replace_part(path, "xl/worksheets/sheet1.xml", write)
    with pytest.raises(ImportFailed, match=r"cannot be read after row 3,00\d \(not well-formed"):
        import_contacts(operator, path)


def test_rows_past_the_limit_stop_the_import_with_the_reason(write_csv, tmp_path, settings,
                                                             operator):
    settings.IMPORT_MAX_ROWS = 3
    rows = [["email"]] + [[f"p{i}@example.com"] for i in range(5)]
    with pytest.raises(ImportFailed, match="more than 3 rows"):
        import_contacts(operator, write_csv(rows))
    path = workbook(tmp_path / "x.xlsx", rows)
    with pytest.raises(ImportFailed, match="more than 3 rows"):
        import_contacts(operator, path)
    settings.IMPORT_MAX_ROWS = 5
    assert import_contacts(operator, path).totals.created == 5


def test_columns_past_the_limit_are_refused(write_csv, settings):
    settings.IMPORT_MAX_COLUMNS = 3
    with pytest.raises(UnreadableFile, match="Row 1 has 4 columns; at most 3"):
        open_table(write_csv([["email", "a", "b", "c"], ["x@y.ir", "", "", ""]]))
    with open_table(write_csv([["email", "a"], ["x@y.ir", "1", "2", "3"]])) as table, \
            pytest.raises(UnreadableFile, match="Row 2 has 4 columns"):
        list(table.rows())


def test_an_endless_line_is_refused_without_reading_it_whole(tmp_path):
    path = tmp_path / "commas.csv"
    with path.open("wb") as fh:
        fh.write(b"email\r\n")
        for _ in range(10):
            fh.write(b"," * (1024 * 1024))
    started = time.monotonic()
    with open_table(path) as table, pytest.raises(UnreadableFile, match="Row 2 is longer than"):
        list(table.rows())
    assert time.monotonic() - started < 2


def test_uploads_past_the_limit_are_refused_and_not_kept(settings, make_user, client_for,  # noqa: F811
                                                         import_dir):
    settings.IMPORT_MAX_UPLOAD_BYTES = 1024
    content = b"email\r\n" + b"someone@example.com\r\n" * 100
    response = post_file(client_for("marketer"), content)
    assert response.status_code == 400
    assert response.json()["errors"]["file"] == "The file is larger than 1 KB."
    ui = Client()
    ui.force_login(make_user("wizard", "marketer"))
    page = ui.post("/imports/", {"file": SimpleUploadedFile("c.csv", content)})
    assert page.status_code == 200 and "The file is larger than" in page.content.decode()
    assert not any(p.is_file() for p in Path(import_dir).rglob("upload*"))
    assert not Job.objects.exists()
