"""The demo: local stack up, worker running, sample events replayed, scores and alerts shown."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

import redis
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.table import Table

from schemas.events import EVENT_ADAPTER
from schemas.outputs import ChurnRiskAlert, DeadLetter, ScoreUpdate
from streams.kafka.topics import ensure_topics, topic_reader
from streams.settings import Settings
from streams.snapshot.keys import customer_key, ranking_key
from streams.tools.localstack import LocalStack, free_port, local_stack
from streams.tools.progress import progress
from streams.tools.publish import publish, read_lines

# After the last expected output, keep reading this long for stragglers (alerts
# follow their score update).
QUIET_SECONDS = 2.0
SEGMENTED = Path(__file__).resolve().parents[2] / "models" / "segmented.toml"


@dataclass
class Collected:
    updates: list[ScoreUpdate] = field(default_factory=list)
    alerts: list[ChurnRiskAlert] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)


@dataclass(frozen=True)
class Expected:
    """What a worker must publish for a file's lines, and what it must count once."""

    events: set[str]  # ids of the distinct behaviour events: one update each (a profile re-scores only sometimes)
    invalid: int  # lines that are not events: a dead letter each
    duplicates: int  # valid lines repeating an event id already seen


def expected_outputs(lines: list[bytes]) -> Expected:
    """An update per distinct behaviour event, a dead letter per invalid line, duplicates counted once.

    A profile is left out of the updates: it re-scores a customer already
    known by behaviour, but the topics are read side by side, so whether
    their first event came before it is not fixed.
    """
    ids, behaviour, invalid = set(), set(), 0
    for line in lines:
        try:
            event = EVENT_ADAPTER.validate_json(line)
        except ValidationError:
            invalid += 1
            continue
        ids.add(event.event_id)
        if event.kind != "profile":
            behaviour.add(event.event_id)
    return Expected(behaviour, invalid, len(lines) - invalid - len(ids))


def collect(
    settings: Settings, events: set[str], dead_letters: int, timeout: float, alive: Callable[[], bool] = lambda: True
) -> Collected:
    """Read the output topics until the expected counts arrived and the topics went quiet.

    Stops early when `alive` says the worker is gone, so a crash is reported at once.
    """
    consumer = topic_reader(
        settings.bootstrap_servers(), [settings.topic_scores, settings.topic_alerts, settings.topic_deadletter]
    )
    got = Collected()
    parse: dict[str, tuple[type[BaseModel], list[Any]]] = {
        settings.topic_scores: (ScoreUpdate, got.updates),
        settings.topic_alerts: (ChurnRiskAlert, got.alerts),
        settings.topic_deadletter: (DeadLetter, got.dead_letters),
    }
    deadline = time.monotonic() + timeout
    done_at: float | None = None
    try:
        while time.monotonic() < deadline and alive():
            for tp, records in consumer.poll(timeout_ms=250).items():
                model, sink = parse[tp.topic]
                sink.extend(model.model_validate_json(r.value) for r in records)
            # The timer and profiles add updates of their own: wait for the ones of `events`.
            if (
                done_at is None
                and events <= {u.event_id for u in got.updates}
                and len(got.dead_letters) >= dead_letters
            ):
                done_at = time.monotonic()
            if done_at is not None and time.monotonic() - done_at > QUIET_SECONDS:
                break
    finally:
        consumer.close()
    return got


def redis_ranking(settings: Settings, expect: int, timeout: float = 10.0) -> list[dict[str, str]]:
    """Every customer's snapshot from Redis, lowest score first, once all `expect` are written."""
    client = redis.Redis.from_url(settings.redis_url, decode_responses=True)
    deadline = time.monotonic() + timeout
    while client.zcard(ranking_key(settings.redis_prefix)) < expect and time.monotonic() < deadline:
        time.sleep(0.1)
    # decode_responses: str members, keys and values
    ids = cast(list[str], client.zrange(ranking_key(settings.redis_prefix), 0, -1))
    return [cast(dict[str, str], client.hgetall(customer_key(settings.redis_prefix, cid))) for cid in ids]


def show(console: Console, ranking: list[dict[str, str]], got: Collected, shown: int) -> None:
    tiers = Counter(row["tier"] for row in ranking)
    console.print(
        f"\n[bold]{len(ranking)} customers scored[/bold] from Redis: "
        + ", ".join(f"{t} {tiers[t]}" for t in ("healthy", "watch", "at_risk", "critical"))
    )
    table = Table(title=f"Lowest {min(shown, len(ranking))} health scores (Redis ranking)")
    for col in ("customer", "score", "tier", "model", "segment", "CLV 12m", "confidence", "top reasons"):
        table.add_column(col)
    for row in ranking[:shown]:
        update = ScoreUpdate.model_validate_json(row["update"])
        table.add_row(
            row["customer_id"],
            row["score"],
            row["tier"],
            update.model_name,
            update.segment,
            f"{update.clv_12m:,.0f}",
            row["confidence"],
            row["reasons"],
        )
    console.print(table)

    by_trigger = Counter(a.trigger for a in got.alerts)
    alerts = Table(
        title=f"Churn-risk alerts raised: {len(got.alerts)} ("
        + ", ".join(f"{t} {n}" for t, n in by_trigger.most_common())
        + f"); latest {min(shown, len(got.alerts))}"
    )
    for col in ("customer", "trigger", "tier", "score", "raised at", "what fired / reasons"):
        alerts.add_column(col)
    for alert in sorted(got.alerts, key=lambda a: a.raised_at)[-shown:]:
        alerts.add_row(
            alert.customer_id,
            alert.trigger,
            alert.tier,
            f"{alert.score:.1f}",
            alert.raised_at.strftime("%Y-%m-%d"),
            "\n".join([alert.detail, *alert.reasons]),
        )
    console.print(alerts)

    dead = Table(title=f"Dead letters: {len(got.dead_letters)}")
    for col in ("topic", "error", "reason"):
        dead.add_column(col)
    for letter in got.dead_letters:
        dead.add_row(letter.topic, letter.error, letter.reason)
    console.print(dead)


def start_local_worker(
    stack: LocalStack, app_prefix: str, clock: Literal["wall", "event"], model: Path | None = None
) -> tuple[Settings, subprocess.Popen]:
    """One worker on `stack` in a fresh group, topics created first; its settings and process."""
    worker_env = {
        "HEALTHSCORE_APP_ID": f"{app_prefix}-{uuid.uuid4().hex[:6]}",
        "HEALTHSCORE_CLOCK": clock,
        "HEALTHSCORE_WEB_PORT": str(free_port()),
        "HEALTHSCORE_DATADIR": str(stack.workdir / "worker-data"),
        **({"HEALTHSCORE_MODEL_PATH": str(model)} if model is not None else {}),
    }
    settings = Settings.from_env(stack.env() | worker_env)
    ensure_topics(settings)
    return settings, stack.start_worker("worker", worker_env)


def run_demo(
    events: Path, workdir: Path, shown: int = 15, timeout: float = 300.0, rate: float | None = None
) -> Collected:
    """Run the whole flow once on a fresh local stack and print what came out."""
    console = Console(width=max(120, Console().width))
    lines = list(read_lines(events))
    expected = expected_outputs(lines)
    with local_stack(workdir) as stack:
        console.print(f"local stack: broker {stack.bootstrap}, redis {stack.redis_url} (logs in {workdir})")
        # The sample's profiles choose each customer's model: models/segmented.toml shows per-segment models.
        settings, process = start_local_worker(stack, "healthscore-demo", clock="event", model=SEGMENTED)
        console.print(f"worker started; metrics at http://127.0.0.1:{settings.web_port}/metrics")
        started = time.monotonic()
        with progress("publishing", len(lines)) as advance:
            report = publish(lines, settings, rate=rate, advance=advance)
        console.print(f"published {report.total} events from {events} ({len(report.skipped)} lines skipped)")
        got = collect(settings, expected.events, expected.invalid, timeout, alive=lambda: process.poll() is None)
        elapsed = time.monotonic() - started
        timed = sum(1 for u in got.updates if u.cause == "timer")
        console.print(
            f"worker published {len(got.updates)} score updates ({timed} from the inactivity timer), "
            f"{len(got.alerts)} alerts and {len(got.dead_letters)} dead letters in {elapsed:.1f}s"
        )
        console.print(f"{expected.duplicates} duplicates counted once")
        missing = expected.events - {u.event_id for u in got.updates}
        if missing:
            raise SystemExit(
                f"{len(missing)} of {len(expected.events)} events got no score update; see {workdir}/worker.log"
            )
        ranking = redis_ranking(settings, len({u.customer_id for u in got.updates}))
        show(console, ranking, got, shown)
    console.print("local stack stopped")
    return got


def summary(got: Collected) -> str:
    return json.dumps({"updates": len(got.updates), "alerts": len(got.alerts), "dead_letters": len(got.dead_letters)})
