"""What `healthscore preview --live` costs: a page of states on the worker, and reading every state through the API.

Prints figures, asserts nothing. Two parts:

1. The worker's side, in this process: one page of a partition's states
   from a memory table (a pass over Faust's key -> partition map) and from
   RocksDB databases (a read on from the last key), at CUSTOMERS customers.
   A page runs on the worker's event loop: its time is how long scoring
   waits while the page is read.
2. End to end: a local stack and one worker fed EVENTS generated events over
   CUSTOMERS customers, then every state read through the HTTP API
   (`read_live_states`), both models compared, and the command timed.

Run: `PYTHONPATH=. .venv/bin/python benchmarks/live_states.py [customers] [events]` (events
0: the worker's side alone; default twice the customers).
"""

from __future__ import annotations

import base64
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import msgspec
import redis
from rocksdict import Options, Rdict

sys.path.insert(0, str(Path(__file__).resolve().parent))

from perf.events import generate  # noqa: E402
from schemas.api import MAX_STATES_PAGE  # noqa: E402
from schemas.events import EVENT_ADAPTER  # noqa: E402
from schemas.model_config import ScoringModel  # noqa: E402
from scoring.preview import compare  # noqa: E402
from scoring.replay import replay  # noqa: E402
from scoring.state_codec import encode_state  # noqa: E402
from streams.kafka.partitions import partition_of  # noqa: E402
from streams.snapshot.keys import ranking_key  # noqa: E402
from streams.state.stores import KeyPartitionedRocksDB, partition_page  # noqa: E402
from streams.tools.demo import start_local_worker  # noqa: E402
from streams.tools.live_states import read_live_states  # noqa: E402
from streams.tools.localstack import local_stack  # noqa: E402
from streams.worker.model_file import load_model  # noqa: E402

PARTITIONS = 4
ROOT = Path(__file__).resolve().parents[1]
CANDIDATE = ROOT / "models" / "cdnow-calibrated.toml"


def stored_states(customers: int) -> dict[bytes, bytes]:
    """CUSTOMERS stored states: a few real ones, replayed from generated events, copied under new ids."""
    sample = replay([EVENT_ADAPTER.validate_json(r.value) for r in generate(2_000, 200)], ScoringModel()).states
    shapes = list(sample.values())
    out = {}
    for n in range(customers):
        state = msgspec.structs.replace(shapes[n % len(shapes)], customer_id=f"cust-{n:07d}")
        out[state.customer_id.encode()] = encode_state(state)
    return out


def page_times(read_page) -> tuple[list[float], int]:
    """Milliseconds of each page over every partition, and the states read."""
    times, total = [], 0
    for partition in range(PARTITIONS):
        after = None
        while True:
            started = time.perf_counter()
            page = read_page(partition, after)
            times.append((time.perf_counter() - started) * 1000)
            total += len(page.states)
            if page.next_after is None:
                break
            after = page.next_after
    return times, total


def show(label: str, times: list[float], total: int) -> None:
    print(
        f"{label}: {total:,} states in {len(times)} pages of up to {MAX_STATES_PAGE}: page mean "
        f"{statistics.mean(times):.1f} ms, max {max(times):.1f} ms, all {sum(times) / 1000:.2f} s"
    )


def worker_side(customers: int) -> None:
    states = stored_states(customers)
    sizes = [len(v) for v in states.values()]
    print(
        f"{customers:,} states of {statistics.mean(sizes):,.0f} bytes on average "
        f"({statistics.mean(len(base64.b64encode(v)) for v in states.values()):,.0f} as base64)"
    )
    key_partitions = {key: partition_of(key, PARTITIONS) for key in states}
    show(
        "memory table", *page_times(lambda p, after: partition_page(states, p, after, MAX_STATES_PAGE, key_partitions))
    )
    with tempfile.TemporaryDirectory() as work:
        dbs = {}
        for p in range(PARTITIONS):
            dbs[p] = Rdict(str(Path(work) / f"p{p}"), Options(raw_mode=True))
        for key, value in states.items():
            dbs[key_partitions[key]][key] = value
        store = SimpleNamespace(
            _dbs=dbs,
            offset_key=b"__faust\0offset__",
            unconfirmed={},
            _partition=lambda key: partition_of(key, PARTITIONS),
        )
        table = SimpleNamespace(get=lambda key: dbs[partition_of(key, PARTITIONS)].get(key))

        def rocks_page(p: int, after: bytes | None):
            keys = KeyPartitionedRocksDB.partition_keys(store, p, after, MAX_STATES_PAGE + 1)
            states_ = [(k, table.get(k)) for k in keys[:MAX_STATES_PAGE]]
            return SimpleNamespace(
                states=states_, next_after=keys[MAX_STATES_PAGE - 1] if len(keys) > MAX_STATES_PAGE else None
            )

        show("RocksDB table", *page_times(rocks_page))
        for db in dbs.values():
            db.close()


def end_to_end(customers: int, events: int) -> None:
    with tempfile.TemporaryDirectory() as work, local_stack(Path(work)) as stack:
        settings, worker = start_local_worker(stack, "bench-live", clock="event")
        records = generate(events, customers)
        producer_topics = {kind: topic for topic, kind in settings.input_topics().items()}
        from kafka import KafkaProducer

        producer = KafkaProducer(bootstrap_servers=stack.bootstrap, linger_ms=5)
        for record in records:
            producer.send(producer_topics[record.kind], key=record.key, value=record.value)
        producer.flush()
        producer.close()
        started = time.monotonic()
        client = redis.Redis.from_url(settings.redis_url)
        while client.zcard(ranking_key(settings.redis_prefix)) < customers:
            if worker.poll() is not None:
                raise SystemExit(f"worker stopped; see {work}/worker.log")
            time.sleep(1.0)
        print(
            f"end to end: {events:,} events over {customers:,} customers scored in {time.monotonic() - started:.0f} s"
        )
        url = f"http://127.0.0.1:{settings.web_port}"
        started = time.perf_counter()
        live = read_live_states(url, None)
        read = time.perf_counter() - started
        print(f"read_live_states: {len(live.states):,} states in {read:.1f} s ({len(live.states) / read:,.0f}/s)")
        now = max(live.clocks)
        started = time.perf_counter()
        result = compare(live.states, ScoringModel(), load_model(CANDIDATE), now)
        print(
            f"compare (default vs cdnow-calibrated): {time.perf_counter() - started:.1f} s, {len(result.moves):,} tier moves"
        )
        started = time.perf_counter()
        command = subprocess.run(
            [
                sys.executable,
                "-m",
                "streams.tools.cli",
                "preview",
                "--live",
                "--candidate",
                str(CANDIDATE),
                "--url",
                url,
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        print(f"`healthscore preview --live` (exit {command.returncode}): {time.perf_counter() - started:.1f} s")


def main() -> None:
    customers = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    events = int(sys.argv[2]) if len(sys.argv) > 2 else 2 * customers
    worker_side(customers)
    if events:  # 0: the worker's side alone
        end_to_end(customers, events)


if __name__ == "__main__":
    main()
