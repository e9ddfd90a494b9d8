"""Benchmark: one worker holding a million customers with the RocksDB store. Does its memory stay bounded?

Why: with `HEALTHSCORE_STORE=memory://` every customer's state lives in the
worker's memory, so a worker needs RAM in proportion to its customers. With
`rocksdb://` the states live on local disk (streams/state/stores.py), and so does
the inactivity timer's schedule (streams/state/due_store.py; in memory it took
about 200 bytes a customer), so memory should hold RocksDB's capped caches
and no more per customer. This run shows the figures; it asserts nothing.

What it does, on the local stack (Tansu + Redis): publishes N events, one
per customer (the realistic mix of benchmarks/perf/events.py, over half a
day of event time so the timer has nothing due yet), starts one worker with
the RocksDB store and the inactivity timer on, and every `--interval` seconds
prints customers scored, the rate, the worker's RSS, the RocksDB files on disk
and Redis memory. Then it restarts the worker (SIGTERM) and reports how long
the restart took, how many changelog records it read back, how many
customers the timer scheduled, and the RSS after it; finally it publishes one
more event to 1,000 of those customers and checks they are scored on top of
their stored state.

Run from the repository root (after `make setup`); about 35 minutes for 1M on 2 cores:

    .venv/bin/python benchmarks/state_at_scale.py                        # 1,000,000 customers
    .venv/bin/python benchmarks/state_at_scale.py --customers 20000 --interval 5
    .venv/bin/python benchmarks/state_at_scale.py --report docs/performance/state-at-scale.md
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import redis

# The perf package and the other benchmarks beside this file; the repository root for the test helpers.
sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parent.parent)]

from perf.broker import events_handled, publish_bulk  # noqa: E402
from perf.events import generate  # noqa: E402
from scale_out import log_since, ready_after  # noqa: E402
from soak import markdown_row, rss_bytes  # noqa: E402
from streams.settings import Settings  # noqa: E402
from streams.state.tables import STATE_TABLE  # noqa: E402
from streams.tools.localstack import LocalStack, local_stack, stop_process  # noqa: E402
from tests.integration.test_rocksdb_store import changelog_read  # noqa: E402
from throughput import deployment_env, topics_by_kind  # noqa: E402

# Event time the N events span: short enough that no customer falls due for the timer during the run.
EVENT_DAYS = 0.5
RETURNING = 1000  # customers sent one more event after the restart
MB = 1024 * 1024
SCHEDULED = re.compile(r"inactivity timer: (\d+) customers scheduled after recovery")


@dataclass(frozen=True)
class Row:
    elapsed: float
    customers: int
    rate: float
    worker_rss: int
    disk: int
    redis_used: int

    HEADER = ("elapsed s", "customers scored", "events/s", "worker RSS MB", "RocksDB on disk MB", "Redis MB")

    def cells(self) -> tuple[str, ...]:
        return (
            f"{self.elapsed:.0f}",
            f"{self.customers:,}",
            f"{self.rate:.0f}",
            f"{self.worker_rss / MB:.1f}",
            f"{self.disk / MB:.1f}",
            f"{self.redis_used / MB:.1f}",
        )


def disk_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def redis_memory(url: str) -> int:
    client = redis.Redis.from_url(url)
    try:
        return int(client.info("memory")["used_memory"])
    finally:
        client.close()


def handled(port: int) -> int:
    return sum(events_handled(port).values())


def watch(
    stack: LocalStack, worker_pid: int, port: int, datadir: Path, expected: int, interval: float, budget: float
) -> list[Row]:
    """Sample until the worker has handled `expected` records (or the budget is spent), printing each row."""
    rows: list[Row] = []
    started = last_time = time.monotonic()
    last = 0
    print(markdown_row(Row.HEADER))
    print(markdown_row(tuple("---:" for _ in Row.HEADER)))
    while time.monotonic() - started < budget:
        time.sleep(interval)
        now, count = time.monotonic(), handled(port)
        rows.append(
            Row(
                now - started,
                count,
                (count - last) / (now - last_time),
                rss_bytes(worker_pid),
                disk_bytes(datadir),
                redis_memory(stack.redis_url),
            )
        )
        print(markdown_row(rows[-1].cells()), flush=True)
        last, last_time = count, now
        if count >= expected:
            break
    return rows


def verdict(rows: list[Row]) -> list[str]:
    """Worker RSS per customer added over the first and the second half of the customers."""
    warm = [r for r in rows if r.customers > 0]
    if len(warm) < 3:
        return ["too few samples for a verdict"]
    first, last = warm[0], warm[-1]
    middle = min(warm, key=lambda r: abs(r.customers - (first.customers + last.customers) / 2))
    lines = []
    for name, a, b in (("first half", first, middle), ("second half", middle, last)):
        added, grown = b.customers - a.customers, b.worker_rss - a.worker_rss
        lines.append(
            f"{name}: customers {a.customers:,} -> {b.customers:,}, worker RSS {a.worker_rss / MB:.1f} -> "
            f"{b.worker_rss / MB:.1f} MB, {grown / max(added, 1):.0f} bytes per customer added; RocksDB "
            f"{a.disk / MB:.0f} -> {b.disk / MB:.0f} MB ({(b.disk - a.disk) / max(added, 1):.0f} bytes per "
            "customer on disk)"
        )
    return lines


def rocksdb_bounds() -> str:
    """The memory bounds the worker ran with: the defaults, unless set in this process's environment."""
    settings = Settings.from_env(os.environ)
    return (
        f"write buffer {settings.rocksdb_write_buffer_mb} MB x 2 and block cache "
        f"{settings.rocksdb_block_cache_mb} MB per database"
    )


def run(args: argparse.Namespace, workdir: Path) -> tuple[list[Row], list[str]]:
    records = generate(args.customers, args.customers, seed=args.seed, days=EVENT_DAYS)
    lines: list[str] = []
    with local_stack(workdir) as stack:
        env = deployment_env(stack, "scale", workdir, None) | {
            "HEALTHSCORE_STORE": "rocksdb://",
            "HEALTHSCORE_INACTIVITY_TIMER": "true",
        }
        datadir, port = Path(env["HEALTHSCORE_DATADIR"]), int(env["HEALTHSCORE_WEB_PORT"])
        topic_of = topics_by_kind(env, stack)
        seconds = asyncio.run(publish_bulk(stack.bootstrap, records, topic_of))
        print(f"published {len(records):,} events, one per customer, in {seconds:.0f} s; logs in {workdir}")
        worker = stack.start_worker(env["HEALTHSCORE_APP_ID"], env)
        rows = watch(stack, worker.pid, port, datadir, len(records), args.interval, args.budget)
        lines += verdict(rows)
        scored = rows[-1].customers if rows else 0

        stop_process(worker)  # SIGTERM: a clean stop
        log = workdir / f"{env['HEALTHSCORE_APP_ID']}.log"
        restarted = time.time()
        worker = stack.start_worker(env["HEALTHSCORE_APP_ID"], env)
        while ready_after(log, restarted) is None and worker.poll() is None:
            time.sleep(0.5)
        resumed = ready_after(log, restarted)
        while not (found := SCHEDULED.findall(log.read_text())[1:]) and worker.poll() is None:
            time.sleep(0.5)
        rebuilt = time.time() - restarted
        read, held = changelog_read(log_since(log, restarted), f"{env['HEALTHSCORE_APP_ID']}-{STATE_TABLE}-changelog")
        lines.append(
            f"restart (SIGTERM): consuming again {resumed:.1f} s after start, reading back {read:,} of "
            f"{held:,} changelog records; the timer had {int(found[0]):,} customers scheduled "
            f"{rebuilt:.1f} s after start; worker RSS then {rss_bytes(worker.pid) / MB:.1f} MB"
        )

        before = handled(port)
        returning = generate(RETURNING, args.customers, seed=args.seed + 1, days=EVENT_DAYS)
        asyncio.run(publish_bulk(stack.bootstrap, returning, topic_of))
        deadline = time.monotonic() + 300
        while handled(port) < before + RETURNING and time.monotonic() < deadline:
            time.sleep(0.5)
        outcomes = events_handled(port)
        lines.append(
            f"{RETURNING:,} returning customers after the restart: {handled(port) - before:,} handled "
            f"(outcomes so far: {', '.join(f'{k} {v:,}' for k, v in sorted(outcomes.items()))}); worker "
            f"RSS {rss_bytes(worker.pid) / MB:.1f} MB; {scored:,} customers were scored before"
        )
        stop_process(worker)
    for line in lines:
        print(line)
    return rows, lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000, help="customers, one event each")
    parser.add_argument("--interval", type=float, default=60.0, help="seconds between rows")
    parser.add_argument("--budget", type=float, default=4 * 3600.0, help="most seconds to wait for the worker")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--report", type=Path, default=None, help="also append the table and figures here")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the logs here (default: a temporary dir)")
    args = parser.parse_args()
    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
        rows, lines = run(args, args.workdir)
    else:
        with tempfile.TemporaryDirectory(prefix="healthscore-scale-") as tmp:
            rows, lines = run(args, Path(tmp))
    if args.report:
        header = (
            "" if args.report.exists() else "# State at scale (generated by benchmarks/state_at_scale.py --report)\n"
        )
        context = (
            f"`python benchmarks/state_at_scale.py --customers {args.customers}`, run on "
            f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.python_implementation()} "
            f"{platform.python_version()}, {os.cpu_count()} CPUs (load average at the end: "
            f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}); local Tansu broker and Redis, one worker, "
            f"RocksDB store ({rocksdb_bounds()}), event-time clock, inactivity timer on."
        )
        with args.report.open("a") as out:
            out.write(
                "\n".join(
                    [
                        header,
                        context,
                        "",
                        markdown_row(Row.HEADER),
                        markdown_row(tuple("---:" for _ in Row.HEADER)),
                        *(markdown_row(r.cells()) for r in rows),
                        "",
                        *(f"- {line}" for line in lines),
                        "",
                    ]
                )
            )
        print(f"wrote {args.report}")


if __name__ == "__main__":
    main()
