"""In-process figures: scoring alone (no Kafka), state size, and the pandas batch alternative."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from schemas.events import EVENT_ADAPTER, Event
from schemas.model_config import ScoringModel
from scoring.replay import replay
from scoring.state import CustomerState
from streams.kafka.codecs import encode_state

from perf.events import Record

# Replay keeps every ScoreUpdate it makes; scoring the customers in slices keeps memory bounded.
SLICES = 8


@dataclass(frozen=True)
class OfflineFigures:
    events: int
    decode_seconds: float
    score_seconds: float
    updates: int
    alerts: int
    state_mean_bytes: float
    state_p99_bytes: float
    state_max_bytes: int

    @property
    def decode_rate(self) -> float:
        return self.events / self.decode_seconds

    @property
    def score_rate(self) -> float:
        return self.events / self.score_seconds

    @property
    def rate(self) -> float:
        """Decode and score, the worker's CPU work per event without any I/O."""
        return self.events / (self.decode_seconds + self.score_seconds)


def score_offline(records: Sequence[Record], model: ScoringModel) -> OfflineFigures:
    """Decode every record as the worker does, then replay them per customer with the event-time clock."""
    started = time.perf_counter()
    events: list[Event] = [EVENT_ADAPTER.validate_json(r.value) for r in records]
    decoded = time.perf_counter()
    slices: list[list[Event]] = [[] for _ in range(SLICES)]
    for event in events:
        slices[hash(event.customer_id) % SLICES].append(event)
    states: dict[str, CustomerState] = {}
    updates = alerts = 0
    scoring_seconds = 0.0
    for part in slices:
        began = time.perf_counter()
        result = replay(part, model)
        scoring_seconds += time.perf_counter() - began
        states.update(result.states)
        updates += len(result.updates)
        alerts += len(result.alerts)
    sizes = sorted(len(encode_state(s)) for s in states.values())
    return OfflineFigures(
        events=len(events),
        decode_seconds=decoded - started,
        score_seconds=scoring_seconds,
        updates=updates,
        alerts=alerts,
        state_mean_bytes=statistics.fmean(sizes),
        state_p99_bytes=float(sizes[int(0.99 * (len(sizes) - 1))]),
        state_max_bytes=sizes[-1],
    )


@dataclass(frozen=True)
class PandasFigures:
    events: int
    customers: int
    load_seconds: float
    compute_seconds: float

    @property
    def recompute_seconds(self) -> float:
        return self.load_seconds + self.compute_seconds


def pandas_recompute(records: Sequence[Record]) -> PandasFigures:
    """One full batch recompute from the raw events: parse, aggregate per customer, score.

    It computes recency/frequency/monetary, visits in 30 days and visit
    recency, open tickets and complaints, mean CSAT and latest NPS per
    customer, each mapped to 0..1 with the default model's bounds, and a
    weighted mean over the known ones (the default weights). No purchase
    cycle per customer, no windows older than the cutoff, no explanations,
    no alerts: the cheaper thing a batch job would do.
    """
    started = time.perf_counter()
    frame = pd.DataFrame.from_records([json.loads(r.value) for r in records])
    frame["occurred_at"] = pd.to_datetime(frame["occurred_at"], utc=True, format="ISO8601")
    loaded = time.perf_counter()
    scores = _pandas_scores(frame)
    done = time.perf_counter()
    return PandasFigures(len(frame), len(scores), loaded - started, done - loaded)


def _linear(values: pd.Series, zero: float, one: float) -> pd.Series:
    return ((values - zero) / (one - zero)).clip(0, 1)


def _log(values: pd.Series, full: float) -> pd.Series:
    return (np.log1p(values) / np.log1p(full)).clip(0, 1)


def _pandas_scores(frame: pd.DataFrame) -> pd.Series:
    now = frame["occurred_at"].max()
    days_ago = (now - frame["occurred_at"]).dt.total_seconds() / 86400
    frame = frame.assign(days_ago=days_ago)
    by_kind = {kind: group.groupby("customer_id") for kind, group in frame.groupby("kind")}
    purchases, visits, tickets, surveys = (frame[frame["kind"] == k] for k in ("purchase", "visit", "ticket", "survey"))
    customers = pd.Index(frame["customer_id"].unique(), name="customer_id")
    signals = pd.DataFrame(index=customers)
    signals["repeat"] = _log(by_kind["purchase"].size(), 10)
    signals["purchase_recency"] = _linear(by_kind["purchase"]["days_ago"].min() / 30.0, 4, 1)
    signals["spend_90d"] = _log(purchases[purchases["days_ago"] <= 90].groupby("customer_id")["amount"].sum(), 500)
    signals["lifetime_spend"] = _log(by_kind["purchase"]["amount"].sum(), 2000)
    signals["visit_frequency"] = _log(visits[visits["days_ago"] <= 30].groupby("customer_id").size(), 12)
    signals["visit_recency"] = _linear(by_kind["visit"]["days_ago"].min(), 45, 7)
    opened = (tickets["action"] == "opened").astype(int) - (tickets["action"] == "resolved").astype(int)
    complaints = (tickets["category"] == "complaint") & (tickets["days_ago"] <= 90) & (tickets["action"] == "opened")
    load = opened.groupby(tickets["customer_id"]).sum().clip(lower=0) * 0.1 + complaints.groupby(
        tickets["customer_id"]).sum() * 0.2  # fmt: skip
    signals["ticket_load"] = _linear(load, 1, 0)
    csat = surveys[surveys["survey_type"] == "csat"].groupby("customer_id")["score"].mean()
    nps = surveys[surveys["survey_type"] == "nps"].sort_values("occurred_at").groupby("customer_id")["score"].last()
    signals["csat"], signals["nps"] = _linear(csat, 1, 5), _linear(nps, 6, 10)
    dimensions = pd.DataFrame({
        "satisfaction": signals[["csat", "nps", "ticket_load"]].mean(axis=1),
        "loyalty": (signals["repeat"] * 0.4 + signals["purchase_recency"] * 0.6),
        "activity": (signals["visit_frequency"] * 0.5 + signals["visit_recency"] * 0.5),
        "financial": (signals["spend_90d"] * 0.7 + signals["lifetime_spend"] * 0.3),
    })  # fmt: skip
    weights = pd.Series({"satisfaction": 30, "loyalty": 25, "activity": 20, "financial": 25})
    known = dimensions.notna()
    total = (dimensions.fillna(0) * weights).sum(axis=1) / (known * weights).sum(axis=1)
    return (100 * total).round(1)
