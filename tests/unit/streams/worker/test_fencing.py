"""A worker that may have lost its partitions writes nothing: no output, no state, no changelog, no Redis snapshot.

Its view of the group (streams/worker/faust_compat.py FaustMembership) closes
the fence when the coordinator no longer knows it, when a rebalance is under
way, or when no heartbeat was confirmed within the session timeout on the
monotonic clock, which a process that was stopped sees at once on waking.
"""

from __future__ import annotations

import asyncio
import logging
import time
from types import SimpleNamespace

import pytest

from schemas.model_config import ScoringModel
from scoring.pipeline import rescore
from scoring.state import new_state
from streams.exceptions import Fenced
from streams.kafka.producer import OutputProducer
from streams.metrics import Metrics
from streams.settings import Settings
from streams.snapshot.writer import RedisSink
from streams.worker.faust_compat import FaustMembership, _ConfirmingCoordinator
from tests.factories import at, purchase
from tests.fakes import TOPIC, Position, make_scorer, messages


class Fence:
    """A fence a test closes and opens, and the group generation records must have been read in."""

    def __init__(self, reason: str | None = None, generation: int = 0) -> None:
        self.reason, self.generation = reason, generation

    def lost(self) -> str | None:
        return self.reason

    def current(self, generation: int | None) -> bool:
        return generation == self.generation


def coordinator(member_id: str = "m-1", generation: int = 7, confirmed_ago: float = 0.1) -> _ConfirmingCoordinator:
    """A coordinator as aiokafka leaves it, without starting it (no broker)."""
    c = _ConfirmingCoordinator.__new__(_ConfirmingCoordinator)
    c.member_id, c.generation, c.confirmed_at = member_id, generation, time.monotonic() - confirmed_ago
    return c


def rejoining(c: _ConfirmingCoordinator) -> _ConfirmingCoordinator:
    """As aiokafka leaves it after a heartbeat answered 'rebalance in progress' (request_rejoin, no broker)."""
    c._rejoin_needed_fut = asyncio.Future(loop=asyncio.new_event_loop())
    c.request_rejoin()
    return c


def membership(coord: object, assigned_in: int = 7) -> FaustMembership:
    app = SimpleNamespace(
        consumer=SimpleNamespace(_thread=SimpleNamespace(_consumer=SimpleNamespace(_coordinator=coord))),
        consumer_generation_id=assigned_in,
    )
    return FaustMembership(app, session_timeout=2.0)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("coord", "why"),
    [
        (lambda: None, "the consumer has not joined its group"),
        (lambda: coordinator(member_id=""), "the group coordinator no longer knows this worker"),
        (lambda: coordinator(generation=8), "the group is in generation 8, the partitions were assigned in 7"),
        (lambda: coordinator(generation=-1), "the group is in generation -1, the partitions were assigned in 7"),
        (
            lambda: coordinator(confirmed_ago=2.5),
            "no heartbeat confirmed for 2.5 s, longer than the session timeout (2 s)",
        ),
        (lambda: rejoining(coordinator()), "the group is rebalancing"),
    ],
    ids=["not-joined", "member-unknown", "rebalancing", "generation-reset", "silent-past-session", "rejoin-asked"],
)
def test_the_fence_closes_when_the_group_may_have_moved_on_without_this_worker(coord, why) -> None:
    assert membership(coord()).lost() == why


def test_the_fence_is_open_for_a_member_of_the_current_generation_heard_from_within_the_session() -> None:
    fence = membership(coordinator(confirmed_ago=1.5))
    assert fence.lost() is None
    assert fence.current(7) and not fence.current(6)


def test_a_heartbeat_the_coordinator_accepts_counts_from_when_it_was_sent() -> None:
    c = coordinator(confirmed_ago=100.0)
    asked: list[float] = []  # when the heartbeat went out, when its answer came

    async def accepted(self) -> bool:
        asked.append(time.monotonic())
        await asyncio.sleep(0.05)  # the round trip: that time passes is the point, not how much
        asked.append(time.monotonic())
        return True

    before = time.monotonic()
    original = _ConfirmingCoordinator.__mro__[1]._do_heartbeat
    try:
        _ConfirmingCoordinator.__mro__[1]._do_heartbeat = accepted
        assert asyncio.run(c._do_heartbeat())
    finally:
        _ConfirmingCoordinator.__mro__[1]._do_heartbeat = original
    sent, answered = asked
    assert before <= c.confirmed_at <= sent < answered  # the send, not the answer: the broker's clock started then


def test_a_batch_that_finds_the_fence_closed_writes_nothing_and_is_held_uncommitted(caplog) -> None:
    worker = make_scorer(kinds={TOPIC: "purchase"}, consumer=Position({"p0": 0}), fence=Fence("no heartbeat for 9 s"))
    batch = messages([purchase("a", 0), purchase("b", 1)])
    with caplog.at_level(logging.WARNING, logger="streams.worker.scorer"):
        asyncio.run(worker.handle(batch))
        asyncio.run(worker.handle(messages([purchase("c", 2)], first=2)))
    assert worker.outputs.scores.values == [] and worker.table == {} and worker.snapshots.offered == []
    assert all(m.refcount == 2 for m in batch)  # held: Faust never acknowledges them, so they are read again
    assert worker.metrics.fenced_batches._value.get() == 2
    assert [r.getMessage() for r in caplog.records].count(
        "this worker may have lost its partitions (no heartbeat for 9 s): it writes nothing until it has rejoined; "
        "2 records dropped uncommitted"
    ) == 1  # once per closing, not once per batch


def test_a_fence_that_closes_mid_batch_discards_its_outputs_and_the_records_are_expected_again() -> None:
    fence = Fence()
    worker = make_scorer(kinds={TOPIC: "purchase"}, consumer=Position({"p0": 0}), fence=fence)
    discarded = []
    worker.outputs.discard = lambda: discarded.append(True)  # type: ignore[method-assign]

    async def flush() -> None:
        fence.reason = "the group coordinator no longer knows this worker"
        raise Fenced(fence.reason)

    worker.outputs.flush = flush  # type: ignore[method-assign]
    batch = messages([purchase("a", 0), purchase("b", 1)])
    asyncio.run(worker.handle(batch))
    assert worker.table == {} and discarded == [True]
    assert worker.continuity.guard.expected["p0"] == 0  # a later record of p0 reveals the hole; nothing is lost
    assert worker.metrics.batch_failures._value.get() == 0 and worker.metrics.fenced_batches._value.get() == 1


def test_records_read_before_the_last_rebalance_are_left_to_the_partitions_current_owner() -> None:
    worker = make_scorer(kinds={TOPIC: "purchase"}, fence=Fence(generation=4))
    stale, fresh = messages([purchase("old", 0)]), messages([purchase("new", 1)], first=1)
    stale[0].generation_id, fresh[0].generation_id = 3, 4
    asyncio.run(worker.handle([*stale, *fresh]))
    assert [b'"new"' in v for v in worker.outputs.scores.values] == [True]
    assert stale[0].refcount == 2 and b"old" not in worker.table


def test_the_worker_says_once_when_it_may_write_again(caplog) -> None:
    fence = Fence("rebalancing")
    worker = make_scorer(kinds={TOPIC: "purchase"}, fence=fence)
    asyncio.run(worker.handle(messages([purchase("a", 0)])))
    fence.reason = None
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="streams.worker.scorer"):
        asyncio.run(worker.handle(messages([purchase("a", 1)], first=1)))
        asyncio.run(worker.handle(messages([purchase("a", 2)], first=2)))
    assert [r.getMessage() for r in caplog.records] == [
        "this worker may write again: it rejoined its group (fenced because rebalancing)"
    ]


def test_the_output_producer_refuses_to_hand_a_batch_to_the_network_while_fenced() -> None:
    producer = OutputProducer(Settings(), Fence("no heartbeat for 3.0 s"))
    with pytest.raises(Fenced, match="no heartbeat for 3.0 s"):
        asyncio.run(producer._send(None, ("t", 0), None))  # type: ignore[arg-type]


def test_a_fenced_worker_flushes_nothing_to_redis_and_keeps_its_snapshots_queued() -> None:
    fence = Fence("rebalancing")
    sink = RedisSink("redis://127.0.0.1:1/0", "hs", Metrics(), fence=fence)  # nothing listens there
    sink.offer(rescore(new_state("a"), ScoringModel(), at(0)).update)

    async def both() -> tuple[int, bool]:
        written, confirmed = await sink.flush(), await sink.confirm(1.0)
        await sink.close()
        return written, confirmed

    assert asyncio.run(both()) == (0, False)
    assert sink.backlog == 1


def test_a_timer_tick_of_a_fenced_worker_takes_no_customer_from_the_schedule() -> None:
    from streams.worker.timers import InactivityTimer

    worker = make_scorer(fence=Fence("rebalancing"))
    worker.due.schedule("a", at(0))
    timer = InactivityTimer(scorer=worker, partitions=4, owned=lambda p: True)
    assert asyncio.run(timer.tick(at(100))) == 0
    assert worker.due.pop_due(at(100)) == ["a"]


def test_a_held_batch_is_taken_off_the_records_a_rebalance_waits_for_and_no_record_is_blamed(caplog) -> None:
    """The chaos run: a fenced zombie waited on its own held records and never rejoined; valid records were logged
    as failures and dead-lettered when the fence closed while one was sent."""
    fence = Fence()
    worker = make_scorer(kinds={TOPIC: "purchase"}, consumer=Position({"p0": 0}), fence=fence)

    async def send(*, key, value) -> None:
        fence.reason = "the group coordinator no longer knows this worker"
        raise Fenced(fence.reason)

    worker.outputs.scores.send = send  # type: ignore[method-assign]
    batch = messages([purchase("a", 0), purchase("b", 1)])
    with caplog.at_level(logging.INFO, logger="streams.worker.scorer"):
        asyncio.run(worker.handle(batch))
    assert worker.continuity.consumer.released == batch  # Faust stops waiting for them; they stay unacknowledged
    assert worker.outputs.deadletter.values == [] and "could not be handled" not in caplog.text
