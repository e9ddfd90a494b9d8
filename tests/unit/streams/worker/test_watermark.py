"""The event-time clock of the timer: the oldest of the partitions' newest event times, idle ones left out."""

from streams.worker.watermark import Watermark
from tests.factories import at


def test_no_clock_before_any_event() -> None:
    assert Watermark().now(0.0) is None


def test_the_clock_is_the_partition_that_has_got_least_far() -> None:
    clock = Watermark(idle_seconds=5)
    clock.saw("visits-0", at(70), 1.0)  # one record dated weeks ahead
    clock.saw("tickets-1", at(21), 1.5)
    assert clock.now(2.0) == at(21)


def test_a_partition_with_nothing_more_to_read_stops_holding_the_clock_back() -> None:
    clock = Watermark(idle_seconds=5)
    clock.saw("visits-0", at(40), 1.0)
    clock.saw("tickets-1", at(10), 1.0)
    clock.saw("visits-0", at(41), 5.0)
    assert clock.now(5.5) == at(10)
    assert clock.now(6.5) == at(41)  # tickets-1 idle for 5.5 s


def test_the_clock_never_goes_back() -> None:
    clock = Watermark(idle_seconds=5)
    clock.saw("visits-0", at(40), 1.0)
    assert clock.now(2.0) == at(40)
    clock.saw("tickets-1", at(3), 3.0)  # a late partition joins: the clock does not go back to day 3
    assert clock.now(3.0) == at(40)


def test_once_every_partition_is_quiet_the_clock_is_the_newest_event_time() -> None:
    """All that was sent has been read: a replay's last scores are as of its end."""
    clock = Watermark(idle_seconds=5)
    clock.saw("visits-0", at(70), 1.0)
    clock.saw("tickets-1", at(21), 1.0)
    assert clock.now(2.0) == at(21)
    assert clock.now(6.5) == at(70)
