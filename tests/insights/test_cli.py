"""`peyvand insights refresh [--as-of DATE]`."""

import datetime as dt

import pytest

from peyvand.insights.models import CustomerMetrics, RefreshRun
from tests.insights.conftest import contact, order

pytestmark = pytest.mark.django_db


def test_refresh_as_of_a_past_day_ignores_later_orders(cli):
    c = contact()
    order(c.pk, dt.date(2024, 1, 10), 100_000)
    order(c.pk, dt.date(2024, 8, 1), 900_000)
    code, out, _err = cli("insights", "refresh", "--as-of", "1403/04/10")
    assert code == 0, out
    assert "as of 2024-06-30" in out and "1 customers" in out
    assert "too few repeat customers" in out
    m = CustomerMetrics.objects.get(contact=c)
    assert m.as_of == dt.date(2024, 6, 30) and m.order_count == 1 and m.net_revenue == 100_000
    assert RefreshRun.objects.get().actor_label.startswith("operator:")


def test_refresh_refuses_bad_dates_and_roles(cli, make_user):
    code, _out, err = cli("insights", "refresh", "--as-of", "2999-01-01")
    assert code == 1 and "future" in err
    code, _out, err = cli("insights", "refresh", "--as-of", "yesterday")
    assert code == 1 and "not a date" in err
    make_user("rev", "reviewer")
    code, _out, err = cli("insights", "refresh", "--as", "rev")
    assert code == 3 and "insights.configure" in err
    assert not RefreshRun.objects.exists()
    code, out, _err = cli("insights", "--help")
    assert code == 0 and "refresh" in out
