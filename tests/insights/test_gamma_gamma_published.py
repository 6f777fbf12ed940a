"""Gamma-Gamma through the refresh follows Fader & Hardie (2013): repeat purchases only,
one-time buyers get the population mean, and the CDNOW sample gives the published fit."""

import datetime as dt

import numpy as np
import pytest

from peyvand.commerce.models import Order
from peyvand.contacts.models import Contact
from peyvand.insights import actions
from peyvand.insights.models import CustomerMetrics, InsightSettings, ModelFit
from tests.insights.conftest import at, contact, order
from tests.insights.test_clv_model import CDNOW, PUBLISHED, PUBLISHED_GG

pytestmark = pytest.mark.django_db
CALIBRATION_END = dt.date(1997, 9, 30)  # 39 weeks, as in the paper


def _load_cdnow_sample() -> dict[int, int]:
    path = CDNOW / "CDNOW_sample.txt"
    if not path.exists():
        pytest.skip(f"CDNOW data not found at {path.resolve()}")
    rows = np.genfromtxt(path, dtype=str)
    people = sorted({int(c) for c in rows[:, 1]})
    Contact.objects.bulk_create([Contact(first_name=f"CDNOW{c}") for c in people])
    pks = Contact.objects.filter(first_name__startswith="CDNOW").values_list("pk",
                                                                            "first_name")
    pk_of = {int(name[5:]): pk for pk, name in pks}
    Order.objects.bulk_create([
        Order(source="cdnow", external_id=str(i), contact_id=pk_of[int(r[1])],
              placed_at=at(dt.date(int(r[2][:4]), int(r[2][4:6]), int(r[2][6:]))),
              status="completed", currency="USD", subtotal=round(float(r[4]) * 100),
              total=round(float(r[4]) * 100))
        for i, r in enumerate(rows)])
    return pk_of


@pytest.fixture
def cdnow(system):
    pk_of = _load_cdnow_sample()
    InsightSettings.objects.update_or_create(pk=1, defaults={"holdout_weeks": 0})
    actions.refresh_all(system, CALIBRATION_END)
    return pk_of


def test_refresh_reproduces_the_published_cdnow_fits(cdnow, api_for):
    fit = ModelFit.objects.get()
    assert fit.method == "bgnbd" and fit.currency == "USD"
    for name in ("r", "alpha", "a", "b"):
        assert round(fit.bgnbd[name], 3) == pytest.approx(PUBLISHED[name], abs=0.001), name
    gg = fit.gamma_gamma
    assert gg["converged"] and gg["sample_size"] == 946  # customers with a repeat purchase
    # Fader & Hardie 2013 (and lifetimes, CLVTools): p 6.25, q 3.74, γ 15.44 dollars.
    assert round(gg["p"], 2) == PUBLISHED_GG["p"]
    assert round(gg["q"], 2) == PUBLISHED_GG["q"]
    assert round(gg["gamma"] / 100, 2) == PUBLISHED_GG["gamma"]  # stored in cents
    # CLVTools' published log-likelihood of the same fit, in dollars: −4055.92.
    assert gg["loglik"] + 946 * np.log(100) == pytest.approx(-4055.918, abs=0.01)
    body = api_for("reviewer").get("/api/v1/insights/model").json()
    assert body["currency"] == "USD"
    assert body["gamma_gamma"]["gamma"]["unit"] == "USD"
    assert round(body["gamma_gamma"]["gamma"]["value"], 2) == 15.44
    assert body["gamma_gamma"]["mean_spend"] == {
        "value": round(gg["p"] * gg["gamma"] / (gg["q"] - 1) / 100, 4), "unit": "USD"}
    assert round(body["gamma_gamma"]["mean_spend"]["value"], 2) == 35.17  # p·γ/(q−1)


def test_expected_spend_is_the_closed_form_per_customer(cdnow):
    """E(M | p, q, γ, m̄_x, x) = (γ + m̄_x x) p / (p x + q − 1), x repeat purchases and m̄_x
    their mean; one-time buyers get the population mean p γ / (q − 1)."""
    rows = np.genfromtxt(CDNOW / "CDNOW_sample.txt", dtype=str)
    gg = ModelFit.objects.get().gamma_gamma
    p, q, gamma = gg["p"], gg["q"], gg["gamma"]
    by_person: dict[int, dict[str, int]] = {}
    for r in rows:
        if r[2] > CALIBRATION_END.strftime("%Y%m%d"):
            continue
        days = by_person.setdefault(cdnow[int(r[1])], {})
        days[r[2]] = days.get(r[2], 0) + round(float(r[4]) * 100)
    metrics = dict(CustomerMetrics.objects.filter(order_count__gt=0)
                   .values_list("contact_id", "expected_spend"))
    assert len(metrics) == len(by_person) == 2357
    checked_repeat = checked_once = 0
    for pk, days in by_person.items():
        spends = [days[d] for d in sorted(days)]
        x = len(spends) - 1
        if x == 0:
            expected = p * gamma / (q - 1)
            checked_once += 1
        else:
            m = sum(spends[1:]) / x  # the first purchase is left out
            expected = (gamma + m * x) * p / (p * x + q - 1)
            checked_repeat += 1
        assert metrics[pk] == round(expected), pk  # stored rounded to the cent
    assert checked_repeat == 946 and checked_once == 1411


def test_first_purchase_is_left_out_and_refunds_shared(system):
    """A customer's first purchase does not enter their mean spend; a refund is shared
    between purchase days by their share of the gross."""
    from peyvand.insights.metrics import load_frame
    from peyvand.insights.pipeline import model_inputs
    from tests.insights.conftest import refund

    c = contact()
    first = order(c.pk, dt.date(2024, 1, 1), 900_000)
    order(c.pk, dt.date(2024, 2, 1), 100_000)
    order(c.pk, dt.date(2024, 3, 1), 200_000)
    refund(first, 120_000, dt.date(2024, 3, 5))  # 10% of the gross
    once = contact()
    order(once.pk, dt.date(2024, 1, 1), 500_000)
    frame = load_frame(dt.date(2024, 6, 30))
    inputs = model_inputs(frame, dt.date(2024, 6, 30).toordinal())
    i, j = list(frame["id"]).index(c.pk), list(frame["id"]).index(once.pk)
    assert inputs["repeats"][i] == 2
    assert inputs["spend"][i] == pytest.approx((100_000 + 200_000) * 0.9 / 2)
    assert inputs["day_spend"][i] == pytest.approx((1_200_000 - 120_000) / 3)
    assert np.isnan(inputs["spend"][j]) and inputs["repeats"][j] == 0
    assert inputs["day_spend"][j] == 500_000
