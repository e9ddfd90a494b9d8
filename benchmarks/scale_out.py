"""What a restart and a rebalance cost, with the memory store and with RocksDB. Prints figures; asserts nothing.

For each store, on the local stack: one worker scores the first CUSTOMERS of
CDNOW's purchases; it is restarted (SIGTERM); a second worker joins the group;
the second is killed (SIGKILL) and the first takes all partitions back. For each
step it prints how long the worker took (from the log's timestamps) and how
many changelog records it read back. Run: `python benchmarks/scale_out.py
[CUSTOMERS]` (needs the `dev` extra: the local stack and rocksdict).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import datetime
from pathlib import Path

from kafka import KafkaProducer

from streams.kafka.topics import ensure_topics
from streams.settings import Settings
from streams.state.tables import STATE_TABLE
from streams.tools.localstack import LocalStack, free_port, local_stack, stop_process
from tests.integration.exactness import cdnow_purchases
from tests.integration.test_rebalance import assigned
from tests.integration.test_rocksdb_store import changelog_read

STAMP = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})\]")


def stamp_of(line: str) -> float:
    # Faust stamps its log lines in local time, which is how .timestamp() reads a naive datetime.
    return datetime.strptime(STAMP.match(line).group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()  # noqa: DTZ007


def scored(port: int) -> float:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            text = response.read().decode()
    except OSError:
        return 0.0
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("healthscore_events_total{") and 'outcome="scored"' in line
    )


def wait(condition, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError
        time.sleep(0.2)


def ready_after(log: Path, since: float, marker: str = "Seek stream partitions to committed offsets") -> float | None:
    """Seconds from `since` (epoch) to the first `marker` line logged after it; the worker resumes there."""
    for line in log.read_text().splitlines():
        if marker in line and STAMP.match(line) and stamp_of(line) >= since:
            return stamp_of(line) - since
    return None


def log_since(log: Path, since: float) -> str:
    """The log from the first line stamped at or after `since` (epoch seconds)."""
    lines = log.read_text().splitlines()
    first = next((i for i, line in enumerate(lines) if STAMP.match(line) and stamp_of(line) >= since), len(lines))
    return "\n".join(lines[first:])


class Worker:
    def __init__(self, stack: LocalStack, env: dict[str, str], name: str, datadir: Path) -> None:
        self.stack, self.port, self.name = stack, free_port(), name
        self.env = {**env, "HEALTHSCORE_WEB_PORT": str(self.port), "HEALTHSCORE_DATADIR": str(datadir)}
        self.log = stack.workdir / f"{name}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> float:
        started = time.time()
        self.process = self.stack.start_worker(self.name, self.env)
        return started

    def segment(self, since: float) -> str:
        return log_since(self.log, since)


def run(stack: LocalStack, store: str, customers: int, workdir: Path) -> None:
    suffix = uuid.uuid4().hex[:8]
    names = ["purchases", "visits", "tickets", "surveys", "erasures", "scores", "alerts", "deadletter"]
    env = {
        **stack.env(),
        "HEALTHSCORE_APP_ID": f"bench-{suffix}",
        "HEALTHSCORE_CLOCK": "event",
        "HEALTHSCORE_STORE": store,
        "HEALTHSCORE_INACTIVITY_TIMER": "false",
        "HEALTHSCORE_MAX_EVENT_AGE_DAYS": "36500",  # the CDNOW log dates from 1997
        "HEALTHSCORE_REDIS_PREFIX": f"bench-{suffix}",
        **{f"HEALTHSCORE_TOPIC_{n.upper()}": f"{n}-{suffix}" for n in names},
    }
    settings = Settings.from_env(env)
    ensure_topics(settings)
    changelog = f"{settings.app_id}-{STATE_TABLE}-changelog"
    events = cdnow_purchases(customers)
    producer = KafkaProducer(bootstrap_servers=stack.bootstrap, acks="all")
    for e in events:
        producer.send(settings.topic_purchases, key=e.customer_id.encode(), value=e.model_dump_json().encode())
    producer.flush()
    producer.close()

    a = Worker(stack, env, f"bench-{suffix}-a", workdir / f"{suffix}-a")
    b = Worker(stack, env, f"bench-{suffix}-b", workdir / f"{suffix}-b")
    started = a.start()
    wait(lambda: scored(a.port) >= len(events))
    took = time.time() - started
    print(
        f"{store:11} {len(events)} purchases of {customers} customers scored by one worker in {took:.1f} s "
        f"(from process start)"
    )

    stop_process(a.process)
    started = a.start()
    wait(lambda: ready_after(a.log, started) is not None)
    read, held = changelog_read(a.segment(started), changelog)
    print(
        f"{store:11} restart (SIGTERM): ready {ready_after(a.log, started):.1f} s after start; "
        f"read back {read} of {held} changelog records"
    )

    joined = b.start()
    topic = settings.topic_purchases
    wait(
        lambda: (
            assigned(a.log.read_text(), topic) | assigned(b.log.read_text(), topic) == {0, 1, 2, 3}
            and assigned(b.log.read_text(), topic) != set()
        )
    )
    wait(lambda: ready_after(b.log, joined) is not None)
    read, held = changelog_read(b.segment(joined), changelog)
    print(
        f"{store:11} second worker joins: split {sorted(assigned(a.log.read_text(), topic))} + "
        f"{sorted(assigned(b.log.read_text(), topic))}; it resumed {ready_after(b.log, joined):.1f} s after start, "
        f"reading {read} of {held} changelog records"
    )

    time.sleep(5)  # let both settle: standby replicas catch up
    killed = time.time()
    os.kill(b.process.pid, signal.SIGKILL)
    b.process.wait()
    wait(lambda: assigned(a.log.read_text(), topic) == {0, 1, 2, 3})
    wait(lambda: ready_after(a.log, killed) is not None)
    read, held = changelog_read(a.segment(killed), changelog)
    print(
        f"{store:11} second worker killed (SIGKILL): the first owned all partitions and resumed "
        f"{ready_after(a.log, killed):.1f} s later, reading {read} of {held} changelog records"
    )
    stop_process(a.process)


def main() -> None:
    customers = int(sys.argv[1]) if len(sys.argv) > 1 else 23570
    with tempfile.TemporaryDirectory() as tmp, local_stack(Path(tmp) / "stack") as stack:
        for store in ("memory://", "rocksdb://"):
            run(stack, store, customers, Path(tmp))


if __name__ == "__main__":
    main()
