"""What the worker does when one record or a whole batch goes wrong: nothing is lost, nothing stops.

One failing record is dead-lettered alone and the batch goes on; a failing batch keeps its records
uncommitted and fetches them again; an agent that restarts resumes after its last completed batch.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib

import pytest

from schemas.outputs import DeadLetter, ScoreUpdate
from scoring.pipeline import event_clock, step
from scoring.replay import replay
from scoring.state import new_state
from streams.kafka.codecs import dead_letter, decode_state
from streams.worker.checkpoint import Checkpoint
from streams.worker.offsets import OffsetGuard
from streams.worker.scorer import Scorer
from tests.factories import at, purchase, us, visit
from tests.fakes import MODEL, TOPIC, Position, make_scorer, messages


def scorer(**fields) -> Scorer:
    return make_scorer(kinds={TOPIC: "purchase"}, **fields)


def test_a_record_the_scorer_fails_on_is_dead_lettered_alone_and_the_rest_of_the_batch_is_scored(monkeypatch) -> None:
    events = [purchase("a", 0), purchase("poison", 1), purchase("b", 2)]
    worker = scorer()
    real_step = step

    def failing(state, event, model, now):
        if event.customer_id == "poison":
            raise ZeroDivisionError("division by zero")
        return real_step(state, event, model, now)

    monkeypatch.setattr("streams.worker.handling.step", failing)
    asyncio.run(worker.handle(messages(events)))
    updates = [ScoreUpdate.model_validate_json(v) for v in worker.outputs.scores.values]
    assert [u.customer_id for u in updates] == ["a", "b"]
    [letter] = [DeadLetter.model_validate_json(v) for v in worker.outputs.deadletter.values]
    assert (letter.error, letter.offset) == ("processing_error", 1)
    assert "ZeroDivisionError: division by zero" in letter.reason
    assert worker.metrics.batch_failures._value.get() == 0


def test_a_record_that_fails_after_changing_its_customers_state_leaves_the_batch_state_as_it_was(monkeypatch) -> None:
    """A step changes the state in place; the batch's copy holds the customer's earlier events, whose outputs
    are already sent. A later record of the same customer that fails midway must leave no half-made change."""
    real_step = step

    def failing_after_the_change(state, event, model, now):
        result = real_step(state, event, model, now)
        if event.event_id == "poison":
            raise ZeroDivisionError("division by zero")
        return result

    monkeypatch.setattr("streams.worker.handling.step", failing_after_the_change)
    worker = scorer()
    events = [purchase("a", 0, amount=10.0), purchase("a", 1, amount=1000.0, event_id="poison")]
    asyncio.run(worker.handle(messages(events)))
    state = decode_state(worker.table[b"a"])
    assert (state.purchase_count, state.total_spend_amount) == (1, 10.0)
    assert len(worker.outputs.deadletter.values) == 1


def test_a_record_the_decoder_fails_on_is_dead_lettered_in_its_turn_and_the_records_around_it_are_scored(
    monkeypatch,
) -> None:
    """The batch is decoded in a pass of its own before any record is scored; a failure there is still the record's."""
    from streams.kafka import codecs

    events = [purchase("a", 0), purchase("poison", 1), purchase("b", 2)]
    worker = scorer()

    def failing(**record):
        if b"poison" in record["value"]:
            raise MemoryError("the decoder ran out of memory")
        return codecs.decode_event(**record)

    monkeypatch.setattr("streams.worker.handling.decode_event", failing)
    asyncio.run(worker.handle(messages(events)))
    assert [u.customer_id for u in map(ScoreUpdate.model_validate_json, worker.outputs.scores.values)] == ["a", "b"]
    [letter] = [DeadLetter.model_validate_json(v) for v in worker.outputs.deadletter.values]
    assert (letter.error, letter.offset) == ("processing_error", 1)
    assert "MemoryError: the decoder ran out of memory" in letter.reason
    assert worker.metrics.batch_failures._value.get() == 0


def test_an_output_the_producer_would_refuse_dead_letters_its_record_with_nothing_of_it_sent() -> None:
    worker = scorer(max_output_bytes=200)  # every ScoreUpdate is larger
    asyncio.run(worker.handle(messages([purchase("a", 0)])))
    assert worker.outputs.scores.values == [] and worker.table == {}
    [letter] = [DeadLetter.model_validate_json(v) for v in worker.outputs.deadletter.values]
    assert letter.error == "processing_error" and "over the producer's limit of 200" in letter.reason


def test_a_failed_batch_is_held_uncommitted_and_its_partitions_sought_back_to_its_first_record(monkeypatch) -> None:
    consumer = Position({"p0": 5, "p1": 7})
    worker = scorer(consumer=consumer)
    batch = messages([purchase("a", 0), purchase("b", 1)], "p0", 5) + messages([purchase("c", 2)], "p1", 7)

    async def broken(self, batch, handled) -> None:
        raise ConnectionError("the broker did not acknowledge")

    monkeypatch.setattr(Checkpoint, "commit", broken)
    monkeypatch.setattr("streams.worker.scorer.RETRY_FIRST_SECONDS", 0.0)
    asyncio.run(worker.handle(batch))  # does not raise: the agent goes on
    assert all(m.refcount == 2 for m in batch)  # Faust's ack after the batch leaves them unacknowledged
    assert sorted(consumer.seeks) == [("p0", 5), ("p1", 7)]
    assert worker.continuity.guard.expected == {"p0": 5, "p1": 7}
    assert (worker.failures, worker.metrics.batch_failures._value.get()) == (1, 1)


def test_a_restarted_agent_resumes_each_partition_after_its_last_completed_batch() -> None:
    consumer = Position({"p0": 0})
    worker = scorer(consumer=consumer)
    consumer.assignment = lambda: {"p0", "p1"}
    asyncio.run(worker.continuity.resume())  # the first start: Faust has just sought to the committed offsets
    asyncio.run(worker.handle(messages([purchase("a", 0), purchase("b", 1)], "p0", 0)))
    assert consumer.seeks == []
    asyncio.run(worker.continuity.resume())  # a restart after a crash
    assert consumer.seeks == [("p0", 2)]  # p1 was never read nor committed: nothing to resume
    assert worker.continuity.guard.admit("p0", 5, committed=0) == "hole"  # records fetched for the dead agent


def test_the_guard_resumes_from_the_first_record_read_until_a_batch_completes() -> None:
    guard = OffsetGuard()
    assert guard.resume_point("p0") is None
    guard.admit("p0", 40, committed=None)
    guard.admit("p0", 41, committed=None)
    assert guard.resume_point("p0") == 40
    guard.completed({"p0": 42})
    assert guard.resume_point("p0") == 42
    guard.reset()
    assert guard.resume_point("p0") is None


@pytest.mark.parametrize("size", [0, 100, 65536, 65537, 2 * 1024 * 1024])
def test_a_dead_letter_keeps_a_bounded_prefix_with_the_length_and_digest_of_the_whole_record(size: int) -> None:
    value = bytes(n % 251 for n in range(size))
    letter = dead_letter(
        "too_large",
        "too big",
        topic=TOPIC,
        partition=0,
        offset=1,
        key=b"k" * 5000,
        value=value,
        received_at=at(0),
        keep=65536,
    )
    assert base64.b64decode(letter.value_base64) == value[:65536]
    assert (letter.value_length, letter.value_truncated) == (size, size > 65536)
    assert letter.value_sha256 == hashlib.sha256(value).hexdigest()
    assert len(base64.b64decode(letter.key_base64)) == 1024 and letter.key_length == 5000
    assert len(letter.model_dump_json()) < 100_000  # far below the producer's 1 MB request limit


def test_a_late_event_folds_in_without_moving_the_customers_clock_back() -> None:
    state = replay([purchase("c", 0), purchase("c", 10), visit("c", 30)], MODEL).states["c"]
    assert event_clock(None, at(20)) == at(20) and event_clock(state, at(40)) == at(40)
    state.last_scored_at = us(100)  # the timer scored the silent customer later
    now = event_clock(state, at(20))
    assert now == at(100)
    late = step(state, visit("c", 20), MODEL, now)
    assert late.update.scored_at == at(100) and late.state.visit_count == 2


def test_the_same_id_with_other_content_is_a_conflict_and_an_exact_redelivery_is_not() -> None:
    first = step(new_state("c"), purchase("c", 0, 40.0, event_id="p1"), MODEL, at(0))
    again = step(first.state, purchase("c", 0, 40.0, event_id="p1"), MODEL, at(0))
    other = step(first.state, purchase("c", 0, 999.0, event_id="p1"), MODEL, at(0))
    assert (again.duplicate, again.conflict) == (True, False)
    assert (other.duplicate, other.conflict) == (True, True) and other.state == first.state


def test_the_worker_dead_letters_a_conflicting_duplicate_and_counts_a_redelivery_once() -> None:
    worker = scorer()
    first = purchase("c", 0, 40.0, event_id="p1")
    asyncio.run(worker.handle(messages([first, first, purchase("c", 0, 999.0, event_id="p1")])))
    assert len(worker.outputs.scores.values) == 1
    [letter] = [DeadLetter.model_validate_json(v) for v in worker.outputs.deadletter.values]
    assert (
        letter.error == "conflicting_duplicate" and "'p1' was already applied with different content" in letter.reason
    )
    assert worker.metrics.events.labels("purchase", "duplicate")._value.get() == 1


def test_lag_counts_from_the_first_record_not_scored_not_from_what_was_fetched() -> None:
    worker = scorer(consumer=Position({"p0": 0}))
    asyncio.run(worker.handle(messages([purchase("a", 0), purchase("b", 1)], "p0", 0)))
    worker.continuity.guard.admit("p0", 2, committed=0)  # fetched and under way, not scored yet
    # The consumer has read 500 records ahead; 2 are scored; nothing was read of p1 yet.
    assert worker.continuity.unscored({"p0": 500, "p1": 40}) == {"p0": 2, "p1": 40}
    assert scorer().continuity.unscored({"p0": 500}) == {
        "p0": 500
    }  # without offset checks only the fetch position is known
