"""The Redis snapshot: latest score per customer, written in batches off the stream's path.

Scores are queued in memory, newest per customer wins, and a timer flushes
them in one pipeline. A Redis outage therefore never blocks scoring: the
queue keeps the latest value per customer and is written when Redis is back.

Keys, all under the configured prefix (every one is named by a function here,
so the HTTP API, tests and data erasure agree on them):

- `<prefix>:customer:<id>`: a hash, the customer's latest snapshot
  (`customer_keys`);
- `<prefix>:scores`: a sorted set of every customer by score, and
  `<prefix>:tier:<tier>` / `<prefix>:segment:<segment>`: the same per tier and
  per segment, so the API filters and counts without scanning (`index_keys`).
  A customer is a member of the ranking, of exactly one tier set and of
  exactly one segment set; one flush moves it between them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from schemas.outputs import SEGMENTS, TIERS
from scoring.records import ScoreRecord, encode
from streams.failure_streak import FailureStreak
from streams.metrics import Metrics

logger = logging.getLogger(__name__)


def customer_key(prefix: str, customer_id: str) -> str:
    return f"{prefix}:customer:{customer_id}"


def ranking_key(prefix: str) -> str:
    return f"{prefix}:scores"


def tier_key(prefix: str, tier: str) -> str:
    return f"{prefix}:tier:{tier}"


def segment_key(prefix: str, segment: str) -> str:
    return f"{prefix}:segment:{segment}"


def customer_keys(prefix: str, customer_id: str) -> list[str]:
    """Every key that belongs to one customer alone: deleting them all forgets the customer's snapshot."""
    return [customer_key(prefix, customer_id)]


def index_keys(prefix: str) -> list[str]:
    """Every shared sorted set a customer may be a member of (member = customer id): remove it from each to erase."""
    return [
        ranking_key(prefix),
        *(tier_key(prefix, tier) for tier in TIERS),
        *(segment_key(prefix, segment) for segment in SEGMENTS),
    ]


def snapshot_fields(update: ScoreRecord, encoded: bytes | None = None) -> dict[str, str | bytes]:
    """The hash written per customer: flat fields for redis-cli users, plus the whole update (`encoded`, if at hand)."""
    return {
        "customer_id": update.customer_id,
        "score": f"{update.score:.1f}",
        "tier": update.tier,
        "segment": update.segment,
        "confidence": f"{update.confidence:.4f}",
        "reasons": "\n".join(update.reasons),
        "model": f"{update.model_name}@{update.model_version}",
        "scored_at": update.scored_at.isoformat(),
        "update": encoded if encoded is not None else encode(update),
    }


def indexes_of(prefix: str, update: ScoreRecord) -> set[str]:
    """The index keys a customer with this latest score belongs to: the ranking, its tier's and its segment's."""
    return {ranking_key(prefix), tier_key(prefix, update.tier), segment_key(prefix, update.segment)}


@dataclass
class IndexChange:
    """What one flush does to one index: members (re)scored in it, members taken out of it."""

    scores: dict[str, float] = field(default_factory=dict)
    moved_out: list[str] = field(default_factory=list)


def index_changes(prefix: str, updates: list[ScoreRecord]) -> dict[str, IndexChange]:
    """Per index key, the customers to add with their scores and those to remove because they belong elsewhere now.

    Removing a customer from every index it does not belong to, rather than
    from the one it was in, needs no read of the previous snapshot.
    """
    changes = {key: IndexChange() for key in index_keys(prefix)}
    for update in updates:
        belongs = indexes_of(prefix, update)
        for key, change in changes.items():
            if key in belongs:
                change.scores[update.customer_id] = update.score
            else:
                change.moved_out.append(update.customer_id)
    return changes


class RedisSink:
    def __init__(self, url: str, prefix: str, metrics: Metrics, clock: Callable[[], float] = time.monotonic) -> None:
        self._client = aioredis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
        self._prefix = prefix
        self._metrics = metrics
        self._pending: dict[str, tuple[ScoreRecord, bytes | None]] = {}
        self._erased: set[str] = set()
        self._clock = clock
        self._failures = FailureStreak()  # flushes retry every REDIS_FLUSH_SECONDS (0.2): log the first, then counts

    def offer(self, update: ScoreRecord, encoded: bytes | None = None) -> None:
        """Queue the customer's latest score; an older queued one is replaced.

        `encoded` is the update's JSON when the caller has it already (the agent
        sent it to the scores topic), so a batch dumps each update once, not twice.
        """
        self._pending[update.customer_id] = (update, encoded)

    def erase(self, customer_id: str) -> None:
        """Queue the deletion of every key of the customer; a snapshot queued before it is dropped."""
        self._pending.pop(customer_id, None)
        self._erased.add(customer_id)

    @property
    def backlog(self) -> int:
        return len(self._pending) + len(self._erased)

    async def flush(self) -> int:
        """Write everything queued; on failure keep it queued (unless superseded) and count the error."""
        if not self._pending and not self._erased:
            return 0
        batch, self._pending = self._pending, {}
        erased, self._erased = self._erased, set()
        pipe = self._client.pipeline(transaction=True)  # readers never see a customer in two tiers
        for customer_id in erased:  # first: a customer back after their erasure is written again below
            pipe.delete(*customer_keys(self._prefix, customer_id))
            for key in index_keys(self._prefix):
                pipe.zrem(key, customer_id)
        for update, encoded in batch.values():
            pipe.hset(customer_key(self._prefix, update.customer_id), mapping=snapshot_fields(update, encoded))
        for key, members in index_changes(self._prefix, [update for update, _ in batch.values()]).items():
            if members.moved_out:
                pipe.zrem(key, *members.moved_out)
            if members.scores:
                pipe.zadd(key, members.scores)
        try:
            await pipe.execute()
        except (RedisError, OSError) as exc:
            self._metrics.redis_errors.inc()
            # Erased while this write failed: their old snapshot must not come back.
            self._pending = {c: u for c, u in batch.items() if c not in self._erased} | self._pending
            self._erased |= erased
            self._log_failure(exc)
            return 0
        self._metrics.redis_writes.inc(len(batch))
        ended = self._failures.succeeded(self._clock())
        if ended is not None:  # at the failures' level, so whoever saw them sees them end
            logger.warning("Redis writes succeed again, after %d failed attempts over %.0fs", ended.failures,
                           ended.seconds)  # fmt: skip
        return len(batch)

    def _log_failure(self, exc: BaseException) -> None:
        streak = self._failures.failed(self._clock())
        if streak is None:
            return
        if streak.first:
            logger.warning("Redis write of %d snapshots failed, will retry (logged again at most once a minute): %s",
                           self.backlog, exc)  # fmt: skip
        else:
            logger.warning("Redis writes still failing: %d failed attempts since the last report, %d over %.0fs; "
                           "%d snapshots waiting; latest: %s", streak.unreported, streak.failures, streak.seconds,
                           self.backlog, exc)  # fmt: skip

    async def close(self) -> None:
        await self._client.aclose()
