"""Publishing events from a JSON-lines file, keyed by customer_id, each kind (profiles too) to its topic."""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from kafka import KafkaProducer

from schemas.control import ErasureRequest, OverrideRequest
from streams.kafka.connections import connect, producer_options
from streams.settings import Settings
from streams.tools.timeshift import shift_line

logger = logging.getLogger(__name__)


@dataclass
class PublishReport:
    sent: Counter = field(default_factory=Counter)  # topic -> records
    skipped: list[str] = field(default_factory=list)  # why a line was not sent

    @property
    def total(self) -> int:
        return sum(self.sent.values())


def route(line: bytes, settings: Settings) -> tuple[str, bytes | None] | str:
    """(topic, key) for one line, or the reason it cannot be routed.

    Only the routing fields are read; the line is sent as it is, so the
    worker, not the producer, decides what is valid.
    """
    try:
        body = json.loads(line)
    except ValueError:
        return "not JSON, so no kind to route by (use --topic to send it anyway)"
    if not isinstance(body, dict) or body.get("kind") not in settings.input_topics().values():
        return "no known 'kind' field to route by (use --topic to send it anyway)"
    customer = body.get("customer_id")
    key = customer.encode("utf-8") if isinstance(customer, str) and customer else None
    return settings.topic_for(body["kind"]), key


def read_lines(path: Path, shift: timedelta | None = None) -> Iterable[bytes]:
    """The non-blank lines of `path`; with `shift`, each valid event's times moved by it (`--shift-to-now`)."""
    with path.open("rb") as f:
        for raw in f:
            line = raw.rstrip(b"\r\n")
            if line.strip():
                yield line if shift is None else shift_line(line, shift)


def publish(
    lines: Iterable[bytes],
    settings: Settings,
    topic: str | None = None,
    rate: float | None = None,
    advance: Callable[[int], None] | None = None,
) -> PublishReport:
    """Send every line; with `topic`, all go there unrouted. `rate` caps lines per second.

    Pacing matters for event-time replays: a worker that keeps up consumes
    the four topics in step, so a customer's clock does not run ahead on one.
    `advance(1)` is called for each line handed to the producer or skipped
    (streams/tools/progress.py).
    """
    report = PublishReport()
    producer = connect(KafkaProducer, settings, **producer_options(settings), linger_ms=5, acks="all")
    started = time.monotonic()
    try:
        for number, line in enumerate(lines, start=1):
            if rate:
                ahead = number / rate - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)
            routed = route(line, settings)
            if advance is not None:
                advance(1)
            if isinstance(routed, str):
                if topic is None:
                    report.skipped.append(f"line {number}: {routed}")
                    continue
                target, key = topic, None
            else:
                target, key = (topic or routed[0]), routed[1]
            producer.send(target, key=key, value=line)
            report.sent[target] += 1
        producer.flush()
    finally:
        producer.close()
    return report


def send_request(topic: str, request: ErasureRequest | OverrideRequest, settings: Settings) -> None:
    """Publish a control request keyed by its customer, and wait until the broker has it."""
    producer = connect(KafkaProducer, settings, **producer_options(settings), acks="all")
    try:
        key = request.customer_id.encode("utf-8")
        producer.send(topic, key=key, value=request.model_dump_json().encode()).get(timeout=30)
    finally:
        producer.close()
