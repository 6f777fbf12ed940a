"""REST API for insights: a contact's metrics, the summary, the model, tiers, the due list,
customers by column, and recommendations for the shop's checkout page.

Thin: parse input, build an API actor, call insights.queries / actions, render. Money is in
minor units of each row's currency (rial for Iranian shops).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from peyvand.api_common import (  # noqa: I001
    ERRORS,
    Body,
    ErrorOut,
    Paging,
    Status,
    api_actor,
    one_of,
    page_of,
)
from peyvand.base.normalise import InvalidValue
from peyvand.base.roles import require
from peyvand.insights import queries
from peyvand.insights.actions import queue_refresh
from peyvand.insights.models import DueStatus, Relationship, Segment, Stage, Tier
from peyvand.insights.pipeline import COLUMNS

router = Router(tags=["insights"])

METRIC_FIELDS = [c for c in COLUMNS if c not in ("updated_at",)]


# --- output -------------------------------------------------------------------------------------

# BG/NBD gives exactly 1 to a customer with no repeat purchase (it only sees someone stop
# after buying again); the pages hide it then and say why, the API says so here.
P_ALIVE = ("BG/NBD probability that the customer is still active (0-1); exactly 1 for a "
           "customer with a single purchase (frequency 0), whom the model cannot see stop: "
           "the pages show no figure then.")


class MetricsOut(Schema):
    contact_id: int
    as_of: dt.date
    currency: str
    order_count: int
    purchase_days: int
    net_revenue: int
    refunded: int
    avg_order_value: int
    first_order_at: dt.datetime | None
    last_order_at: dt.datetime | None
    recency_days: int | None
    tenure_days: int | None
    frequency: int = Field(description="repeat purchases: purchase days after the first")
    r_score: int
    f_score: int
    m_score: int
    rfm_cell: str
    rfm_segment: str
    engagement_score: float
    returns: int
    tickets: int
    product_cost: int
    contribution: int
    p_alive: float | None = Field(None, description=P_ALIVE)
    expected_purchases: float | None
    expected_spend: int | None
    predicted_value: int | None
    value_tier: str
    ladder_stage: str
    relationship: str
    main_category: str
    cycle_days: float | None
    next_due_date: dt.date | None
    due_status: str


class RecommendationOut(Schema):
    product_id: int
    sku: str
    name_fa: str
    name_en: str
    support: float
    confidence: float
    lift: float
    score: float | None = None
    because_sku: str | None = Field(None, description="for a contact: the product they own "
                                                      "that suggests this one")


class ContactInsightsOut(Schema):
    contact_id: int
    computed: bool
    metrics: MetricsOut | None
    recommendations: list[RecommendationOut]


class BGNBDOut(Schema):
    r: float | None
    alpha: float | None
    a: float | None
    b: float | None
    loglik: float | None


class InsightMoneyOut(Schema):
    value: float = Field(description="in the major unit of `unit` (rial, dollar), not minor")
    unit: str = Field(description="currency code (ISO 4217; IRR for rial)")


class GammaGammaOut(Schema):
    p: float | None
    q: float | None
    gamma: InsightMoneyOut | None = Field(None, description="scale of spend per purchase")
    mean_spend: InsightMoneyOut | None = Field(
        None, description="the population mean spend per purchase, p·γ/(q−1): what a "
        "one-time buyer is expected to spend")
    customers: int | None = Field(None, description="repeat customers the fit saw")
    loglik: float | None = None
    converged: bool | None = None


class ModelOut(Schema):
    method: str | None
    bgnbd: BGNBDOut | None
    gamma_gamma: GammaGammaOut | None
    currency: str = Field("", description="the currency of the model's money figures")
    fitted_at: dt.datetime | None
    as_of: dt.date | None
    sample_size: int
    repeaters: int
    converged: bool
    message: str
    fallback: dict[str, Any] | None = None
    horizon_weeks: int | None = None
    discount_rate: float | None = None
    holdout: dict[str, Any]


class SummaryOut(Schema):
    computed: bool
    as_of: dt.date | None
    computed_at: dt.datetime | None
    contacts: int = 0
    customers: int = 0
    repeat_customers: int = 0
    revenue: int = 0
    predicted: int = 0
    currency: str = ""
    top20_share: float | None = None
    segments: dict[str, int] = {}
    heatmap: dict[str, Any] = {}
    tiers: dict[str, Any] = {}
    ladder: dict[str, int] = {}
    relationship: dict[str, int] = {}
    due: dict[str, int] = {}
    pyramid: dict[str, Any] = {}
    histogram: dict[str, Any] = {}
    movement: dict[str, Any] = {}
    model: ModelOut


class TierRuleOut(Schema):
    tier: str
    label: str
    rule: str
    customers: int
    revenue: int
    predicted: int


class TiersOut(Schema):
    as_of: dt.date | None
    tiers: list[TierRuleOut]
    movement: dict[str, Any]


class DueOut(Schema):
    contact_id: int
    display_name: str
    last_order_at: dt.datetime | None
    cycle_days: float | None
    next_due_date: dt.date | None
    due_status: str
    p_alive: float | None = Field(None, description=P_ALIVE)


class DuePage(Schema):
    items: list[DueOut]
    count: int
    page: int
    page_size: int


class MetricsPage(Schema):
    items: list[MetricsOut]
    count: int
    page: int
    page_size: int


class RecommendationsOut(Schema):
    product: str | None = None
    contact_id: int | None = None
    items: list[RecommendationOut]


class RefreshIn(Body):
    as_of: str | None = Field(None, description="1403/02/12 or 2024-05-01; default today")


class RefreshOut(Schema):
    job_id: int
    as_of: str


# --- input --------------------------------------------------------------------------------------

# Filters on one column each; empty: no filter.
DueFilterValue = Annotated[str, one_of("", *DueStatus.values)]
TierValue = Annotated[str, one_of("", *Tier.values)]
SegmentValue = Annotated[str, one_of("", *Segment.values)]
StageValue = Annotated[str, one_of("", *Stage.values)]
RelationshipValue = Annotated[str, one_of("", *Relationship.values)]


class DueFilter(Paging):
    status: DueFilterValue = Field("", description="due and overdue when empty")


class CustomerFilter(Paging):
    tier: TierValue = ""
    segment: SegmentValue = ""
    stage: StageValue = ""
    relationship: RelationshipValue = ""
    due: DueFilterValue = ""


class RecommendationFilter(Schema):
    product: str = Field("", description="a product's SKU")
    contact: int | None = Field(None, ge=1, le=2**63 - 1, description="a contact's id")
    limit: int = Field(5, ge=1, le=50)


# --- helpers ------------------------------------------------------------------------------------

def _metrics_out(m) -> dict[str, Any]:
    data = {name: getattr(m, name) for name in METRIC_FIELDS}
    data["rfm_cell"] = m.rfm_cell
    return data


def _rec_out(rule, score: float | None = None, because: str | None = None) -> dict[str, Any]:
    product = rule.related
    return {"product_id": product.pk, "sku": product.sku, "name_fa": product.name_fa,
            "name_en": product.name_en, "support": rule.support,
            "confidence": rule.confidence, "lift": rule.lift, "score": score,
            "because_sku": because}


def _contact_recs(actor, contact_id: int, limit: int) -> list[dict[str, Any]]:
    return [_rec_out(r["rule"], r["score"], r["because"].sku)
            for r in queries.recommend_for_contact(actor, contact_id, limit)]


# --- endpoints ----------------------------------------------------------------------------------

@router.get("/contacts/{contact_id}/insights", response={200: ContactInsightsOut,
                                                         ERRORS: ErrorOut})
def contact_insights(request, contact_id: int):
    """A contact's metrics (null until the first refresh) and what they might buy next."""
    actor = api_actor(request)
    contact, metrics = queries.contact_metrics(actor, contact_id)
    return {"contact_id": contact.pk, "computed": metrics is not None,
            "metrics": _metrics_out(metrics) if metrics else None,
            "recommendations": _contact_recs(actor, contact.pk, 5)}


@router.get("/insights/summary", response={200: SummaryOut, ERRORS: ErrorOut})
def insight_summary(request):
    """Counts, shares and the model from the latest full refresh."""
    data = queries.summary(api_actor(request))
    run, summary = data["run"], data["summary"]
    out: dict[str, Any] = {"computed": run is not None, "as_of": run.as_of if run else None,
                           "computed_at": run.finished_at if run else None,
                           "model": data["model"]}
    for key in ("contacts", "customers", "repeat_customers", "revenue", "predicted",
                "currency", "segments", "heatmap", "tiers", "ladder", "relationship", "due",
                "pyramid", "histogram", "movement"):
        if key in summary:
            out[key] = summary[key]
    if summary.get("pyramid"):
        out["top20_share"] = summary["pyramid"]["top20_share"]
    return out


@router.get("/insights/model", response={200: ModelOut, ERRORS: ErrorOut})
def insight_model(request):
    """The lifetime-value model: BG/NBD and Gamma-Gamma parameters, fit diagnostics and the
    hold-out check (mean purchases per customer, actual and predicted, by calibration
    repeat purchases 0..7+)."""
    return queries.model(api_actor(request))


@router.get("/insights/tiers", response={200: TiersOut, ERRORS: ErrorOut})
def insight_tiers(request):
    """Each value tier's rule and size, and movement between tiers since last month."""
    data = queries.summary(api_actor(request))
    stats = data["summary"].get("tiers", {})
    rows = [{**rule, **{k: stats.get(rule["tier"], {}).get(k, 0)
                        for k in ("customers", "revenue", "predicted")}}
            for rule in data["tier_rules"]]
    run = data["run"]
    return {"as_of": run.as_of if run else None, "tiers": rows,
            "movement": data["summary"].get("movement", {})}


@router.get("/insights/due", response={200: DuePage, ERRORS: ErrorOut})
def insight_due(request, filters: Query[DueFilter]):
    """Customers due or overdue for their next purchase, soonest first."""
    page, count = page_of(queries.due_list(api_actor(request), filters.status), filters)
    items = [{"contact_id": m.contact_id, "display_name": m.contact.display_name,
              "last_order_at": m.last_order_at, "cycle_days": m.cycle_days,
              "next_due_date": m.next_due_date, "due_status": m.due_status,
              "p_alive": m.p_alive} for m in page]
    return {"items": items, "count": count, "page": filters.page,
            "page_size": filters.page_size}


@router.get("/insights/customers", response={200: MetricsPage, ERRORS: ErrorOut})
def insight_customers(request, filters: Query[CustomerFilter]):
    """Metrics rows filtered by tier, RFM segment, loyalty stage, relationship or due
    status; highest predicted value first."""
    qs = queries.customers(api_actor(request), tier=filters.tier, segment=filters.segment,
                           stage=filters.stage, relationship=filters.relationship,
                           due=filters.due)
    page, count = page_of(qs, filters)
    return {"items": [_metrics_out(m) for m in page], "count": count, "page": filters.page,
            "page_size": filters.page_size}


@router.post("/insights/refresh", response={202: RefreshOut, ERRORS: ErrorOut})
def insight_refresh(request, payload: RefreshIn):
    """Queue a full refresh as of a day (default today); watch it as a job."""
    job = queue_refresh(api_actor(request), payload.as_of)
    return Status(202, {"job_id": job.pk, "as_of": job.params["as_of"]})


@router.get("/recommendations", response={200: RecommendationsOut, ERRORS: ErrorOut},
            tags=["recommendations"])
def recommendations(request, filters: Query[RecommendationFilter]):
    """Products bought together: `?product=SKU` for a product page or cart, `?contact=ID`
    for a signed-in shopper (what they already bought is left out)."""
    actor = api_actor(request)
    require(actor, "insights.view")  # the role first, then what the query string says
    if bool(filters.product) == (filters.contact is not None):
        raise InvalidValue("product", _("Give either a product SKU or a contact id."), "")
    if filters.product:
        product, rules = queries.recommend_for_product(actor, filters.product, filters.limit)
        return {"product": product.sku, "items": [_rec_out(r) for r in rules]}
    contact_id = int(filters.contact or 0)
    return {"contact_id": contact_id, "items": _contact_recs(actor, contact_id, filters.limit)}
