"""In-process figures: scoring alone as the worker's loop does it (no Kafka), the state codec, and pandas.

"Scoring alone" is the worker's per-batch work without any I/O: each
record decoded by the worker's decoder, each customer's stored state
decoded once per batch, every event folded and scored with the event-time
clock, every output encoded to its wire JSON (and dropped), the customer
scheduled for the inactivity timer as the worker does, and each touched
state encoded once per batch back into a dict of bytes standing for the
table. Its rate is the most a worker could reach if Kafka, Redis and Faust
cost nothing: the issue's "scoring alone". It runs with the garbage
collector tuned as a started worker tunes it (streams/worker/process.py
`tune_collector`); with Python's default collector the same loop is about
20% slower (it runs about ten times as many collections).
"""

from __future__ import annotations

import gc
import json
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import partial

import numpy as np
import pandas as pd

from perf.events import Record
from schemas.model_config import Model
from schemas.outputs import DeadLetter
from scoring.pipeline import clock_for, next_review, step
from scoring.records import encode
from scoring.schedule import DueQueue
from scoring.state import CustomerState, new_state
from scoring.state_codec import decode_state, encode_state
from streams.kafka.codecs import decode_event
from streams.settings import Settings
from streams.worker.process import tune_collector

PARTS = ("decode", "state codec", "step", "schedule", "encode outputs")


@dataclass(frozen=True)
class LoopFigures:
    """What the worker-like loop did and where its time went (seconds per part, PARTS order)."""

    events: int
    seconds: float
    parts: dict[str, float]
    updates: int
    alerts: int
    dead_letters: int
    duplicates: int

    @property
    def rate(self) -> float:
        return self.events / self.seconds

    @property
    def decode_rate(self) -> float:
        return self.events / self.parts["decode"]

    def shares(self) -> str:
        """Each part's share of the loop (the loop's own bookkeeping is counted in the part it precedes)."""
        return ", ".join(f"{name} {self.parts[name] / self.seconds:.0%}" for name in PARTS)


class _Clock:
    """Adds the time since the last mark to a part; a few perf_counter calls per event, under 1% of its cost."""

    def __init__(self) -> None:
        self.parts = dict.fromkeys(PARTS, 0.0)
        self.last = time.perf_counter()

    def mark(self, part: str | None = None) -> None:
        now = time.perf_counter()
        if part is not None:
            self.parts[part] += now - self.last
        self.last = now


def _decoder(settings: Settings) -> Callable[[Record, int], object]:
    """streams.kafka.codecs.decode_event with the worker's limits; a record's topic is named by its kind."""
    decode = partial(
        decode_event,
        partition=0,
        max_bytes=settings.max_message_bytes,
        max_future=timedelta(seconds=settings.max_future_seconds),
        max_age=timedelta(days=settings.max_event_age_days),
        keep=settings.deadletter_value_bytes,
    )

    def decoded(record: Record, offset: int) -> object:
        return decode(
            topic=record.kind,
            offset=offset,
            key=record.key,
            value=record.value,
            expected_kind=record.kind,
            received_at=datetime.now(timezone.utc),
        )

    return decoded


@contextmanager
def worker_collector() -> Iterator[None]:
    """The garbage collector as a started worker has it, and Python's own again afterwards."""
    before = gc.get_threshold()
    tune_collector()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


@worker_collector()
def scoring_alone(
    records: Sequence[Record], model: Model, settings: Settings, interleaved: bool = False
) -> tuple[LoopFigures, dict[bytes, bytes]]:
    """Run the worker's per-batch work over `records` in batches of `settings.batch_max_events`; the stored states.

    A batch's records are decoded first, then folded in order, as the
    worker's Scorer does; it keeps the states it has decoded, as the
    worker's Batch does, and writes each back once at its end; outputs are
    encoded as the worker sends them and dropped. `interleaved` decodes each
    record just before folding it instead (the worker before it decoded in
    a pass of its own), for comparison.
    """
    decoder, stored, due = _decoder(settings), {}, DueQueue()
    counts = dict.fromkeys(("updates", "alerts", "dead_letters", "duplicates"), 0)
    clock = _Clock()
    started = clock.last
    size = settings.batch_max_events
    for first in range(0, len(records), size):
        states: dict[bytes, CustomerState] = {}
        batch = enumerate(records[first : first + size], start=first)
        if interleaved:
            for offset, record in batch:
                _one(decoder(record, offset), states, stored, model, due, counts, clock)
        else:  # decoded in a pass of its own, then folded in order, as the worker's Handler.decode does
            decoded = [decoder(record, offset) for offset, record in batch]
            clock.mark("decode")
            for event in decoded:
                _one(event, states, stored, model, due, counts, clock)
        clock.mark()
        for key, state in states.items():
            stored[key] = encode_state(state)
        clock.mark("state codec")
    seconds = time.perf_counter() - started
    return LoopFigures(len(records), seconds, clock.parts, **counts), stored


def _one(
    decoded: object,
    states: dict[bytes, CustomerState],
    stored: dict[bytes, bytes],
    model: Model,
    due: DueQueue,
    counts: dict[str, int],
    clock: _Clock,
) -> None:
    """One record as streams/worker/handling.py `Handler._event` handles it, with the clock marking each part."""
    clock.mark("decode")
    if isinstance(decoded, DeadLetter):
        decoded.model_dump_json()
        counts["dead_letters"] += 1
        clock.mark("encode outputs")
        return
    key = decoded.customer_id.encode("utf-8")
    state = states.get(key)
    if state is None and key in stored:
        state = decode_state(stored[key])
        clock.mark("state codec")
    now = clock_for(state, decoded)
    result = step(state or new_state(decoded.customer_id), decoded, model, now)
    clock.mark("step")
    if result.duplicate:
        counts["duplicates"] += 1
        return
    states[key] = result.state
    if result.update is not None:
        encode(result.update)
        counts["updates"] += 1
    for alert in result.alerts:
        encode(alert)
    counts["alerts"] += len(result.alerts)
    clock.mark("encode outputs")
    due.schedule(decoded.customer_id, next_review(result.state, model, now))
    clock.mark("schedule")


@dataclass(frozen=True)
class CodecFigures:
    """The state codec over every stored state: a round trip's cost and the stored size, per customer."""

    customers: int
    mean_us: float
    p99_us: float
    mean_bytes: float
    p99_bytes: int
    max_bytes: int


def codec_round_trip(stored: dict[bytes, bytes]) -> CodecFigures:
    """decode_state then encode_state of each stored state, timed one at a time."""
    times, sizes = [], []
    for raw in stored.values():
        began = time.perf_counter_ns()
        encode_state(decode_state(raw))
        times.append((time.perf_counter_ns() - began) / 1000)
        sizes.append(len(raw))
    times.sort()
    sizes.sort()
    return CodecFigures(
        len(sizes), statistics.fmean(times), _p99(times), statistics.fmean(sizes), _p99(sizes), sizes[-1]
    )


def _p99(ordered: Sequence[float]) -> float:
    return ordered[int(0.99 * (len(ordered) - 1))]


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
    load = (
        opened.groupby(tickets["customer_id"]).sum().clip(lower=0) * 0.1
        + complaints.groupby(tickets["customer_id"]).sum() * 0.2
    )
    signals["ticket_load"] = _linear(load, 1, 0)
    csat = surveys[surveys["survey_type"] == "csat"].groupby("customer_id")["score"].mean()
    nps = surveys[surveys["survey_type"] == "nps"].sort_values("occurred_at").groupby("customer_id")["score"].last()
    signals["csat"], signals["nps"] = _linear(csat, 1, 5), _linear(nps, 6, 10)
    dimensions = pd.DataFrame(
        {
            "satisfaction": signals[["csat", "nps", "ticket_load"]].mean(axis=1),
            "loyalty": (signals["repeat"] * 0.4 + signals["purchase_recency"] * 0.6),
            "activity": (signals["visit_frequency"] * 0.5 + signals["visit_recency"] * 0.5),
            "financial": (signals["spend_90d"] * 0.7 + signals["lifetime_spend"] * 0.3),
        }
    )
    weights = pd.Series({"satisfaction": 30, "loyalty": 25, "activity": 20, "financial": 25})
    known = dimensions.notna()
    total = (dimensions.fillna(0) * weights).sum(axis=1) / (known * weights).sum(axis=1)
    return (100 * total).round(1)
