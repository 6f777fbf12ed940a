"""The insights API and the model a refresh fits: diagnostics, hold-out, fallback."""

import datetime as dt
import json

import pytest

from peyvand.base.models import AuditEntry, Job
from peyvand.insights import actions
from peyvand.insights.models import CustomerMetrics, ModelFit
from tests.insights.conftest import contact, order, simulate_shop

pytestmark = pytest.mark.django_db
END = dt.date(2024, 6, 30)


@pytest.fixture
def simulated(system):
    ids = simulate_shop(1200, start=dt.date(2023, 1, 1), end=END)
    actions.refresh_all(system, END)
    return ids


def test_model_is_fitted_with_diagnostics_and_holdout(simulated, api_for):
    fit = ModelFit.objects.get()
    assert fit.method == "bgnbd" and fit.converged
    assert fit.sample_size == 1200 and fit.repeaters > 500
    body = api_for("reviewer").get("/api/v1/insights/model").json()
    assert set(body["bgnbd"]) == {"r", "alpha", "a", "b", "loglik"}
    assert set(body["gamma_gamma"]) == {"p", "q", "gamma", "mean_spend", "customers",
                                        "loglik", "converged"}
    # Money in the major unit, said with it: the simulated shop's rial.
    assert body["currency"] == "IRR" and body["gamma_gamma"]["gamma"]["unit"] == "IRR"
    assert body["gamma_gamma"]["gamma"]["value"] == pytest.approx(
        ModelFit.objects.get().gamma_gamma["gamma"])  # rial has no minor unit
    assert body["converged"] is True and body["sample_size"] == 1200
    assert body["fitted_at"] and body["bgnbd"]["loglik"] < 0
    # Simulated with r=0.5, alpha=6, a=0.8, b=3.
    assert 0.35 < body["bgnbd"]["r"] < 0.7 and 0.5 < body["bgnbd"]["a"] < 1.2
    holdout = body["holdout"]
    assert holdout["ok"] and holdout["weeks"] == 26
    assert holdout["calibration_end"] == (END - dt.timedelta(weeks=26)).isoformat()
    assert [g["label"] for g in holdout["groups"]] == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert abs(holdout["predicted_total"] - holdout["actual_total"]) < \
        0.15 * holdout["actual_total"]
    m = CustomerMetrics.objects.filter(order_count__gt=0).order_by("-frequency").first()
    assert 0 < m.p_alive <= 1 and m.expected_purchases > 0 and m.predicted_value > 0


def test_too_few_repeat_customers_fall_back_visibly(system, api_for, client_for):
    for i in range(8):
        c = contact()
        order(c.pk, dt.date(2024, 1, 1) + dt.timedelta(days=i), 100_000)
        if i % 2:
            order(c.pk, dt.date(2024, 3, 1) + dt.timedelta(days=i), 100_000)
    actions.refresh_all(system, END)
    body = api_for().get("/api/v1/insights/model").json()
    assert body["method"] == "average_rate" and body["converged"] is False
    assert body["fallback"]["reason"] == "too_few" and body["repeaters"] == 4
    m = CustomerMetrics.objects.filter(order_count=2).first()
    assert m.p_alive is None and m.expected_purchases > 0
    page = client_for("analyst").get("/insights/").content.decode()
    assert 'id="model-fallback"' in page and "average purchase rate" in page


def test_summary_tiers_customers_and_contact_endpoints(simulated, api_for):
    api = api_for("marketer")
    summary = api.get("/api/v1/insights/summary").json()
    assert summary["computed"] and summary["as_of"] == END.isoformat()
    assert summary["customers"] == 1200
    assert sum(summary["segments"].values()) == 1200
    assert sum(map(sum, summary["heatmap"]["counts"])) == 1200
    assert 0 < summary["top20_share"] < 1
    assert summary["model"]["method"] == "bgnbd"
    tiers = api.get("/api/v1/insights/tiers").json()
    assert [t["tier"] for t in tiers["tiers"]] == ["most_valuable", "most_growable",
                                                  "below_zero", "rest"]
    assert sum(t["customers"] for t in tiers["tiers"]) == 1200
    assert all(t["rule"] for t in tiers["tiers"])
    page = api.get("/api/v1/insights/customers?tier=most_valuable&page_size=5").json()
    assert page["count"] == tiers["tiers"][0]["customers"] and len(page["items"]) == 5
    assert {i["value_tier"] for i in page["items"]} == {"most_valuable"}
    assert api.get("/api/v1/insights/customers?tier=bogus").status_code == 404
    cid = simulated[0]
    detail = api.get(f"/api/v1/contacts/{cid}/insights").json()
    assert detail["computed"] and detail["metrics"]["contact_id"] == cid
    metrics = detail["metrics"]
    for column in ("order_count", "net_revenue", "avg_order_value", "recency_days",
                   "tenure_days", "frequency", "r_score", "f_score", "m_score", "rfm_segment",
                   "engagement_score", "p_alive", "predicted_value", "value_tier",
                   "ladder_stage", "relationship", "cycle_days", "next_due_date"):
        assert column in metrics
    assert metrics["rfm_cell"] == f"{metrics['r_score']}{metrics['f_score']}{metrics['m_score']}"
    assert api.get("/api/v1/contacts/99999999/insights").status_code == 404


def test_contact_without_metrics_and_empty_summary(api_for):
    c = contact()
    api = api_for()
    body = api.get(f"/api/v1/contacts/{c.pk}/insights").json()
    assert body == {"contact_id": c.pk, "computed": False, "metrics": None,
                    "recommendations": []}
    summary = api.get("/api/v1/insights/summary").json()
    assert summary["computed"] is False and summary["model"]["bgnbd"] is None


def test_refresh_endpoint_queues_a_job_for_roles_that_configure(api_for,
                                                               django_capture_on_commit_callbacks):
    c = contact()
    order(c.pk, dt.date(2024, 1, 1))
    with django_capture_on_commit_callbacks(execute=True):
        response = api_for("analyst").post("/api/v1/insights/refresh",
                                           data=json.dumps({"as_of": "1403/01/15"}),
                                           content_type="application/json")
    assert response.status_code == 202
    job = Job.objects.get(pk=response.json()["job_id"])
    assert job.kind == "insights.refresh" and job.status == "done"
    assert job.params["as_of"] == "2024-04-03"
    assert CustomerMetrics.objects.get(contact=c).as_of == dt.date(2024, 4, 3)
    denied = api_for("reviewer").post("/api/v1/insights/refresh", data="{}",
                                      content_type="application/json")
    assert denied.status_code == 403
    future = api_for("owner").post("/api/v1/insights/refresh",
                                   data=json.dumps({"as_of": "2999-01-01"}),
                                   content_type="application/json")
    assert future.status_code == 400 and "as_of" in future.json()["errors"]


def test_settings_are_checked_and_audited(system, actor_for):
    from django.core.exceptions import PermissionDenied, ValidationError

    with pytest.raises(PermissionDenied):
        actions.do_save_settings(actor_for("support"), {"top_percent": 10})
    with pytest.raises(ValidationError) as exc:
        actions.do_save_settings(system, {"top_percent": 0, "discount_rate": 2})
    assert set(exc.value.message_dict) == {"top_percent", "discount_rate"}
    actions.do_save_settings(actor_for("marketer"), {"top_percent": 10, "rfm_bins": 4})
    s = actions.get_settings()
    assert (s.top_percent, s.rfm_bins) == (10, 4)
    entry = AuditEntry.objects.get(action="insights.settings")
    assert entry.details["changed"]["top_percent"] == ["20", "10"]
