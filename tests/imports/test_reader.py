"""Reading uploaded tables: encodings, delimiters, quoting, blank lines, XLSX cells."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest

from peyvand.imports.reader import UnreadableFile, detect_delimiter, open_table

PERSIAN_ROWS = [["نام", "ایمیل", "موبایل"],
                ["علی", "ali@example.com", "۰۹۱۲۳۴۵۶۷۸۹"],
                ["سارا", "sara@example.com", "٠٩١٢٣٤٥٦٧٨٨"]]
# Windows-1256 has no Persian ی/ک or Persian digits: Excel writes Arabic ي/ك and ASCII digits.
CP1256_ROWS = [["نام", "ايميل", "موبايل"],
               ["علي", "ali@example.com", "09123456789"],
               ["پريسا كريمي", "parisa@example.com", "09123456788"]]


def rows_of(path, **kwargs):
    with open_table(path, **kwargs) as table:
        return table, table.headers, list(table.rows())


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be"])
def test_unicode_encodings_are_detected(write_csv, tmp_path, encoding):
    if encoding in ("utf-16-le", "utf-16-be"):
        # An explicit-endian UTF-16 file as Excel writes it: BOM, then the text.
        bom = b"\xff\xfe" if encoding == "utf-16-le" else b"\xfe\xff"
        path = tmp_path / "u16.csv"
        text = "\r\n".join(",".join(r) for r in PERSIAN_ROWS) + "\r\n"
        path.write_bytes(bom + text.encode(encoding))
    else:
        path = write_csv(PERSIAN_ROWS, encoding=encoding)
    table, headers, rows = rows_of(path)
    assert headers == ["نام", "ایمیل", "موبایل"]  # no BOM left on the first header
    assert [cells for _n, cells in rows] == PERSIAN_ROWS[1:]
    assert table.encoding in ("utf-8", "utf-8-sig", "utf-16")


def test_windows_1256_is_detected(write_csv):
    table, headers, rows = rows_of(write_csv(CP1256_ROWS, encoding="cp1256"))
    assert table.encoding == "cp1256"
    assert headers == ["نام", "ايميل", "موبايل"]
    assert rows[1][1][0] == "پريسا كريمي"


def test_cp1256_bytes_far_into_the_file_are_found(write_csv):
    rows = [["email", "first name"]] + [[f"u{i}@example.com", "Ann"] for i in range(3000)]
    rows.append(["last@example.com", "مريم"])
    table, _h, read = rows_of(write_csv(rows, encoding="cp1256"))
    assert table.encoding == "cp1256"
    assert read[-1][1] == ["last@example.com", "مريم"]


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_delimiters_are_detected(write_csv, delimiter):
    table, headers, rows = rows_of(write_csv(PERSIAN_ROWS, delimiter=delimiter))
    assert table.delimiter == delimiter
    assert len(headers) == 3 and len(rows) == 2


def test_delimiter_fallback_when_the_sniffer_gives_up():
    assert detect_delimiter("email\nali@example.com\n") == ","
    assert detect_delimiter("a;b;c") == ";"


def test_quoted_newlines_blank_lines_and_row_numbers(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text('\n\nname,email,note\n"Ali\nReza",ali@example.com,"a, b"\n\n'
                    ',,\nSara,sara@example.com,x\n', encoding="utf-8")
    _t, headers, rows = rows_of(path)
    assert headers == ["name", "email", "note"]
    numbers = [n for n, cells in rows if any(c.strip() for c in cells)]
    # Rows as a spreadsheet numbers them: the header is row 3 after two blank lines.
    assert numbers == [4, 7]
    assert rows[0][1] == ["Ali\nReza", "ali@example.com", "a, b"]


def test_empty_headers_get_a_name(write_csv):
    _t, headers, _r = rows_of(write_csv([["email", "", "phone"], ["a@b.ir", "x", ""]]))
    assert headers[0] == "email" and headers[2] == "phone" and headers[1]


@pytest.mark.parametrize("content, message", [
    (b"", "empty"),
    (b"\n\n , \n", "empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a text file"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, ".xls"),
    (b"PK\x03\x04garbage", "XLSX"),
])
def test_unreadable_files_say_why(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(UnreadableFile, match=message):
        open_table(path)


def test_missing_file_is_unreadable(tmp_path):
    with pytest.raises(UnreadableFile):
        open_table(tmp_path / "nope.csv")


def test_unclosed_quote_is_reported_with_its_row(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text('email,name\n"a@b.ir,' + "x" * (1024 * 1024 + 10) + "\n", encoding="utf-8")
    with open_table(path) as table, pytest.raises(UnreadableFile, match="Row 2"):
        list(table.rows())


def test_xlsx_first_sheet_first_non_empty_row_and_cell_types(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([])
    sheet.append(["نام", "موبایل", "تاریخ تولد", "کد ملی", "score"])
    sheet.append(["علی", 9123456789, dt.datetime(1990, 5, 17), 12345678, 12.5])
    sheet.append([None, None, None, None, None])
    sheet.append(["سارا", "09123456788", dt.date(2001, 1, 2)])
    book.create_sheet("other").append(["ignored"])
    path = tmp_path / "contacts.xlsx"
    book.save(path)
    table, headers, rows = rows_of(path)
    assert table.kind == "xlsx"
    assert headers == ["نام", "موبایل", "تاریخ تولد", "کد ملی", "score"]
    assert rows[0] == (3, ["علی", "9123456789", dt.date(1990, 5, 17), "12345678", "12.5"])
    assert rows[2] == (5, ["سارا", "09123456788", dt.date(2001, 1, 2), "", ""])


WESTERN = [["name", "city", "note"],
           ["Café Müller", "Köln", "Straße 5"],
           ["Hélène Françoise", "Besançon", "“déjà vu” – 5 €"],
           ["Ørsted Ærø", "Århus", "Niño Peña"]]


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1"])
def test_western_files_are_read_as_written_not_as_mojibake(write_csv, encoding):
    rows = WESTERN if encoding == "cp1252" else [r[:2] for r in WESTERN]  # Latin-1: no “ ” €
    table, headers, read = rows_of(write_csv(rows, encoding=encoding))
    assert table.encoding == "cp1252"  # Latin-1's letters are Windows-1252's
    assert [cells for _number, cells in read] == rows[1:]


@pytest.mark.parametrize("text", ["Café Müller", "Jürgen Jäger", "Niño Peña", "Ærø"])
def test_a_single_western_name_is_enough(write_csv, text):
    table, _h, read = rows_of(write_csv([["name", "email"], [text, "x@example.com"]],
                                        encoding="cp1252"))
    assert table.encoding == "cp1252" and read[0][1][0] == text


def test_persian_windows_files_stay_windows_1256_next_to_latin_words(write_csv):
    rows = [["name", "city"], ["Ali Rezaei علي رضايي", "تهران"], ["Product A", "كتاب"]]
    table, _h, read = rows_of(write_csv(rows, encoding="cp1256"))
    assert table.encoding == "cp1256" and [c for _n, c in read] == rows[1:]
