"""Benchmark: what a consumer following a topic's tail costs the local broker, as the topic grows.

Why: paced latency runs (throughput.py (d)) rise through the run even at a
quarter of the scorer's rate, while the broker's CPU climbs. This isolates
the broker: one producer sends one-record batches at a steady rate to a
fresh topic, first alone (the reference), then to another fresh topic with
one consumer reading its tail. It prints the broker's share of one core
for each successive interval of both runs. No worker, no Redis.

Run from the repository root (after `make setup`):

    .venv/bin/python benchmarks/broker_tail_cost.py                  # 300 records/s, a batch each, 50 s each
    .venv/bin/python benchmarks/broker_tail_cost.py --fetch-wait-ms 5
    .venv/bin/python benchmarks/broker_tail_cost.py --linger-ms 50   # the same records in ~15-record batches
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from perf.broker import pace
from soak import cpu_seconds
from streams.tools.localstack import local_stack


async def follow(consumer: AIOKafkaConsumer) -> None:
    """Read the tail as it grows; the records themselves are not needed, only the broker's work serving them."""
    while True:
        await consumer.getmany(timeout_ms=100)


async def steady_run(
    bootstrap: str, broker_pid: int, topic: str, args: argparse.Namespace, tail_consumer: bool
) -> list[float]:
    """Broker CPU share per interval while one-record batches go to `topic` at args.rate, optionally followed."""
    # linger 0: one record per produce batch; a linger gathers the records sent meanwhile into one batch.
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=args.linger_ms)
    await producer.start()
    await producer.send_and_wait(topic, b"first", key=b"0")  # creates the topic before the consumer joins
    consumer, reader = None, None
    if tail_consumer:
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            group_id=f"{topic}-reader",
            fetch_max_wait_ms=args.fetch_wait_ms,
            auto_offset_reset="latest",
        )
        await consumer.start()
        reader = asyncio.ensure_future(follow(consumer))
    shares: list[float] = []
    started = mark = time.monotonic()
    cpu_mark, sent = cpu_seconds(broker_pid), 0
    try:
        while time.monotonic() - started < args.seconds:
            await pace(sent, args.rate, started)
            await producer.send(topic, b"x" * 300, key=str(sent).encode())
            sent += 1
            if time.monotonic() - mark >= args.interval:
                cpu, now = cpu_seconds(broker_pid), time.monotonic()
                shares.append((cpu - cpu_mark) / (now - mark))
                mark, cpu_mark = now, cpu
    finally:
        if reader is not None:
            reader.cancel()
        if consumer is not None:
            await consumer.stop()
        await producer.stop()
    return shares


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rate",
        type=float,
        default=300.0,
        help="records sent per second (each a produce batch of its own unless --linger-ms)",
    )
    parser.add_argument("--seconds", type=float, default=50.0, help="length of each of the two runs")
    parser.add_argument("--interval", type=float, default=10.0, help="seconds per CPU sample")
    parser.add_argument("--fetch-wait-ms", type=int, default=25, help="the tail consumer's fetch wait")
    parser.add_argument(
        "--linger-ms",
        type=int,
        default=0,
        help="the producer's linger: 0 sends each record as a batch of its own; 50 at 300/s "
        "gathers about 15 records per batch",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="healthscore-tail-") as tmp, local_stack(Path(tmp)) as stack:
        pid = stack.processes["broker"].pid
        for label, follow_tail in (
            ("producer alone (reference)", False),
            (f"producer + tail consumer, fetch wait {args.fetch_wait_ms} ms", True),
        ):
            topic = "tail-followed" if follow_tail else "tail-alone"
            shares = asyncio.run(steady_run(stack.bootstrap, pid, topic, args, follow_tail))
            print(
                f"{label}, {args.rate:g} records/s, linger {args.linger_ms} ms: broker CPU per "
                f"{args.interval:g} s, share of one core: " + ", ".join(f"{share:.0%}" for share in shares),
                flush=True,
            )


if __name__ == "__main__":
    main()
