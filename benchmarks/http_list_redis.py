"""How long the HTTP API's list and counts take on a large Redis snapshot; prints figures, asserts nothing.

Writes CUSTOMERS snapshots through the real RedisSink (so the tier and
segment sets are the worker's), then times RedisReader queries against a
Redis started on a free port. Run: `python benchmarks/http_list_redis.py [customers]`.
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

from schemas.api import parse_list_query
from schemas.model_config import ScoringModel
from schemas.outputs import SEGMENTS, TIERS
from scoring.pipeline import rescore
from scoring.state import new_state
from streams.metrics import Metrics
from streams.snapshot.reader import RedisReader
from streams.snapshot.writer import RedisSink
from streams.tools.localstack import free_port, redis_binary, stop_process, wait_for_port

QUERIES = [
    "limit=50",
    "tier=at_risk,critical&limit=50",
    "tier=critical&limit=50",
    "tier=at_risk,critical&segment=high_value_at_risk,dormant&limit=50",
    "limit=500&offset=50000",
]
REPEAT = 20


async def run(url: str, customers: int) -> None:
    rng = random.Random(7)
    base = rescore(new_state("x"), ScoringModel(), datetime(2025, 1, 1, tzinfo=timezone.utc)).update
    sink = RedisSink(url, "bench", Metrics())
    started = time.perf_counter()
    for n in range(customers):
        sink.offer(
            base.model_copy(
                update={
                    "customer_id": f"c{n}",
                    "score": round(rng.uniform(0, 100), 1),
                    "tier": rng.choice(TIERS),
                    "segment": rng.choice(SEGMENTS),
                }
            )
        )
        if sink.backlog == 500:
            await sink.flush()
    await sink.flush()
    print(f"wrote {customers} snapshots in batches of 500: {time.perf_counter() - started:.1f} s")
    reader = RedisReader(url, "bench")
    for text in QUERIES:
        query = parse_list_query([tuple(p.split("=")) for p in text.split("&")])  # type: ignore[misc]
        started = time.perf_counter()
        for _ in range(REPEAT):
            items, total = await reader.page(query)
        print(f"{text:70s} total {total:7d}: {(time.perf_counter() - started) / REPEAT * 1000:7.1f} ms per page")
    started = time.perf_counter()
    for _ in range(REPEAT):
        await reader.tier_counts()
    print(f"{'tier counts':70s}: {(time.perf_counter() - started) / REPEAT * 1000:7.1f} ms")
    await reader.close()
    await sink.close()


def main() -> None:
    customers = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    port = free_port()
    with tempfile.TemporaryDirectory() as work:
        log = Path(work) / "redis.log"
        redis = subprocess.Popen(
            [redis_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--logfile", str(log)],
            stdout=subprocess.DEVNULL,
        )
        try:
            wait_for_port(port, redis, log)
            asyncio.run(run(f"redis://127.0.0.1:{port}/0", customers))
        finally:
            stop_process(redis)


if __name__ == "__main__":
    main()
