"""The weighted health model: signals -> dimensions -> a 0-100 score, tier and reasons.

Each signal (scoring/signals.py) is a raw number mapped to 0..1 by its
configured normaliser. A dimension's value is the weighted mean of its known
signals; the score is the weighted mean of all four dimensions, each counting
its known signals' share of its weight at its value and the rest at the
model's prior for it (credibility weighting). Missing data is read as
"typical", not as zero, and not by reweighting what is known: a customer
known by one visit scores near the prior, and a first purchase moves the
score by how that purchase compares with the typical customer's, never
because a dimension started to count.

A model file is compiled once (normalisers as plain functions, weights per
signal in registry order), and a reason is worded only when it is shown:
of ten signals, an update names at most three reasons and three changes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime

from schemas.model_config import Linear, Log, Normaliser, ScoringModel, TierThresholds
from schemas.outputs import Tier
from scoring.instants import MICROSECOND, US_PER_DAY, days_since, to_us
from scoring.records import DimensionScore
from scoring.signals import DIMENSIONS, SIGNALS, Facts, SignalSpec, expected_cycle_days
from scoring.state import HIGH_PRIORITIES, CustomerState
from scoring.windows import HORIZON_DAYS

CONCERN_BELOW = 0.6  # a signal under this is worth naming as a reason
MAX_REASONS = 3
MIN_CHANGE_POINTS = 0.5  # smaller movements are not worth explaining
# Cycles overdue after which purchase recency is taken to have bottomed out
# (the default normaliser reaches 0 at 4; a gentler one still moves a little).
SETTLED_CYCLES = 6.0
WINDOW_HORIZON = HORIZON_DAYS * US_PER_DAY  # the longest window: after it, no bucket counts any more


def compile_normaliser(normaliser: Normaliser) -> Callable[[float], float]:
    """The normaliser as a plain function, with the very arithmetic of its model class."""
    if isinstance(normaliser, Linear):
        low, high = normaliser.low, normaliser.high
        if high == low:
            return lambda value: 1.0 if value >= high else 0.0
        span = high - low
        return lambda value: min(1.0, max(0.0, (value - low) / span))
    if isinstance(normaliser, Log):
        top = math.log1p(normaliser.saturation)
        return lambda value: 0.0 if value <= 0 else min(1.0, math.log1p(value) / top)
    return normaliser.__call__


class KnownSet:
    """The weights of a model for one set of known signals: everything about a score but the signals' values.

    Which signals a customer has changes rarely (a first survey, a first
    purchase); their values change on every event. Shares, dimension shares
    and confidence depend only on the set, so they are worked out once per
    set and model, with the very arithmetic `assess` used when it computed
    them for every score (the same operations in the same order), so no
    score moves in its last digit.
    """

    __slots__ = (
        "dims",
        "in_dim",
        "dim_share",
        "credibility",
        "shares",
        "prior_points",
        "concern_weight",
        "known_dims",
        "confidence",
    )

    def __init__(self, plan: Compiled, mask: int) -> None:
        weights, dims = [], []
        totals = [0, 0, 0, 0]
        for i, (_, weight, _, dim) in enumerate(plan.signals):
            if mask >> i & 1:
                weights.append(weight)
                dims.append(dim)
                totals[dim] += weight
        n = len(weights)
        # Tuples: an Assessment hands `shares` to its callers, and a cached set is shared by every score of it.
        self.dims = tuple(dims)
        self.in_dim = in_dim = tuple(weights[i] / totals[dims[i]] if totals[dims[i]] else 0.0 for i in range(n))
        # A dimension with weight in it has signals in it; one without is not known (and not zero).
        self.known_dims = known_dims = tuple(d for d in range(4) if totals[d])
        dim_weights, all_weight = plan.dimension_weights, plan.all_weight
        known = 0
        for d in known_dims:
            known += dim_weights[d]
        # Every dimension counts with its weight, from the first event on; how much of it is the customer's own
        # value is the share of its signal weight that is known (its credibility), the rest is its prior.
        self.dim_share = dim_share = tuple(dim_weights[d] / all_weight if all_weight else 0.0 for d in range(4))
        self.credibility = cred = tuple(1.0 if totals[d] else 0.0 for d in range(4))
        self.shares = tuple(100.0 * dim_share[dims[i]] * cred[dims[i]] * in_dim[i] for i in range(n))
        self.prior_points = sum(100.0 * dim_share[d] * (1.0 - cred[d]) * plan.priors[d] for d in range(4))
        self.concern_weight = tuple(share / 100.0 for share in self.shares)  # score weight per unit of shortfall
        self.confidence = round(known / all_weight, 4) if all_weight else 0.0


class Compiled:
    """A scoring model made ready for the hot path: per signal its spec, weight, normaliser and dimension."""

    __slots__ = (
        "model",
        "signals",
        "dimension_weights",
        "all_weight",
        "signal_totals",
        "priors",
        "review_interval",
        "stale_after",
        "known_sets",
    )

    def __init__(self, model: ScoringModel) -> None:
        self.model = model
        config = model.signals
        self.signals = tuple(
            (
                spec,
                getattr(config, spec.name).weight,
                compile_normaliser(getattr(config, spec.name).normaliser),
                DIMENSIONS.index(spec.dimension),
            )
            for spec in SIGNALS
        )
        self.dimension_weights = tuple(getattr(model.weights, d) for d in DIMENSIONS)
        self.all_weight = sum(self.dimension_weights)
        totals = [0.0, 0.0, 0.0, 0.0]
        for _, weight, _, dim in self.signals:
            totals[dim] += weight
        self.signal_totals = tuple(totals)  # every signal's weight, per dimension
        self.priors = tuple(getattr(model.priors, d) for d in DIMENSIONS)
        self.review_interval = model.review.interval // MICROSECOND
        self.stale_after = round(model.alerts.triggers.stale_ticket.days * US_PER_DAY)
        self.known_sets: dict[int, KnownSet] = {}  # by bit mask of the known signals, registry order

    def known_set(self, mask: int) -> KnownSet:
        found = self.known_sets.get(mask)
        if found is None:
            found = self.known_sets[mask] = KnownSet(self, mask)
        return found


_COMPILED: dict[int, Compiled] = {}


def compiled(model: ScoringModel) -> Compiled:
    """The compiled form of `model`, made once per model object."""
    found = _COMPILED.get(id(model))
    if found is None or found.model is not model:  # an id reused by a new object after the old was freed
        found = _COMPILED[id(model)] = Compiled(model)
    return found


class Reading:
    """One known signal of one customer at one moment; its reason is worded on first use."""

    __slots__ = ("spec", "raw", "value", "facts", "_reason")

    def __init__(self, spec: SignalSpec, raw: float, value: float, facts: Facts) -> None:
        self.spec, self.raw, self.value, self.facts = spec, raw, value, facts
        self._reason: str | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def reason(self) -> str:
        if self._reason is None:
            self._reason = self.spec.reason(self.facts, self.raw)
        return self._reason


class Assessment:
    """A customer's score at one moment: the number, its tier and what made it.

    The known signals are kept as parallel lists in registry order (spec, raw
    value, 0..1 value, score points at value 1); `named` indexes the ones
    given as reasons. A signal's reason is worded only when asked for.
    """

    __slots__ = (
        "score",
        "tier",
        "confidence",
        "dimensions",
        "specs",
        "raws",
        "values",
        "shares",
        "named",
        "facts",
        "points",
        "_texts",
    )

    def __init__(
        self,
        score: float,
        tier: Tier,
        confidence: float,
        dimensions: tuple[DimensionScore, ...],
        specs: list[SignalSpec],
        raws: list[float],
        values: list[float],
        shares: tuple[float, ...],
        named: list[int],
        facts: Facts | None,
    ) -> None:
        self.score, self.tier, self.confidence, self.dimensions = score, tier, confidence, dimensions
        self.specs, self.raws, self.values, self.shares, self.named, self.facts = (
            specs,
            raws,
            values,
            shares,
            named,
            facts,
        )
        self.points = score  # the score before rounding to one decimal, for ranking customers (scoring/backtest.py)
        self._texts: list[str | None] = [None] * len(specs)

    def __eq__(self, other: object) -> bool:
        """The same score, made the same way: every number and every reason shown."""
        if not isinstance(other, Assessment):
            return NotImplemented
        return (self.score, self.tier, self.confidence, self.dimensions, self.values, self.shares, self.reasons) == (
            other.score,
            other.tier,
            other.confidence,
            other.dimensions,
            other.values,
            other.shares,
            other.reasons,
        )

    __hash__ = None  # type: ignore[assignment]

    def reason(self, i: int) -> str:
        text = self._texts[i]
        if text is None:
            assert self.facts is not None  # made without facts only when no signal is known
            text = self._texts[i] = self.specs[i].reason(self.facts, self.raws[i])
        return text

    @property
    def reasons(self) -> list[str]:
        return [self.reason(i) for i in self.named]

    @property
    def signals(self) -> list[Reading]:
        """Every known signal with its reason; for callers off the hot path."""
        if self.facts is None:  # made without facts only when no signal is known
            return []
        return [Reading(spec, raw, value, self.facts) for spec, raw, value in zip(self.specs, self.raws, self.values)]

    def overridden(self, score: float | None = None, tier: Tier | None = None) -> Assessment:
        """The same assessment with a person's score or tier in place of the model's."""
        other = Assessment(
            self.score if score is None else score,
            self.tier if tier is None else tier,
            self.confidence,
            self.dimensions,
            self.specs,
            self.raws,
            self.values,
            self.shares,
            self.named,
            self.facts,
        )
        other._texts = self._texts
        return other


def tier_for(score: float, tiers: TierThresholds) -> Tier:
    if score >= tiers.healthy:
        return "healthy"
    if score >= tiers.watch:
        return "watch"
    if score >= tiers.at_risk:
        return "at_risk"
    return "critical"


def score(state: CustomerState, model: ScoringModel, now: datetime) -> Assessment:
    """Score `state` as of `now`; the same state, model and `now` always give the same result."""
    return assess(state, model, to_us(now))


def readings(state: CustomerState, model: ScoringModel, now: int) -> list[Reading]:
    """Every signal known for this customer at `now` (microseconds), normalised, in registry order."""
    facts = Facts(state, model, now)
    found = []
    for spec, _, normalise, _ in compiled(model).signals:
        raw = spec.raw(facts)
        if raw is not None:
            found.append(Reading(spec, raw, normalise(raw), facts))
    return found


def assess(state: CustomerState, model: ScoringModel, now: int) -> Assessment:
    """`score` with `now` in microseconds.

    The float arithmetic is the published model's, operation for operation
    and in the same order (weights summed per dimension, shares, points in
    registry order), so a score never differs in its last digit between
    versions. What depends only on which signals are known comes from the
    model's KnownSet; only the values are worked out per score.
    """
    plan = compiled(model)
    facts = Facts(state, model, now)
    specs, raws, values = [], [], []
    mask = 0
    bit = 1
    for spec, _, normalise, _ in plan.signals:
        raw = spec.raw(facts)
        if raw is not None:
            specs.append(spec)
            raws.append(raw)
            values.append(normalise(raw))
            mask |= bit
        bit <<= 1
    known = plan.known_set(mask)
    dims, in_dim, shares, dim_share, cred = known.dims, known.in_dim, known.shares, known.dim_share, known.credibility
    n = len(values)
    weighted: list[float] = [0, 0, 0, 0]
    total_points = known.prior_points
    for i in range(n):
        value = values[i]
        weighted[dims[i]] += in_dim[i] * value
        total_points += shares[i] * value
    priors = plan.priors
    dimensions = []
    for d in range(4):
        share, prior = dim_share[d], priors[d]
        if cred[d]:
            value = weighted[d]
            points = 100.0 * share * (cred[d] * value + (1.0 - cred[d]) * prior)
            dimensions.append(DimensionScore(DIMENSIONS[d], round(value, 4), round(share, 4), round(points, 2)))
        else:
            dimensions.append(DimensionScore(DIMENSIONS[d], None, round(share, 4), round(100.0 * share * prior, 2)))
    points = min(100.0, max(0.0, total_points))
    final = round(points, 1)
    concerns = [i for i in range(n) if values[i] < CONCERN_BELOW]
    if concerns:
        weight = known.concern_weight
        concerns.sort(key=lambda i: weight[i] * (1.0 - values[i]), reverse=True)
        named = concerns[:MAX_REASONS]
    else:
        named = sorted(range(n), key=lambda i: shares[i] * values[i], reverse=True)[:MAX_REASONS]
    assessed = Assessment(
        final,
        tier_for(final, model.tiers),
        known.confidence,
        tuple(dimensions),
        specs,
        raws,
        values,
        shares,
        named,
        facts,
    )
    assessed.points = points
    return assessed


def explain_change(previous: dict[str, float], current: Assessment) -> list[str]:
    """The signals whose value moved the score since `previous` (signal -> 0..1 value), in plain words.

    Points are this score's share of the signal times its change in value, so
    a signal that did not change is not blamed for a reweighting; a signal
    seen for the first time is marked new.
    """
    moved: list[tuple[float, int, float | None]] = []
    values, shares = current.values, current.shares
    for i, spec in enumerate(current.specs):
        before = previous.get(spec.name)
        if before is None:
            moved.append((math.inf, i, None))
            continue
        delta = shares[i] * (values[i] - before)
        if abs(delta) >= MIN_CHANGE_POINTS:
            moved.append((abs(delta), i, delta))
    if len(moved) > 1:
        moved.sort(key=lambda m: m[0], reverse=True)
    return [
        f"{current.reason(i)} (new)" if delta is None else f"{current.reason(i)} ({delta:+.1f} points)"
        for _, i, delta in moved[:MAX_REASONS]
    ]


def overdue_ratio(state: CustomerState, model: ScoringModel, now: int) -> float | None:
    """Days since the last purchase over the purchase cycle (1.0 = due today); None without purchases."""
    if state.last_purchase_at is None:
        return None
    return days_since(now, state.last_purchase_at) / expected_cycle_days(state, model)


def settles_at(state: CustomerState, model: ScoringModel) -> int | None:
    """When time alone stops moving this customer's score (microseconds): every recency signal bottomed out, every window empty."""
    if state.last_event_at is None:
        return None
    end = state.last_event_at + WINDOW_HORIZON  # every window empty
    if state.last_purchase_at is not None:
        cycle = expected_cycle_days(state, model)
        end = max(end, state.last_purchase_at + round(cycle * SETTLED_CYCLES * US_PER_DAY))
    if state.last_visit_at is not None:
        end = max(end, state.last_visit_at + WINDOW_HORIZON)
    if state.open_tickets:
        stale = compiled(model).stale_after
        for ticket in state.open_tickets:
            if ticket.priority in HIGH_PRIORITIES:
                end = max(end, ticket.opened_at + stale)
    return end
