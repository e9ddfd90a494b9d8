"""Console page times with CUSTOMERS customers in Redis and a real worker serving the pages; prints figures, asserts nothing.

Starts a local stack and a worker (event-time clock), writes CUSTOMERS
synthetic customers through the real RedisSink under the worker's prefix
(random tiers, segments, two models of their own, 7-day changes, an alert for one in ten,
90 days of tier counts), then replays the sample events so 300 real
customers are in the worker's state table with their history. Each page is
fetched REPEAT times, one request at a time, as a browser would get it
(the whole HTML document); median and 95th percentile are printed.

Run: `python benchmarks/console_pages.py [customers]` (default 100,000).
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

import msgspec

from schemas.model_config import ScoringModel
from schemas.outputs import SEGMENTS, TIERS
from scoring.pipeline import rescore
from scoring.records import AlertRecord
from scoring.state import new_state
from streams.metrics import Metrics
from streams.snapshot.writer import CUSTOMERS_PER_CALL, RedisSink
from streams.tools.demo import start_local_worker
from streams.tools.localstack import local_stack
from streams.tools.publish import publish, read_lines

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample_events.jsonl"
SAMPLE_CUSTOMERS = 300
REPEAT = 20
# The sample's last day: the worker's clock (event time) ends there, so the overview's 90 days end there too.
LAST_DAY = datetime(2025, 5, 1, 12, tzinfo=timezone.utc)


async def fill(url: str, prefix: str, customers: int) -> float:
    rng = random.Random(42)
    base = rescore(new_state("x"), ScoringModel(), LAST_DAY).update
    sink = RedisSink(url, prefix, Metrics())
    started = time.perf_counter()
    calls = -(-customers // CUSTOMERS_PER_CALL)
    for call in range(calls):
        # Each call's newest update is on its own day, so the flush records 90 days of tier counts.
        day = LAST_DAY - timedelta(days=89 * (calls - 1 - call) / max(1, calls - 1))
        for n in range(call * CUSTOMERS_PER_CALL, min(customers, (call + 1) * CUSTOMERS_PER_CALL)):
            tier = rng.choices(TIERS, weights=(50, 20, 20, 10))[0]
            score = {
                "healthy": rng.uniform(70, 100),
                "watch": rng.uniform(50, 70),
                "at_risk": rng.uniform(30, 50),
                "critical": rng.uniform(0, 30),
            }[tier]
            update = msgspec.structs.replace(
                base,
                customer_id=f"c{n:06d}",
                score=round(score, 1),
                tier=tier,
                segment=rng.choice(SEGMENTS),
                model_name=rng.choice(("synthetic-a", "synthetic-b")),
                model_version="1",
                change_7d=round(rng.gauss(0, 6), 1),
                reasons=[
                    "no purchase for 40 days, 3.1x the usual 13-day cycle",
                    "no visits in the last 30 days",
                    "latest NPS is 5 (detractor)",
                ],
                scored_at=day - timedelta(seconds=rng.uniform(0, 3600)),
            )
            alerts = []
            if rng.random() < 0.1:
                alerts = [
                    AlertRecord(
                        alert_id=f"a{n}",
                        customer_id=update.customer_id,
                        trigger="tier_entry",
                        detail=f"entered {tier} at score {score:.1f}",
                        tier=tier,
                        previous_tier="watch",
                        score=update.score,
                        change_7d=update.change_7d,
                        segment=update.segment,
                        reasons=update.reasons,
                        changes=[],
                        raised_at=update.scored_at,
                        model_name=update.model_name,
                        model_version="1",
                    )
                ]
            sink.offer(update, None, "visit", alerts)
        await sink.flush()
    await sink.close()
    return time.perf_counter() - started


def get(url: str) -> tuple[int, int]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, len(response.read())


def wait_until_quiet(base: str, customers: int, timeout: float = 600.0) -> None:
    deadline, quiet_since = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{base}/tiers", timeout=30) as response:
            total = json.loads(response.read())["total"]
        with urllib.request.urlopen(f"{base}/livez", timeout=30) as response:
            backlog = json.loads(response.read())["redis_backlog"]
        quiet_since = (quiet_since or time.monotonic()) if total >= customers and backlog == 0 else None
        if quiet_since is not None and time.monotonic() - quiet_since > 2.0:
            return
        time.sleep(0.5)
    raise SystemExit("the worker did not finish the sample in time")


def main() -> None:
    customers = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory(prefix="console-bench-") as work, local_stack(Path(work)) as stack:
        settings, _process = start_local_worker(stack, "console-bench", clock="event")
        seconds = asyncio.run(fill(settings.redis_url, settings.redis_prefix, customers))
        print(f"wrote {customers:,} customers through the RedisSink in {seconds:.0f} s")
        base = f"http://127.0.0.1:{settings.web_port}"
        publish(read_lines(SAMPLE), settings)
        wait_until_quiet(base, customers + SAMPLE_CUSTOMERS)
        with urllib.request.urlopen(f"{base}/customers?tier=at_risk&model=default@2&limit=1", timeout=30) as response:
            customer = json.loads(response.read())["items"][0]["customer_id"]  # a sample customer, in the state table
        pages = [
            "/console",
            "/console/at-risk",
            "/console/at-risk?tier=at_risk,critical&sort=change",
            "/console/at-risk?tier=at_risk,critical&segment=at_risk&model=synthetic-b@1&sort=change",
            "/console/at-risk?tier=healthy&limit=50&offset=40000",
            f"/console/customers/{customer}",
            f"/console/customers/{customer}?range=all",
            f"/customers/{customer}/history",
        ]
        print(f"{customers + SAMPLE_CUSTOMERS:,} customers in Redis; {REPEAT} requests per page, one at a time")
        for path in pages:
            get(base + path)  # warm: the script's first load, the connection
            times, size = [], 0
            for _ in range(REPEAT):
                started = time.perf_counter()
                status, size = get(base + path)
                times.append((time.perf_counter() - started) * 1000)
                assert status == 200, (path, status)
            times.sort()
            p95 = times[min(len(times) - 1, round(0.95 * len(times)) - 1)]
            print(f"{path:88s} median {statistics.median(times):7.1f} ms  p95 {p95:7.1f} ms  {size / 1024:6.1f} KiB")


if __name__ == "__main__":
    main()
