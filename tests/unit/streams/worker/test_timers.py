"""The inactivity timer: each tick touches the customers due, not the customer base."""

import asyncio
from types import SimpleNamespace

from scoring.replay import replay
from scoring.schedule import DueQueue, Schedule
from streams.kafka.codecs import decode_state, encode_state
from streams.worker.timers import REBUILD_CHUNK, InactivityTimer
from tests.factories import at, purchase, us, visit
from tests.fakes import MODEL, CountingTable, make_scorer


def make_timer(customers: int, due: int, queue: Schedule | None = None, **scorer_fields):
    """`customers` customers (last scored at day 20), of whom `due` are queued for day 40 and the rest a week later."""
    template = replay([purchase("c", 0), purchase("c", 10), visit("c", 20)], MODEL).states["c"]
    table, queue = CountingTable(), queue if queue is not None else DueQueue()
    for n in range(customers):
        cid = f"cust-{n}"
        template.customer_id = cid
        table[cid.encode()] = encode_state(template)
        queue.schedule(cid, at(40) if n < due else at(47))
    scorer = make_scorer(table=table, due=queue, **scorer_fields)
    return InactivityTimer(scorer=scorer, partitions=4, owned=lambda p: True), table, scorer.outputs


def test_a_tick_touches_only_the_customers_due(queue: Schedule) -> None:
    timer, table, outputs = make_timer(customers=20_000, due=25, queue=queue)
    touched = asyncio.run(timer.tick(at(40)))
    assert touched == 25 and table.reads == 25
    assert len(outputs.scores.values) == 25  # each one's score moved with 20 days of silence
    assert asyncio.run(timer.tick(at(40))) == 0 and table.reads == 25


def test_the_work_grows_with_the_number_due_not_with_all_customers() -> None:
    small, _, _ = make_timer(customers=1_000, due=10)
    large, large_table, _ = make_timer(customers=20_000, due=10)
    assert asyncio.run(small.tick(at(40))) == asyncio.run(large.tick(at(40))) == 10
    assert large_table.reads == 10


def test_rescored_customers_are_written_back_and_scheduled_again(queue: Schedule) -> None:
    timer, table, outputs = make_timer(customers=3, due=1, queue=queue)
    asyncio.run(timer.tick(at(40)))
    state = decode_state(table[b"cust-0"])
    assert state.last_scored_at == us(40) and state.last_score < 100
    assert len(timer.scorer.due) == 3  # cust-0 again at day 41, the others still at day 47
    assert timer.scorer.due.pop_due(at(41)) == ["cust-0"]


def test_customers_of_partitions_owned_elsewhere_are_skipped() -> None:
    timer, table, outputs = make_timer(customers=50, due=50)
    timer.owned = lambda partition: partition == 0
    asyncio.run(timer.tick(at(40)))
    assert 0 < len(outputs.scores.values) < 50


def test_the_schedule_is_rebuilt_from_the_table_while_events_are_scored(queue: Schedule) -> None:
    """After a recovery the timer rebuilds its queue in chunks; the stream keeps scoring (and scheduling) meanwhile."""
    customers = 3 * REBUILD_CHUNK + 7
    timer, _, _ = make_timer(customers, due=0, queue=queue, kinds={"customer.visits": "visit"}, max_message_bytes=4096)
    scorer = timer.scorer
    event = SimpleNamespace(
        topic="customer.visits",
        partition=0,
        offset=0,
        key=b"new",
        timestamp=None,
        value=visit("new", 25).model_dump_json().encode(),
        tp=("customer.visits", 0),
    )

    async def rebuild_while_scoring() -> tuple[int, int]:
        rebuilding = timer.start_rebuild()
        await asyncio.sleep(0)  # the first chunk
        assert not rebuilding.done()
        await scorer.handle_batch([event])  # a new customer, scored between chunks, goes into the queue being rebuilt
        return await rebuilding, len(scorer.due)

    scheduled, queued = asyncio.run(rebuild_while_scoring())
    assert scheduled == queued == customers + 1
    # Reviews a day after each last score: the stored customers' (day 20) and the new one's (day 25).
    assert sorted(scorer.due.pop_due(at(21))) == sorted(f"cust-{n}" for n in range(customers))
    assert scorer.due.pop_due(at(26)) == ["new"]
