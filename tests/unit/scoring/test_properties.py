"""Properties the score must keep for any customer history hypothesis can invent."""

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.events import PurchaseEvent, SurveyEvent
from schemas.model_config import ScoringModel
from scoring.instants import from_us
from scoring.model import score
from scoring.state import apply_event, new_state
from tests.strategies import events

MODEL = ScoringModel()


def fold(history):
    state = new_state("c")
    for event in history:
        state, _ = apply_event(state, event)
    return state


def dimension(state, name: str, now) -> float | None:
    return next(d.value for d in score(state, MODEL, now).dimensions if d.name == name)


@given(events, st.floats(min_value=0, max_value=1000))
def test_the_score_stays_between_0_and_100(history, later: float) -> None:
    state = fold(history)
    result = score(state, MODEL, from_us(state.last_event_at) + timedelta(days=later))
    assert 0.0 <= result.score <= 100.0
    assert 0.0 <= result.confidence <= 1.0


@given(events, st.floats(min_value=0, max_value=5000, allow_nan=False), st.floats(min_value=0, max_value=200))
def test_a_new_purchase_never_lowers_loyalty_or_financial(history, amount: float, gap: float) -> None:
    state = fold(history)
    now = from_us(state.last_event_at) + timedelta(days=gap)
    bought, _ = apply_event(state, PurchaseEvent(event_id="new", customer_id="c", occurred_at=now, amount=amount))
    for name in ("loyalty", "financial"):
        before, after = dimension(state, name, now), dimension(bought, name, now)
        assert after is not None
        assert before is None or after >= before - 1e-9, name


@given(events, st.integers(0, 6), st.floats(min_value=0, max_value=30))
def test_a_detractor_answer_never_raises_satisfaction(history, answer: int, gap: float) -> None:
    state = fold(history)
    now = from_us(state.last_event_at) + timedelta(days=gap)
    answered, _ = apply_event(
        state, SurveyEvent(event_id="nps", customer_id="c", occurred_at=now, survey_type="nps", score=answer)
    )
    before, after = dimension(state, "satisfaction", now), dimension(answered, "satisfaction", now)
    assert before is None or after <= before + 1e-9


@settings(max_examples=150)
@given(events, st.randoms(use_true_random=False))
def test_the_same_events_in_any_order_inside_the_window_give_the_same_state(history, random) -> None:
    shuffled = list(history)
    random.shuffle(shuffled)
    assert fold(shuffled) == fold(history)


@given(events, st.data())
def test_duplicates_change_nothing(history, data) -> None:
    state = fold(history)
    again = data.draw(st.sampled_from(history))
    assert apply_event(state, again) == (state, False)
