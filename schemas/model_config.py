"""The scoring-model file: weights, normalisers, tiers, alert triggers and segments, validated on load.

Every number the scorer uses is here, so a model change is a reviewed file,
not a code change. The defaults are customer-success practice (see
docs/guides/scoring-model.md); `models/default.toml` spells them out.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.events import CompanySize, LifecycleStage

Weight = Annotated[float, Field(ge=0.0)]
Threshold = Annotated[float, Field(ge=0.0, le=100.0)]
PositiveDays = Annotated[float, Field(gt=0.0)]


class _Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Linear(_Config):
    """0 at `low`, 1 at `high`, clamped; `low > high` makes a falling signal (more is worse)."""

    kind: Literal["linear"] = "linear"
    low: float
    high: float

    def __call__(self, value: float) -> float:
        if self.high == self.low:
            return 1.0 if value >= self.high else 0.0
        return min(1.0, max(0.0, (value - self.low) / (self.high - self.low)))


class Logistic(_Config):
    """0.5 at `midpoint`; a negative `steepness` makes a falling signal."""

    kind: Literal["logistic"] = "logistic"
    midpoint: float
    steepness: float = Field(description="per unit of the signal; its sign is the direction")

    def __call__(self, value: float) -> float:
        z = self.steepness * (value - self.midpoint)
        return 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0


class Log(_Config):
    """0 at zero, 1 at `saturation`, concave between: the first few units matter most."""

    kind: Literal["log"] = "log"
    saturation: Annotated[float, Field(gt=0.0)]

    def __call__(self, value: float) -> float:
        if value <= 0:
            return 0.0
        return min(1.0, math.log1p(value) / math.log1p(self.saturation))


Normaliser = Annotated[Linear | Logistic | Log, Field(discriminator="kind")]


class Signal(_Config):
    """A signal's share within its dimension and how its raw value maps to 0..1."""

    weight: Weight = 1.0
    normaliser: Normaliser


class Signals(_Config):
    """Every signal, by name; the raw value each normaliser receives is in its description."""

    csat: Signal = Field(Signal(normaliser=Linear(low=1, high=5)), description="mean of the recent CSAT answers (1-5)")
    # NPS counts detractors (0-6) as -1, passives 0, promoters +1: every detractor maps to 0.
    nps: Signal = Field(Signal(normaliser=Linear(low=6, high=10)), description="latest NPS answer (0-10)")
    ticket_load: Signal = Field(
        Signal(normaliser=Linear(low=1, high=0)), description="weighted open tickets and recent complaints"
    )
    repeat_purchase: Signal = Field(
        Signal(weight=0.4, normaliser=Log(saturation=10)), description="lifetime purchase count"
    )
    purchase_recency: Signal = Field(
        Signal(weight=0.6, normaliser=Linear(low=4, high=1)), description="days since purchase / purchase cycle"
    )
    visit_frequency: Signal = Field(
        Signal(weight=0.4, normaliser=Log(saturation=12)), description="visits in the last 30 days"
    )
    visit_recency: Signal = Field(
        Signal(weight=0.4, normaliser=Linear(low=45, high=7)), description="days since the last visit"
    )
    visit_trend: Signal = Field(
        Signal(weight=0.2, normaliser=Linear(low=0.25, high=1.0)),
        description="visits in the last 30 days / visits in the 30 before (when there were any)",
    )
    spend_90d: Signal = Field(Signal(weight=0.7, normaliser=Log(saturation=500)), description="spend in 90 days")
    lifetime_spend: Signal = Field(Signal(weight=0.3, normaliser=Log(saturation=2000)), description="lifetime spend")


class TicketLoad(_Config):
    """How much each open ticket and recent complaint adds to the ticket-load signal."""

    high_priority: Weight = 0.25
    other: Weight = 0.10
    complaint: Weight = 0.20
    complaint_days: PositiveDays = 90


class Weights(_Config):
    """Relative weights of the four dimensions; only their ratios matter."""

    satisfaction: Weight = 30.0
    loyalty: Weight = 25.0
    activity: Weight = 20.0
    financial: Weight = 25.0

    @model_validator(mode="after")
    def _not_all_zero(self) -> Weights:
        if self.satisfaction + self.loyalty + self.activity + self.financial <= 0:
            raise ValueError("at least one weight must be positive")
        return self


Unit = Annotated[float, Field(ge=0.0, le=1.0)]


class Priors(_Config):
    """What each dimension counts as while its signals are unknown: the typical customer's value, 0..1.

    A dimension counts its known signals' weight of its own value and the
    rest of its weight as this prior (credibility weighting), so a customer
    is scored with every dimension from the first event on and a newly known
    signal moves the score by how it differs from the typical, not by
    reweighting what was known (docs/guides/scoring-model.md#cold-start).
    """

    satisfaction: Unit = 0.6
    loyalty: Unit = 0.6
    activity: Unit = 0.6
    financial: Unit = 0.6


class TierThresholds(_Config):
    """Lowest score of each tier; below `at_risk` is critical."""

    healthy: Threshold = 70.0
    watch: Threshold = 50.0
    at_risk: Threshold = 30.0

    @model_validator(mode="after")
    def _descending(self) -> TierThresholds:
        if not self.healthy > self.watch > self.at_risk:
            raise ValueError("thresholds must descend: healthy > watch > at_risk")
        return self


class ScoreDrop(_Config):
    enabled: bool = True
    points: Annotated[float, Field(gt=0, le=100)] = 20.0
    days: PositiveDays = 7


class PurchaseOverdue(_Config):
    """`cycles` of the customer's own purchase cycle and at least `min_days` without a purchase."""

    enabled: bool = True
    cycles: Annotated[float, Field(gt=1)] = 3.0
    min_purchases: Annotated[int, Field(ge=2)] = 3  # below this, no cycle is known well enough
    # A short cycle makes 3 cycles a few weeks, and on CDNOW most customers that quiet buy again: the share who
    # churn rises with the days of silence, and models/cdnow-calibrated.toml waits 120 (backtest guide).
    min_days: Annotated[float, Field(ge=0)] = 0.0


class StaleTicket(_Config):
    enabled: bool = True
    days: PositiveDays = 7


class RenewalRisk(_Config):
    """A renewal within `days` while the customer is at_risk or critical: a high-severity alert, once per renewal."""

    enabled: bool = True
    days: PositiveDays = 60


class Triggers(_Config):
    """Which alert triggers are on, and their parameters."""

    tier_entry: bool = True
    score_drop: ScoreDrop = ScoreDrop()
    purchase_overdue: PurchaseOverdue = PurchaseOverdue()
    detractor_nps: bool = True
    stale_ticket: StaleTicket = StaleTicket()
    renewal_risk: RenewalRisk = RenewalRisk()


class AlertPolicy(_Config):
    """When a change becomes an alert.

    `hysteresis`: points above a tier's threshold a customer must climb before
    leaving it counts. `cooldown`: a repeat alert of the same trigger and the
    same or lower severity is suppressed this long. `min_events`: a customer
    with fewer events is not alerted on (one event says little).
    """

    hysteresis: Annotated[float, Field(ge=0.0, le=50.0)] = 5.0
    cooldown: timedelta = timedelta(days=7)
    min_events: Annotated[int, Field(ge=1)] = 2
    triggers: Triggers = Triggers()


class Defaults(_Config):
    """Assumptions used until a customer has shown their own behaviour."""

    purchase_cycle_days: PositiveDays = 30.0


class Segments(_Config):
    """Thresholds of the value-and-health segments carried in every ScoreUpdate."""

    high_value_clv: Annotated[float, Field(ge=0)] = 500.0
    new_days: PositiveDays = 30
    dormant_days: PositiveDays = 90
    loyal_purchases: Annotated[int, Field(ge=1)] = 5


class Review(_Config):
    """How often a silent customer is re-scored by the timer while time can still move their score."""

    interval: timedelta = timedelta(days=1)


class ScoringModel(_Config):
    """Everything the pure scorer needs besides state and `now`."""

    name: str = "default"
    version: str = "2"
    weights: Weights = Weights()
    priors: Priors = Priors()
    signals: Signals = Signals()
    ticket_load: TicketLoad = TicketLoad()
    tiers: TierThresholds = TierThresholds()
    alerts: AlertPolicy = AlertPolicy()
    defaults: Defaults = Defaults()
    segments: Segments = Segments()
    review: Review = Review()


class ModelRule(_Config):
    """Picks `model` for a customer whose profile meets every condition given (lists: any of)."""

    model: str
    plan: list[str] | None = None
    company_size: list[CompanySize] | None = None
    industry: list[str] | None = None
    lifecycle_stage: list[LifecycleStage] | None = None
    min_contract_value: Annotated[float, Field(ge=0.0)] | None = None


class ModelSet(_Config):
    """Several scoring models and the rules that choose one per customer from their profile.

    Rules are tried in order and the first match wins; a customer without a
    profile, or matching no rule, gets `default`. A model's `name` defaults
    to its key, so every ScoreUpdate names the model that scored it.
    """

    models: dict[str, ScoringModel]
    rules: list[ModelRule] = []
    default: str

    @model_validator(mode="before")
    @classmethod
    def _names_from_keys(cls, data: object) -> object:
        if isinstance(data, dict) and isinstance(data.get("models"), dict):
            models = {k: ({"name": k} | v if isinstance(v, dict) else v) for k, v in data["models"].items()}
            data = data | {"models": models}
        return data

    @model_validator(mode="after")
    def _known_models(self) -> ModelSet:
        unknown = sorted({self.default, *(r.model for r in self.rules)} - set(self.models))
        if unknown:
            raise ValueError(f"rules name models that are not defined under [models]: {', '.join(unknown)}")
        return self


# What the worker runs: one model for everybody, or a set chosen per customer.
Model = ScoringModel | ModelSet
