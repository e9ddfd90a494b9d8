"""The real peer: healthscore's own scoring on Quix Streams instead of Faust.

A Quix Streams Application reads the same input topics, one dataframe per
topic concatenated into one stream (so one state store partition holds a
customer's state whatever topic their events come on; Quix then hands on
the topics' records in timestamp order), keyed by customer as published.
For each record it does what the worker's handler does for an event:
decode with the worker's decoder and limits (streams.kafka.codecs), take
the customer's state from Quix's RocksDB-backed `State` (stored with
the worker's state codec, changelogged by Quix), fold and score with
`scoring.pipeline.step` on the event-time clock with the default model, and
produce the ScoreUpdate, any alerts and any dead letter as the worker would
encode them. It has none of the worker's other work: no Redis, no metrics,
no inactivity schedule, no erasures or overrides. Quix's own defaults are
kept (at-least-once, a checkpoint every 5 s) except the group timings the
local broker needs.

The local broker (Tansu) reports only the topic configs a topic was
created with, and Quix derives its changelog topic's config from its
inputs' `retention.ms`: the inputs must be created with one
(benchmarks/throughput.py does). Quix creates its output and changelog
topics itself, with a `retention.ms` of their own.

Run by benchmarks/throughput.py as `python benchmarks/perf/quix_peer.py` with
NAIVE_APP_ID, NAIVE_BROKER_URL, NAIVE_DATADIR, NAIVE_PARTITIONS as for
naive_app.py, QUIX_INPUTS (kind=topic pairs, comma-separated) and
QUIX_OUTPUT, QUIX_ALERTS, QUIX_DEADLETTER (output topic names);
QUIX_LOGLEVEL=INFO (default WARNING) shows its start-up steps.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import NamedTuple

from quixstreams import Application, State, message_context
from quixstreams.models import TopicConfig
from quixstreams.models.serializers import SerializationContext, Serializer
from quixstreams.models.topics import Topic
from quixstreams.state.rocksdb import RocksDBOptions

from schemas.model_config import ScoringModel
from schemas.outputs import DeadLetter
from scoring.pipeline import clock_for, step
from scoring.records import encode
from scoring.state import CustomerState, new_state
from scoring.state_codec import decode_state, encode_state
from streams.kafka.codecs import decode_event
from streams.settings import Settings

# What Apache Kafka reports for a topic created without one (its default, 7 days); Tansu reports nothing.
RETENTION_MS = str(7 * 24 * 3600 * 1000)
# The worker's group timings on the local broker (Tansu holds each join for half the session timeout).
CONSUMER_CONFIG = {"session.timeout.ms": 2000, "heartbeat.interval.ms": 500}
OUTPUTS = ("output", "alerts", "deadletter")  # QUIX_OUTPUT (the ScoreUpdates), QUIX_ALERTS, QUIX_DEADLETTER
STATE_KEY = b"state"  # bytes, so Quix stores it as is; the customer id (the message key) is the prefix


class Output(NamedTuple):
    """One record to produce: where, and its JSON as the worker encodes it."""

    topic: Topic
    body: bytes


class BodySerializer(Serializer):
    """Produces an Output's body: the bytes are the worker's own encoding already."""

    def __call__(self, value: Output, ctx: SerializationContext) -> bytes:
        return value.body


def input_kinds() -> dict[str, str]:
    """QUIX_INPUTS, `kind=topic,...`: input topic -> the event kind it carries."""
    pairs = (pair.split("=", 1) for pair in os.environ.get("QUIX_INPUTS", "").split(",") if pair)
    return {topic: kind for kind, topic in pairs}


def create_app(kinds: dict[str, str]) -> tuple[Application, list[Topic], dict[str, Topic]]:
    """The Application, its input topics and its output topics (scores, alerts, deadletter), from the environment."""
    app_id = os.environ.get("NAIVE_APP_ID", "quix-peer")
    app = Application(
        broker_address=os.environ.get("NAIVE_BROKER_URL", "kafka://127.0.0.1:9092").removeprefix("kafka://"),
        consumer_group=app_id,
        auto_offset_reset="earliest",
        consumer_extra_config=CONSUMER_CONFIG,
        state_dir=os.environ.get("NAIVE_DATADIR", f".{app_id}"),
        # The worker's state codec (MessagePack), not Quix's JSON: a CustomerState is not JSON-serializable.
        rocksdb_options=RocksDBOptions(dumps=encode_state, loads=decode_state),
        loglevel=os.environ.get("QUIX_LOGLEVEL", "WARNING"),
    )
    config = TopicConfig(
        num_partitions=int(os.environ.get("NAIVE_PARTITIONS", "4")),
        replication_factor=1,
        extra_config={"retention.ms": RETENTION_MS},
    )
    inputs = [app.topic(topic, key_deserializer="bytes", value_deserializer="bytes") for topic in kinds]
    names = {name: os.environ.get(f"QUIX_{name.upper()}", f"{app_id}-{name}") for name in OUTPUTS}
    outputs = {name: app.topic(names[name], value_serializer=BodySerializer(), config=config) for name in OUTPUTS}
    return app, inputs, outputs


Score = Callable[[bytes, bytes, int, object, State], list[Output]]


def scorer(outputs: dict[str, Topic], kinds: dict[str, str], settings: Settings) -> Score:
    """The per-record function: an input record and its customer's State -> the records to produce."""
    model = ScoringModel()
    decode = partial(
        decode_event,
        max_bytes=settings.max_message_bytes,
        max_future=timedelta(seconds=settings.max_future_seconds),
        max_age=timedelta(days=settings.max_event_age_days),
        keep=settings.deadletter_value_bytes,
    )
    scores, alerts, dead = outputs["output"], outputs["alerts"], outputs["deadletter"]

    def score(value: bytes, key: bytes, timestamp: int, headers: object, state: State) -> list[Output]:
        where = message_context()
        decoded = decode(
            topic=where.topic,
            partition=where.partition,
            offset=where.offset,
            key=key,
            value=value,
            expected_kind=kinds.get(where.topic),
            received_at=datetime.now(timezone.utc),
        )
        if isinstance(decoded, DeadLetter):
            return [Output(dead, decoded.model_dump_json().encode())]
        before: CustomerState | None = state.get(STATE_KEY)
        result = step(before or new_state(decoded.customer_id), decoded, model, clock_for(before, decoded))
        if result.duplicate:
            return []
        state.set(STATE_KEY, result.state)
        produced = [Output(scores, encode(result.update))] if result.update is not None else []
        return produced + [Output(alerts, encode(alert)) for alert in result.alerts]

    return score


def main() -> None:
    kinds = input_kinds()
    app, inputs, outputs = create_app(kinds)
    frames = [app.dataframe(topic) for topic in inputs]
    stream = frames[0]
    for other in frames[1:]:
        stream = stream.concat(other)  # one state store over every input, so a customer's events all meet
    stream = stream.apply(scorer(outputs, kinds, Settings()), stateful=True, metadata=True, expand=True)
    stream.to_topic(lambda value, key, timestamp, headers: value.topic)
    app.run()


if __name__ == "__main__":
    main()
