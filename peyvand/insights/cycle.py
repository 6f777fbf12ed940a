"""Each customer's purchase cycle and when their next purchase is due.

A customer's own mean interval between purchase days is shrunk toward a prior — the average
interval in their main category when enough customers buy there, else the shop's — with the
weight of an empirical-Bayes estimate (method of moments, intervals taken as roughly
exponential, so each interval's variance is about the square of its mean). A cycle is given
only to customers with at least MIN_INTERVALS intervals between purchase days: with fewer,
there is no rhythm of their own to speak of, and the page says "not enough purchases yet".
"""

from __future__ import annotations

import numpy as np

from peyvand.insights.models import DueStatus

MIN_CATEGORY_REPEATERS = 20
# Intervals between purchase days (so purchase days − 1) a customer needs for a cycle.
MIN_INTERVALS = 2
# A customer still "overdue" up to this many cycles past the due date; later, "lapsed".
LAPSED_AFTER_CYCLES = 2.0


def _intervals(frame: dict) -> tuple[np.ndarray, np.ndarray]:
    n = frame["purchase_days"] - 1
    span = (frame["last_day"] - frame["first_day"]).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n >= 1, span / np.maximum(n, 1), np.nan)
    return np.maximum(n, 0), mean


def learn(frame: dict) -> dict:
    n, mean = _intervals(frame)
    rep = n >= 1
    if not rep.any():
        return {"shop": None, "k": 0.0, "categories": {}}
    shop = float(((frame["last_day"] - frame["first_day"])[rep]).sum() / n[rep].sum())
    # Between-customer variance of true cycles: observed variance of means less the noise.
    noise = float((shop ** 2 / n[rep]).mean())
    between = max(float(np.var(mean[rep])) - noise, 0.05 * shop ** 2)
    k = shop ** 2 / between
    categories = {}
    names, idx = np.unique(frame["main_category"][rep].astype(str), return_inverse=True)
    spans = np.bincount(idx, weights=(frame["last_day"] - frame["first_day"])[rep])
    intervals = np.bincount(idx, weights=n[rep])
    buyers = np.bincount(idx)
    for i, cat in enumerate(names.tolist()):
        if cat and buyers[i] >= MIN_CATEGORY_REPEATERS:
            categories[cat] = float(spans[i] / intervals[i])
    return {"shop": shop, "k": float(k), "categories": categories}


def apply(frame: dict, priors: dict, as_of_ordinal: int, window_days: int):
    """(cycle days, next due day as an ordinal (0: none), due status) per contact."""
    size = len(frame["id"])
    cycle = np.full(size, np.nan)
    due = np.zeros(size, dtype=np.int64)
    status = np.full(size, "", dtype=object)
    if not priors or priors.get("shop") is None:
        return cycle, due, status
    n, mean = _intervals(frame)
    buyer = n >= MIN_INTERVALS
    cats = priors.get("categories") or {}
    prior = np.full(size, priors["shop"])
    if cats:
        names, idx = np.unique(frame["main_category"].astype(str), return_inverse=True)
        prior = np.array([cats.get(c, priors["shop"]) for c in names.tolist()])[idx]
    k = priors["k"]
    own = np.where(n >= 1, mean, 0.0)
    cycle[buyer] = ((n * own + k * prior) / (n + k))[buyer]
    cycle = np.where(buyer, np.maximum(cycle, 1.0), np.nan)
    due[buyer] = frame["last_day"][buyer] + np.rint(cycle[buyer]).astype(np.int64)
    late = as_of_ordinal - due
    status[buyer] = DueStatus.NOT_DUE
    status[buyer & (late >= -window_days)] = DueStatus.DUE
    status[buyer & (late > window_days)] = DueStatus.OVERDUE
    status[buyer & (late > window_days + LAPSED_AFTER_CYCLES * np.nan_to_num(cycle))] = \
        DueStatus.LAPSED
    return cycle, due, status
