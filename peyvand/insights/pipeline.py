"""One refresh, start to end: read the frame, score, fit, place, write.

A full refresh learns the population (RFM bin edges, the model, tier thresholds, cycle
priors) and stores it on its RefreshRun; an incremental refresh of a few contacts reuses the
latest one, so a contact's scores move when their orders arrive without re-ranking everyone.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from peyvand.insights import clv, columns, crosssell, cycle, ladder, rfm, tiers
from peyvand.insights.metrics import Frame, bulk_insert, load_frame
from peyvand.insights.models import (
    CustomerMetrics,
    InsightSettings,
    ModelFit,
    RefreshRun,
    Segment,
    Stage,
)

# CustomerMetrics columns in the order rows are written.
COLUMNS = [
    "contact_id", "as_of", "currency", "order_count", "purchase_days", "net_revenue",
    "refunded", "avg_order_value", "first_order_at", "last_order_at", "recency_days",
    "tenure_days", "frequency", "r_score", "f_score", "m_score", "rfm_segment",
    "engagement_score", "returns", "tickets", "product_cost", "contribution", "p_alive",
    "expected_purchases", "expected_spend", "predicted_value", "value_tier", "ladder_stage",
    "relationship", "main_category", "cycle_days", "next_due_date", "due_status", "updated_at",
]


class Clock:
    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.timings[name] = round(now - self._last, 3)
        self._last = now


def model_inputs(frame: Frame, as_of_ordinal: int) -> dict[str, np.ndarray]:
    """BG/NBD inputs in weeks; Gamma-Gamma's mean spend per repeat purchase day (`spend`,
    NaN for one-time buyers, as Fader & Hardie 2013 and `lifetimes` have it) and the mean
    over every purchase day (`day_spend`, for the average-rate fallback)."""
    days = frame["purchase_days"]
    buyer = days > 0
    repeats = np.maximum(frame["main_days"] - 1, 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        day_spend = np.where(buyer, frame["net_revenue"] / np.maximum(days, 1), np.nan)
        spend = np.where(repeats > 0, frame["repeat_net"] / np.maximum(repeats, 1), np.nan)
    return {
        "x": np.maximum(days - 1, 0).astype(float),
        "t_x": np.where(buyer, (frame["last_day"] - frame["first_day"]) / 7.0, 0.0),
        "T": np.where(buyer, (as_of_ordinal - frame["first_day"]) / 7.0, 0.0),
        "days": days.astype(float),
        "spend": spend,
        "repeats": repeats.astype(float),
        "day_spend": day_spend,
    }


def basics(frame: Frame, as_of: dt.date) -> None:
    """Recency, tenure, repeat purchases and the average order."""
    o = as_of.toordinal()
    buyer = frame["purchase_days"] > 0
    net = frame["net_revenue"]
    frame["recency_days"] = np.where(buyer, o - frame["last_day"], -1)
    frame["tenure_days"] = np.where(buyer, o - frame["first_day"], -1)
    frame["frequency"] = np.maximum(frame["purchase_days"] - 1, 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        frame["avg_order_value"] = np.where(
            frame["main_orders"] > 0, np.rint(net / np.maximum(frame["main_orders"], 1)),
            0).astype(np.int64)


def score_rfm(frame: Frame, s: InsightSettings, population: dict, *, learn: bool) -> None:
    """R, F and M scores and the segment; recency ranks newest highest, frequency ranks
    purchase days, monetary net revenue."""
    buyer = frame["purchase_days"] > 0
    net = frame["net_revenue"]
    if learn:
        population["rfm"] = {"bins": s.rfm_bins,
                             "r": rfm.edges(-frame["recency_days"][buyer], s.rfm_bins),
                             "f": rfm.edges(frame["purchase_days"][buyer], s.rfm_bins),
                             "m": rfm.edges(net[buyer], s.rfm_bins)}
    edges = population["rfm"]
    frame["r_score"] = np.where(buyer, rfm.scores(-frame["recency_days"], edges["r"]), 0)
    frame["f_score"] = np.where(buyer, rfm.scores(frame["purchase_days"], edges["f"]), 0)
    frame["m_score"] = np.where(buyer, rfm.scores(net, edges["m"]), 0)
    frame["rfm_segment"] = np.where(buyer, rfm.segments(frame["r_score"], frame["f_score"],
                                                        edges["bins"]), "")


def derive(frame: Frame, s: InsightSettings, as_of: dt.date, population: dict, *,
           learn: bool, clock: Clock | None = None) -> clv.Fitted | None:
    """Add every derived column to the frame; learn the population first when asked."""
    clock = clock or Clock()
    o = as_of.toordinal()
    buyer = frame["purchase_days"] > 0
    basics(frame, as_of)
    score_rfm(frame, s, population, learn=learn)
    clock.lap("rfm")

    inputs = model_inputs(frame, o)
    fitted: clv.Fitted | None
    if learn:
        fitted = clv.fit_model(*(inputs[k][buyer] for k in ("x", "t_x", "T", "days", "spend")),
                               min_repeaters=s.min_repeaters,
                               day_spend=inputs["day_spend"][buyer],
                               repeats=inputs["repeats"][buyer])
        population["model"] = clv.fitted_to_json(fitted)
    else:
        fitted = clv.fitted_from_json(population.get("model") or {})
    if fitted is not None:
        pred = clv.predict(fitted, inputs["x"], inputs["t_x"], inputs["T"], inputs["days"],
                           inputs["spend"], horizon_weeks=s.horizon_weeks,
                           annual_rate=s.discount_rate, day_spend=inputs["day_spend"],
                           repeats=inputs["repeats"])
        frame["p_alive"] = pred.p_alive if pred.p_alive is not None else \
            np.full(len(buyer), np.nan)
        frame["expected_purchases"] = np.where(buyer, pred.purchases, np.nan)
        frame["expected_spend"] = pred.spend
        frame["predicted_value"] = np.where(buyer, pred.value, np.nan)
    else:
        for name in ("p_alive", "expected_purchases", "expected_spend", "predicted_value"):
            frame[name] = np.full(len(buyer), np.nan)
    clock.lap("model")

    frame["contribution"] = tiers.contribution(frame, s)
    predicted = np.nan_to_num(frame["predicted_value"])
    frame_for_tiers = {**frame, "predicted_value": predicted}
    if learn:
        population["tiers"] = tiers.learn(frame_for_tiers, s)
    frame["value_tier"] = tiers.assign(frame_for_tiers, population["tiers"], s)
    clock.lap("tiers")

    signals = ladder.signals(s, None if learn else frame["id"].tolist())
    frame["ladder_stage"] = ladder.stages(frame, signals)
    frame["relationship"] = ladder.relationships(frame, frame["ladder_stage"], s)
    clock.lap("ladder")

    if learn:
        population["cycle"] = cycle.learn(frame)
    frame["cycle_days"], frame["next_due"], frame["due_status"] = cycle.apply(
        frame, population["cycle"], o, s.due_window_days)
    clock.lap("cycle")
    return fitted


# --- writing ------------------------------------------------------------------------------------

def _columns_of(frame: Frame, as_of: dt.date, now: dt.datetime) -> list[tuple]:
    """(kind, values, valid) for each of COLUMNS; `valid` None means never null."""
    n = len(frame["id"])
    buyer = frame["purchase_days"] > 0

    def finite(name: str) -> np.ndarray:
        return np.isfinite(np.asarray(frame[name], dtype=float))

    def rounded(name: str) -> np.ndarray:
        values = np.asarray(frame[name], dtype=float)
        return np.rint(np.where(np.isfinite(values), values, 0)).astype(np.int64)

    bought = frame["order_count"] > 0
    return [
        ("int", frame["id"], None), ("ordinal", np.full(n, as_of.toordinal()), None),
        ("str", frame["currency"], None), ("int", frame["order_count"], None),
        ("int", frame["purchase_days"], None), ("int", frame["net_revenue"], None),
        ("int", frame["refunded"], None), ("int", frame["avg_order_value"], None),
        ("moment", frame["first_at"], bought), ("moment", frame["last_at"], bought),
        ("int", frame["recency_days"], buyer), ("int", frame["tenure_days"], buyer),
        ("int", frame["frequency"], None), ("int", frame["r_score"], None),
        ("int", frame["f_score"], None), ("int", frame["m_score"], None),
        ("str", frame["rfm_segment"], None),
        ("float", np.round(frame["engagement"], 4), None), ("int", frame["returns"], None),
        ("int", frame["tickets"], None), ("int", frame["product_cost"], None),
        ("int", frame["contribution"], None),
        ("float", frame["p_alive"], finite("p_alive")),
        ("float", frame["expected_purchases"], finite("expected_purchases")),
        ("int", rounded("expected_spend"), finite("expected_spend")),
        ("int", rounded("predicted_value"), finite("predicted_value")),
        ("str", frame["value_tier"], None), ("str", frame["ladder_stage"], None),
        ("str", frame["relationship"], None), ("str", frame["main_category"], None),
        ("float", frame["cycle_days"], finite("cycle_days")),
        ("ordinal", frame["next_due"], frame["next_due"] > 0),
        ("str", frame["due_status"], None),
        ("moment", np.full(n, columns.micros(now), dtype=np.int64), None),
    ]


def _python(kind: str, values: np.ndarray, valid: np.ndarray | None) -> list:
    out: list[Any]
    if kind == "ordinal":
        out = [dt.date.fromordinal(v) if v else None for v in values.tolist()]
    elif kind == "moment":
        out = columns.as_datetimes(values)
    elif kind == "str":
        out = values.tolist()
    else:
        out = np.asarray(values, dtype=np.int64 if kind == "int" else float).tolist()
    if valid is not None and kind != "ordinal":
        out = [v if ok else None for v, ok in zip(out, valid.tolist(), strict=True)]
    return [str(v) for v in out] if kind == "str" else out


def metric_rows(frame: Frame, as_of: dt.date, chunk: int = 50_000):
    """Row tuples in COLUMNS order, built a slice at a time to keep memory flat."""
    now = timezone.now()
    for start in range(0, len(frame["id"]), chunk):
        part = {k: v[start:start + chunk] for k, v in frame.items()}
        yield from zip(*(_python(*c) for c in _columns_of(part, as_of, now)), strict=True)


def _copy_metrics(frame: Frame, as_of: dt.date) -> None:
    """PostgreSQL: binary COPY, the rows' bytes laid out by numpy (columns.copy_into)."""
    fields = CustomerMetrics._meta.concrete_fields
    column_of = {key: str(f.column) for f in fields for key in (f.name, f.attname)}
    names = [column_of[name] for name in COLUMNS]
    columns.copy_into(CustomerMetrics, [
        (column, values, valid)
        for column, (_kind, values, valid) in zip(names, _columns_of(frame, as_of,
                                                                     timezone.now()),
                                                  strict=True)])


def _replace_all_metrics(frame: Frame, as_of: dt.date) -> None:
    table = connection.ops.quote_name(CustomerMetrics._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"TRUNCATE {table}")
            _copy_metrics(frame, as_of)
            return
        cursor.execute(f"DELETE FROM {table}")
    bulk_insert(CustomerMetrics._meta.db_table, COLUMNS, metric_rows(frame, as_of))


def _save_metrics(frame: Frame, as_of: dt.date) -> None:
    """Few rows: insert or update each (the incremental path)."""
    for row in metric_rows(frame, as_of):
        values = dict(zip(COLUMNS, row, strict=True))
        contact_id = values.pop("contact_id")
        values.pop("updated_at")
        CustomerMetrics.objects.update_or_create(contact_id=contact_id, defaults=values)


# --- summary for the dashboard -------------------------------------------------------------------

def summarise(frame: Frame, s: InsightSettings, population: dict) -> dict[str, Any]:
    """What the dashboard draws. People-facing counts (ladder, due) leave erased contacts
    out; money and the pyramid keep them, since their orders were real."""
    buyer = frame["purchase_days"] > 0
    live = ~frame["erased"]
    net = frame["net_revenue"]
    bins = population["rfm"]["bins"]
    heat = np.zeros((bins, bins), dtype=np.int64)
    if buyer.any():
        np.add.at(heat, (frame["r_score"][buyer] - 1, frame["f_score"][buyer] - 1), 1)
    currencies = Counter(frame["currency"][buyer].tolist())
    tier_rows = {}
    predicted = np.nan_to_num(frame["predicted_value"])
    for tier in ("most_valuable", "most_growable", "rest", "below_zero"):
        sel = frame["value_tier"] == tier
        tier_rows[tier] = {"customers": int(sel.sum()), "revenue": int(net[sel].sum()),
                           "contribution": int(frame["contribution"][sel].sum()),
                           "predicted": int(predicted[sel].sum())}
    return {
        "contacts": int(live.sum()),
        "customers": int(buyer.sum()),
        "repeat_customers": int((frame["purchase_days"] >= 2).sum()),
        "revenue": int(net[buyer].sum()),
        "predicted": int(predicted[buyer].sum()),
        "currency": str(currencies.most_common(1)[0][0]) if currencies else "",
        "segments": {seg: int((frame["rfm_segment"] == seg).sum()) for seg in Segment.values},
        "heatmap": {"bins": bins, "counts": heat.tolist()},
        "tiers": tier_rows,
        "ladder": {st: int(((frame["ladder_stage"] == st) & live).sum()) for st in Stage.values},
        "relationship": {str(k): v for k, v in
                         Counter(frame["relationship"][buyer & live].tolist()).items()},
        "due": {str(k): v for k, v in Counter(frame["due_status"][buyer & live].tolist()).items()},
        "pyramid": tiers.pyramid(net[buyer]),
        "histogram": tiers.histogram(net[buyer]),
        "engaged": int(((frame["engagement"] > 0) & live).sum()),
    }


# --- entry points ---------------------------------------------------------------------------------

def run_full(as_of: dt.date, s: InsightSettings, *, actor_label: str = "") -> RefreshRun:
    started = timezone.now()
    clock = Clock()
    calibration_end = as_of - dt.timedelta(weeks=s.holdout_weeks) if s.holdout_weeks else None
    load_timings: dict[str, float] = {}
    baskets: dict[str, Any] = {"since": crosssell.window_start(as_of, s)}
    frame = load_frame(as_of, calibration_end=calibration_end,
                       half_life_days=s.engagement_half_life_days, timings=load_timings,
                       baskets=baskets)
    clock.lap("load")
    population: dict[str, Any] = {}
    fitted = derive(frame, s, as_of, population, learn=True, clock=clock)
    holdout = _holdout(frame, s, calibration_end) if calibration_end else {}
    clock.lap("holdout")
    summary = summarise(frame, s, population)
    clock.lap("summary")
    with transaction.atomic():
        run = RefreshRun.objects.create(as_of=as_of, started_at=started,
                                        contacts=len(frame["id"]),
                                        customers=summary["customers"], actor_label=actor_label)
        _replace_all_metrics(frame, as_of)
        clock.lap("write")
        month = tiers.month_of(as_of)
        tiers.snapshot(month)
        summary["movement"] = tiers.movement(month)
        clock.lap("snapshot")
        summary["crosssell"] = crosssell.rebuild(baskets, s)
        clock.lap("crosssell")
        _record_fit(run, fitted, as_of, s, holdout, summary["currency"])
        run.population = clv.finite(population)
        run.summary = clv.finite(summary)
        run.finished_at = timezone.now()
        run.seconds = (run.finished_at - started).total_seconds()
        run.timings = {**{f"load.{k}": v for k, v in load_timings.items()}, **clock.timings}
        run.save()
    return run


def _holdout(frame: Frame, s: InsightSettings, calibration_end: dt.date) -> dict:
    cal = frame["cal_days"] > 0
    c = calibration_end.toordinal()
    x = np.maximum(frame["cal_days"][cal] - 1, 0)
    t_x = (frame["cal_last_day"][cal] - frame["first_day"][cal]) / 7.0
    T = (c - frame["first_day"][cal]) / 7.0
    actual = frame["purchase_days"][cal] - frame["cal_days"][cal]
    out = clv.holdout_check(x, t_x, T, actual, weeks=float(s.holdout_weeks),
                            min_repeaters=s.min_repeaters)
    out["calibration_end"] = calibration_end.isoformat()
    return out


def _record_fit(run: RefreshRun, fitted: clv.Fitted | None, as_of: dt.date,
                s: InsightSettings, holdout: dict, currency: str = "") -> ModelFit | None:
    if fitted is None:
        return None
    bg, gg = fitted.bgnbd, fitted.gamma_gamma
    usable = fitted.method == "bgnbd"
    data = {
        "run": run, "fitted_at": timezone.now(), "as_of": as_of, "method": fitted.method,
        "converged": bool(usable and bg is not None and bg.converged),
        "sample_size": bg.sample_size if bg is not None else
        int(fitted.extra.get("customers", 0)),
        "repeaters": int(fitted.extra.get("repeaters", 0)),
        "loglik": bg.loglik if bg is not None else None,
        "bgnbd": {"r": bg.r, "alpha": bg.alpha, "a": bg.a, "b": bg.b, "loglik": bg.loglik,
                  "iterations": bg.iterations} if bg is not None else {},
        "gamma_gamma": {"p": gg.p, "q": gg.q, "gamma": gg.gamma, "loglik": gg.loglik,
                        "converged": gg.converged, "sample_size": gg.sample_size}
        if gg is not None else {},
        "fallback": {"rate": fitted.rate, "mean_spend": fitted.mean_spend,
                     "reason": fitted.reason, **fitted.extra},
        "holdout": holdout, "horizon_weeks": s.horizon_weeks, "discount_rate": s.discount_rate,
        "message": fitted.reason, "currency": currency,
    }
    data = {k: clv.finite(v) if k not in ("run", "fitted_at", "as_of", "currency") else v
            for k, v in data.items()}
    return ModelFit.objects.create(**data)


def run_contacts(contact_ids: Sequence[int], s: InsightSettings, population: dict,
                 as_of: dt.date) -> int:
    """Recompute a few contacts with the latest population; returns how many rows."""
    frame = load_frame(as_of, contact_ids=list(contact_ids),
                       half_life_days=s.engagement_half_life_days)
    if not len(frame["id"]):
        return 0
    derive(frame, s, as_of, population, learn=False)
    _save_metrics(frame, as_of)
    return len(frame["id"])
