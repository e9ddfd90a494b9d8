"""The worker's tables: customer states and erasures, keyed by customer, with their memory bounds and timer schedule."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import faust
from yarl import URL

from scoring.schedule import DueQueue, Schedule
from streams.settings import Settings

STATE_TABLE = "customer-state"
ERASURES_TABLE = "customer-erasures"


def customer_table(app: faust.App, name: str, settings: Settings) -> faust.Table:
    """A changelog-backed table keyed by customer id, partitioned like the customer's input records."""
    # app.Table is typed as returning the abstract TableT; what it makes is a faust.Table.
    return cast(
        faust.Table,
        app.Table(
            name,
            default=None,
            partitions=settings.partitions,
            key_type=bytes,  # bytes keys and values get the raw codec: we encode values ourselves
            value_type=bytes,
            # Writes happen at batch commit or in the timer, outside any one stream event, so the changelog
            # partition comes from the default partitioner: the murmur2 partition of the customer's records.
            use_partitioner=True,
            options=rocksdb_options(settings),
        ),
    )


def rocksdb_options(settings: Settings) -> dict[str, int]:
    """Memory bounds of each RocksDB database (one per table partition); the memory store ignores them.

    Faust's defaults allow three 64 MB memtables and a 2 GB block cache per
    database: with 4 partitions that is gigabytes a worker may grow into
    while holding a million customers. These make it
    partitions x (2 x write buffer + block cache) per table.
    """
    mb = 1024 * 1024
    return {
        "write_buffer_size": settings.rocksdb_write_buffer_mb * mb,
        "max_write_buffer_number": 2,
        "block_cache_size": settings.rocksdb_block_cache_mb * mb,
    }


def due_schedule(settings: Settings, tabledir: Path) -> Schedule:
    """The timer's schedule: in memory beside a memory table, on disk beside a RocksDB one (bounded memory)."""
    if URL(settings.store).scheme != "rocksdb":
        return DueQueue()
    from streams.state.due_store import RocksDueQueue  # rocksdict is the optional `rocksdb` extra

    return RocksDueQueue(tabledir / "customer-due", rocksdb_options(settings))
