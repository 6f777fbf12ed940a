import argparse
import csv
import io

import pytest
from django.core.exceptions import PermissionDenied
from openpyxl import load_workbook

from peyvand.base.models import AuditEntry
from peyvand.commerce import cli
from peyvand.commerce.actions import do_add_refund, do_upsert_order
from peyvand.commerce.export import write_orders_export
from peyvand.commerce.models import ShopSource, WebhookDelivery

pytestmark = pytest.mark.django_db


@pytest.fixture
def orders(system):
    a = do_upsert_order(system, {
        "external_id": "E-1", "currency": "IRT", "placed_at": "2024-05-01T10:00:00Z",
        "customer": {"email": "sara@example.com", "first_name": "=HYPERLINK(\"x\")"},
        "lines": [{"sku": "MUG-1", "quantity": 3, "unit_price": "100,000"}]}).order
    do_add_refund(system, a, {"amount": "50000", "currency": "IRT"})
    do_upsert_order(system, {"external_id": "E-2", "currency": "USD", "total": "12.50",
                             "customer": {"phone": "09121234567"}})
    return a


def test_csv_export(orders, owner_actor):
    out = io.BytesIO()
    assert write_orders_export(owner_actor, "csv", out) == 2
    text = out.getvalue().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    first = rows[0]
    # In the shop's display unit (toman unless the owner chose rial), named IRT.
    assert first["external_id"] == "E-1" and first["currency"] == "IRT"
    assert first["total"] == "300000" and first["refunded"] == "50000"
    assert first["net"] == "250000" and first["items"] == "3"
    assert first["email"] == "sara@example.com"
    assert first["contact_name"].startswith("'=")  # no formula injection into spreadsheets
    assert rows[1]["total"] == "12.5" and rows[1]["phone"] == "+989121234567"
    entry = AuditEntry.objects.get(action="orders.export")
    assert entry.details == {"count": 2, "format": "csv"}


def test_xlsx_export(orders, owner_actor):
    out = io.BytesIO()
    write_orders_export(owner_actor, "xlsx", out)
    sheet = load_workbook(io.BytesIO(out.getvalue())).active
    rows = list(sheet.values)
    header = list(rows[0])
    first = dict(zip(header, rows[1], strict=True))
    assert first["total"] == 300_000 and first["net"] == 250_000  # toman
    assert str(first["contact_name"]).startswith("'=")
    assert first["placed_at"].year == 2024  # a real date cell
    assert len(rows) == 3


@pytest.mark.parametrize("role", ["marketer", "reviewer", "support", "analyst"])
def test_export_is_owner_only(orders, actor_for, role):
    with pytest.raises(PermissionDenied):
        write_orders_export(actor_for(role), "csv", io.BytesIO())
    assert not AuditEntry.objects.filter(action="orders.export").exists()


def test_unknown_format(owner_actor):
    with pytest.raises(ValueError):
        write_orders_export(owner_actor, "pdf", io.BytesIO())


def test_cli_orders_export(orders, tmp_path, capsys):
    target = tmp_path / "orders.xlsx"
    args = argparse.Namespace(as_user=None, format="xlsx", output=str(target))
    assert cli.cmd_orders_export(args) == 0
    assert load_workbook(target).active.max_row == 3
    assert oct(target.stat().st_mode & 0o777) == "0o600"
    assert "2" in capsys.readouterr().out
    assert AuditEntry.objects.get(action="orders.export").actor_label.startswith("operator:")


def test_cli_orders_export_as_a_user_without_the_right(orders, tmp_path, make_user):
    make_user("mina", "marketer")
    args = argparse.Namespace(as_user="mina", format="csv", output=str(tmp_path / "o.csv"))
    with pytest.raises(PermissionDenied):
        cli.cmd_orders_export(args)
    assert not (tmp_path / "o.csv").exists()


def test_cli_sources_add_prints_url_path_and_secret(capsys):
    args = argparse.Namespace(as_user=None, kind="woocommerce", name="MyShop", currency="IRT")
    assert cli.cmd_sources_add(args) == 0
    source = ShopSource.objects.get()
    out = capsys.readouterr().out
    assert source.name == "myshop"
    assert f"/hooks/woocommerce/{source.token}/" in out and source.secret in out
    assert AuditEntry.objects.filter(action="source.create").exists()
    with pytest.raises(ValueError):  # the same name twice
        cli.cmd_sources_add(args)


def test_cli_sources_add_refused_for_non_owner(make_user):
    make_user("mina", "marketer")
    args = argparse.Namespace(as_user="mina", kind="woocommerce", name="x", currency="IRT")
    with pytest.raises(PermissionDenied):
        cli.cmd_sources_add(args)
    assert not ShopSource.objects.exists()


def test_cli_parser_and_retry(hook, capsys, django_capture_on_commit_callbacks):
    parser = argparse.ArgumentParser()
    cli.add_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["sources", "list"])
    assert args.func(args) == 0
    assert "myshop" in capsys.readouterr().out

    hook(None, raw=b"not json")
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed"
    args = parser.parse_args(["sources", "retry", str(delivery.pk)])
    with django_capture_on_commit_callbacks(execute=True):
        assert args.func(args) == 0
    delivery.refresh_from_db()
    assert delivery.attempts == 2 and delivery.status == "failed"
    args = parser.parse_args(["orders", "export", "--format", "csv", "--output", "x.csv"])
    assert args.func is cli.cmd_orders_export
