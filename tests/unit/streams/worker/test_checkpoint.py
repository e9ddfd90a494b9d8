"""The checkpoint stores a finished batch in one order, and refuses one whose offsets go backwards."""

from __future__ import annotations

import asyncio

import pytest

from scoring.pipeline import step
from scoring.records import encode
from scoring.state import new_state
from streams.exceptions import OffsetWentBack
from streams.metrics import Metrics
from streams.worker.checkpoint import Checkpoint
from streams.worker.continuity import Continuity
from streams.worker.handling import Batch
from streams.worker.outputs import Outputs
from tests.factories import at, purchase
from tests.fakes import MODEL, Position, Sent


class Journal:
    """Every step's stand-in, writing what it was asked to do into one list, in order."""

    def __init__(self) -> None:
        self.steps: list[str] = []

    async def flush(self) -> None:
        self.steps.append("outputs flushed")

    def discard(self) -> None:
        self.steps.append("outputs discarded")

    def offer(self, update, encoded=None, cause=None, alerts=()) -> None:
        self.steps.append(f"redis offered {update.customer_id}")

    def erase(self, customer_id: str) -> None:
        self.steps.append(f"redis erased {customer_id}")

    async def confirm(self, timeout: float) -> bool:
        self.steps.append("redis confirmed")
        return True

    async def write(self, records: dict) -> None:
        self.steps.append(f"states written {sorted(records)}")

    def schedule(self, customer_id: str, when) -> None:
        self.steps.append(f"scheduled {customer_id}")


def checkpoint(journal: Journal, continuity: Continuity | None = None) -> Checkpoint:
    continuity = continuity or Continuity(Position({}), Metrics())
    return Checkpoint(
        outputs=Outputs(scores=Sent(), alerts=Sent(), deadletter=Sent(), producer=journal),
        states=journal,
        redis=journal,
        erasures={},
        due=journal,
        metrics=Metrics(),
        continuity=continuity,
    )


def scored_batch() -> Batch:
    batch = Batch()
    result = step(new_state("a"), purchase("a", 0), MODEL, at(0))
    batch.states[b"a"] = result.state
    batch.scored.append((result, encode(result.update), "purchase"))
    batch.erased[b"gone"] = at(0)
    batch.reviews["a"] = at(30)
    return batch


def test_a_batch_is_stored_outputs_first_then_erasures_and_redis_then_states_then_the_schedule_and_offsets() -> None:
    journal = Journal()
    continuity = Continuity(Position({}), Metrics())
    asyncio.run(checkpoint(journal, continuity).commit(scored_batch(), {"p0": 8}))
    assert journal.steps == [
        "outputs flushed",
        "redis erased gone",
        "redis offered a",
        "redis confirmed",
        "states written [b'a', b'gone']",
        "scheduled a",
    ]
    assert continuity.done("p0") == 8  # a restarted agent resumes after this batch


def test_an_offset_going_backwards_is_refused_before_anything_is_written() -> None:
    journal = Journal()
    continuity = Continuity(Position({}), Metrics())
    continuity.completed({"p0": 8})
    with pytest.raises(OffsetWentBack, match="p0"):
        asyncio.run(checkpoint(journal, continuity).commit(scored_batch(), {"p0": 5}))
    assert journal.steps == [] and continuity.done("p0") == 8


def test_a_partition_that_went_back_forgets_what_completed_so_its_new_offsets_are_stored() -> None:
    """A topic recreated or an offset reset: records from offset 0 again are processed (a `rewind`), not refused."""
    continuity = Continuity(Position({"p0": 0}), Metrics())
    continuity.completed({"p0": 8})
    continuity.guard.expected["p0"] = 8

    class Record:
        topic, partition, offset, key, value, timestamp, tp, generation_id = "t", 0, 0, b"a", b"{}", None, "p0", 0

    assert continuity.admit(Record())  # type: ignore[arg-type]
    asyncio.run(checkpoint(Journal(), continuity).commit(Batch(), {"p0": 1}))
    assert continuity.done("p0") == 1


def test_a_failing_step_stores_nothing_after_it() -> None:
    journal = Journal()

    async def broken(records: dict) -> None:
        raise ConnectionError("the changelog did not acknowledge")

    journal.write = broken  # type: ignore[method-assign]
    continuity = Continuity(Position({}), Metrics())
    with pytest.raises(ConnectionError):
        asyncio.run(checkpoint(journal, continuity).commit(scored_batch(), {"p0": 8}))
    assert "scheduled a" not in journal.steps and continuity.done("p0") is None
