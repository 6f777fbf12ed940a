"""Reads on insights rows, used by the dashboard, the contact page, the API and the CLI."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from peyvand.base.actor import Actor
from peyvand.base.roles import require
from peyvand.commerce.models import Product
from peyvand.commerce.money import exponent
from peyvand.contacts.queries import access_contact
from peyvand.insights import crosssell, ladder, rfm, tiers
from peyvand.insights.actions import get_settings, latest_run
from peyvand.insights.models import (
    CustomerMetrics,
    DueStatus,
    ModelFit,
    RefreshRun,
    Relationship,
    Segment,
    Stage,
    Tier,
)

LISTED_DUE = (DueStatus.DUE, DueStatus.OVERDUE)


def latest_fit() -> ModelFit | None:
    return ModelFit.objects.order_by("-fitted_at", "-id").first()


def major(minor: float | None, currency: str) -> dict[str, Any] | None:
    """A money figure in the major unit of its currency, said with it: {value, unit}."""
    if minor is None or not currency:
        return None if minor is None else {"value": minor, "unit": ""}
    places = exponent(currency)
    return {"value": round(float(minor) / 10**places, places + 2), "unit": currency}


def model_info(fit: ModelFit | None) -> dict[str, Any]:
    """The fit as the API and dashboard show it; γ and every money figure in major units of
    the fit's currency, said with it (stored in minor units)."""
    if fit is None:
        return {"bgnbd": None, "gamma_gamma": None, "fitted_at": None, "as_of": None,
                "sample_size": 0, "repeaters": 0, "converged": False, "method": None,
                "message": "", "fallback": None, "holdout": {}, "currency": ""}
    bg, gg = fit.bgnbd or {}, fit.gamma_gamma or {}
    cur = fit.currency
    gamma_gamma = None
    if gg:
        p, q, gamma = gg.get("p"), gg.get("q"), gg.get("gamma")
        mean = None
        if p is not None and q is not None and gamma is not None and q > 1:
            mean = p * gamma / (q - 1)
        gamma_gamma = {"p": p, "q": q, "gamma": major(gamma, cur),
                       "mean_spend": major(mean, cur), "customers": gg.get("sample_size"),
                       "loglik": gg.get("loglik"), "converged": gg.get("converged")}
    fallback = None
    if fit.method == ModelFit.Method.AVERAGE_RATE:
        fallback = {**(fit.fallback or {}),
                    "mean_spend": major((fit.fallback or {}).get("mean_spend"), cur)}
    return {
        "method": fit.method,
        "bgnbd": {k: bg.get(k) for k in ("r", "alpha", "a", "b", "loglik")} if bg else None,
        "gamma_gamma": gamma_gamma,
        "currency": cur,
        "fitted_at": fit.fitted_at,
        "as_of": fit.as_of,
        "sample_size": fit.sample_size,
        "repeaters": fit.repeaters,
        "converged": fit.converged,
        "message": fit.message,
        "fallback": fallback,
        "horizon_weeks": fit.horizon_weeks,
        "discount_rate": fit.discount_rate,
        "holdout": fit.holdout or {},
    }


def model(actor: Actor) -> dict[str, Any]:
    require(actor, "insights.view")
    return model_info(latest_fit())


def summary(actor: Actor) -> dict[str, Any]:
    """The latest full refresh: counts, shares, rules and the model, as one dict."""
    require(actor, "insights.view")
    run = latest_run()
    s = get_settings()
    return {
        "run": run,
        "summary": run.summary if run else {},
        "settings": s,
        "tier_rules": tiers.rules(s),
        "stages": ladder.definitions(s),
        "relationship_rule": ladder.relationship_rule(s),
        "segment_help": {str(k): str(v) for k, v in rfm.SEGMENT_HELP.items()},
        "model": model_info(latest_fit()),
    }


def runs(actor: Actor, limit: int = 10) -> QuerySet:
    require(actor, "insights.view")
    return RefreshRun.objects.filter(finished_at__isnull=False)[:limit]


def customers(actor: Actor, *, tier: str = "", segment: str = "", stage: str = "",
              due: str = "", relationship: str = "") -> QuerySet:
    """CustomerMetrics rows of live contacts filtered on the stored columns."""
    require(actor, "insights.view")
    qs = CustomerMetrics.objects.filter(contact__erased_at__isnull=True) \
        .select_related("contact")
    for value, choices, name in ((tier, Tier, "value_tier"), (segment, Segment, "rfm_segment"),
                                 (stage, Stage, "ladder_stage"), (due, DueStatus, "due_status"),
                                 (relationship, Relationship, "relationship")):
        if value:
            if value not in choices.values:
                raise Http404
            qs = qs.filter(**{name: value})
    return qs.order_by("-predicted_value", "-net_revenue", "contact_id")


def due_list(actor: Actor, status: str = "") -> QuerySet:
    """Customers due or overdue for their next purchase, soonest due first."""
    require(actor, "insights.view")
    statuses = [status] if status else list(LISTED_DUE)
    if any(s not in DueStatus.values for s in statuses):
        raise Http404
    return (CustomerMetrics.objects.filter(due_status__in=statuses,
                                           contact__erased_at__isnull=True)
            .select_related("contact").order_by("next_due_date", "contact_id"))


def contact_metrics(actor: Actor, contact_id: Any) -> tuple[Any, CustomerMetrics | None]:
    """(contact, its metrics row or None); 404 for an unknown contact."""
    require(actor, "insights.view")
    contact = access_contact(actor, contact_id)
    return contact, CustomerMetrics.objects.filter(contact=contact).first()


def recommend_for_product(actor: Actor, sku: str, limit: int = 5) -> tuple[Product, list]:
    require(actor, "insights.view")
    product = Product.objects.filter(sku=sku).first()
    if product is None:
        raise Http404
    return product, crosssell.for_product(product, limit)


def recommend_for_contact(actor: Actor, contact_id: Any, limit: int = 5) -> list[dict]:
    require(actor, "insights.view")
    contact = access_contact(actor, contact_id)
    return crosssell.for_contact(contact.pk, limit)
