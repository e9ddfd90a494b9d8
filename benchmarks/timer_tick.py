"""Benchmark: the inactivity timer's cost per tick grows with the customers due, not with all customers.

Why: issue 8 asks that a tick over a large customer base cost in
proportion to the customers whose review is due. The timer asks
`scoring.schedule.DueQueue` for them (a heap with lazy deletion), then
re-scores each. This schedules N customers (1M by default) at random times
over 30 days, then for growing numbers k of due customers times the pop
(the part that could scale with N) and, as the reference measured in the
same run, a full scan of the N schedule entries (what a timer without the
queue would do each tick). It also prints the queue's memory per customer.
Re-scoring the k due customers adds k times the cost of one `rescore`
(see benchmarks/throughput.py, offline figures).

    .venv/bin/python benchmarks/timer_tick.py [--customers 1000000]
"""

from __future__ import annotations

import argparse
import random
import time
import tracemalloc
from datetime import datetime, timedelta, timezone

from scoring.schedule import DueQueue

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
SPREAD = timedelta(days=30)


def build(customers: int, seed: int) -> tuple[DueQueue, list[datetime]]:
    rng = random.Random(seed)
    queue = DueQueue()
    times = sorted(T0 + SPREAD * rng.random() for _ in range(customers))
    order = list(range(customers))
    rng.shuffle(order)
    for n in order:
        queue.schedule(f"cust-{n:07d}", times[n])
    return queue, times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=8)
    args = parser.parse_args()

    tracemalloc.start()
    started = time.perf_counter()
    queue, times = build(args.customers, args.seed)
    built = time.perf_counter() - started
    size, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{args.customers:,} customers scheduled in {built:.1f} s; "
          f"queue and its ids/times hold {size / 2**20:,.0f} MiB ({size / args.customers:,.0f} B per customer)")  # fmt: skip

    scan_started = time.perf_counter()
    now = times[0]
    _ = [at for at in times if at <= now]  # the reference: look at every customer's review time
    scan = time.perf_counter() - scan_started

    print("| customers due (k) | pop_due | per customer due | full scan of all customers (reference) |")
    print("|---:|---:|---:|---:|")
    popped = 0
    for k in (10, 100, 1_000, 10_000, 100_000):
        now = times[popped + k - 1]
        began = time.perf_counter()
        due = queue.pop_due(now)
        took = time.perf_counter() - began
        popped += len(due)
        print(f"| {len(due):,} | {took * 1000:,.2f} ms | {took / len(due) * 1e6:,.1f} µs | {scan * 1000:,.0f} ms |")


if __name__ == "__main__":
    main()
