"""Two batches overlap: one is scored while the broker acknowledges the one before.

The order that makes a crash safe must hold for each batch all the same:
outputs acknowledged, then states stored, then records released for offset commit.
"""

import asyncio

import pytest

from schemas.outputs import ScoreUpdate
from streams.agents import Outputs
from streams.codecs import decode_state
from tests.factories import at, purchase, visit
from tests.unit.test_erasure import record
from tests.unit.test_timer import CountingTable, make_scorer, make_timer

PURCHASES = "customer.purchases"


class Broker:
    """Output topics whose acknowledgements come when the test says so."""

    def __init__(self) -> None:
        self.values: list[bytes] = []
        self.deliveries: list[asyncio.Future] = []

    async def send(self, key: bytes, value: bytes) -> asyncio.Future:
        self.values.append(value)
        self.deliveries.append(delivery := asyncio.get_running_loop().create_future())
        return delivery

    def acknowledge(self, error: Exception | None = None) -> None:
        for delivery in self.deliveries:
            if not delivery.done():
                delivery.set_exception(error) if error else delivery.set_result(None)


class Held:
    """Which input records (by offset) were held back from offset commit, and which released."""

    def __init__(self) -> None:
        self.held: list[int] = []
        self.released: list[int] = []

    def hold(self, message) -> None:
        self.held.append(message.offset)

    def release(self, message) -> None:
        self.released.append(message.offset)


def scorer_on(broker: Broker, held: Held, table: CountingTable, **fields):
    outputs = Outputs(scores=broker, alerts=broker, deadletter=broker)
    return make_scorer(table=table, outputs=outputs, acks=held, kinds={PURCHASES: "purchase", "customer.visits": "visit"},
                       max_message_bytes=4096, **fields)  # fmt: skip


def bought(day: float, offset: int):
    return record(PURCHASES, "c-1", purchase("c-1", day, amount=10.0).model_dump_json(), offset)


async def until(condition, turns: int = 50) -> None:
    for _ in range(turns):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("never happened")


def test_the_next_batch_is_scored_from_the_unsettled_one_and_each_settles_in_order() -> None:
    broker, held, table = Broker(), Held(), CountingTable()
    scorer = scorer_on(broker, held, table)

    async def two_batches() -> None:
        await scorer.handle_batch([bought(1, 0)])  # handed off at once: nothing before it to wait for
        assert b"c-1" not in table and held.held == [0] and held.released == []

        second = asyncio.ensure_future(scorer.handle_batch([bought(2, 1)]))
        await until(lambda: len(broker.values) == 2)  # scored while the first is unacknowledged
        first, then = (ScoreUpdate.model_validate_json(v) for v in broker.values)
        assert then.previous_score == first.score  # built on the first batch's state, not on nothing
        assert not second.done()  # it is handed off only once the first has settled

        broker.acknowledge()  # the first batch's outputs only
        await second
        assert decode_state(table[b"c-1"]).purchase_count == 1 and held.released == [0]

        broker.acknowledge()
        await scorer.settled()
        assert decode_state(table[b"c-1"]).purchase_count == 2 and held.released == [0, 1]

    asyncio.run(two_batches())


def test_a_batch_that_cannot_settle_fails_the_next_and_its_records_stay_held() -> None:
    broker, held, table = Broker(), Held(), CountingTable()
    scorer = scorer_on(broker, held, table)

    async def refused() -> None:
        await scorer.handle_batch([bought(1, 0)])
        broker.acknowledge(ConnectionError("broker gone"))
        with pytest.raises(ConnectionError):
            await scorer.handle_batch([bought(2, 1)])

    asyncio.run(refused())
    assert b"c-1" not in table and held.released == []  # scored again after a restart, from the last commit


def test_a_timer_tick_waits_for_the_unsettled_batch_and_keeps_its_events() -> None:
    """Were the tick to read the table before the batch settled, its write would erase the batch's event."""
    timer, table, _ = make_timer(customers=3, due=3)
    broker, held = Broker(), Held()
    timer.scorer = scorer = scorer_on(broker, held, table, due=timer.scorer.due)
    visit_day_30 = record("customer.visits", "cust-0", visit("cust-0", 30).model_dump_json(), 0)

    async def batch_then_tick() -> int:
        await scorer.handle_batch([visit_day_30])
        tick = asyncio.ensure_future(timer.tick(at(40)))
        await asyncio.sleep(0.01)
        assert not tick.done()  # waiting for the batch's acknowledgements
        broker.acknowledge()
        await until(lambda: len(broker.deliveries) > 1)  # the tick's own outputs
        broker.acknowledge()
        return await tick

    assert asyncio.run(batch_then_tick()) == 3
    state = decode_state(table[b"cust-0"])
    assert state.event_count == 4 and state.last_visit_at == at(30)  # the template's three events and the visit
