"""Issue 19, item 1: an order import reads exactly what the file says and assumes nothing
silently — key headers, ignored columns, dates (refused when missing, read in the forms shops
export, the calendar said), the currency said before importing."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest
from django.utils import timezone

from peyvand.cli import main
from peyvand.commerce.models import Order
from peyvand.imports.contacts import ImportFailed
from peyvand.imports.order_dates import DateNotes, read_order_date
from peyvand.imports.orders import (
    OrderOptions,
    auto_order_mapping,
    import_orders,
    preview_orders,
)
from tests.imports.conftest import read_report

pytestmark = pytest.mark.django_db

KEYS = ["order_id", "placed_at", "email", "sku", "quantity", "unit_price", "line_total",
        "currency", "colour"]
TOMAN = OrderOptions(currency="IRT")


def local(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def test_a_header_equal_to_a_fields_key_is_that_field():
    assert auto_order_mapping(KEYS) == [*KEYS[:-1], ""]
    assert auto_order_mapping(["Order_ID", "PLACED AT", "Line-Total"]) == [
        "order_id", "placed_at", "line_total"]


def test_the_file_from_the_issue_keeps_its_dates(operator, write_csv):
    rows = [["order_id", "placed_at", "email", "product", "unit_price", "currency"],
            ["1", "2023-01-05", "a@example.com", "tea", "100", "IRT"]]
    result = import_orders(operator, write_csv(rows))
    assert result.totals.created == 1
    assert local(Order.objects.get().placed_at) == "2023-01-05 00:00"


def test_ignored_columns_are_listed_in_the_result_and_the_cli(operator, write_csv, capsys):
    rows = [KEYS, ["A-1", "2024-08-02", "a@example.com", "TEA", "1", "100", "100", "IRT",
                   "red"]]
    path = write_csv(rows)
    result = import_orders(operator, path)
    assert result.plan.ignored == ["colour"]
    assert result.as_dict()["ignored"] == ["colour"]
    assert main(["orders", "import", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "ignored: colour" in out
    assert out[-1].startswith("read=1 ")


def test_no_date_column_is_refused_unless_now_was_chosen(operator, write_csv, capsys):
    path = write_csv([["order_id", "email", "product", "unit_price"],
                      ["A-1", "a@example.com", "tea", "100"]])
    with pytest.raises(ImportFailed, match="--placed-at now"):
        import_orders(operator, path, options=TOMAN)
    assert Order.objects.count() == 0
    assert main(["orders", "import", str(path), "--currency", "IRT"]) == 1
    assert "--placed-at now" in capsys.readouterr().err
    before = timezone.now()
    assert main(["orders", "import", str(path), "--currency", "IRT", "--placed-at", "now"]) == 0
    assert "orders without a date: dated now (--placed-at now)" in capsys.readouterr().out
    assert Order.objects.get().placed_at >= before


def test_an_order_without_a_date_is_rejected_with_its_row_and_reason(operator, write_csv,
                                                                      tmp_path):
    rows = [["order_id", "date", "email", "product", "unit_price"],
            ["A-1", "2024-08-02", "a@example.com", "tea", "100"],
            ["A-2", "", "b@example.com", "tea", "100"],
            ["A-2", "", "b@example.com", "cup", "100"],
            ["A-3", "not a day", "c@example.com", "tea", "100"]]
    report = tmp_path / "r.csv"
    result = import_orders(operator, write_csv(rows), options=TOMAN, report_path=report)
    assert (result.totals.created, result.totals.rejected) == (1, 3)
    lines = read_report(report)
    assert [(x["row"], x["column"]) for x in lines] == [("3", "placed_at"), ("4", "placed_at"),
                                                         ("5", "placed_at")]
    assert "no date" in lines[0]["reason"] and "--placed-at now" in lines[0]["reason"]
    assert lines[2]["value"] == "not a day" and "is not a date" in lines[2]["reason"]
    now = import_orders(operator, write_csv(rows),
                        options=OrderOptions(currency="IRT", placed_at_now=True))
    assert (now.totals.created, now.totals.rejected) == (1, 1)  # A-2 now dated; A-3 still bad


@pytest.mark.parametrize(("written", "calendar", "read", "form"), [
    ("1403/05/12", "auto", "2024-08-02 00:00", "jalali"),
    ("۱۴۰۳/۰۵/۱۲", "auto", "2024-08-02 00:00", "jalali"),
    ("1403-05-12 14:30", "jalali", "2024-08-02 14:30", "jalali"),
    ("2024-08-02", "auto", "2024-08-02 00:00", "gregorian"),
    ("2024-08-02 14:30", "auto", "2024-08-02 14:30", "gregorian"),
    ("2024/08/02", "gregorian", "2024-08-02 00:00", "gregorian"),
    ("20240802", "auto", "2024-08-02 00:00", "gregorian"),
    ("14030512", "auto", "2024-08-02 00:00", "jalali"),
    ("2024-08-02T11:00:00Z", "auto", "2024-08-02 14:30", "gregorian"),  # Tehran is +03:30
    ("45506", "auto", "2024-08-02 00:00", "excel"),
    ("45506.5", "auto", "2024-08-02 12:00", "excel"),
    ("۴۵۵۰۶", "auto", "2024-08-02 00:00", "excel"),
])
def test_dates_in_the_forms_shops_export(settings, written, calendar, read, form):
    settings.TIME_ZONE = "Asia/Tehran"
    notes = DateNotes()
    assert local(read_order_date(written, calendar, notes)) == read
    assert list(notes.counts) == [form]


def test_a_stated_calendar_is_held_to(settings):
    with pytest.raises(Exception, match="not a Jalali date"):
        read_order_date("2024-08-02", "jalali")
    assert read_order_date("", "auto") is None
    with pytest.raises(Exception, match="not a real calendar date"):
        read_order_date("1403/13/40")


def test_the_preview_says_how_dates_and_currency_are_read(operator, write_csv, capsys):
    rows = [["order_id", "placed_at", "email", "product", "unit_price", "note"],
            ["A-1", "۱۴۰۳/۰۵/۱۲", "a@example.com", "tea", "100", "x"],
            ["A-2", "45506", "a@example.com", "tea", "100", "x"]]
    path = write_csv(rows)
    plan = preview_orders(path, options=TOMAN)
    lines = plan.lines()
    assert "dates read as Jalali: ۱۴۰۳/۰۵/۱۲ → 2024-08-02" in lines
    assert "dates read as Excel serial numbers: 45506 → 2024-08-02" in lines
    assert "currency: every order in IRT (--currency)" in lines
    assert "ignored: note" in lines
    assert main(["orders", "import", str(path), "--currency", "IRT", "--preview"]) == 0
    out = capsys.readouterr().out
    assert "dates read as Jalali" in out and "ignored: note" in out
    assert Order.objects.count() == 0  # a preview imports nothing


def test_spreadsheet_dates_and_serials_in_an_xlsx(operator, tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["order_id", "placed_at", "email", "product", "unit_price", "currency"])
    sheet.append(["A-1", dt.datetime(2024, 8, 2, 14, 30), "a@example.com", "tea", 100, "IRT"])
    sheet.append(["A-2", 45506, "b@example.com", "tea", 100, "IRT"])
    path = tmp_path / "orders.xlsx"
    book.save(path)
    result = import_orders(operator, path, options=OrderOptions(calendar="jalali"))
    assert result.totals.created == 2, result.rejections
    assert local(Order.objects.get(external_id="A-1").placed_at) == "2024-08-02 14:30"
    assert local(Order.objects.get(external_id="A-2").placed_at) == "2024-08-02 00:00"
    assert set(result.plan.dates.counts) == {"cell", "excel"}


def test_currency_is_required_when_no_column_holds_it_and_always_said(operator, write_csv,
                                                                       capsys):
    rows = [["order_id", "placed_at", "email", "product", "unit_price"],
            ["A-1", "2024-08-02", "a@example.com", "tea", "100"]]
    path = write_csv(rows)
    with pytest.raises(ImportFailed, match="--currency"):
        import_orders(operator, path)
    with pytest.raises(ImportFailed, match="not a currency code"):
        import_orders(operator, path, options=OrderOptions(currency="toman!"))
    assert main(["orders", "import", str(path)]) == 1
    assert "--currency" in capsys.readouterr().err
    assert main(["orders", "import", str(path), "--currency", "usd"]) == 0
    assert "currency: every order in USD (--currency)" in capsys.readouterr().out
    order = Order.objects.get()
    assert (order.currency, order.total) == ("USD", 10000)
    with_column = write_csv([["order_id", "placed_at", "email", "product", "unit_price",
                              "currency"],
                             ["B-1", "2024-08-02", "a@example.com", "tea", "100", "IRT"],
                             ["B-2", "2024-08-02", "a@example.com", "tea", "100", ""]])
    result = import_orders(operator, with_column, report_path=None)
    assert (result.totals.created, result.totals.rejected) == (1, 1)
    assert result.rejections[0].column == "currency"
    assert "currency: from the column “currency”" in result.notes
