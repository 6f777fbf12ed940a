"""Orders from a file: Persian headers, lines grouped per order, rejected rows explained,
re-import changes nothing, unknown customers created, the CLI summary and exit codes."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from peyvand.base.models import AuditEntry
from peyvand.cli import main
from peyvand.commerce.models import Order, OrderLine
from peyvand.contacts.models import Contact, Identity, TimelineEvent
from peyvand.imports.contacts import ImportFailed
from peyvand.imports.orders import OrderOptions, auto_order_mapping, import_orders
from tests.imports.conftest import read_report

pytestmark = pytest.mark.django_db

TOMAN = OrderOptions(currency="IRT")

HEADER = ["شماره سفارش", "تاریخ", "وضعیت", "ایمیل", "موبایل", "نام", "کد کالا", "کالا", "تعداد",
          "قیمت واحد", "هزینه ارسال"]
ROWS = [
    HEADER,
    ["A-1", "۱۴۰۳/۰۲/۱۲", "completed", "Ali@Example.com", "۰۹۱۲۱۲۳۴۵۶۷", "علي", "TEA-1", "چای",
     "۲", "۱۸۰٬۰۰۰", "60000"],
    ["A-1", "۱۴۰۳/۰۲/۱۲", "completed", "Ali@Example.com", "۰۹۱۲۱۲۳۴۵۶۷", "علي", "CUP-1",
     "استکان", "1", "240000", "60000"],
    ["A-2", "2024-06-01", "completed", "bad-email", "", "", "TEA-1", "چای", "1", "180000", "0"],
    ["A-3", "2024-06-02", "processing", "", "+98 935 111 2233", "Sara", "", "Gaz", "1",
     "380000", "0"],
    ["", "2024-06-03", "completed", "x@example.com", "", "", "TEA-1", "چای", "1", "1000", "0"],
]


def test_persian_headers_are_mapped():
    assert auto_order_mapping(HEADER) == [
        "order_id", "placed_at", "status", "email", "phone", "first_name", "sku", "product",
        "quantity", "unit_price", "shipping"]


def test_orders_lines_customers_and_rejections(operator, write_csv, tmp_path):
    path = write_csv(ROWS)
    report = tmp_path / "rejected.csv"
    result = import_orders(operator, path, report_path=report, options=TOMAN)
    t = result.totals
    assert (t.read, t.created, t.updated, t.merged, t.rejected) == (5, 2, 0, 1, 2)
    assert t.read == t.created + t.updated + t.merged + t.rejected
    order = Order.objects.get(external_id="A-1")
    assert order.currency == "IRR"  # toman converted to rial on the way in
    assert sorted(OrderLine.objects.filter(order=order).values_list("sku", "unit_price")) == [
        ("CUP-1", 2_400_000), ("TEA-1", 1_800_000)]
    assert timezone.localtime(order.placed_at).date().isoformat() == "2024-05-01"  # 1403/02/12
    ali = Contact.objects.get(identities__value="ali@example.com")
    assert order.contact_id == ali.pk and ali.first_name == "علی"
    assert Identity.objects.filter(contact=ali, value="+989121234567").exists()
    assert Order.objects.get(external_id="A-3").contact.identities.get().value == "+989351112233"
    rejected = read_report(report)
    assert [(r["row"], r["column"]) for r in rejected] == [("4", "customer.email"),
                                                           ("6", "order_id")]
    assert "bad-email" in rejected[0]["reason"]
    assert AuditEntry.objects.filter(action="orders.import").count() == 1


def test_importing_the_same_file_again_changes_nothing(operator, write_csv):
    path = write_csv(ROWS)
    import_orders(operator, path, options=TOMAN)
    before = (Order.objects.count(), OrderLine.objects.count(), Contact.objects.count(),
              TimelineEvent.objects.count())
    again = import_orders(operator, path, options=TOMAN).totals
    assert (again.created, again.updated, again.merged, again.rejected) == (0, 2, 1, 2)
    assert (Order.objects.count(), OrderLine.objects.count(), Contact.objects.count(),
            TimelineEvent.objects.count()) == before


def test_unusable_files_and_mappings_fail_clearly(operator, write_csv, tmp_path):
    with pytest.raises(ImportFailed, match="order ID"):
        import_orders(operator, write_csv([["sku", "qty"], ["A", "1"]]))
    with pytest.raises(ImportFailed, match="not an order field"):
        import_orders(operator, write_csv(ROWS), mapping={"کالا": "colour"}, options=TOMAN)
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\x00\x01\x02")
    with pytest.raises(ImportFailed):
        import_orders(operator, bad)


def test_roles_that_cannot_edit_commerce_change_nothing(actor_for, write_csv):
    for role in ("reviewer", "support", "analyst"):
        with pytest.raises(PermissionDenied):
            import_orders(actor_for(role), write_csv(ROWS), options=TOMAN)
    assert Order.objects.count() == 0 and Contact.objects.count() == 0


def test_cli_prints_the_summary_last_and_exits_by_readability(write_csv, tmp_path, capsys):
    path = write_csv(ROWS)
    assert main(["orders", "import", str(path), "--report", str(tmp_path / "r.csv"),
                 "--currency", "IRT"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1] == "read=5 created=2 updated=0 merged=1 rejected=2"
    assert main(["orders", "import", str(tmp_path / "missing.csv")]) == 1
    assert "Cannot import" in capsys.readouterr().err
