"""Offset continuity: each partition's records are processed once each, in offset order, with no hole."""

import asyncio

from schemas.outputs import ScoreUpdate
from streams.worker.continuity import QUIET_CHECKS
from streams.worker.offsets import OffsetGuard
from tests.factories import purchase
from tests.fakes import TOPIC, Position, make_scorer, messages


def test_records_in_sequence_from_the_committed_offset_are_processed() -> None:
    guard = OffsetGuard()
    assert [guard.admit("p0", offset, committed=10) for offset in (10, 11, 12)] == ["process"] * 3


def test_a_partition_never_committed_starts_at_its_first_record() -> None:
    guard = OffsetGuard()
    assert guard.admit("p0", 0, committed=None) == "process"
    assert guard.admit("p0", 1, committed=None) == "process"


def test_a_record_after_a_hole_asks_for_a_seek_back_and_is_not_processed() -> None:
    guard = OffsetGuard()
    guard.admit("p0", 10, committed=10)
    assert guard.admit("p0", 35, committed=10) == "hole"
    assert guard.expected["p0"] == 11  # where to seek: the first record not yet processed
    assert guard.admit("p0", 36, committed=10) == "seek"  # stale fetched records keep asking, quietly
    assert guard.holes == 1


def test_the_records_fetched_again_are_processed() -> None:
    guard = OffsetGuard()
    guard.admit("p0", 10, committed=10)
    guard.admit("p0", 35, committed=10)
    assert [guard.admit("p0", offset, committed=10) for offset in range(11, 36)] == ["process"] * 25


def test_a_partition_that_went_back_is_processed_from_where_it_now_is() -> None:
    """After broker data loss the topic is recreated and offsets restart at 0: nothing may be dropped."""
    guard = OffsetGuard()
    for offset in range(10, 15):
        guard.admit("p0", offset, committed=10)
    assert guard.admit("p0", 0, committed=10) == "rewind"
    assert [guard.admit("p0", offset, committed=10) for offset in (1, 2, 3)] == ["process"] * 3
    assert guard.admit("p0", 9, committed=10) == "hole"  # and holes are still found after it


def test_partitions_are_independent() -> None:
    guard = OffsetGuard()
    guard.admit("p0", 10, committed=10)
    assert guard.admit("p1", 500, committed=500) == "process"
    assert guard.admit("p0", 11, committed=10) == "process"


def test_after_a_rebalance_it_starts_again_from_the_committed_offsets() -> None:
    guard = OffsetGuard()
    guard.admit("p0", 10, committed=10)
    guard.reset()
    assert guard.admit("p0", 40, committed=40) == "process"


def test_a_second_hole_after_the_first_is_filled_is_reported_again() -> None:
    guard = OffsetGuard()
    guard.admit("p0", 10, committed=10)
    guard.admit("p0", 12, committed=10)
    guard.admit("p0", 11, committed=10)
    guard.admit("p0", 12, committed=10)
    assert guard.admit("p0", 20, committed=10) == "hole"
    assert guard.holes == 2


def test_a_partition_read_past_its_next_record_is_behind() -> None:
    """The tail case: records after offset 11 were fetched and dropped, and nothing later reveals the hole."""
    guard = OffsetGuard()
    guard.admit("p0", 10, committed=10)
    guard.admit("p1", 5, committed=5)
    committed = {"p0": 10, "p1": 5, "p2": 7}.get
    assert guard.behind({"p0": 15, "p1": 6, "p2": 7}, committed) == {"p0": 11}
    # A partition with no record processed since the assignment is measured from its committed offset.
    assert guard.behind({"p2": 9}, committed) == {"p2": 7}


def test_the_scorer_seeks_back_a_stalled_tail_only_once_the_stream_is_quiet() -> None:
    consumer = Position({"p0": 10})
    scorer = make_scorer(consumer=consumer)
    scorer.continuity.guard.admit("p0", 10, committed=10)
    positions = {"p0": 14}

    async def checks(delivering: bool) -> list[int]:
        found = []
        for _ in range(QUIET_CHECKS):
            if delivering:
                scorer.delivered += 1  # a record arrived since the last check: maybe the rest are on their way
            found.append(await scorer.recover_tails(positions))
        return found

    assert asyncio.run(checks(delivering=True)) == [0] * QUIET_CHECKS and consumer.seeks == []
    assert asyncio.run(checks(delivering=False))[-1] == 1
    assert consumer.seeks == [("p0", 11)]
    assert scorer.metrics.offset_holes._value.get() == 1


def test_a_partition_read_to_its_end_with_no_record_arriving_and_nothing_committed_is_read_again() -> None:
    """Seen after a kill -9 on the local broker: the restarted consumer read every partition to its end, no record
    reached the agent, and nothing had been committed; the records must be fetched again from the first one."""
    consumer = Position({}, first={"p0": 0, "p1": 5})
    scorer = make_scorer(consumer=consumer)

    async def quiet_checks() -> list[int]:
        return [await scorer.recover_tails({"p0": 1270, "p1": 5}) for _ in range(QUIET_CHECKS)]

    assert asyncio.run(quiet_checks())[-1] == 1
    assert consumer.seeks == [("p0", 0)]  # p1 holds nothing past its first offset: nothing to fetch again


def scored(worker) -> list[str]:
    return [ScoreUpdate.model_validate_json(v).customer_id for v in worker.outputs.scores.values]


async def handled(worker, records) -> None:
    """Handle a batch and let the seeks it started in the background run."""
    await worker.handle(records)
    await asyncio.gather(*worker.continuity.seeks)


def test_a_first_record_read_after_the_partitions_first_with_nothing_committed_is_not_trusted(caplog) -> None:
    """Issue 27: records 0-9 of partitions published during a rebalance after a kill -9 were never delivered.

    The partition's start is settled before its first record is handled: had record 10 been handled, this
    worker's own commit would have said the partition starts at 11, and records 0-9 were lost.
    """
    position = Position(committed={}, first={"p0": 0, "p1": 0})
    worker = make_scorer(kinds={TOPIC: "purchase"}, consumer=position)
    late = messages([purchase("a", 1)], tp="p0", first=10)
    asyncio.run(handled(worker, late + messages([purchase("b", 1)], tp="p1")))
    assert scored(worker) == ["b"]  # record 10 waits for records 0-9
    assert late[0].refcount == 2  # held: never acknowledged, so never committed
    assert worker.continuity.done("p0") is None and worker.continuity.done("p1") == 1
    assert position.seeks == [("p0", 0)]
    assert "offset 10 of p0 arrived before 0..9: fetching those again" in caplog.text
    asyncio.run(handled(worker, messages([purchase("z", 1)], tp="p0", first=0)))
    assert scored(worker) == ["b", "z"]  # fetched again from the start, in order


def test_a_first_record_is_anchored_at_the_groups_commit_when_faust_has_not_seen_it_yet() -> None:
    """Faust's copy of the committed offsets can lag a rebalance; reading from the partition's start would then
    apply again events the dedup memory may have forgotten, so the group's commit decides where it starts."""
    position = Position(committed={}, first={"p0": 0}, group={"p0": 6})
    worker = make_scorer(kinds={TOPIC: "purchase"}, consumer=position)
    asyncio.run(handled(worker, messages([purchase("a", 1)], tp="p0", first=10)))
    assert position.seeks == [("p0", 6)]  # records 6-9 fetched again, not 0-9
    assert worker.continuity.guard.expected["p0"] == 6


def test_a_partition_whose_start_the_broker_does_not_say_is_fetched_again_unsettled() -> None:
    """No answer from the broker: the batch fails and is fetched again, and the start is asked again then."""

    class Silent(Position):
        async def earliest(self, tps: list) -> dict:
            return {}

    position = Silent(committed={})
    worker = make_scorer(kinds={TOPIC: "purchase"}, consumer=position)
    records = messages([purchase("a", 1)], tp="p0", first=10)
    asyncio.run(handled(worker, records))
    assert scored(worker) == [] and records[0].refcount == 2
    assert position.seeks == [("p0", 10)]  # the batch again, with nothing settled from it
    assert "p0" not in worker.continuity.guard.expected
