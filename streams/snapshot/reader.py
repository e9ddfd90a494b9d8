"""Reads of the Redis snapshot for the HTTP API: filtered, ordered pages and counts by tier.

The writer (streams/snapshot/writer.py) keeps one sorted set per tier and per
segment, scored by health score, so a filter is a union of tier sets
intersected with a union of segment sets, computed inside Redis in one
transaction; a page is then one range and one hash read per row.
"""

from __future__ import annotations

import logging
import uuid

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from schemas.api import CustomerListQuery, CustomerSummary
from schemas.outputs import TIERS, Tier
from streams.snapshot.keys import customer_key, ranking_key, scratch_key, segment_key, tier_key

logger = logging.getLogger(__name__)

# Fields of a customer's snapshot hash a list row needs (see redis_sink.snapshot_fields).
ROW_FIELDS = ("customer_id", "score", "tier", "segment", "reasons", "scored_at")


class RedisReader:
    """Read-only queries over the snapshot keys under `prefix`; Redis errors propagate to the caller."""

    def __init__(self, url: str, prefix: str) -> None:
        self._client = aioredis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0,
                                               decode_responses=True)  # fmt: skip
        self._prefix = prefix

    async def ping(self) -> bool:
        try:
            return bool(await self._client.ping())
        except (RedisError, OSError):
            return False

    async def tier_counts(self) -> dict[Tier, int]:
        pipe = self._client.pipeline(transaction=True)
        for tier in TIERS:
            pipe.zcard(tier_key(self._prefix, tier))
        return dict(zip(TIERS, await pipe.execute(), strict=True))

    async def page(self, query: CustomerListQuery) -> tuple[list[CustomerSummary], int]:
        """The query's page of customers, lowest score first (ties by id), and how many match in all."""
        ids, total = await self._ranked_ids(query)
        pipe = self._client.pipeline(transaction=False)
        for customer_id in ids:
            pipe.hmget(customer_key(self._prefix, customer_id), ROW_FIELDS)
        rows = [dict(zip(ROW_FIELDS, values, strict=True)) for values in await pipe.execute()]
        # A row vanishes only if its hash was deleted after the range was read (erasure): skip it.
        return [_summary(row) for row in rows if row["customer_id"] is not None], total

    async def _ranked_ids(self, query: CustomerListQuery) -> tuple[list[str], int]:
        tiers = [tier_key(self._prefix, t) for t in query.tier] or [ranking_key(self._prefix)]
        segments = [segment_key(self._prefix, s) for s in query.segment]
        first, last = query.offset, query.offset + query.limit - 1
        pipe = self._client.pipeline(transaction=True)
        if len(tiers) == 1 and not segments:
            pipe.zcard(tiers[0])
            pipe.zrange(tiers[0], first, last)
            total, ids = await pipe.execute()
            return ids, total
        # Scratch keys live only inside this transaction: nothing else ever sees them.
        scratch = scratch_key(self._prefix, uuid.uuid4().hex)
        pipe.zunionstore(scratch, tiers, aggregate="MIN")
        if segments:
            pipe.zunionstore(f"{scratch}:segments", segments, aggregate="MIN")
            pipe.zinterstore(scratch, {scratch: 1, f"{scratch}:segments": 0})
        pipe.zcard(scratch)
        pipe.zrange(scratch, first, last)
        pipe.delete(scratch, f"{scratch}:segments")
        *_, total, ids, _deleted = await pipe.execute()
        return ids, total

    async def close(self) -> None:
        await self._client.aclose()


def _summary(row: dict[str, str | None]) -> CustomerSummary:
    reasons = row.pop("reasons") or ""
    return CustomerSummary.model_validate({**row, "reasons": reasons.split("\n") if reasons else []})
