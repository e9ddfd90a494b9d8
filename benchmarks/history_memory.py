"""Redis memory of the score history: per customer and per point, for CUSTOMERS customers; prints figures, asserts nothing.

Realistic histories, as the flush keeps them: each customer has been a
customer for 1 to 400 days (uniform), so their history holds one point per
day before the last 30 days and every change within them (a Poisson number,
1.5 a day on average: events and the timer's re-scores). The points go
through the real RedisSink flush (its script thins and trims them in Redis)
into a redis-server started here, with the snapshot hashes and indexes the
same flush writes. Memory is read from `MEMORY USAGE` of every history key
and from `INFO memory` before and after.

Run: `python benchmarks/history_memory.py [customers]` (default 100,000).
"""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import msgspec
import redis

from schemas.model_config import ScoringModel
from scoring.pipeline import rescore
from scoring.state import new_state
from streams.metrics import Metrics
from streams.snapshot.history import MS_PER_DAY, RECENT_DAYS, Point
from streams.snapshot.keys import daily_history_key, history_key
from streams.snapshot.writer import CUSTOMERS_PER_CALL, Pending, RedisSink
from streams.tools.localstack import free_port, redis_binary, stop_process, wait_for_port

NOW = datetime(2026, 11, 30, tzinfo=timezone.utc)
MAX_TENURE_DAYS = 400
CHANGES_PER_DAY = 1.5
CAUSES = ("purchase", "visit", "visit", "ticket", "survey", "timer", "timer")
TIERS = ((70.0, "healthy"), (50.0, "watch"), (30.0, "at_risk"), (0.0, "critical"))


def tier_of(score: float) -> str:
    return next(tier for low, tier in TIERS if score >= low)


def history(rng: random.Random, tenure: int) -> list[Point]:
    """A random walk of scores: one point per day before the last 30 days, every change within them."""
    now_ms = round(NOW.timestamp() * 1000)
    score, points = rng.uniform(20, 90), []
    for day in range(tenure, 0, -1):
        start = now_ms - day * MS_PER_DAY
        changes = 1 if day > RECENT_DAYS else sum(1 for _ in range(6) if rng.random() < CHANGES_PER_DAY / 6)
        for n in range(changes):
            score = min(100.0, max(0.0, score + rng.gauss(0, 2.5)))
            points.append(
                Point(
                    start + (n + 1) * MS_PER_DAY // (changes + 1),
                    round(score, 1),
                    tier_of(score),
                    rng.choice(CAUSES),
                    False,
                    "default@2",
                )
            )
    return points or [Point(now_ms - MS_PER_DAY // 2, round(score, 1), tier_of(score), "purchase", False, "default@2")]


async def write(url: str, customers: int) -> tuple[int, float]:
    """Every customer's snapshot and history through the sink's flush; (points offered, seconds)."""
    rng = random.Random(20)
    base = rescore(new_state("x"), ScoringModel(), NOW).update
    sink = RedisSink(url, "bench", Metrics())
    offered, started = 0, time.perf_counter()
    for first in range(0, customers, CUSTOMERS_PER_CALL):
        # The queue of a flush, built directly: one customer's entry holds every point since the last flush.
        for n in range(first, min(customers, first + CUSTOMERS_PER_CALL)):
            points = history(rng, rng.randint(1, MAX_TENURE_DAYS))
            offered += len(points)
            update = msgspec.structs.replace(
                base, customer_id=f"c{n}", score=points[-1].score, tier=points[-1].tier, scored_at=points[-1].moment
            )
            sink._pending[update.customer_id] = Pending(update, None, points)
        await sink.flush()
    await sink.close()
    return offered, time.perf_counter() - started


def measure(url: str, customers: int) -> None:
    client = redis.Redis.from_url(url)
    before = client.info("memory")["used_memory"]
    offered, seconds = asyncio.run(write(url, customers))
    after = client.info("memory")["used_memory"]
    keys = [k for n in range(customers) for k in (history_key("bench", f"c{n}"), daily_history_key("bench", f"c{n}"))]
    history_bytes = points = 0
    for first in range(0, len(keys), 5000):
        pipe = client.pipeline(transaction=False)
        for key in keys[first : first + 5000]:
            pipe.memory_usage(key, samples=0)
            pipe.llen(key)
        values = pipe.execute()
        history_bytes += sum(v or 0 for v in values[0::2])
        points += sum(values[1::2])
    full = history(random.Random(1), MAX_TENURE_DAYS)
    print(
        f"{customers:,} customers, {offered:,} points offered, {points:,} kept; written in {seconds:.0f} s "
        f"({offered / seconds:,.0f} points/s through the flush)"
    )
    print(
        f"history keys (MEMORY USAGE, every key): {history_bytes / 2**20:,.1f} MiB = "
        f"{history_bytes / customers:,.0f} bytes per customer, {history_bytes / points:.1f} bytes per point"
    )
    print(
        f"everything the flush wrote (INFO used_memory delta, snapshots and indexes included): "
        f"{(after - before) / 2**20:,.1f} MiB = {(after - before) / customers:,.0f} bytes per customer"
    )
    print(
        f"a customer of {MAX_TENURE_DAYS} days keeps about {len(full)} points: "
        f"about {len(full) * history_bytes / points / 1024:.1f} KiB"
    )
    print(f"mean points per customer {points / customers:.0f}; redis {client.info('server')['redis_version']}")


def main() -> None:
    customers = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    port = free_port()
    with tempfile.TemporaryDirectory() as work:
        log = Path(work) / "redis.log"
        server = subprocess.Popen(
            [
                redis_binary(),
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--logfile",
                str(log),
            ],
            stdout=subprocess.DEVNULL,
        )
        try:
            wait_for_port(port, server, log)
            measure(f"redis://127.0.0.1:{port}/0", customers)
        finally:
            stop_process(server)


if __name__ == "__main__":
    main()
