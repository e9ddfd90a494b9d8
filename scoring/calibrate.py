"""Calibration: fit the model's signal weights and normalisers to churn, on the calibration period only.

For each customer the raw signals are read once at a cutoff inside the
calibration period; churn labels come from the rest of that period. Each
signal's normaliser is chosen from a small grid by coordinate ascent, a
logistic regression of retention on the normalised signals gives the
weights (negative ones are dropped and the fit repeated, since a health
score adds signals that are good for the customer), and the weights become
dimension weights and weights inside each dimension, so the model's score is
a positive multiple of the fitted logit and ranks customers the same way.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from schemas.model_config import Linear, Log, Logistic, Normaliser, ScoringModel, Signal
from scoring.instants import to_us
from scoring.model import readings
from scoring.signals import DIMENSIONS, SIGNAL_DIMENSION
from scoring.state import CustomerState

CANDIDATES: dict[str, list[Normaliser]] = {
    "csat": [Linear(low=1, high=5), Linear(low=2, high=5)],
    "nps": [Linear(low=6, high=10), Linear(low=4, high=10)],
    "ticket_load": [Linear(low=1, high=0), Linear(low=0.5, high=0)],
    "repeat_purchase": [Log(saturation=s) for s in (2, 3, 5, 10, 20)],
    "purchase_recency": [
        *(Linear(low=low, high=1) for low in (2, 4, 8, 16)),
        *(Logistic(midpoint=m, steepness=k) for m in (2, 4, 8) for k in (-0.5, -1.0, -2.0)),
    ],
    "visit_frequency": [Log(saturation=s) for s in (4, 12, 30)],
    "visit_recency": [Linear(low=low, high=7) for low in (20, 45, 90)],
    "visit_trend": [Linear(low=0.25, high=1.0), Linear(low=0.5, high=1.5)],
    "spend_90d": [Log(saturation=s) for s in (50, 100, 250, 500, 1000)],
    "lifetime_spend": [Log(saturation=s) for s in (100, 250, 500, 1000, 2000)],
}


def raw_signals(states: dict[str, CustomerState], model: ScoringModel, now: datetime) -> dict[str, np.ndarray]:
    """Raw value of every signal per customer (NaN where the customer has no such signal), in `states` order."""
    ids = list(states)
    columns = {name: np.full(len(ids), np.nan) for name in SIGNAL_DIMENSION}
    at = to_us(now)
    for row, cid in enumerate(ids):
        for r in readings(states[cid], model, at):
            columns[r.name][row] = r.raw
    return {name: col for name, col in columns.items() if not np.isnan(col).all()}


def _normalised(raw: np.ndarray, normaliser: Normaliser) -> np.ndarray:
    return np.array([0.0 if np.isnan(v) else normaliser(float(v)) for v in raw])


def _fit(features: dict[str, np.ndarray], retained: np.ndarray) -> tuple[dict[str, float], float]:
    """Non-negative logistic weights per signal and the training AUC of their sum."""
    names = list(features)
    while names:
        x = np.column_stack([features[n] for n in names])
        fit = LogisticRegression(max_iter=1000).fit(x, retained)
        coef = dict(zip(names, fit.coef_[0]))
        negative = [n for n in names if coef[n] <= 0]
        if not negative:
            auc = float(roc_auc_score(retained, x @ fit.coef_[0]))
            return {n: float(c) for n, c in coef.items()}, auc
        names = [n for n in names if n not in negative]
    return {}, 0.5


def calibrate(
    states: dict[str, CustomerState], churned: dict[str, bool], model: ScoringModel, now: datetime, name: str
) -> tuple[ScoringModel, float]:
    """A model fitted to `churned` from `states` at `now`, and its training AUC."""
    retained = np.array([not churned[c] for c in states], dtype=int)
    raw = raw_signals(states, model, now)
    chosen = {n: getattr(model.signals, n).normaliser for n in raw}
    for signal in raw:  # coordinate ascent over each signal's normaliser
        best = None
        for candidate in CANDIDATES[signal]:
            trial = chosen | {signal: candidate}
            _, auc = _fit({n: _normalised(raw[n], trial[n]) for n in raw}, retained)
            if best is None or auc > best[0]:
                best = (auc, candidate)
        assert best is not None  # every signal has candidates
        chosen[signal] = best[1]
    coefs, auc = _fit({n: _normalised(raw[n], chosen[n]) for n in raw}, retained)
    return _as_model(model, chosen, coefs, name), auc


def _as_model(model: ScoringModel, chosen: dict[str, Normaliser], coefs: dict[str, float], name: str) -> ScoringModel:
    """Fitted weights as dimension and signal weights; dimensions the data never showed keep their defaults."""
    defaults = model.weights.model_dump()
    fitted = {d: sum(c for s, c in coefs.items() if SIGNAL_DIMENSION[s] == d) for d in DIMENSIONS}
    seen = [d for d in DIMENSIONS if any(SIGNAL_DIMENSION[s] == d for s in chosen)]
    scale = sum(defaults[d] for d in seen) / (sum(fitted[d] for d in seen) or 1.0)
    weights = {d: round(fitted[d] * scale, 4) if d in seen else defaults[d] for d in DIMENSIONS}
    signals = model.signals.model_dump()
    for s in chosen:
        signals[s] = Signal(weight=round(coefs.get(s, 0.0), 4), normaliser=chosen[s]).model_dump()
    return ScoringModel.model_validate(
        model.model_dump()
        | {"name": name, "version": f"{model.version}-calibrated", "weights": weights, "signals": signals}
    )
