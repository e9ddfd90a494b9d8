"""Every segment rule, and which wins when several match: dormant, (high_value_)at_risk, new, loyal, high_potential,
steady, in that order (scoring/clv.py `segment_for`)."""

from __future__ import annotations

import pytest

from schemas.model_config import ScoringModel
from scoring.clv import segment_for
from scoring.state import new_state
from tests.factories import us

MODEL = ScoringModel()  # dormant after 90 days, new for 30, loyal from 5 purchases, high value from a CLV of 500


def customer(first_day: float, last_day: float, purchases: int):
    state = new_state("c")
    state.first_seen, state.last_event_at, state.purchase_count = us(first_day), us(last_day), purchases
    return state


@pytest.mark.parametrize(
    ("first", "last", "purchases", "tier", "clv", "segment"),
    [
        (0, 100, 9, "healthy", 900.0, "dormant"),  # silent 100 days: dormant whatever else is true
        (0, 199, 1, "at_risk", 100.0, "at_risk"),
        (0, 199, 1, "critical", 900.0, "high_value_at_risk"),
        (180, 199, 1, "watch", 100.0, "new"),  # first seen 20 days ago
        (180, 199, 9, "at_risk", 100.0, "at_risk"),  # at risk wins over new
        (0, 199, 5, "healthy", 100.0, "loyal"),
        (0, 199, 5, "watch", 100.0, "steady"),  # loyal needs a healthy tier
        (0, 199, 5, "healthy", 900.0, "loyal"),  # loyal wins over high potential
        (0, 199, 2, "watch", 900.0, "high_potential"),
        (0, 199, 2, "healthy", 499.0, "steady"),
    ],
)
def test_each_rule_and_its_precedence(
    first: float, last: float, purchases: int, tier, clv: float, segment: str
) -> None:
    assert segment_for(customer(first, last, purchases), tier, clv, MODEL, now=us(200)) == segment


def test_the_thresholds_come_from_the_model() -> None:
    model = ScoringModel.model_validate({"segments": {"dormant_days": 10, "loyal_purchases": 2}})
    assert segment_for(customer(0, 185, 9), "healthy", 0.0, model, now=us(200)) == "dormant"
    assert segment_for(customer(0, 199, 2), "healthy", 0.0, model, now=us(200)) == "loyal"
