"""Offset continuity: each partition's records are processed once each, in offset order, with no hole."""

from streams.offsets import OffsetGuard


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
