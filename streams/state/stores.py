"""Table stores: `HEALTHSCORE_STORE=rocksdb://` keeps on disk what the changelog has, filed by key partition.

Faust's RocksDB store, changed in two ways:

- Where a key goes. The stock store files a write under the partition of
  the stream event being processed (`current_event()`) and refuses a write
  made outside one. The state table is written after a whole batch (records
  of several partitions) and by the inactivity timer (no event at all), and
  its changelog partition comes from the producer's partitioner
  (`use_partitioner=True`). Measured with the stock store: the agent crashed
  on its first write (AssertionError) and scored nothing. This store puts
  every key in the database of the partition Kafka's default partitioner
  gives it, the one its changelog record goes to.
- When a key reaches the disk. The stock store writes at once and records
  the changelog offset when the broker acknowledges it. A worker killed in
  between restarts with a state the changelog never got: the replayed input
  is then a duplicate, so nothing re-sends that state, and the next worker to
  own the partition would restore it without those events. Here a write waits
  in memory (and is read from there) until its changelog record is
  acknowledged; then the value and the changelog offset go to disk in one
  atomic write. The disk is always a prefix of the changelog, and a restart
  reads only the changelog records after it.

rocksdict is the driver (the `rocksdb` extra), the one tested here; Faust
uses it when installed. Without it a `rocksdb://` worker stops at start with
Faust's ImproperlyConfigured; the memory store does not need it.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import islice
from typing import Any, cast

import faust
from faust.stores import rocksdb
from faust.types import TP, StoreT
from faust.types.tuples import FutureMessage
from yarl import URL

from streams.kafka.partitions import partition_of

logger = logging.getLogger(__name__)


class KeyPartitionedRocksDB(rocksdb.Store):
    """Faust's RocksDB store: one database per partition, chosen by the key; writes reach disk once acknowledged."""

    def __post_init__(self) -> None:
        super().__post_init__()
        # Newest value (None: deleted) of each key whose changelog record is not yet acknowledged.
        self.unconfirmed: dict[bytes, bytes | None] = {}

    def _partition(self, key: bytes) -> int:
        return partition_of(key, self.table.partitions)

    def _set(self, key: bytes, value: bytes | None) -> None:
        self.unconfirmed[key] = value

    def _del(self, key: bytes) -> None:
        self.unconfirmed[key] = None

    def _get(self, key: bytes) -> bytes | None:
        if key in self.unconfirmed:
            return self.unconfirmed[key]
        db = self._dbs.get(self._partition(key))
        return None if db is None else db.get(key)

    def _contains(self, key: bytes) -> bool:
        return self._get(key) is not None

    def _dbs_for_key(self, key: bytes) -> Iterable[Any]:
        db = self._dbs.get(self._partition(key))
        return [] if db is None else [db]

    def _iteritems(self) -> Iterator[tuple[bytes, bytes]]:
        # Active partitions' data as this worker sees it: disk, overlaid with writes not yet acknowledged.
        for key, value in super()._iteritems():
            if key not in self.unconfirmed:
                yield key, value
        for key, pending in list(self.unconfirmed.items()):
            if pending is not None:
                yield key, pending

    def _iterkeys(self) -> Iterator[bytes]:
        for key, _ in self._iteritems():
            yield key

    def _itervalues(self) -> Iterator[bytes]:
        for _, value in self._iteritems():
            yield value

    def _size(self) -> int:
        return sum(1 for _ in self._iteritems())

    def key_chunks(self, size: int) -> Iterator[list[bytes]]:
        """Every key of the active partitions, `size` at a time, safe to pause between chunks.

        No RocksDB iterator (and no dict iteration) stays open across a pause:
        each chunk starts a fresh one after the last key read, so the table may
        change, or a partition be revoked, in between. A key written meanwhile
        may be missed; whoever writes a customer schedules them anyway.
        """
        actives = {id(db) for db in self._dbs_for_actives()}
        for partition in [p for p, db in sorted(self._dbs.items()) if id(db) in actives]:
            after: bytes | None = None
            while (db := self._dbs.get(partition)) is not None:
                read = list(islice((k for k in db.keys(from_key=after) if k != after), size))
                if not read:
                    break
                after = read[-1]
                yield [k for k in read if k != self.offset_key and k not in self.unconfirmed]
        yield [key for key, value in list(self.unconfirmed.items()) if value is not None]

    def partition_keys(self, partition: int, after: bytes | None, count: int) -> list[bytes]:
        """Up to `count` keys of one partition after `after`, in key order: disk and writes not yet acknowledged."""
        db = self._dbs.get(partition)
        pending = self.unconfirmed
        on_disk = (
            ()
            if db is None
            else (k for k in db.keys(from_key=after) if k != after and k != self.offset_key and k not in pending)
        )
        written = sorted(
            k
            for k, v in list(pending.items())
            if v is not None and self._partition(k) == partition and (after is None or k > after)
        )
        return list(islice(heapq.merge(on_disk, written), count))

    def revoke_partitions(self, table: Any, tps: set[TP]) -> None:
        # Their next owner restores them from the changelog; a write here that never got there is moot.
        gone = {tp.partition for tp in tps if tp.topic in table.changelog_topic.topics}
        dropped = [key for key in self.unconfirmed if self._partition(key) in gone]
        for key in dropped:
            del self.unconfirmed[key]
        if dropped:
            logger.info(
                "%s: %d writes of revoked partitions not yet on the changelog, left to it",
                self.table_name,
                len(dropped),
            )
        super().revoke_partitions(table, tps)

    def forget_partition(self, partition: int) -> None:
        """Delete every key of one partition and its offset, so the partition is restored from nothing."""
        for key in [k for k in self.unconfirmed if self._partition(k) == partition]:
            del self.unconfirmed[key]
        db = self._db_for_partition(partition)
        for key in list(db.keys()):
            db.delete(key)

    def confirm(self, tp: TP, offset: int, key: bytes, value: bytes | None) -> None:
        """The changelog has (key, value) at `offset`: store both on disk in one atomic write."""
        self.confirm_many(tp.partition, [(key, value)], offset)

    def confirm_many(self, partition: int, records: list[tuple[bytes, bytes | None]], offset: int) -> None:
        """The changelog has these records of `partition`, the last at `offset`: all of them and the offset in one write."""
        batch = rocksdb.rocksdict.WriteBatch(raw_mode=True) if self.use_rocksdict else rocksdb.rocksdb.WriteBatch()
        for key, value in records:
            if value is None:
                batch.delete(key)
            else:
                batch.put(key, value)
        batch.put(self.offset_key, str(offset).encode())
        self._db_for_partition(partition).write(batch)
        for key, value in records:
            if key in self.unconfirmed and self.unconfirmed[key] == value:
                del self.unconfirmed[key]  # else a newer write of the key is still on its way


class StateTable(faust.Table):
    """A Faust table whose `rocksdb://` store is KeyPartitionedRocksDB; other stores are Faust's."""

    def _new_store_by_url(self, url: str | URL) -> StoreT:
        if URL(str(url)).scheme != "rocksdb":
            return super()._new_store_by_url(url)
        return KeyPartitionedRocksDB(
            url,
            self.app,
            self,
            table_name=self.name,
            key_type=self.key_type,
            key_serializer=self.key_serializer,
            value_serializer=self.value_serializer,
            value_type=self.value_type,
            loop=self.loop,
            options=self.options,
        )

    def _on_changelog_sent(self, fut: FutureMessage) -> None:
        if not isinstance(self.data, KeyPartitionedRocksDB):
            return super()._on_changelog_sent(fut)
        sent = fut.result()
        self.data.confirm(
            sent.topic_partition, sent.offset, cast(bytes, fut.message.key), fut.message.value
        )  # raw keys


def forget_partition(table: Any, partition: int) -> None:
    """Drop a table partition's local copy (RocksDB, or Faust's memory store), before it is read again from its start."""
    store = table.data
    if isinstance(store, KeyPartitionedRocksDB):
        store.forget_partition(partition)
        return
    partition_of_key = getattr(store, "_key_partition", {})
    for key in [k for k, p in partition_of_key.items() if p == partition]:
        store.data.pop(key, None)
        del partition_of_key[key]


def key_chunks(table: Mapping[bytes, Any], size: int) -> Iterator[list[bytes]]:
    """The table's keys, `size` at a time, for work that pauses between chunks while the table changes.

    A RocksDB table is read a chunk at a time (memory stays bounded with a
    million customers); an in-memory one is snapshotted first, since it holds
    every state in memory anyway and a dict cannot be iterated while it grows.
    """
    store = getattr(table, "data", None)
    if isinstance(store, KeyPartitionedRocksDB):
        yield from store.key_chunks(size)
        return
    keys = list(table.keys())
    for first in range(0, len(keys), size):
        yield keys[first : first + size]


@dataclass(frozen=True)
class StatesSlice:
    """States of one table partition in key order, and the key to read on after (None: the partition ends here)."""

    states: list[tuple[bytes, bytes]]
    next_after: bytes | None


def partition_page(
    table: Mapping[bytes, Any],
    partition: int,
    after: bytes | None,
    limit: int,
    key_partitions: Mapping[bytes, int] | None,
) -> StatesSlice:
    """Up to `limit` states of `partition` with keys after `after`, for paging through it by key (the HTTP API).

    Keys come in byte order whatever the store, so a reader can go on after
    the last key it got, from this worker or from the next owner of the
    partition. A RocksDB table reads on from that key in the partition's
    database; an in-memory one, which holds standby partitions' keys too,
    picks the partition's keys from `key_partitions` (Faust's map of the
    memory store, streams/worker/faust_compat.py): one pass over the worker's
    keys per page, no sorting of them all. A key written between pages may
    be missed or, if it sorts after the last key read, included.
    """
    store = getattr(table, "data", None)
    if isinstance(store, KeyPartitionedRocksDB):
        keys = store.partition_keys(partition, after, limit + 1)
    else:
        if key_partitions is None:  # not Faust's memory store: the murmur2 partition of each key, slower
            key_partitions = {key: partition_of(key, table.partitions) for key in list(table.keys())}  # type: ignore[attr-defined]
        keys = heapq.nsmallest(
            limit + 1, (k for k, p in key_partitions.items() if p == partition and (after is None or k > after))
        )
    states = [(key, value) for key in keys[:limit] if (value := table.get(key)) is not None]
    return StatesSlice(states, keys[limit - 1] if len(keys) > limit else None)


class StateWriter:
    """Writes a batch's customer states: to the changelog, a batch of records per partition, then to the store.

    Faust's own path writes one changelog record per state through its
    producer buffer, one round trip each: profiled as the costliest part of
    a batch. Here the states go through the output producer, batched, and
    the store gets them once the changelog has acknowledged them, so the
    store (and a RocksDB disk) never holds a state the changelog lacks.
    """

    def __init__(self, table: faust.Table, producer: Any, partitions: int) -> None:
        self.table, self.producer, self.partitions = table, producer, partitions
        self.topic = table.changelog_topic.get_topic_name()

    async def write(self, records: dict[bytes, bytes | None]) -> None:
        """Store these states (None: delete the customer), every one acknowledged by the changelog first."""
        if not records:
            return
        by_partition: dict[int, list[tuple[bytes, bytes | None]]] = {}
        for key, value in records.items():
            by_partition.setdefault(partition_of(key, self.partitions), []).append((key, value))
        for p, items in by_partition.items():
            for key, value in items:
                await self.producer.queue(self.topic, key, value, p)
        offsets = await self.producer.flush()
        last = {p: offsets[(self.topic, p)] for p in by_partition}
        store = self.table.data
        if isinstance(store, KeyPartitionedRocksDB):
            for p, items in by_partition.items():
                store.confirm_many(p, items, last[p])
            return
        partition_of_key = getattr(
            store, "_key_partition", None
        )  # Faust's memory store: drops revoked partitions' keys
        for p, items in by_partition.items():
            for key, value in items:
                if value is None:
                    store.pop(key, None)
                else:
                    store[key] = value
                    if partition_of_key is not None:
                        partition_of_key[key] = p
