"""The fold: what each event does to a customer's state, and what it must not do."""

from scoring.seen import remembered
from scoring.state import DEDUP_MEMORY, MAX_CSAT, MAX_PURCHASE_TIMES, apply_event, new_state
from scoring.windows import HORIZON_DAYS, MICROS
from tests.factories import purchase, survey, ticket, today, us, visit


def fold(*events):
    state = new_state("c")
    for event in events:
        state, _ = apply_event(state, event)
    return state


def test_purchases_accumulate_lifetime_totals_windows_and_times() -> None:
    state = fold(purchase("c", 0, 10.0), purchase("c", 30, 20.0), purchase("c", 45, 5.5))
    assert (state.purchase_count, state.total_spend) == (3, 35_500_000)  # micro-units: exact in any order
    assert state.purchase_times == [us(0), us(30), us(45)]
    assert state.last_purchase_at == us(45) and state.first_seen == us(0)
    assert state.buckets.total("spend", today(45), 7) == 5.5 * MICROS
    assert state.buckets.total("purchases", today(45), 30) == 2
    assert state.buckets.total("spend", today(45), 90) == 35.5 * MICROS
    assert state.purchase_cycle_days == 22.5  # the median of the gaps (30 and 15 days), kept with the times


def test_a_duplicate_event_id_is_counted_once() -> None:
    state, fresh = apply_event(new_state("c"), purchase("c", 1, 40.0, event_id="dup"))
    again, fresh_again = apply_event(state, purchase("c", 1, 40.0, event_id="dup"))
    assert fresh and not fresh_again
    assert again == state and again.purchase_count == 1 and again.total_spend == 40 * MICROS


def test_applying_an_event_leaves_the_state_given_as_it_was() -> None:
    before = fold(purchase("c", 0, 10.0))
    after, _ = apply_event(before, visit("c", 1))
    assert (before.visit_count, after.visit_count) == (0, 1)


def test_dedup_memory_and_purchase_times_are_bounded() -> None:
    state = fold(*(purchase("c", i / 100) for i in range(DEDUP_MEMORY + 50)))
    assert remembered(state.seen) == DEDUP_MEMORY
    assert len(state.purchase_times) == MAX_PURCHASE_TIMES
    assert state.purchase_count == DEDUP_MEMORY + 50


def test_a_late_event_inside_the_window_lands_in_its_own_day() -> None:
    state = fold(visit("c", 50), visit("c", 10))
    assert state.buckets.day == [today(10), today(50)]
    assert state.last_visit_at == us(50) and state.first_seen == us(10)


def test_an_event_older_than_the_window_reaches_lifetime_totals_only() -> None:
    state = fold(purchase("c", 200, 10.0), purchase("c", 200 - HORIZON_DAYS - 5, 99.0))
    assert state.total_spend == 109 * MICROS and state.purchase_count == 2
    assert state.buckets.total("spend", today(200), HORIZON_DAYS) == 10 * MICROS
    assert state.buckets.day == [today(200)]


def test_buckets_older_than_the_window_are_dropped_as_time_moves() -> None:
    state = fold(*(visit("c", d) for d in range(0, 400, 5)))
    assert len(state.buckets.day) <= HORIZON_DAYS
    assert all(len(getattr(state.buckets, f)) == len(state.buckets.day) for f in state.buckets.__struct_fields__)
    assert state.visit_count == 80


def test_a_late_purchase_joins_the_cycle_history_in_time_order() -> None:
    state = fold(purchase("c", 0), purchase("c", 30), purchase("c", 10))
    assert state.purchase_times == [us(0), us(10), us(30)]


def test_tickets_open_resolve_and_time_to_resolve() -> None:
    state = fold(
        ticket("c", 0, "T-1", priority="high", category="complaint"),
        ticket("c", 1, "T-2"),
        ticket("c", 2, "T-1", action="resolved"),
    )
    assert [t.ticket_id for t in state.open_tickets] == ["T-2"]
    assert (state.tickets_opened, state.complaints) == (2, 1)
    assert [r.hours for r in state.resolutions] == [48.0]


def test_a_resolution_that_arrives_first_keeps_the_ticket_closed_and_timed() -> None:
    state = fold(ticket("c", 2, "T-1", action="resolved"), ticket("c", 0, "T-1", priority="high"))
    assert state.open_tickets == [] and state.tickets_opened == 1
    assert [r.hours for r in state.resolutions] == [48.0]


def test_surveys_keep_recent_csat_and_the_newest_nps() -> None:
    state = fold(*(survey("c", d, "csat", s) for d, s in enumerate([5, 4, 3, 2, 1, 2])), survey("c", 10, "nps", 9))
    assert [a.score for a in state.csat] == [4, 3, 2, 1, 2] and len(state.csat) == MAX_CSAT
    late = fold(survey("c", 10, "nps", 9), survey("c", 5, "nps", 2))
    assert (late.nps.score, late.nps.at) == (9, us(10))
    assert late.last_survey_at == us(10)
