"""The Redis snapshot: latest score per customer, written in batches off the stream's path.

Scores are queued in memory, newest per customer wins, and a timer flushes
them in one pipeline. A Redis outage therefore never blocks scoring: the
queue keeps the latest value per customer and is written when Redis is back.
"""

from __future__ import annotations

import logging

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from schemas.outputs import ScoreUpdate
from streams.metrics import Metrics

logger = logging.getLogger(__name__)


def customer_key(prefix: str, customer_id: str) -> str:
    return f"{prefix}:customer:{customer_id}"


def ranking_key(prefix: str) -> str:
    return f"{prefix}:scores"


def snapshot_fields(update: ScoreUpdate) -> dict[str, str]:
    """The hash written per customer: flat fields for redis-cli users, plus the whole update."""
    return {
        "customer_id": update.customer_id,
        "score": f"{update.score:.1f}",
        "tier": update.tier,
        "confidence": f"{update.confidence:.4f}",
        "reasons": "\n".join(update.reasons),
        "model": f"{update.model_name}@{update.model_version}",
        "scored_at": update.scored_at.isoformat(),
        "update": update.model_dump_json(),
    }


class RedisSink:
    def __init__(self, url: str, prefix: str, metrics: Metrics) -> None:
        self._client = aioredis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
        self._prefix = prefix
        self._metrics = metrics
        self._pending: dict[str, ScoreUpdate] = {}
        self._erased: set[str] = set()

    def offer(self, update: ScoreUpdate) -> None:
        """Queue the customer's latest score; an older queued one is replaced."""
        self._pending[update.customer_id] = update

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
        pipe = self._client.pipeline(transaction=False)
        for customer_id in erased:  # first: a customer back after their erasure is written again below
            pipe.delete(customer_key(self._prefix, customer_id))
            pipe.zrem(ranking_key(self._prefix), customer_id)
        for update in batch.values():
            pipe.hset(customer_key(self._prefix, update.customer_id), mapping=snapshot_fields(update))
        if batch:
            pipe.zadd(ranking_key(self._prefix), {u.customer_id: u.score for u in batch.values()})
        try:
            await pipe.execute()
        except (RedisError, OSError) as exc:
            self._metrics.redis_errors.inc()
            logger.warning("Redis write of %d snapshots failed, will retry: %s", len(batch), exc)
            # Erased while this write failed: their old snapshot must not come back.
            self._pending = {c: u for c, u in batch.items() if c not in self._erased} | self._pending
            self._erased |= erased
            return 0
        self._metrics.redis_writes.inc(len(batch))
        return len(batch)

    async def close(self) -> None:
        await self._client.aclose()
