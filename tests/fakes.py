"""Stand-ins for the worker's collaborators (Faust table and messages, output topics, Redis, the consumer).

Pure tests of the scorer and timer run on these, in memory; anything that
talks to a broker or Redis is an integration test and uses the real ones.
"""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from schemas.model_config import ScoringModel
from scoring.schedule import DueQueue
from streams.metrics import Metrics
from streams.worker.checkpoint import Checkpoint
from streams.worker.continuity import Continuity
from streams.worker.handling import Handler, ScorerConfig
from streams.worker.outputs import Outputs, TableWrites
from streams.worker.scorer import Scorer

MODEL = ScoringModel()
TOPIC = "customer.purchases"


class CountingTable(dict):
    """A stand-in for the Faust table that counts the customers read."""

    reads = 0

    def get(self, key, default=None):
        self.reads += 1
        return super().get(key, default)


class Sent:
    def __init__(self) -> None:
        self.values: list[bytes] = []

    async def send(self, key: bytes, value: bytes) -> None:
        """Records the value, as the broker would have it once the outputs are flushed."""
        self.values.append(value)


class Snapshots:
    """A stand-in for the Redis sink: the updates offered and the customers erased, in order."""

    def __init__(self) -> None:
        self.offered: list = []
        self.erased: list[str] = []

    def offer(self, update, encoded=None, cause=None, alerts=()) -> None:
        self.offered.append(update)

    def erase(self, customer_id: str) -> None:
        self.erased.append(customer_id)

    async def confirm(self, timeout: float) -> bool:
        """Everything offered is written (a Redis that answers)."""
        return True


def make_scorer(**fields) -> Scorer:
    """A Scorer on in-memory stand-ins (table, topics, Redis), event-time clock; `fields` replace any part.

    Fields of ScorerConfig (kinds, max_output_bytes, ...) go into its config.
    With a `consumer` (a Position), offsets are checked; without, every record counts as the next.
    """
    settings = {name: fields.pop(name) for name in list(fields) if name in ScorerConfig.__dataclass_fields__}
    config = ScorerConfig(
        **({"kinds": {}, "max_message_bytes": 1024, "max_future": timedelta(days=1), "clock": "event"} | settings)
    )
    table = fields.pop("table", None)
    table = CountingTable() if table is None else table
    outputs = fields.pop("outputs", None) or Outputs(scores=Sent(), alerts=Sent(), deadletter=Sent())
    metrics = fields.pop("metrics", None) or Metrics()
    erasures = fields.pop("erasures", {})
    consumer = fields.pop("consumer", None)
    continuity = Continuity(consumer or Position({}), metrics, checks=consumer is not None)
    handler = Handler(
        config=config,
        model=fields.pop("model", MODEL),
        table=table,
        outputs=outputs,
        metrics=metrics,
        erasures=erasures,
    )
    checkpoint = Checkpoint(
        outputs=outputs,
        states=fields.pop("writer", None) or TableWrites(table),
        redis=fields.pop("redis", None) or Snapshots(),
        erasures=erasures,
        due=fields.pop("due", None) or DueQueue(),
        metrics=metrics,
        continuity=continuity,
    )
    return Scorer(handler=handler, continuity=continuity, checkpoint=checkpoint, **fields)


class Position:
    """The consumer as offset continuity sees it: committed offsets and the seeks asked for."""

    def __init__(self, committed: dict, first: dict | None = None, group: dict | None = None) -> None:
        self.committed = committed  # as Faust's copy has them
        self.first = first or {}  # each partition's first offset on the broker
        self.group = {**committed, **(group or {})}  # as the group coordinator has them, which Faust's copy may lag
        self.seeks: list[tuple[str, int]] = []

    def committed_offset(self, tp):
        return self.committed.get(tp)

    def assignment(self) -> set:
        return set(self.committed) | set(self.first)

    async def earliest(self, tps: list) -> dict:
        return {tp: self.first.get(tp, 0) for tp in tps}

    async def fetch_committed(self, tps: list) -> dict:
        return {tp: self.group.get(tp) for tp in tps}

    async def seek(self, tp, offset: int) -> None:
        self.seeks.append((tp, offset))

    def release(self, messages) -> None:
        self.released = [*getattr(self, "released", []), *messages]


class Message(SimpleNamespace):
    """A stand-in for a Faust ConsumerMessage: coordinates, bytes and a reference count."""

    refcount: int = 1

    def incref(self) -> None:
        self.refcount += 1


def message(topic: str, key: bytes | None, value: bytes | None, offset: int, tp: object = "p0") -> Message:
    return Message(
        topic=topic, partition=0, offset=offset, key=key, value=value, timestamp=None, tp=tp, generation_id=0
    )


def messages(events, tp: str = "p0", first: int = 0) -> list[Message]:
    """`events` as consecutive records of one partition of the purchases topic, from offset `first`."""
    return [
        message(TOPIC, e.customer_id.encode(), e.model_dump_json().encode(), first + n, tp)
        for n, e in enumerate(events)
    ]
