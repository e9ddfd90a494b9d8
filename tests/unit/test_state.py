"""The fold: what each event does to a customer's state, and what it must not do."""

from scoring.state import DEDUP_MEMORY, MAX_CSAT, MAX_PURCHASE_TIMES, CustomerState, apply_event, new_state
from scoring.windows import HORIZON_DAYS, day_of, in_window, total
from tests.factories import at, purchase, survey, ticket, visit


def fold(*events):
    state = new_state("c")
    for event in events:
        state, _ = apply_event(state, event)
    return state


def test_purchases_accumulate_lifetime_totals_windows_and_times() -> None:
    state = fold(purchase("c", 0, 10.0), purchase("c", 30, 20.0), purchase("c", 45, 5.5))
    assert (state.purchase_count, state.total_spend) == (3, 35.5)
    assert state.purchase_times == (at(0), at(30), at(45))
    assert state.last_purchase_at == at(45) and state.first_seen == at(0)
    assert total(in_window(state.buckets, at(45), 7), "spend") == 5.5
    assert total(in_window(state.buckets, at(45), 30), "purchases") == 2
    assert total(in_window(state.buckets, at(45), 90), "spend") == 35.5


def test_a_duplicate_event_id_is_counted_once() -> None:
    state, fresh = apply_event(new_state("c"), purchase("c", 1, 40.0, event_id="dup"))
    again, fresh_again = apply_event(state, purchase("c", 1, 40.0, event_id="dup"))
    assert fresh and not fresh_again
    assert again == state and again.purchase_count == 1 and again.total_spend == 40.0


def test_dedup_memory_and_purchase_times_are_bounded() -> None:
    state = fold(*(purchase("c", i / 100) for i in range(DEDUP_MEMORY + 50)))
    assert len(state.seen) == DEDUP_MEMORY
    assert len(state.purchase_times) == MAX_PURCHASE_TIMES
    assert state.purchase_count == DEDUP_MEMORY + 50


def test_a_late_event_inside_the_window_lands_in_its_own_day() -> None:
    state = fold(visit("c", 50), visit("c", 10))
    assert [b.day for b in state.buckets] == [day_of(at(10)), day_of(at(50))]
    assert state.last_visit_at == at(50) and state.first_seen == at(10)


def test_an_event_older_than_the_window_reaches_lifetime_totals_only() -> None:
    state = fold(purchase("c", 200, 10.0), purchase("c", 200 - HORIZON_DAYS - 5, 99.0))
    assert state.total_spend == 109.0 and state.purchase_count == 2
    assert total(in_window(state.buckets, at(200), HORIZON_DAYS), "spend") == 10.0
    assert [b.day for b in state.buckets] == [day_of(at(200))]


def test_buckets_older_than_the_window_are_dropped_as_time_moves() -> None:
    state = fold(*(visit("c", d) for d in range(0, 400, 5)))
    assert len(state.buckets) <= HORIZON_DAYS
    assert state.visit_count == 80


def test_a_late_purchase_joins_the_cycle_history_in_time_order() -> None:
    state = fold(purchase("c", 0), purchase("c", 30), purchase("c", 10))
    assert state.purchase_times == (at(0), at(10), at(30))


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
    assert state.open_tickets == () and state.tickets_opened == 1
    assert [r.hours for r in state.resolutions] == [48.0]


def test_surveys_keep_recent_csat_and_the_newest_nps() -> None:
    state = fold(*(survey("c", d, "csat", s) for d, s in enumerate([5, 4, 3, 2, 1, 2])), survey("c", 10, "nps", 9))
    assert [a.score for a in state.csat] == [4, 3, 2, 1, 2] and len(state.csat) == MAX_CSAT
    late = fold(survey("c", 10, "nps", 9), survey("c", 5, "nps", 2))
    assert (late.nps.score, late.nps.at) == (9, at(10))
    assert late.last_survey_at == at(10)


def test_a_state_stored_with_full_event_ids_still_knows_its_events() -> None:
    """States written before the dedup memory held digests are read back with nothing forgotten."""
    state = fold(purchase("c", 1, 40.0, event_id="first"), purchase("c", 2, 10.0, event_id="second"))
    stored = state.model_dump(mode="json")
    stored["seen"] = [{"at": at(2).isoformat(), "event_id": "second"}, {"at": at(1).isoformat(), "event_id": "first"}]
    restored = CustomerState.model_validate(stored)
    # The same memory but for the content digests, which such states never had: taken as not known.
    assert restored == state.model_copy(update={"seen": tuple((t, d, "") for t, d, _ in state.seen)})
    again, fresh = apply_event(restored, purchase("c", 1, 40.0, event_id="first"))
    assert not fresh and again.purchase_count == 2
