"""Probabilistic customer value: BG/NBD (how many more purchases, is the customer alive) and
Gamma-Gamma (how much per purchase), fitted by maximum likelihood.

Pure numpy/scipy on arrays, no Django: the refresh feeds it per-customer summaries.
Time is in weeks; a "purchase" is a day with at least one order (same-day orders merged), so
`x` counts repeat purchase days, `t_x` is the week of the last purchase after the first and
`T` the weeks from the first purchase to the end of the observation.

References: Fader, Hardie & Lee (2005) "Counting your customers the easy way: an alternative
to the Pareto/NBD model", Marketing Science 24(2); Fader & Hardie (2013) "The Gamma-Gamma
model of monetary value".

Over ~400 lines on purpose: one statistical model (BG/NBD with Gamma-Gamma), its
likelihoods, fit, prediction and hold-out check, which read together with the references
above; the formulas of one model are not split across files.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

# scipy is imported where a model is fitted or used, not with the module: every process
# (web, worker, CLI) loads this app, and scipy.optimize + scipy.special take ~0.3 s to import.

# Fitting on more customers than this adds time, not precision: a seeded sample is used.
MAX_FIT_SAMPLE = 200_000
WEEKS_PER_MONTH = 52 / 12


@dataclass
class BGNBD:
    r: float
    alpha: float
    a: float
    b: float
    loglik: float = float("nan")
    converged: bool = False
    sample_size: int = 0
    iterations: int = 0
    message: str = ""


@dataclass
class GammaGamma:
    p: float
    q: float
    gamma: float
    loglik: float = float("nan")
    converged: bool = False
    sample_size: int = 0
    message: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Fitted:
    """What a refresh fitted, or the average-rate fallback when it could not."""

    method: str  # "bgnbd" or "average_rate"
    bgnbd: BGNBD | None = None
    gamma_gamma: GammaGamma | None = None
    rate: float = 0.0  # average-rate model: repeat purchases per customer-week
    mean_spend: float = 0.0  # shop average spend per purchase (minor units)
    reason: str = ""  # why the fallback was used
    extra: dict = field(default_factory=dict)


# --- BG/NBD -----------------------------------------------------------------------------------

def _compress(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Unique rows, how often each occurs and where each input row went: many customers
    share (x, t_x, T), and each distinct one need be computed once."""
    columns = tuple(np.asarray(c, dtype=float) for c in columns)
    n = len(columns[0])
    if n == 0:
        return [np.zeros(0) for _ in columns], np.zeros(0), np.zeros(0, dtype=np.int64)
    # Rows in lexicographic order (what np.unique(axis=0) gives, which sorts a million
    # rows as opaque records several times slower); a row differing from the one before
    # starts a new distinct row.
    order = np.lexsort(columns[::-1])
    ordered = [c[order] for c in columns]
    new = np.zeros(n, dtype=bool)
    new[0] = True
    for c in ordered:
        new[1:] |= c[1:] != c[:-1]
    group = np.cumsum(new) - 1
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = group
    return [c[new] for c in ordered], np.bincount(group).astype(float), inverse


def bgnbd_loglik_terms(params, x, t_x, T) -> np.ndarray:
    """Each customer's log-likelihood (FHL 2005, eq. 6, in the stable log-sum form)."""
    from scipy.special import gammaln

    r, alpha, a, b = params
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    repeat = x > 0
    a4 = np.full_like(a3, -np.inf)
    a4[repeat] = (np.log(a) - np.log(b + x[repeat] - 1)
                  - (r + x[repeat]) * np.log(alpha + t_x[repeat]))
    return a1 + a2 + np.logaddexp(a3, a4)


def _bgnbd_objective(log_params, x, t_x, T, w):
    from scipy.special import digamma

    r, alpha, a, b = np.exp(log_params)
    ll = bgnbd_loglik_terms((r, alpha, a, b), x, t_x, T)
    # Gradient by hand: four digammas per distinct x, far cheaper than finite differences.
    a3 = -(r + x) * np.log(alpha + T)
    repeat = x > 0
    a4 = np.full_like(a3, -np.inf)
    a4[repeat] = (np.log(a) - np.log(b + x[repeat] - 1)
                  - (r + x[repeat]) * np.log(alpha + t_x[repeat]))
    lse = np.logaddexp(a3, a4)
    w3, w4 = np.exp(a3 - lse), np.exp(a4 - lse)
    log_tx = np.log(alpha + t_x)
    d_r = digamma(r + x) - digamma(r) + np.log(alpha) - w3 * np.log(alpha + T) - w4 * log_tx
    d_alpha = r / alpha - w3 * (r + x) / (alpha + T) - w4 * (r + x) / (alpha + t_x)
    d_a = digamma(a + b) - digamma(a + b + x) + w4 / a
    d_b = (digamma(a + b) + digamma(b + x) - digamma(b) - digamma(a + b + x)
           - np.where(repeat, w4 / np.maximum(b + x - 1, 1e-300), 0.0))
    grad = np.array([(w * d).sum() for d in (d_r, d_alpha, d_a, d_b)]) * np.array(
        [r, alpha, a, b])
    value = -(w * ll).sum()
    if not np.isfinite(value):
        return 1e300, np.zeros(4)
    return value, -grad


def fit_bgnbd(x, t_x, T, *, seed: int = 1403) -> BGNBD:
    """Maximum-likelihood BG/NBD on log-parameters (customers with T > 0 only)."""
    from scipy.optimize import minimize

    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    keep = T > 0
    x, t_x, T = x[keep], t_x[keep], T[keep]
    n = len(x)
    if n > MAX_FIT_SAMPLE:
        pick = np.random.default_rng(seed).choice(n, MAX_FIT_SAMPLE, replace=False)
        x, t_x, T = x[pick], t_x[pick], T[pick]
    (ux, ut, uT), w, _inv = _compress(x, t_x, T)
    start = np.log([1.0, max(float(np.mean(T)), 1.0), 1.0, 1.0])
    res = minimize(_bgnbd_objective, start, args=(ux, ut, uT, w), jac=True,
                   method="L-BFGS-B", bounds=[(-12, 12)] * 4,
                   options={"maxiter": 2000, "ftol": 1e-13, "gtol": 1e-8})
    r, alpha, a, b = (float(v) for v in np.exp(res.x))
    loglik = float(bgnbd_loglik_terms((r, alpha, a, b), x, t_x, T).sum())
    # A parameter pinned at its bound is no maximum, whatever the optimiser says.
    inside = bool(np.all(np.abs(res.x) < 11.9))
    return BGNBD(r, alpha, a, b, loglik=loglik, converged=bool(res.success) and inside
                 and math.isfinite(loglik), sample_size=int(len(x)), iterations=int(res.nit),
                 message=str(res.message))


def _log_odds_dead(m: BGNBD, x, t_x, T) -> np.ndarray:
    """log of a/(b+x-1) ((α+T)/(α+t_x))^(r+x) for repeaters; -inf for the others."""
    out = np.full(np.shape(x), -np.inf)
    repeat = x > 0
    out[repeat] = (np.log(m.a) - np.log(m.b + x[repeat] - 1)
                   + (m.r + x[repeat]) * (np.log(m.alpha + T[repeat])
                                          - np.log(m.alpha + t_x[repeat])))
    return out


def p_alive(m: BGNBD, x, t_x, T) -> np.ndarray:
    """P(still active | x, t_x, T) (FHL 2005, eq. 11); 1 for customers without repeats."""
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    return np.exp(-np.logaddexp(0.0, _log_odds_dead(m, x, t_x, T)))


def expected_purchases(m: BGNBD, t, x, t_x, T) -> np.ndarray:
    """E[purchases in (T, T+t] | x, t_x, T] (FHL 2005, eq. 10)."""
    from scipy.special import hyp2f1

    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    t = np.broadcast_to(np.asarray(t, dtype=float), x.shape)
    out = np.zeros(x.shape)
    pos = t > 0
    if not pos.any():
        return out
    x, t_x, T, t = x[pos], t_x[pos], T[pos], t[pos]
    z = t / (m.alpha + T + t)
    hyp = hyp2f1(m.r + x, m.b + x, m.a + m.b + x - 1, z)
    lead = (m.a + m.b + x - 1) / (m.a - 1)
    power = np.exp((m.r + x) * (np.log(m.alpha + T) - np.log(m.alpha + T + t)))
    numerator = lead * (1 - power * hyp)
    value = numerator * np.exp(-np.logaddexp(0.0, _log_odds_dead(m, x, t_x, T)))
    # hyp2f1 loses precision for the heaviest buyers over long horizons; never below 0.
    out[pos] = np.where(np.isfinite(value), np.maximum(value, 0.0), 0.0)
    return out


def unconditional_purchases(m: BGNBD, t) -> np.ndarray:
    """E[X(t)] for a customer just acquired (FHL 2005, eq. 9)."""
    from scipy.special import hyp2f1

    t = np.asarray(t, dtype=float)
    hyp = hyp2f1(m.r, m.b, m.a + m.b - 1, t / (m.alpha + t))
    return (m.a + m.b - 1) / (m.a - 1) * (1 - (m.alpha / (m.alpha + t)) ** m.r * hyp)


def simulate_bgnbd(m: BGNBD, n: int, T: float, rng: np.random.Generator):
    """Customers drawn from the model, observed for T weeks: (x, t_x, T) arrays."""
    lam = rng.gamma(m.r, 1 / m.alpha, n)
    p = rng.beta(m.a, m.b, n)
    x = np.zeros(n)
    t_x = np.zeros(n)
    for i in range(n):
        t = 0.0
        while True:
            t += rng.exponential(1 / lam[i])
            if t > T:
                break
            x[i] += 1
            t_x[i] = t
            if rng.random() < p[i]:
                break
    return x, t_x, np.full(n, float(T))


# --- Gamma-Gamma --------------------------------------------------------------------------------

def _gg_objective(log_params, x, m, w):
    from scipy.special import digamma, gammaln

    p, q, g = np.exp(log_params)
    px = p * x
    log_gxm = np.log(g + x * m)
    ll = (gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(g)
          + (px - 1) * np.log(m) + px * np.log(x) - (px + q) * log_gxm)
    d_p = x * (digamma(px + q) - digamma(px) + np.log(m) + np.log(x) - log_gxm)
    d_q = digamma(px + q) - digamma(q) + np.log(g) - log_gxm
    d_g = q / g - (px + q) / (g + x * m)
    grad = np.array([(w * d).sum() for d in (d_p, d_q, d_g)]) * np.array([p, q, g])
    value = -(w * ll).sum()
    if not np.isfinite(value):
        return 1e300, np.zeros(3)
    return value, -grad


def fit_gamma_gamma(x, mean_spend, *, seed: int = 1403) -> GammaGamma:
    """Gamma-Gamma on customers with x >= 1 transactions averaging `mean_spend` (> 0).

    Spend is scaled to mean 1 while fitting (money in rial is in the millions) and γ scaled
    back, so the fit does not depend on the currency unit.
    """
    from scipy.optimize import minimize

    x = np.asarray(x, dtype=float)
    m = np.asarray(mean_spend, dtype=float)
    keep = (x >= 1) & (m > 0) & np.isfinite(m)
    x, m = x[keep], m[keep]
    if len(x) == 0:
        return GammaGamma(float("nan"), float("nan"), float("nan"), message="no data")
    if len(x) > MAX_FIT_SAMPLE:
        pick = np.random.default_rng(seed).choice(len(x), MAX_FIT_SAMPLE, replace=False)
        x, m = x[pick], m[pick]
    scale = float(m.mean())
    (ux, um), w, _inv = _compress(x, m / scale)
    res = minimize(_gg_objective, np.log([1.0, 2.0, 1.0]), args=(ux, um, w), jac=True,
                   method="L-BFGS-B", bounds=[(-12, 12)] * 3,
                   options={"maxiter": 2000, "ftol": 1e-13, "gtol": 1e-8})
    p, q, g = (float(v) for v in np.exp(res.x))
    # Each density of spend in original units differs from the scaled one by 1/scale.
    loglik = -float(res.fun) - float(len(x)) * math.log(scale)
    inside = bool(np.all(np.abs(res.x) < 11.9))
    return GammaGamma(p, q, g * scale, loglik=loglik,
                      converged=bool(res.success) and inside and q > 1,
                      sample_size=int(len(x)), message=str(res.message))


def expected_spend(gg: GammaGamma, x, mean_spend) -> np.ndarray:
    """E[spend per purchase | x, m̄]: a weighted mean of the population mean and the
    customer's own; the population mean where x = 0."""
    x = np.asarray(x, dtype=float)
    m = np.asarray(mean_spend, dtype=float)
    population = gg.p * gg.gamma / (gg.q - 1)
    own = (gg.q - 1) / (gg.p * x + gg.q - 1)
    out = np.full(x.shape, population)
    has = (x > 0) & np.isfinite(m)
    out[has] = (1 - own[has]) * m[has] + own[has] * population
    return out


# --- value over a horizon -----------------------------------------------------------------------

def discounted_value(purchases_at, spend, horizon_weeks: float, annual_rate: float,
                     steps: int | None = None) -> np.ndarray:
    """Σ over monthly steps of new expected purchases × spend, discounted at `annual_rate`.

    `purchases_at(t)` gives the cumulative expected purchases by week t for every customer.
    """
    if horizon_weeks <= 0:
        return np.zeros(np.shape(spend))
    steps = steps or max(1, min(24, round(horizon_weeks / WEEKS_PER_MONTH)))
    edges = np.linspace(0, horizon_weeks, steps + 1)
    weekly = (1 + annual_rate) ** (1 / 52) - 1
    total = np.zeros(np.shape(spend))
    before = np.zeros(np.shape(spend))
    for t in edges[1:]:
        now = purchases_at(t)
        total += (now - before) / (1 + weekly) ** t
        before = now
    return total * spend


# --- summaries from transactions ----------------------------------------------------------------

def summarise_days(customer, day, end_day, *, amount=None) -> dict[str, np.ndarray]:
    """Per-customer (x, t_x, T) in weeks from purchase rows (customer id, day number), same-day
    purchases merged and days after `end_day` ignored. With `amount`, also the mean spend per
    purchase day over the repeat days only (as in the CDNOW Gamma-Gamma example)."""
    customer = np.asarray(customer)
    day = np.asarray(day, dtype=np.int64)
    keep = day <= end_day
    customer, day = customer[keep], day[keep]
    amount = None if amount is None else np.asarray(amount, dtype=float)[keep]
    order = np.lexsort((day, customer))
    customer, day = customer[order], day[order]
    if amount is not None:
        amount = amount[order]
    # One row per (customer, day), spend summed.
    first_of_pair = np.r_[True, (customer[1:] != customer[:-1]) | (day[1:] != day[:-1])]
    pair_idx = np.cumsum(first_of_pair) - 1
    pcust, pday = customer[first_of_pair], day[first_of_pair]
    ids, start, count = np.unique(pcust, return_index=True, return_counts=True)
    first = pday[start]
    last = pday[start + count - 1]
    out = {"id": ids, "x": (count - 1).astype(float), "t_x": (last - first) / 7.0,
           "T": (end_day - first) / 7.0}
    if amount is not None:
        spend = np.bincount(pair_idx, weights=amount)
        first_spend = spend[start]
        total = np.add.reduceat(spend, start)
        with np.errstate(invalid="ignore", divide="ignore"):
            out["mean_spend"] = np.where(count > 1, (total - first_spend) / (count - 1),
                                         np.nan)
    return out


# --- the model a refresh uses -------------------------------------------------------------------

def fit_model(x, t_x, T, days, mean_spend, *, min_repeaters: int, day_spend=None,
              repeats=None) -> Fitted:
    """BG/NBD + Gamma-Gamma when there are enough repeat customers and the fit converges;
    otherwise the average-rate model, saying why.

    Gamma-Gamma follows Fader & Hardie (2013): `mean_spend` is the mean spend of a
    customer's repeat purchases and is fitted on customers with `repeats` (default `x`)
    of at least 1. `day_spend`, the mean over every purchase (default `mean_spend`), gives
    the shop average the fallback uses.
    """
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    days = np.asarray(days, dtype=float)
    spend = np.asarray(mean_spend, dtype=float)
    repeats = x if repeats is None else np.asarray(repeats, dtype=float)
    every = spend if day_spend is None else np.asarray(day_spend, dtype=float)
    repeaters = int(((x > 0) & (T > 0)).sum())
    valid = every[(days >= 1) & np.isfinite(every) & (every > 0)]
    mean = float(valid.mean()) if len(valid) else 0.0
    exposure = float(T[T > 0].sum())
    rate = float(x[T > 0].sum() / exposure) if exposure > 0 else 0.0
    extra = {"customers": int((T > 0).sum()), "repeaters": repeaters, "needed": min_repeaters}
    fallback = Fitted("average_rate", rate=rate, mean_spend=mean, extra=extra)
    if repeaters < min_repeaters:
        fallback.reason = "too_few"
        return fallback
    bg = fit_bgnbd(x, t_x, T)
    if not bg.converged:
        fallback.reason = "not_converged"
        fallback.bgnbd = bg
        return fallback
    multi = repeats >= 1
    gg = fit_gamma_gamma(repeats[multi], spend[multi])
    return Fitted("bgnbd", bgnbd=bg, gamma_gamma=gg, rate=rate, mean_spend=mean, extra=extra)


@dataclass
class Prediction:
    p_alive: np.ndarray | None
    purchases: np.ndarray
    spend: np.ndarray
    value: np.ndarray


def predict(f: Fitted, x, t_x, T, days, mean_spend, *, horizon_weeks: float,
            annual_rate: float, day_spend=None, repeats=None) -> Prediction:
    """Expected purchases and discounted value over the horizon for every customer (rows
    with days == 0, people who never bought, get zeros).

    Spend per purchase: Gamma-Gamma's E(M | repeats, mean repeat spend), the population
    mean for one-time buyers; without a converged Gamma-Gamma, the customer's own mean
    (repeat purchases, else every purchase) or the shop's.
    """
    x, t_x, T, days = (np.asarray(v, dtype=float) for v in (x, t_x, T, days))
    repeats = x if repeats is None else np.asarray(repeats, dtype=float)
    buyer = days >= 1
    own = np.where(buyer, np.asarray(mean_spend, dtype=float), np.nan)
    own = np.where(np.isfinite(own), np.maximum(own, 0.0), np.nan)
    every = own if day_spend is None else np.where(buyer, np.asarray(day_spend, dtype=float),
                                                   np.nan)
    every = np.where(np.isfinite(every), np.maximum(every, 0.0), np.nan)
    simple = np.where(np.isfinite(own), own, np.where(np.isfinite(every), every, f.mean_spend))
    n = len(x)
    purchases = np.zeros(n)
    value = np.zeros(n)
    if f.method == "bgnbd" and f.bgnbd is not None:
        m = f.bgnbd
        alive = np.where(buyer, p_alive(m, x, t_x, T), np.nan)
        gg = f.gamma_gamma
        if gg is not None and gg.converged:
            has = buyer & np.isfinite(own)
            spend = expected_spend(gg, np.where(has, repeats, 0), np.nan_to_num(own))
        else:
            spend = simple
        # Customers sharing (x, t_x, T) share a forecast: compute each distinct one once.
        (ux, ut, uT), _counts, inverse = _compress(x[buyer], t_x[buyer], T[buyer])
        one = np.ones(len(ux))
        purchases_u = expected_purchases(m, horizon_weeks, ux, ut, uT)
        value_u = discounted_value(lambda t: expected_purchases(m, t, ux, ut, uT), one,
                                   horizon_weeks, annual_rate)
        purchases[buyer] = purchases_u[inverse]
        value[buyer] = value_u[inverse] * spend[buyer]
        return Prediction(alive, purchases, np.where(buyer, spend, np.nan), value)
    spend = np.where(np.isfinite(every), every, f.mean_spend)
    purchases[buyer] = f.rate * horizon_weeks
    per_unit = discounted_value(lambda t: np.full(1, f.rate * t), np.ones(1), horizon_weeks,
                                annual_rate)[0]
    value[buyer] = per_unit * spend[buyer]
    return Prediction(None, purchases, np.where(buyer, spend, np.nan), value)


def holdout_check(x, t_x, T, actual, *, weeks: float, min_repeaters: int,
                  top_group: int = 7) -> dict:
    """Fit on the calibration period, predict the hold-out weeks, and compare per group of
    calibration repeat purchases 0..top_group+ (as in FHL 2005, fig. 4)."""
    x, t_x, T, actual = (np.asarray(v, dtype=float) for v in (x, t_x, T, actual))
    keep = T > 0
    x, t_x, T, actual = x[keep], t_x[keep], T[keep], actual[keep]
    repeaters = int((x > 0).sum())
    if repeaters < min_repeaters:
        return {"ok": False, "reason": "too_few", "repeaters": repeaters,
                "needed": min_repeaters, "weeks": weeks}
    m = fit_bgnbd(x, t_x, T)
    if not m.converged:
        return {"ok": False, "reason": "not_converged", "weeks": weeks}
    (ux, ut, uT), _counts, inverse = _compress(x, t_x, T)
    predicted = expected_purchases(m, weeks, ux, ut, uT)[inverse]
    groups = []
    for g in range(top_group + 1):
        sel = x == g if g < top_group else x >= g
        count = int(sel.sum())
        groups.append({"x": g, "label": f"{g}+" if g == top_group else str(g),
                       "customers": count,
                       "actual": float(actual[sel].mean()) if count else 0.0,
                       "predicted": float(predicted[sel].mean()) if count else 0.0})
    return {"ok": True, "weeks": weeks, "customers": int(len(x)), "repeaters": repeaters,
            "params": {"r": m.r, "alpha": m.alpha, "a": m.a, "b": m.b, "loglik": m.loglik},
            "actual_total": float(actual.sum()), "predicted_total": float(predicted.sum()),
            "mae": float(np.abs(predicted - actual).mean()), "groups": groups}


def finite(value):
    """JSON-safe: NaN and infinities (which PostgreSQL's jsonb refuses) become None."""
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def fitted_to_json(f: Fitted) -> dict:
    return finite({"method": f.method, "rate": f.rate, "mean_spend": f.mean_spend,
                   "reason": f.reason, "extra": f.extra,
                   "bgnbd": asdict(f.bgnbd) if f.bgnbd else None,
                   "gamma_gamma": asdict(f.gamma_gamma) if f.gamma_gamma else None})


def fitted_from_json(data: dict) -> Fitted | None:
    if not data:
        return None
    def nan(values: dict) -> dict:
        return {k: float("nan") if v is None else v for k, v in values.items()}

    bg = BGNBD(**nan(data["bgnbd"])) if data.get("bgnbd") else None
    gg = GammaGamma(**nan(data["gamma_gamma"])) if data.get("gamma_gamma") else None
    return Fitted(data["method"], bgnbd=bg, gamma_gamma=gg, rate=data.get("rate", 0.0),
                  mean_spend=data.get("mean_spend", 0.0), reason=data.get("reason", ""),
                  extra=data.get("extra") or {})
