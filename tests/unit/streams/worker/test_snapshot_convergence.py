"""Redis ends at every customer's last published update, whatever fails when (issue 27).

A batch offers its updates to Redis before it stores its states: once a
state is stored its events are duplicates, so their updates are never
offered again. When Redis does not take them in time, each stored state
keeps its customer's last update, and whoever restores that state offers it
again; a timer tick that fails takes nothing out of the schedule for good.
"""

from __future__ import annotations

import asyncio

import pytest

from scoring.records import decode_update, encode
from scoring.replay import replay
from streams.kafka.codecs import decode_state, encode_state
from streams.worker.timers import InactivityTimer
from tests.factories import at, purchase, visit
from tests.fakes import MODEL, TOPIC, CountingTable, Snapshots, make_scorer, messages


class LaggingRedis(Snapshots):
    """A Redis sink whose writes are confirmed only when the test says so."""

    def __init__(self, confirms: bool) -> None:
        super().__init__()
        self.confirms = confirms

    async def confirm(self, timeout: float) -> bool:
        return self.confirms


def stored(worker, customer: str):
    return decode_state(worker.table[customer.encode()])


def test_a_state_stored_while_redis_lags_keeps_its_last_update_until_redis_confirms_a_later_batch() -> None:
    redis = LaggingRedis(confirms=False)
    worker = make_scorer(kinds={TOPIC: "purchase"}, redis=redis)
    asyncio.run(worker.handle(messages([purchase("a", 0), purchase("b", 1), purchase("a", 2)])))
    published = {decode_update(v).customer_id: v for v in worker.outputs.scores.values}  # each one's last
    assert stored(worker, "a").unconfirmed_update == published["a"]
    assert stored(worker, "b").unconfirmed_update == published["b"]
    assert [u.customer_id for u in redis.offered] == ["a", "b", "a"]  # offered before the states were stored

    redis.confirms = True
    asyncio.run(worker.handle(messages([purchase("a", 3)], first=3)))
    assert stored(worker, "a").unconfirmed_update == b""
    assert stored(worker, "b").unconfirmed_update == published["b"]  # not in that batch: kept, offered on restore


def test_a_restored_state_whose_update_redis_may_lack_is_offered_again_by_its_new_owner() -> None:
    states = replay([purchase("a", 0), visit("a", 3), purchase("b", 1)], MODEL).states
    last = replay([purchase("a", 0), visit("a", 3)], MODEL).updates[-1]
    states["a"].unconfirmed_update = encode(last)
    table = CountingTable({cid.encode(): encode_state(s) for cid, s in states.items()})
    worker = make_scorer(table=table)
    timer = InactivityTimer(scorer=worker, partitions=4, owned=lambda p: True)
    asyncio.run(timer.rebuild(worker.due))
    assert [(u.customer_id, u.event_id, u.score) for u in worker.snapshots.offered] == [
        ("a", last.event_id, last.score)
    ]


def test_a_restored_state_of_a_partition_owned_elsewhere_is_left_to_its_owner() -> None:
    state = replay([purchase("a", 0)], MODEL)
    state.states["a"].unconfirmed_update = b"{}"
    worker = make_scorer(table=CountingTable({b"a": encode_state(state.states["a"])}))
    timer = InactivityTimer(scorer=worker, partitions=4, owned=lambda p: False)
    asyncio.run(timer.rebuild(worker.due))
    assert worker.snapshots.offered == []


@pytest.mark.parametrize("fails_at", ["publish", "commit"])
def test_a_tick_that_fails_part_way_leaves_every_customer_it_took_due_again(fails_at: str) -> None:
    template = replay([purchase("c", 0), purchase("c", 10)], MODEL).states["c"]
    table = CountingTable()
    worker = make_scorer(table=table)
    for n in range(5):
        template.customer_id = f"c{n}"
        table[f"c{n}".encode()] = encode_state(template)
        worker.due.schedule(f"c{n}", at(40))
    calls = []

    async def broken(*args, **kwargs) -> None:
        calls.append(1)
        if fails_at == "commit" or len(calls) == 3:
            raise ConnectionError("the broker did not acknowledge")

    setattr(worker if fails_at == "publish" else worker.checkpoint, fails_at, broken)
    timer = InactivityTimer(scorer=worker, partitions=4, owned=lambda p: True)
    assert asyncio.run(timer.tick(at(40))) == 0  # logged, not raised: a timer that raised would stop the worker
    assert sorted(worker.due.pop_due(at(40))) == [f"c{n}" for n in range(5)]
    assert worker.snapshots.offered == []
