"""Soak benchmark: one worker under a steady live load for minutes; does its memory stay bounded?

Why: a customer's state is bounded (its tails are capped: the last 256
event ids, 90 day buckets, 35 daily scores, 50 open tickets...), and the
timer's queue compacts itself, so a worker's memory should grow with the
customers it holds, up to a cap per customer, and not with the events it has
scored. This run shows it as figures over time. It is a benchmark, not a
test: it asserts nothing and only reports.

What it does: starts the local stack (Tansu + Redis, streams/tools/localstack.py)
and one `healthscore worker` with the wall clock (live scoring), then
publishes N events/s for M minutes: a seeded mix of visits, purchases,
tickets (opened, later resolved) and surveys over a fixed pool of customers,
some much busier than others, each dated at the moment it is sent. Every
`--interval` seconds it prints a row: elapsed time, events published, input
records the worker has processed (healthscore_events_total, any outcome,
from its /metrics), throughput over the interval, consumer lag
(healthscore_consumer_lag_records over the input topics: records not yet
fetched), backlog (published minus processed, which also counts records
fetched but still queued in the worker), the interval's p95 event-to-score
latency (as a histogram bucket bound), worker CPU and RSS, broker RSS,
Redis used_memory, and customers in the Redis ranking (one per customer in
the worker's state table). When publishing stops it waits for the worker to
drain, then prints the worker's memory growth over the first and the second
half of the events processed, and how large one customer's stored state
gets after 10 to 10,000 events.

Run from the repository root (after `make setup`):

    .venv/bin/python benchmarks/soak.py                      # 100 events/s for 5 minutes
    .venv/bin/python benchmarks/soak.py --rate 200 --minutes 1
    .venv/bin/python benchmarks/soak.py --report docs/performance/soak.md

`--report` also writes the table, with the run's context, as Markdown.
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import random
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import redis
from prometheus_client.parser import text_string_to_metric_families

from schemas.events import Event, PurchaseEvent, SurveyEvent, TicketEvent, VisitEvent
from schemas.model_config import ScoringModel
from scoring.pipeline import step
from scoring.state import new_state
from streams.kafka.codecs import encode_state
from streams.metrics import LATENCY_BUCKETS
from streams.settings import Settings
from streams.snapshot.keys import ranking_key
from streams.tools.demo import start_local_worker
from streams.tools.localstack import local_stack
from streams.tools.publish import publish

# Share of each kind in the stream: browsing dominates, then buying, support and surveys.
KIND_MIX = {"visit": 0.55, "purchase": 0.25, "ticket": 0.12, "survey": 0.08}
# Chance that a ticket event resolves the customer's open ticket rather than opening another.
RESOLVE_SHARE = 0.6
# Customer activity follows a Pareto law: a few customers send many events, most send few.
PARETO_ALPHA = 1.2
# A rate the worker kept up with on the local stack of a crowded, shared 2-core machine (one record
# per produce request for Tansu); 200/s fell behind there. A growing backlog is a throughput figure,
# not a soak.
DEFAULT_RATE = 100.0
# After publishing stops, how long to wait for the worker to process everything.
DRAIN_SECONDS = 180.0
PAGE_SIZE = 4096
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class LiveEvents:
    """An endless, seeded stream of valid events dated now, as JSON lines keyed by their customer."""

    def __init__(self, customers: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.ids = [f"soak-{n:06d}" for n in range(customers)]
        self.activity = list(itertools.accumulate(self.rng.paretovariate(PARETO_ALPHA) for _ in self.ids))
        self.open_tickets: dict[str, str] = {}
        self.sent = 0  # lines handed to the producer so far; read by the sampler thread

    def __iter__(self) -> Iterator[bytes]:
        kinds, weights = list(KIND_MIX), list(KIND_MIX.values())
        while True:
            customer = self.rng.choices(self.ids, cum_weights=self.activity)[0]
            event = self.event(self.rng.choices(kinds, weights)[0], customer, datetime.now(timezone.utc))
            self.sent += 1
            yield event.model_dump_json().encode()

    def event(self, kind: str, customer: str, now: datetime) -> Event:
        r = self.rng
        common = {
            "event_id": str(uuid.UUID(int=r.getrandbits(128), version=4)),
            "customer_id": customer,
            "occurred_at": now,
        }
        if kind == "visit":
            return VisitEvent(**common, duration_seconds=round(r.uniform(20, 1800), 1), pages=r.randint(1, 30))
        if kind == "purchase":
            return PurchaseEvent(**common, amount=round(r.lognormvariate(4, 0.8), 2), items=r.randint(1, 5))
        if kind == "survey":
            if r.random() < 0.5:
                return SurveyEvent(**common, survey_type="csat", score=r.randint(1, 5))
            return SurveyEvent(**common, survey_type="nps", score=r.randint(0, 10))
        ticket = {
            "priority": r.choice(["low", "normal", "normal", "high", "urgent"]),
            "category": r.choice(["question", "bug", "billing", "complaint", "other"]),
        }
        if customer in self.open_tickets and r.random() < RESOLVE_SHARE:
            return TicketEvent(**common, **ticket, ticket_id=self.open_tickets.pop(customer), action="resolved")
        self.open_tickets[customer] = f"T-{r.randrange(10**8):08d}"
        return TicketEvent(**common, **ticket, ticket_id=self.open_tickets[customer], action="opened")


def metric_samples(exposition: str) -> list[tuple[str, dict[str, str], float]]:
    """(sample name, labels, value) of every sample in a Prometheus text exposition."""
    return [(s.name, s.labels, s.value) for f in text_string_to_metric_families(exposition) for s in f.samples]


def total(samples: list[tuple[str, dict[str, str], float]], name: str, **labels: str) -> float:
    """Sum of the samples called `name` whose labels include `labels`."""
    return sum(v for n, ls, v in samples if n == name and all(ls.get(k) == x for k, x in labels.items()))


def latency_buckets(samples: list[tuple[str, dict[str, str], float]]) -> dict[float, float]:
    """Cumulative count per upper bound of the event-to-score latency histogram."""
    name = "healthscore_event_to_score_latency_seconds_bucket"
    return {float(ls["le"]): v for n, ls, v in samples if n == name}


def quantile_bound(before: Mapping[float, float], after: Mapping[float, float], q: float) -> float | None:
    """Upper bucket bound under which a share `q` of the observations made between two scrapes fell."""
    bounds = sorted(after)
    counts = [after[b] - before.get(b, 0.0) for b in bounds]
    if not counts or counts[-1] <= 0:
        return None
    return next(b for b, c in zip(bounds, counts) if c >= q * counts[-1])


def rss_bytes(pid: int) -> int:
    """Resident set size of a process, from /proc."""
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * PAGE_SIZE


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far, from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


@dataclass(frozen=True)
class Row:
    elapsed: float
    published: int
    processed: float
    throughput: float
    lag: float
    backlog: float
    p95: float | None
    cpu: float
    worker_rss: int
    broker_rss: int
    redis_used: int
    customers: int

    HEADER = (
        "elapsed s",
        "published",
        "processed",
        "events/s",
        "lag",
        "backlog",
        "p95 latency s",
        "worker CPU %",
        "worker RSS MB",
        "broker RSS MB",
        "Redis MB",
        "customers",
    )

    def cells(self) -> tuple[str, ...]:
        mb = 1024 * 1024
        return (
            f"{self.elapsed:.0f}",
            f"{self.published}",
            f"{self.processed:.0f}",
            f"{self.throughput:.0f}",
            f"{self.lag:.0f}",
            f"{self.backlog:.0f}",
            latency_cell(self.p95),
            f"{self.cpu:.0f}",
            f"{self.worker_rss / mb:.1f}",
            f"{self.broker_rss / mb:.1f}",
            f"{self.redis_used / mb:.1f}",
            f"{self.customers}",
        )


def latency_cell(bound: float | None) -> str:
    if bound is None:
        return "-"
    return f"> {max(LATENCY_BUCKETS):g}" if bound == float("inf") else f"<= {bound:g}"


def markdown_row(cells: tuple[str, ...]) -> str:
    return "| " + " | ".join(cells) + " |"


@dataclass
class Sampler:
    """Reads the worker's /metrics, /proc and Redis; each sample is compared with the one before."""

    settings: Settings
    worker_pid: int
    broker_pid: int
    events: LiveEvents
    started: float = field(default_factory=time.monotonic)
    last_time: float = 0.0
    last_processed: float = 0.0
    last_cpu: float = 0.0
    last_buckets: dict[float, float] = field(default_factory=dict)

    def sample(self) -> Row:
        url = f"http://127.0.0.1:{self.settings.web_port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as response:
            samples = metric_samples(response.read().decode())
        client = redis.Redis.from_url(self.settings.redis_url)
        try:
            redis_used = int(client.info("memory")["used_memory"])
            customers = int(client.zcard(ranking_key(self.settings.redis_prefix)))
        finally:
            client.close()
        now, cpu = time.monotonic(), cpu_seconds(self.worker_pid)
        processed = total(samples, "healthscore_events_total")
        buckets = latency_buckets(samples)
        span = max(now - (self.last_time or self.started), 1e-9)
        row = Row(
            elapsed=now - self.started,
            published=self.events.sent,
            processed=processed,
            throughput=(processed - self.last_processed) / span,
            lag=total(samples, "healthscore_consumer_lag_records"),
            backlog=self.events.sent - processed,
            p95=quantile_bound(self.last_buckets, buckets, 0.95),
            cpu=100 * (cpu - self.last_cpu) / span,
            worker_rss=rss_bytes(self.worker_pid),
            broker_rss=rss_bytes(self.broker_pid),
            redis_used=redis_used,
            customers=customers,
        )
        self.last_time, self.last_processed, self.last_cpu, self.last_buckets = now, processed, cpu, buckets
        return row


def memory_verdict(rows: list[Row]) -> list[str]:
    """Worker RSS, customers and events over the first and the second half of the work processed.

    Halves are cut by events processed, not by time, and start at the first
    sample with something processed, so start-up imports are not counted.
    """
    warm = [r for r in rows if r.processed > 0]
    if len(warm) < 3:
        return ["too few samples for a verdict: run longer or sample more often"]
    first, last = warm[0], warm[-1]
    middle = min(warm[1:-1], key=lambda r: abs(r.processed - (first.processed + last.processed) / 2))
    mb = 1024 * 1024
    lines = []
    for name, a, b in (("first half", first, middle), ("second half", middle, last)):
        grown, added, events = b.worker_rss - a.worker_rss, b.customers - a.customers, b.processed - a.processed
        per_customer = f"{grown / added / 1024:.1f} KB per customer added" if added > 0 else "no customer added"
        lines.append(
            f"{name} ({a.elapsed:.0f}-{b.elapsed:.0f} s): {events:.0f} events processed, customers "
            f"{a.customers} -> {b.customers} (+{added}), worker RSS {a.worker_rss / mb:.1f} -> "
            f"{b.worker_rss / mb:.1f} MB ({grown / mb:+.1f} MB): {per_customer}, {grown / max(events, 1):.0f} bytes "
            "per event"
        )
    return lines


def stored_state_bytes(events: int, days: float, seed: int) -> int:
    """Size of one customer's stored state after `events` of the soak's mix spread over `days`.

    The state keeps bounded tails (256 event ids, 90 day buckets, 35 daily
    scores, 13 purchase times, ...), so past a few hundred events this is
    the most one customer can take in the state table.
    """
    model, source = ScoringModel(), LiveEvents(1, seed)
    kinds, weights = list(KIND_MIX), list(KIND_MIX.values())
    state, start = new_state(source.ids[0]), datetime(2025, 1, 1, tzinfo=timezone.utc)
    for n in range(events):
        now = start + timedelta(days=days * n / events)
        event = source.event(source.rng.choices(kinds, weights)[0], source.ids[0], now)
        state = step(state, event, model, now).state
    return len(encode_state(state))


def run(args: argparse.Namespace, workdir: Path) -> tuple[list[Row], list[str]]:
    """Start the stack and a worker, publish at the fixed rate, sample; returns the rows and the verdict."""
    events = LiveEvents(args.customers, args.seed)
    publish_seconds = args.minutes * 60
    rows: list[Row] = []
    with local_stack(workdir) as stack:
        settings, worker = start_local_worker(stack, "soak", clock="wall")
        print(f"local stack: broker {stack.bootstrap}, redis {stack.redis_url}; logs in {workdir}")
        print(f"publishing {args.rate:g} events/s for {args.minutes:g} min over {args.customers} customers")
        lines = itertools.islice(events, int(args.rate * publish_seconds))
        publisher = threading.Thread(target=publish, args=(lines, settings), kwargs={"rate": args.rate}, daemon=True)
        sampler = Sampler(settings, worker.pid, stack.processes["broker"].pid, events)
        print(markdown_row(Row.HEADER))
        print(markdown_row(tuple("---:" for _ in Row.HEADER)))
        publisher.start()
        drain_deadline = None
        while worker.poll() is None:
            time.sleep(args.interval - (time.monotonic() - sampler.started) % args.interval)
            rows.append(sampler.sample())
            print(markdown_row(rows[-1].cells()), flush=True)
            if publisher.is_alive():
                continue
            drain_deadline = drain_deadline or time.monotonic() + DRAIN_SECONDS
            if rows[-1].processed >= events.sent or time.monotonic() > drain_deadline:
                break
        if worker.poll() is not None:
            print(f"the worker exited with {worker.returncode}: see {workdir}/worker.log")
    verdict = memory_verdict(rows)
    if rows and rows[-1].processed < events.sent:
        verdict.append(f"not drained: {events.sent - rows[-1].processed:.0f} events unprocessed at the end")
    verdict += [
        f"one customer's stored state after {n} events over 120 days: {stored_state_bytes(n, 120, args.seed) / 1024:.1f} KB"
        for n in (10, 100, 1000, 10000)
    ]
    for line in verdict:
        print(line)
    return rows, verdict


def write_report(path: Path, args: argparse.Namespace, rows: list[Row], verdict: list[str]) -> None:
    """Append this run's table and verdict to a Markdown file, so several runs can sit side by side."""
    command = f"python benchmarks/soak.py --rate {args.rate:g} --minutes {args.minutes:g} --customers {args.customers}"
    text = [
        "" if path.exists() else "# Soak benchmark (generated by benchmarks/soak.py --report)\n",
        f"## `{command}`",
        "",
        f"Run on {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.python_implementation()} "
        f"{platform.python_version()}, {os.cpu_count()} CPUs (load average at the end: "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}), local Tansu broker and Redis "
        f"(streams/tools/localstack.py), one worker with the wall clock, a row every {args.interval:g} s.",
        "",
        markdown_row(Row.HEADER),
        markdown_row(tuple("---:" for _ in Row.HEADER)),
        *(markdown_row(r.cells()) for r in rows),
        "",
        *(f"- {line}" for line in verdict),
        "",
    ]
    with path.open("a") as out:
        out.write("\n".join(text))
    print(f"wrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=DEFAULT_RATE, help="events published per second")
    parser.add_argument("--minutes", type=float, default=5.0, help="how long to publish")
    parser.add_argument("--customers", type=int, default=20_000, help="size of the customer pool")
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between rows")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--report", type=Path, default=None, help="also write the table as Markdown here")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the logs here (default: a temporary dir)")
    args = parser.parse_args()
    if args.workdir:
        rows, verdict = run(args, args.workdir)
    else:
        with tempfile.TemporaryDirectory(prefix="healthscore-soak-") as tmp:
            rows, verdict = run(args, Path(tmp))
    if args.report:
        write_report(args.report, args, rows, verdict)


if __name__ == "__main__":
    main()
