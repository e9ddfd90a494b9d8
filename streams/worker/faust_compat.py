"""Every use of Faust's internals: the faster delivery loop, the fetch wait, what the worker reads of the consumer
and of the in-memory store.

Faust's public API does not offer these, so they are kept here, in one
place, and tests/unit/streams/worker/test_faust_compat.py fails when the pinned
faust-streaming version changes or an attribute used here disappears. (The
RocksDB store in streams/state/stores.py overrides Faust's store methods:
that is Faust's extension interface for stores; the same test covers it.)

Delivery. Faust's fetch loop hands each record to the streams through
`wait_first(callback(record), suspend_flow.wait())`: two tasks and an
`asyncio.wait` per record, so that a delivery blocked on a full stream
queue is abandoned when a rebalance suspends the flow. Most deliveries
cannot block at all: the flow is running, the producer buffer has room and
every queue the record goes to has room. `_Consumer._drain_messages`
delivers those with a plain await, and every other record the stock way;
the check and the delivery run without yielding to the event loop between
them, so nothing can fill a queue in between. Measured: Faust's input path
alone (benchmarks/perf/empty_agent.py) about twice as fast.

Undecodable batches. aiokafka decodes (decompresses, checks the CRC of)
each record batch in its fetcher, lazily, as records are handed out; a
batch it cannot decode raises out of `getmany`, drops the records drained
from other partitions in the same call, and Faust's fetch loop crashes:
every partition of the worker stops, and a restarted worker meets the same
batch again. `_TolerantPartitionRecords` decodes each batch of the worker's
input topics before handing out its first record and puts a failure in the
batch's place as one record whose value is an UndecodableBatch
(streams/kafka/undecodable.py): the scorer dead-letters the range and the
partition goes on. `_KeptMemoryRecords` keeps each batch's raw bytes for
that dead letter. Other topics (the tables' changelogs) fail as before.

Membership. Fencing (streams/fencing.py) needs to know when the group last
confirmed this member; aiokafka keeps that in a local variable of its
heartbeat loop. `_ConfirmingCoordinator` records it: the monotonic time a
heartbeat the coordinator accepted was sent, or a join completed.
`FaustMembership` reads it, with the coordinator's member id and generation
against the generation Faust assigned the partitions in; the same time says
whether the broker is reachable (`/readyz`) and when an outage ended.

Broker outages. aiokafka logs each failed attempt to reach a broker, every
retry; `BROKER_UNREACHABLE` names those records (logger, message template)
for streams/worker/broker_log.py, which thins them out.

Recovery. Faust restores a table partition by reading its changelog from
the offset the local copy has up to the end the broker reports, and stops
the worker (ConsistencyError) when the local offset is past that end.
`_Recovery` reads the ends as they are (`App.end_probe`,
streams/kafka/partition_ends.py, for a broker that reports less), reads a
partition whose local copy is past the end again from its start (a
truncated log, a replaced broker), and never seeks below offset 0.

Faust builds the worker's consumer with `fetch_max_wait_ms=1500`, hard-coded.
A Kafka broker answers a fetch as soon as records arrive (long polling), so
on Apache Kafka the wait only bounds an idle poll and costs no latency. The
local broker (Tansu) answers only when the wait is over: measured here at
100 events/s, publish-to-ScoreUpdate latency was p50 458 ms / p99 814 ms
with Faust's 1,500 ms and p50 37 ms / p99 72 ms with 10 ms. The local
stack still keeps Faust's wait: with 10 ms, a worker taking over a stopped
worker's partitions on Tansu was left with holes it never filled in 4 of
10 runs of tests/integration/test_rebalance.py (0 of 9 with 1,500 ms).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import aiokafka
import aiokafka.errors
import faust
from aiokafka.consumer import consumer as aiokafka_consumer
from aiokafka.consumer import fetcher as aiokafka_fetcher
from aiokafka.consumer.group_coordinator import GroupCoordinator
from aiokafka.protocol.group import JoinGroupRequest
from aiokafka.record.memory_records import MemoryRecords
from aiokafka.structs import ConsumerRecord
from faust.stores import memory as faust_memory
from faust.tables import TableManager
from faust.tables.recovery import Recovery
from faust.transport.drivers import aiokafka as driver
from faust.types import TP, TransportT

from streams.kafka.partition_offsets import PartitionOffsets
from streams.kafka.undecodable import UndecodableBatch
from streams.state.stores import forget_partition

logger = logging.getLogger(__name__)

FAUST_FETCH_MAX_WAIT_MS = 1500
SHUTDOWN_TIMEOUT_SECONDS = 30.0
# Of the shutdown timeout, the part records under way may take to be acknowledged: the rest is left for flushing the
# outputs and closing the clients, all within the timeout (streams/worker/process.py).
WAIT_EMPTY_SHARE = 0.5


class _KeptMemoryRecords:
    """aiokafka's MemoryRecords (one fetch response's bytes for a partition), keeping each batch's raw bytes."""

    def __init__(self, raw: bytes) -> None:
        self._view = memoryview(raw)
        self._records = MemoryRecords(raw)
        self._position = 0
        self.last_raw = self._view[:0]  # the bytes of the batch `next_batch` returned last

    def size_in_bytes(self) -> int:
        return self._records.size_in_bytes()

    def has_next(self) -> bool:
        return self._records.has_next()

    def next_batch(self) -> Any:
        batch = self._records.next_batch()
        if batch is not None:
            # Every batch format starts with an int64 offset and an int32 length of what follows it.
            start = self._position
            self._position += 12 + int.from_bytes(self._view[start + 8 : start + 12], "big")
            self.last_raw = self._view[start : self._position]
        return batch


class _TolerantPartitionRecords(aiokafka_fetcher.PartitionRecords):
    """One partition's fetched records (aiokafka's PartitionRecords); a batch of `tolerant_topics` that cannot be
    decoded becomes one UndecodableBatch record instead of an exception."""

    tolerant_topics: set[str] = set()  # the input topics of every worker app built in this process

    def _unpack_records(self) -> Any:  # pragma: no cover - run by every integration test
        """aiokafka's `_unpack_records`, each batch decoded whole before its first record is handed out."""
        tp = self._tp
        records = self._records
        tolerant = tp.topic in self.tolerant_topics
        while records.has_next():
            next_batch = records.next_batch()
            try:
                if self._check_crcs and not next_batch.validate_crc():
                    raise aiokafka.errors.CorruptRecordException(f"Invalid CRC - {tp}")
                if self._isolation_level == aiokafka_fetcher.READ_COMMITTED and next_batch.producer_id is not None:
                    self._consume_aborted_up_to(next_batch.base_offset)
                    if next_batch.is_control_batch and self._contains_abort_marker(next_batch):
                        self._aborted_producers.discard(next_batch.producer_id)
                    if next_batch.is_transactional and next_batch.producer_id in self._aborted_producers:
                        self.next_fetch_offset = next_batch.next_offset
                        continue
                if next_batch.is_control_batch:
                    self.next_fetch_offset = next_batch.next_offset
                    continue
                decoded = [self._consumer_record(tp, r) for r in next_batch if r.offset >= self.next_fetch_offset]
            except Exception as exc:
                if not tolerant or next_batch.next_offset <= self.next_fetch_offset:
                    raise
                yield self._undecodable(next_batch, exc)
                self.next_fetch_offset = next_batch.next_offset
                continue
            for record in decoded:
                self.next_fetch_offset = record.offset + 1
                yield record
            self.next_fetch_offset = next_batch.next_offset

    def _undecodable(self, batch: Any, exc: Exception) -> ConsumerRecord:
        """The record in an undecodable batch's place: offset its last, so a commit after it moves past all of it."""
        first, last = max(batch.base_offset, self.next_fetch_offset), batch.next_offset - 1
        raw = self._records.last_raw if isinstance(self._records, _KeptMemoryRecords) else b""
        text = str(exc)  # aiokafka's errors name their class already
        reason = text if text.startswith(type(exc).__name__) else f"{type(exc).__name__}: {text}"
        value = UndecodableBatch(bytes(raw), first=first, last=last, reason=reason)
        return ConsumerRecord(
            self._tp.topic,
            self._tp.partition,
            last,
            batch.max_timestamp,
            batch.timestamp_type,
            None,
            value,
            None,
            -1,
            len(value),
            [],
        )


# What aiokafka logs, by logger and message template, each time it fails to reach a broker: the records
# streams/worker/broker_log.py thins out while the broker is gone. Each repeats every retry (about 100 a second in all).
BROKER_UNREACHABLE = frozenset(
    {
        ("aiokafka", 'Unable connect to "%s:%s": %s'),
        ("aiokafka", 'Unable to request metadata from "%s:%s": %s'),
        ("aiokafka", "Unable to request metadata from node with id %s: %r"),
        ("aiokafka", "Unable to update metadata from %s"),
        ("aiokafka", "Unable connect to node with id %s: %s"),
        ("aiokafka.consumer.fetcher", "Failed fetch messages from %s: %s"),
        ("aiokafka.consumer.fetcher", "Failed fetch offsets from %s: %s"),
        ("aiokafka.consumer.group_coordinator", "Group Coordinator Request failed: %s"),
        ("aiokafka.consumer.group_coordinator", "Error sending %s to node %s [%s] -- marking coordinator dead"),
        ("aiokafka.consumer.group_coordinator", "Marking the coordinator dead (node %s)for group %s."),
        ("aiokafka.consumer.group_coordinator", "Heartbeat send request failed: %s. Will retry."),
        ("aiokafka.consumer.group_coordinator", "Heartbeat session expired - marking coordinator dead"),
        ("aiokafka.producer.sender", "Cannot send %r to %s: %r"),
        ("aiokafka.producer.sender", "Could not send %r: %r"),
        ("aiokafka.producer.sender", "Got error produce response: %s"),
    }
)


class _ConfirmingCoordinator(GroupCoordinator):
    """aiokafka's group coordinator, remembering when the group last confirmed this member (time.monotonic) and
    whether it asked the member to rejoin (a rebalance under way, or the member forgotten)."""

    confirmed_at: float = -math.inf
    rejoining: bool = False

    def request_rejoin(self) -> None:
        self.rejoining = True
        super().request_rejoin()

    async def _do_heartbeat(self) -> bool:
        sent = time.monotonic()  # the broker's session clock restarted no later than this
        accepted: bool = await super()._do_heartbeat()
        if accepted:
            self.confirmed_at = sent
        return accepted

    async def _on_join_complete(self, *args: Any) -> None:
        self.confirmed_at, self.rejoining = time.monotonic(), False
        await super()._on_join_complete(*args)


def prepare_aiokafka(topics: Iterable[str]) -> None:
    """Install the worker's changes to aiokafka for every consumer of this process.

    Batches of `topics` that cannot be decoded arrive as UndecodableBatch
    records, and group coordinators record when the group confirmed them.
    """
    _TolerantPartitionRecords.tolerant_topics.update(topics)
    # The fetcher builds both, and the consumer its coordinator, by their module-level names.
    aiokafka_fetcher.MemoryRecords = _KeptMemoryRecords
    aiokafka_fetcher.PartitionRecords = _TolerantPartitionRecords
    aiokafka_consumer.GroupCoordinator = _ConfirmingCoordinator


@dataclass
class FaustMembership:
    """The worker's fence (streams/fencing.py): may it still write for the partitions Faust assigned it?"""

    app: faust.App
    session_timeout: float

    def _coordinator(self) -> _ConfirmingCoordinator | None:
        consumer = getattr(self.app.consumer._thread, "_consumer", None)
        coordinator = getattr(consumer, "_coordinator", None)
        return coordinator if isinstance(coordinator, _ConfirmingCoordinator) else None

    def lost(self) -> str | None:
        coordinator = self._coordinator()
        if coordinator is None:
            return "the consumer has not joined its group"
        if coordinator.member_id == JoinGroupRequest.UNKNOWN_MEMBER_ID:
            return "the group coordinator no longer knows this worker"
        if coordinator.rejoining:  # the group may already have given these partitions to another worker
            return "the group is rebalancing"
        if coordinator.generation != self.app.consumer_generation_id:
            return (
                f"the group is in generation {coordinator.generation}, the partitions were assigned in "
                f"{self.app.consumer_generation_id}"
            )
        silent = time.monotonic() - coordinator.confirmed_at
        if silent > self.session_timeout:
            return f"no heartbeat confirmed for {silent:.1f} s, longer than the session timeout ({self.session_timeout:g} s)"
        return None

    def current(self, generation: int | None) -> bool:
        return generation == self.app.consumer_generation_id

    def confirmed_at(self) -> float:
        """When (time.monotonic) the group last confirmed this member; -inf before it ever joined."""
        coordinator = self._coordinator()
        return -math.inf if coordinator is None else coordinator.confirmed_at

    def reachable(self) -> bool:
        """The group confirmed this member within the session timeout: the broker is there."""
        return time.monotonic() - self.confirmed_at() <= self.session_timeout


class _ConsumerThread(driver.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        # Read by AIOKafkaConsumer.start() when it builds its fetcher: set before the thread starts it.
        consumer._fetch_max_wait_ms = self.app.fetch_max_wait_ms
        return consumer

    async def on_thread_stop(self) -> None:
        """Faust's stop of the consumer thread, finished when aiokafka's stop is cut short with the broker gone.

        A fetch that failed sleeps out its retry backoff in a task of
        aiokafka's fetcher; the fetcher's close cancels that task and awaits
        it, and the CancelledError comes out of AIOKafkaConsumer.stop(). The
        thread then never told the worker it had stopped, and the worker
        waited for it until the hard exit (measured: SIGTERM with the broker
        stopped, exit code 70 after 40 s). The client's connections are closed
        here instead, and the stop goes on.
        """
        try:
            await super().on_thread_stop()
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():  # this stop itself was cancelled: not aiokafka's leftover
                raise
            logger.info("the Kafka consumer's fetcher stopped mid-retry (no broker); closing its connections")
            if self._consumer is not None:
                await self._consumer._client.close()


class _Consumer(driver.Consumer):
    fast_deliveries: int = 0  # records delivered without Faust's wait_first (the others took the stock path)

    def _new_consumer_thread(self) -> driver.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def _drain_messages(self, fetcher: Any) -> None:  # pragma: no cover - run by every integration test
        """Faust's fetch loop (faust.transport.consumer.Consumer._drain_messages), with the fast delivery path."""
        callback = self.callback
        read_offset = self._read_offset
        acks_enabled_for = self.app.topics.acks_enabled_for
        consumer_stopped, fetcher_stopped = self._stopped.is_set, fetcher._stopped.is_set
        deliverable = _deliverable(self)
        since_yield = 0
        try:
            while not (consumer_stopped() or fetcher_stopped()):
                self.diag.set_flag(_FETCHING)
                batch = self.getmany(timeout=1.0)
                await self.sleep(0)  # getmany may not yield when records are waiting
                if not self.should_stop:
                    async for tp, message in batch:
                        since_yield += 1
                        if since_yield > _YIELD_EVERY:
                            await asyncio.sleep(0)
                            since_yield = 0
                        offset, last = message.offset, read_offset[tp]
                        if last is not None and offset < last:
                            continue  # read before a seek back: the copy fetched again is delivered instead
                        if isinstance(message.value, UndecodableBatch) and message.value.first < offset:
                            # The offsets this record stands for: acknowledged with it, however the checks count gaps.
                            await driver.Consumer._add_gap(self, tp, message.value.first, offset - 1)
                        elif last and offset - last > 1 and acks_enabled_for(message.topic):
                            await self._add_gap(tp, last + 1, offset)  # offsets the broker does not have
                        if self._commit_every is not None and self._n_acked >= self._commit_every:
                            self._n_acked = 0
                            await self.commit()
                        if deliverable(tp):
                            self.fast_deliveries += 1
                            await callback(message)
                        else:
                            await self.wait_first(callback(message), self.suspend_flow.wait())
                        read_offset[tp] = offset
                self.diag.unset_flag(_FETCHING)
        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                self.log.info("Broker stopped consumer, shutting down...")
                return
            raise
        except asyncio.CancelledError:
            if self.transport.app.should_stop:
                self.log.info("Consumer shutting down for user cancel.")
                return
            raise
        except Exception as exc:
            self.log.exception("Drain messages raised: %r", exc)
            raise
        finally:
            self.diag.unset_flag(_FETCHING)

    async def _add_gap(self, tp: TP, offset_from: int, offset_to: int) -> None:
        """Faust counts the offsets a fetch jumped over as acknowledged, so its next commit passes them.

        With the offset checks on, a jump is records the consumer dropped
        (streams/worker/offsets.py), held and fetched again; counted as done,
        the first of them handled again let the commit pass all the rest, and
        a kill or a rebalance before they were handled lost them. So only
        without the checks, where a jump is offsets the broker does not have
        (transaction markers), are they counted.
        """
        if self.app.commit_over_gaps:
            await super()._add_gap(tp, offset_from, offset_to)

    async def wait_empty(self) -> None:
        """Faust's wait for records under way to be acknowledged, at most WAIT_EMPTY_SHARE of the shutdown timeout.

        Faust waits with no bound (on stop and when partitions are revoked). A
        record it gives up on is not committed: the next owner handles it again.
        """
        bound = self.app.shutdown_timeout * WAIT_EMPTY_SHARE
        try:
            await asyncio.wait_for(super().wait_empty(), bound)
        except TimeoutError:
            logger.warning(
                "records under way were not acknowledged within %.0f s; going on without them: they were "
                "not committed and will be handled again",
                bound,
            )


_FETCHING = "FETCHING"  # faust.transport.consumer.CONSUMER_FETCHING
_YIELD_EVERY = 100  # records delivered between yields to the event loop, as Faust's loop does


def _deliverable(consumer: driver.Consumer) -> Any:
    """A check that a record of a partition can be delivered now without waiting for anything.

    The conductor's delivery waits for flow control, for the producer buffer
    to ebb and for room in each stream queue of the partition's channels;
    when none of these would wait, it completes without yielding.
    """
    app = consumer.app
    suspended = consumer.suspend_flow.is_set
    flow = app.flow_control
    buffer = app.producer.buffer
    channels_of = app.topics._tp_index.get

    def deliverable(tp: Any) -> bool:
        if suspended() or not flow.is_active() or buffer.size > buffer.max_messages:
            return False
        channels = channels_of(tp)
        return bool(channels) and not any(channel.queue.full() for channel in channels)

    return deliverable


class _Transport(driver.Transport):
    Consumer = _Consumer


EndProbe = Callable[[Mapping[TP, int]], Awaitable[Mapping[TP, int]]]


class _Recovery(Recovery):
    """Faust's changelog recovery, reading each partition to its true end and never stopping the worker on offsets."""

    async def _build_highwaters(self, consumer: Any, tps: set[TP], destination: Any, title: str) -> None:
        await super()._build_highwaters(consumer, tps, destination, title)
        probe = getattr(self.app, "end_probe", None)
        if probe is None or not tps:
            return
        ends = await probe({tp: destination[tp] + 1 for tp in tps})  # Faust keeps the last offset, not the end
        later = {tp: end - 1 for tp, end in ends.items() if end - 1 > destination[tp]}
        if later:
            logger.info(
                "%s changelog partitions end after what the broker reported: %s",
                title,
                {f"{tp.topic}[{tp.partition}]": (destination[tp], last) for tp, last in later.items()},
            )
            for tp, last in later.items():  # not Counter.update, which adds
                destination[tp] = last

    async def _build_offsets(self, consumer: Any, tps: set[TP], destination: Any, title: str) -> None:
        await super()._build_offsets(consumer, tps, destination, title)
        if title == "active":
            last_offsets = self.active_highwaters
        else:  # Faust reads standby ends only after it has sought to these offsets
            last_offsets = Counter()
            await self._build_highwaters(consumer, tps, last_offsets, title)
        for tp in tps:
            offset, last = destination[tp], last_offsets.get(tp)
            if offset is not None and last is not None and offset > last:
                logger.warning(
                    "%s: this worker's copy has read up to offset %d, past the last offset in the topic (%d): "
                    "the changelog was truncated or replaced; reading it again from its start",
                    tp,
                    offset,
                    last,
                )
                forget_partition(self.tp_to_table[tp], tp.partition)
                earliest = (await consumer.earliest_offsets(tp)).get(tp)
                destination[tp] = max(-1, (earliest or 0) - 1)
            elif offset is not None and offset < -1:  # an empty partition's earliest reported as -1
                destination[tp] = -1

    async def _seek_offsets(self, consumer: Any, tps: set[TP], offsets: Any, title: str) -> None:
        """Faust's seek to each partition's offset, but none while a newer rebalance is pending.

        Faust goes on to its standby partitions after the actives are read
        even when a rebalance came meanwhile: their offsets are then the new
        assignment's, not built yet (None), and the seek crashed the worker
        (ValueError). The new rebalance's recovery seeks them itself.
        """
        if self.signal_recovery_start.is_set():
            return
        await consumer.seek_wait({tp: max(0, offsets[tp]) for tp in tps if offsets.get(tp) is not None})


class _TableManager(TableManager):
    @property
    def recovery(self) -> Recovery:
        if self._recovery is None:
            self._recovery = _Recovery(self.app, self, beacon=self.beacon, loop=self.loop)
        return self._recovery


class App(faust.App):
    """A faust.App whose consumer waits at most `fetch_max_wait_ms` per fetch and `shutdown_timeout` for records under
    way, and whose tables recover as `_Recovery` does."""

    fetch_max_wait_ms: int = FAUST_FETCH_MAX_WAIT_MS
    shutdown_timeout: float = SHUTDOWN_TIMEOUT_SECONDS
    end_probe: EndProbe | None = None  # where the broker's reported ends fall short (streams/kafka/partition_ends.py)
    commit_over_gaps: bool = False  # whether offsets a fetch jumped over are committed (_Consumer._add_gap)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Our own check of offsets against ends (_Recovery) replaces Faust's, which stops the worker.
        super().__init__(*args, TableManager=_TableManager, recovery_consistency_check=False, **kwargs)

    def _new_transport(self) -> TransportT:
        return _Transport(self.conf.broker_consumer, self)


class SignalledWorker(faust.Worker):
    """faust.Worker that calls `on_stop_signal` when the first stop signal arrives, before Faust's shutdown starts.

    Faust offers no hook there; `_schedule_shutdown` is where its signal handlers go.
    """

    def on_stop_signal(self) -> None:
        """Called once, on the first SIGTERM or SIGINT."""

    def _schedule_shutdown(self, signal: Any) -> None:
        if not self._signal_stop_time:
            self.on_stop_signal()
        super()._schedule_shutdown(signal)


@dataclass
class FaustConsumerPosition:
    """Offset continuity's view of the Faust consumer (streams/worker/offsets.py)."""

    app: faust.App
    offsets: PartitionOffsets  # asked on a client of its own: the consumer's queues behind its long-poll fetch

    def committed_offset(self, tp: TP) -> int | None:
        # Faust keeps the last committed offset per partition privately; it is set by the seek to
        # committed offsets after every assignment, before the partition's first record is handed out.
        return self.app.consumer._committed_offset.get(tp)

    def assignment(self) -> set[TP]:
        return set(self.app.consumer.assignment())

    async def earliest(self, tps: list[TP]) -> dict[TP, int]:
        return await self.offsets.starts(tps) or {}

    async def fetch_committed(self, tps: list[TP]) -> dict[TP, int | None]:
        # The group's committed offsets as the coordinator has them now, not Faust's copy of the last seek.
        client = self.app.consumer._thread._ensure_consumer()
        return {tp: await self.app.consumer._thread.call_thread(client.committed, tp) for tp in tps}

    def release(self, messages: Iterable[Any]) -> None:
        # Faust's set of records under way, which a rebalance and a stop wait to see acknowledged.
        unacked = self.app.consumer._unacked_messages
        for message in messages:
            unacked.discard(message)

    async def seek(self, tp: TP, offset: int) -> None:
        # On the consumer's own thread: Faust's seek calls aiokafka directly from the caller's thread,
        # and aiokafka is not thread-safe. Measured in CI: a seek landing while the fetcher handed out
        # records crashed the worker (KeyError in aiokafka's Fetcher.fetched_records).
        consumer = self.app.consumer
        await consumer._thread.call_thread(consumer.seek, tp, offset)


def owned_partitions(app: faust.App) -> set[TP]:
    """The partitions this worker is the active owner of (standbys excluded)."""
    return set(app.assignor.assigned_actives())


def memory_key_partitions(table: faust.Table) -> Mapping[bytes, int] | None:
    """The partition of every key Faust's in-memory store holds (standby partitions' keys too); None for other stores.

    The store fills it as it applies changelog records, and StateWriter as it
    stores states; a deleted key may stay in it, so a key found here is
    looked up in the table before it is used.
    """
    store = table.data
    return store._key_partition if isinstance(store, faust_memory.Store) else None


def tables_recovered(app: faust.App) -> bool:
    """The tables have read their changelogs and no rebalance is under way."""
    return app.tables.recovery.completed.is_set() and not app.rebalancing


def holding_back(app: faust.App) -> bool:
    """A rebalance or a changelog recovery holds records back on purpose."""
    return bool(app.rebalancing or app.in_recovery)


def consumer_state(app: faust.App, topics: Iterable[str]) -> dict[str, object]:
    """What the consumer knows of its input partitions, for a log line when records wait and none arrive."""
    topics = set(topics)
    consumer = app.consumer

    def mine(tps: Iterable[TP]) -> list[str]:
        return sorted(f"{tp.topic}[{tp.partition}]" for tp in tps if tp.topic in topics)

    try:
        client = consumer._thread._ensure_consumer()
        client_paused = mine(client.paused())
    except Exception as exc:  # noqa: BLE001 - diagnostics only
        client_paused = [repr(exc)]
    return {
        "assigned": mine(consumer.assignment()),
        "faust_active": mine(consumer._active_partitions or ()),
        "faust_paused": mine(consumer._paused_partitions),
        "client_paused": client_paused,
        "read_offsets": {
            f"{tp.topic}[{tp.partition}]": o for tp, o in consumer._read_offset.items() if tp.topic in topics
        },
        "committed": {
            f"{tp.topic}[{tp.partition}]": o for tp, o in consumer._committed_offset.items() if tp.topic in topics
        },
        "flow_active": consumer.flow_active,
        "flow_control_active": app.flow_control.is_active(),
        "rebalancing": app.rebalancing,
        "in_recovery": app.in_recovery,
    }
