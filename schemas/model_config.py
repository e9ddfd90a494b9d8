"""The scoring model: weights, tier thresholds and alert policy, validated on load."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

Weight = Annotated[float, Field(ge=0.0)]
Threshold = Annotated[float, Field(ge=0.0, le=100.0)]


class Weights(BaseModel):
    """Relative weights of the four dimensions; only their ratios matter."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    satisfaction: Weight = 30.0
    loyalty: Weight = 25.0
    activity: Weight = 20.0
    financial: Weight = 25.0

    @model_validator(mode="after")
    def _not_all_zero(self) -> Weights:
        if self.satisfaction + self.loyalty + self.activity + self.financial <= 0:
            raise ValueError("at least one weight must be positive")
        return self


class TierThresholds(BaseModel):
    """Lowest score of each tier; below `at_risk` is critical."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    healthy: Threshold = 70.0
    watch: Threshold = 50.0
    at_risk: Threshold = 30.0

    @model_validator(mode="after")
    def _descending(self) -> TierThresholds:
        if not self.healthy > self.watch > self.at_risk:
            raise ValueError("thresholds must descend: healthy > watch > at_risk")
        return self


class AlertPolicy(BaseModel):
    """When a tier entry becomes an alert.

    `hysteresis` is how many points above a tier's threshold a customer must
    climb before leaving it counts; `cooldown` suppresses a repeat alert of
    the same or lower severity for the same customer.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    hysteresis: Annotated[float, Field(ge=0.0, le=50.0)] = 5.0
    cooldown: timedelta = timedelta(days=7)


class ScoringModel(BaseModel):
    """Everything the pure scorer needs besides state and `now`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = "default"
    version: str = "1"
    weights: Weights = Weights()
    tiers: TierThresholds = TierThresholds()
    alerts: AlertPolicy = AlertPolicy()
