"""The timer's schedule: in memory (DueQueue) and on disk (RocksDueQueue) they answer alike."""

import random
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.schedule import DueQueue, Schedule
from streams.state.due_store import RocksDueQueue, time_key
from tests.factories import at
from tests.samples import SMALL_DB


def test_customers_come_out_when_due_earliest_first(queue: Schedule) -> None:
    queue.schedule("late", at(3))
    queue.schedule("early", at(1))
    queue.schedule("middle", at(2))
    assert len(queue) == 3
    assert queue.pop_due(at(0)) == []
    assert queue.pop_due(at(2)) == ["early", "middle"]
    assert len(queue) == 1
    assert queue.pop_due(at(10)) == ["late"]
    assert len(queue) == 0 and queue.pop_due(at(10)) == []


def test_rescheduling_replaces_the_earlier_time(queue: Schedule) -> None:
    queue.schedule("c", at(1))
    queue.schedule("c", at(5))
    assert len(queue) == 1
    assert queue.pop_due(at(4)) == []
    assert queue.pop_due(at(5)) == ["c"]


def test_none_forgets_the_customer(queue: Schedule) -> None:
    queue.schedule("c", at(1))
    queue.schedule("c", None)
    queue.schedule("never-seen", None)
    assert len(queue) == 0 and queue.pop_due(at(9)) == []


def test_the_limit_leaves_the_rest_for_the_next_pop(queue: Schedule) -> None:
    for n in range(5):
        queue.schedule(f"c{n}", at(1))  # all due at the same instant
    first = queue.pop_due(at(1), limit=2)
    rest = queue.pop_due(at(1))
    assert len(first) == 2 and sorted(first + rest) == [f"c{n}" for n in range(5)]


def test_a_customer_scheduled_before_the_last_pop_is_still_found(queue: Schedule) -> None:
    """Event time can put a review behind what the timer already passed (a late event): it is due at once."""
    queue.schedule("c", at(10))
    assert queue.pop_due(at(10)) == ["c"]
    queue.schedule("late", at(3))
    assert queue.pop_due(at(10)) == ["late"]


def test_reset_forgets_everyone(queue: Schedule) -> None:
    queue.schedule("a", at(1))
    queue.schedule("b", at(2))
    queue.reset()
    assert len(queue) == 0 and queue.pop_due(at(9)) == []
    queue.schedule("b", at(3))
    assert queue.pop_due(at(9)) == ["b"]


@pytest.mark.parametrize(
    "earlier, later",
    [
        (at(0), at(0) + timedelta(microseconds=1)),
        (at(1), at(400)),
        (datetime.fromisoformat("1999-12-31T23:59:59+00:00"), at(0)),
        (datetime.fromisoformat("0001-01-01T00:00:00+00:00"), datetime.fromisoformat("1969-12-31T23:59:59+00:00")),
        (datetime.fromisoformat("1970-01-01T00:00:00+00:00"), datetime.fromisoformat("9999-12-31T23:59:59+00:00")),
    ],
)
def test_time_keys_sort_as_the_times_do(earlier: datetime, later: datetime) -> None:
    """Any aware time an event may carry has a key, before 1970 too (an old event must not crash the worker)."""
    assert time_key(earlier) < time_key(later)


operations = st.lists(
    st.tuples(
        st.sampled_from(["schedule", "forget", "pop"]),
        st.integers(0, 20),  # customer
        st.integers(0, 60),  # hours: reviews and pops interleave, late ones included
        st.one_of(st.none(), st.integers(1, 4)),  # pop limit
    ),
    max_size=60,
)


@settings(max_examples=60)
@given(operations)
def test_the_disk_queue_answers_every_sequence_as_the_memory_queue_does(tmp_path_factory, ops) -> None:
    memory = DueQueue()
    disk = RocksDueQueue(tmp_path_factory.mktemp("due") / "db", SMALL_DB)
    hour = timedelta(hours=1)
    for op, customer, hours, limit in ops:
        when = at(0) + hours * hour
        if op == "schedule":
            memory.schedule(f"c{customer}", when), disk.schedule(f"c{customer}", when)
        elif op == "forget":
            memory.schedule(f"c{customer}", None), disk.schedule(f"c{customer}", None)
        else:
            # Same customers, same order up to ties in time (the heap breaks ties by id, RocksDB by id bytes).
            assert disk.pop_due(when, limit) == memory.pop_due(when, limit)
        assert len(disk) == len(memory)
    disk.close()


def test_a_large_schedule_pops_in_time_order(tmp_path) -> None:
    disk = RocksDueQueue(tmp_path / "due", SMALL_DB)
    rng = random.Random(8)
    times = {f"cust-{n}": at(0) + timedelta(minutes=rng.randrange(30 * 24 * 60)) for n in range(20_000)}
    for customer, when in times.items():
        disk.schedule(customer, when)
    popped = disk.pop_due(at(15), limit=None)
    assert popped == sorted((c for c, t in times.items() if t <= at(15)), key=lambda c: (times[c], c))
    assert len(disk) == 20_000 - len(popped)
