"""The end of every batch and timer tick: what it produced is stored in a fixed order, or nothing is.

Why outputs are delivered before state is written: a customer's state in the
changelog is what a restarted worker resumes from, and an event already in
that state is a duplicate on redelivery, which publishes nothing. If the
state could reach the broker before the event's ScoreUpdate and alerts, a
crash in between would lose them for good. So a batch publishes all its
outputs, waits until the broker has acknowledged them, and only then writes
each customer's final state once (one changelog record per customer per
batch); offsets are committed after that. A crash anywhere in the batch
replays it from the last commit: either the state lacks the events and they
are scored again with the same ids, or it has them and their outputs are
already on the broker.

Why Redis comes before the states: once a state is stored, its events are
duplicates to whoever reads them again, so their updates would never be
offered again. While Redis is failing, batches do not wait for it; a state
stored then keeps its customer's last update (`unconfirmed_update`), and
whoever restores it offers it again (streams/worker/timers.py).
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from scoring.records import AlertRecord, ScoreRecord
from scoring.schedule import Schedule
from streams.kafka.codecs import encode_state
from streams.metrics import Metrics
from streams.worker.continuity import Continuity
from streams.worker.handling import Batch
from streams.worker.outputs import Outputs, StatesWriter

# Longest a batch waits for Redis to take its snapshots before it stores its states anyway.
SNAPSHOT_WAIT_SECONDS = 1.0


class Snapshots(Protocol):
    """Where the latest scores are offered for the API and console (streams/snapshot/writer.py RedisSink)."""

    def offer(
        self,
        update: ScoreRecord,
        encoded: bytes | None = None,
        cause: str | None = None,
        alerts: Sequence[AlertRecord] = (),
    ) -> None: ...

    def erase(self, customer_id: str) -> None: ...

    async def confirm(self, timeout: float) -> bool: ...


@dataclass
class Checkpoint:
    """Stores a finished batch: its outputs, erasures, snapshots, states and offsets, in that order."""

    outputs: Outputs
    states: StatesWriter
    redis: Snapshots
    erasures: MutableMapping[bytes, bytes]  # the suppression list the handler reads (Handler.erasures)
    due: Schedule
    metrics: Metrics
    continuity: Continuity

    async def commit(self, batch: Batch, handled: Mapping[Hashable, int]) -> None:
        """Store `batch`, whose input records end before the offsets `handled` (none for a timer tick).

        A step that fails raises and stores nothing after it; the caller
        fetches the batch's records again.
        """
        self.continuity.forward(handled)  # 0. an offset going backwards is refused before anything is written
        await self.outputs.flush()  # 1. every output acknowledged by the broker
        writes = self._erasures(batch)  # 2. erasures recorded, before states: a customer may be back after one
        confirmed = await self._snapshots(batch)  # 3. Redis offered the batch's updates, waited for a little
        await self.states.write(writes | self._states(batch, confirmed))  # 4. states: changelog, then store
        for customer_id, when in batch.reviews.items():  # 5. the timer's next look, once the states are stored
            self.due.schedule(customer_id, when)
        self.continuity.completed(handled)  # 6. offsets: Faust commits each record once the agent moves past it
        acknowledged = time.time()
        for stamp in batch.stamps:
            self.metrics.observe_latency(acknowledged - stamp)

    def _erasures(self, batch: Batch) -> dict[bytes, bytes | None]:
        writes: dict[bytes, bytes | None] = {}
        for key, until in batch.erased.items():
            writes[key] = None  # a changelog tombstone
            self.erasures[key] = until.isoformat().encode("ascii")
            self.redis.erase(key.decode("utf-8"))
            self.metrics.erasures.inc()
        return writes

    async def _snapshots(self, batch: Batch) -> bool:
        """Offer every update of the batch to Redis; whether Redis took them within SNAPSHOT_WAIT_SECONDS."""
        for result, encoded, cause in batch.scored:
            assert result.update is not None, "only steps with an update are kept as scored"
            self.redis.offer(result.update, encoded, cause, result.alerts)
            self.metrics.scored(result.update, result.alerts)
        if not (batch.scored or batch.erased):
            return False
        return await self.redis.confirm(SNAPSHOT_WAIT_SECONDS)

    @staticmethod
    def _states(batch: Batch, confirmed: bool) -> dict[bytes, bytes | None]:
        """Each customer's final state, keeping its last update while Redis has not confirmed it."""
        latest = {result.state.customer_id.encode("utf-8"): encoded for result, encoded, _ in batch.scored}
        writes: dict[bytes, bytes | None] = {}
        for key, state in batch.states.items():
            state.unconfirmed_update = b"" if confirmed else latest.get(key, state.unconfirmed_update)
            writes[key] = encode_state(state)
        return writes
