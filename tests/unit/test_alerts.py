"""The alert policy: entering a risk tier alerts once; hovering, climbing back and cooling down do not flood."""

from datetime import timedelta

import pytest

from schemas.model_config import AlertPolicy, TierThresholds
from scoring.alerts import alert_id, decide_alert, risk_level
from scoring.state import AlertMemory
from tests.factories import at

TIERS = TierThresholds()  # watch >= 50, at_risk >= 30
POLICY = AlertPolicy(hysteresis=5.0, cooldown=timedelta(days=7))


@pytest.mark.parametrize(
    "score, current, level",
    [
        (60, None, None),
        (49.9, None, "at_risk"),
        (29.9, None, "critical"),
        (52, "at_risk", "at_risk"),  # inside the hysteresis band: still at risk
        (55, "at_risk", None),  # climbed past threshold + hysteresis: recovered
        (33, "critical", "critical"),
        (35, "critical", "at_risk"),
        (54.9, "critical", "at_risk"),
        (55, "critical", None),
    ],
)
def test_leaving_a_risk_level_takes_hysteresis_points(score: float, current: str | None, level: str | None) -> None:
    assert risk_level(score, current, TIERS, POLICY.hysteresis) == level


def run(scores_by_day: list[tuple[float, float]]) -> list[tuple[float, str]]:
    """Feed (day, score) pairs through the policy; return the (day, tier) of every alert."""
    memory, fired = AlertMemory(), []
    for day, points in scores_by_day:
        memory, tier = decide_alert(memory, points, TIERS, POLICY, at(day))
        if tier:
            fired.append((day, tier))
    return fired


def test_entering_at_risk_alerts_once() -> None:
    assert run([(0, 80), (1, 45), (2, 44), (3, 40)]) == [(1, "at_risk")]


def test_hovering_at_the_threshold_alerts_once() -> None:
    hovering = [(d * 0.1, 49.5 if d % 2 else 50.5) for d in range(40)]
    assert run(hovering) == [(0.1, "at_risk")]


def test_escalation_to_critical_alerts_even_within_cooldown() -> None:
    assert run([(0, 45), (1, 25)]) == [(0, "at_risk"), (1, "critical")]


def test_re_entry_within_cooldown_is_suppressed_but_after_it_alerts_again() -> None:
    assert run([(0, 45), (1, 80), (2, 45), (10, 80), (11, 45)]) == [(0, "at_risk"), (11, "at_risk")]


def test_dropping_back_from_critical_to_at_risk_is_not_news() -> None:
    assert run([(0, 20), (1, 40), (2, 20)]) == [(0, "critical")]


def test_alert_ids_are_stable_and_distinct() -> None:
    assert alert_id("c", "at_risk", "e-1") == alert_id("c", "at_risk", "e-1")
    assert len({alert_id("c", "at_risk", "e-1"), alert_id("c", "critical", "e-1"), alert_id("d", "at_risk", "e-1")}) == 3
