"""Benchmark: the inactivity timer's cost per tick grows with the customers due, not with all customers.

Why: issue 8 asks that a tick over a large customer base cost in
proportion to the customers whose review is due. The timer asks
`scoring.schedule.DueQueue` for them (a heap with lazy deletion), then
re-scores each. This schedules N customers (1M by default) at random times
over 30 days, then for growing numbers k of due customers times the pop
(the part that could scale with N) and, as the reference measured in the
same run, a full scan of the N schedule entries (what a timer without the
queue would do each tick).
Re-scoring the k due customers adds k times the cost of one `rescore`
(see benchmarks/throughput.py, offline figures). It prints how much the
process grew while the customers were scheduled, per customer.

`--queue rocksdb` runs the same on the schedule a `rocksdb://` worker
keeps on disk (streams/state/due_store.py), with the worker's default RocksDB
memory bounds.

    .venv/bin/python benchmarks/timer_tick.py [--customers 1000000] [--queue memory|rocksdb]
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from scoring.schedule import DueQueue, Schedule
from soak import rss_bytes
from streams.settings import Settings
from streams.state.due_store import RocksDueQueue
from streams.state.tables import rocksdb_options

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
SPREAD = timedelta(days=30)


def review_times(customers: int, seed: int) -> tuple[list[datetime], list[int]]:
    """Each customer's review time (sorted by customer number) and the order they are scheduled in."""
    rng = random.Random(seed)
    times = sorted(T0 + SPREAD * rng.random() for _ in range(customers))
    order = list(range(customers))
    rng.shuffle(order)
    return times, order


def rss_mb() -> float:
    return rss_bytes(os.getpid()) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--queue", choices=["memory", "rocksdb"], default="memory")
    args = parser.parse_args()

    workdir = tempfile.TemporaryDirectory(prefix="timer-tick-")
    queue: Schedule = DueQueue()
    if args.queue == "rocksdb":  # with the worker's default memory bounds
        queue = RocksDueQueue(Path(workdir.name) / "due", rocksdb_options(Settings()))
    times, order = review_times(args.customers, args.seed)
    half = args.customers // 2
    rss = [rss_mb()]  # the benchmark's own lists are built: from here on growth is the queue's
    started = time.perf_counter()
    for scheduled, n in enumerate(order, start=1):
        queue.schedule(f"cust-{n:07d}", times[n])
        if scheduled in (half, args.customers):
            rss.append(rss_mb())
    built = time.perf_counter() - started
    print(
        f"{args.customers:,} customers scheduled ({args.queue}) in {built:.1f} s "
        f"({built / args.customers * 1e6:,.1f} µs each); process RSS {rss[0]:,.0f} -> {rss[1]:,.0f} -> "
        f"{rss[2]:,.0f} MB: {(rss[1] - rss[0]) * 1e6 / half:,.0f} B per customer over the first half, "
        f"{(rss[2] - rss[1]) * 1e6 / (args.customers - half):,.0f} B over the second"
    )

    scan_started = time.perf_counter()
    now = times[0]
    _ = [at for at in times if at <= now]  # the reference: look at every customer's review time
    scan = time.perf_counter() - scan_started

    print("| customers due (k) | pop_due | per customer due | full scan of all customers (reference) |")
    print("|---:|---:|---:|---:|")
    popped = 0
    for k in (10, 100, 1_000, 10_000, 100_000):
        if popped + k > len(times):
            break
        now = times[popped + k - 1]
        began = time.perf_counter()
        due = queue.pop_due(now)
        took = time.perf_counter() - began
        popped += len(due)
        print(f"| {len(due):,} | {took * 1000:,.2f} ms | {took / len(due) * 1e6:,.1f} µs | {scan * 1000:,.0f} ms |")


if __name__ == "__main__":
    main()
