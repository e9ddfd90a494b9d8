"""The fold: what each event does to a customer's state, and what it must not do."""

from datetime import timedelta

from scoring.state import DEDUP_MEMORY, MAX_RECENT, WINDOW, apply_event, new_state
from tests.factories import at, purchase, survey, ticket, visit


def fold(*events):
    state = new_state("c")
    for event in events:
        state, _ = apply_event(state, event)
    return state


def test_purchases_accumulate_counts_spend_and_gaps() -> None:
    state = fold(purchase("c", 0, 10.0), purchase("c", 30, 20.0), purchase("c", 45, 5.5))
    assert state.purchase_count == 3
    assert state.total_spend == 35.5
    assert state.last_purchase_at == at(45)
    assert state.purchase_gaps_days == (30.0, 15.0)
    assert state.first_seen == at(0)


def test_a_duplicate_event_id_is_counted_once() -> None:
    first = purchase("c", 1, 40.0, event_id="dup")
    state, fresh = apply_event(new_state("c"), first)
    again, fresh_again = apply_event(state, purchase("c", 1, 40.0, event_id="dup"))
    assert fresh and not fresh_again
    assert again == state
    assert again.purchase_count == 1 and again.total_spend == 40.0


def test_dedup_memory_is_bounded() -> None:
    state = fold(*(visit("c", i / 100) for i in range(DEDUP_MEMORY + 50)))
    assert len(state.recent_event_ids) == DEDUP_MEMORY
    assert state.visit_count == DEDUP_MEMORY + 50


def test_recent_lists_keep_only_the_window_and_a_bounded_length() -> None:
    state = fold(*(visit("c", i * 0.1) for i in range(3 * MAX_RECENT)))
    assert len(state.recent_visits) == MAX_RECENT
    old = fold(purchase("c", 0), purchase("c", WINDOW.days + 10))
    assert [p.at for p in old.recent_purchases] == [at(WINDOW.days + 10)]
    assert old.purchase_count == 2  # older detail survives in totals


def test_a_late_purchase_counts_but_does_not_distort_the_cycle() -> None:
    state = fold(purchase("c", 0), purchase("c", 30), purchase("c", 10))
    assert state.purchase_count == 3
    assert state.purchase_gaps_days == (30.0,)
    assert state.last_purchase_at == at(30)


def test_tickets_open_and_resolve_by_ticket_id() -> None:
    state = fold(
        ticket("c", 0, "T-1", priority="high", category="complaint"),
        ticket("c", 1, "T-2"),
        ticket("c", 2, "T-1", action="resolved"),
    )
    assert [t.ticket_id for t in state.open_tickets] == ["T-2"]
    assert state.tickets_opened == 2
    assert state.recent_complaints == (at(0),)


def test_surveys_keep_recent_csat_and_the_newest_nps() -> None:
    state = fold(*(survey("c", d, "csat", s) for d, s in enumerate([5, 4, 3, 2, 1, 2])), survey("c", 10, "nps", 9))
    assert state.recent_csat == (4, 3, 2, 1, 2)
    late = fold(survey("c", 10, "nps", 9), survey("c", 5, "nps", 2))
    assert late.nps_latest == 9
    assert late.nps_at == at(10)


def test_last_event_time_is_the_newest_seen_not_the_last_applied() -> None:
    state = fold(visit("c", 5), visit("c", 2))
    assert state.last_event_at == at(5)
    assert state.last_visit_at == at(5)
    assert state.first_seen == at(2)
    assert at(5) - state.first_seen == timedelta(days=3)
