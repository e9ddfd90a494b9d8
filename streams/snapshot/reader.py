"""Reads of the Redis snapshot for the HTTP API and the console: filtered, ordered pages, counts, history, alerts.

The writer (streams/snapshot/writer.py) keeps one sorted set per tier, per
segment and per model, scored by health score, and one of every customer by
7-day change, so a filter is an intersection of unions of those sets,
computed inside Redis in one transaction; a page is then one range and one
hash read per row.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import date
from typing import cast

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from schemas.api import CustomerListQuery, CustomerSummary
from schemas.outputs import TIERS, Tier
from streams.snapshot.history import Point, decode_point
from streams.snapshot.keys import (
    change_key,
    customer_alerts_key,
    customer_key,
    daily_alerts_key,
    daily_history_key,
    daily_tiers_key,
    history_key,
    model_key,
    models_key,
    ranking_key,
    recent_alerts_key,
    scratch_key,
    segment_key,
    tier_key,
)
from streams.snapshot.recent_alerts import RecentAlert, decode_alert

logger = logging.getLogger(__name__)

# Fields of a customer's snapshot hash a list row needs (see redis_sink.snapshot_fields).
ROW_FIELDS = ("customer_id", "score", "tier", "segment", "reasons", "scored_at")


@dataclass(frozen=True)
class Day:
    """One day of the overview's series: customers per tier at the day's last flush, alerts raised that day."""

    day: date
    tiers: dict[Tier, int]
    alerts: int


@dataclass(frozen=True)
class Mover:
    customer: CustomerSummary
    change_7d: float


class RedisReader:
    """Read-only queries over the snapshot keys under `prefix`; Redis errors propagate to the caller."""

    def __init__(self, url: str, prefix: str) -> None:
        self._client = aioredis.Redis.from_url(
            url, socket_timeout=2.0, socket_connect_timeout=2.0, decode_responses=True
        )
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
        """The query's page of customers, lowest score (or biggest 7-day drop) first, ties by id; how many match in all."""
        ids, total = await self._ranked_ids(query)
        return await self.summaries(ids), total

    async def summaries(self, ids: list[str]) -> list[CustomerSummary]:
        """The list rows of these customers, in order; one erased meanwhile is left out."""
        pipe = self._client.pipeline(transaction=False)
        for customer_id in ids:
            pipe.hmget(customer_key(self._prefix, customer_id), ROW_FIELDS)
        rows = [dict(zip(ROW_FIELDS, values, strict=True)) for values in await pipe.execute()]
        # A row vanishes only if its hash was deleted after the range was read (erasure): skip it.
        return [_summary(row) for row in rows if row["customer_id"] is not None]

    async def _ranked_ids(self, query: CustomerListQuery) -> tuple[list[str], int]:
        order = ranking_key(self._prefix) if query.sort == "score" else change_key(self._prefix)
        filters = [
            keys
            for keys in (
                [tier_key(self._prefix, t) for t in query.tier],
                [segment_key(self._prefix, s) for s in query.segment],
                [model_key(self._prefix, m) for m in query.model],
            )
            if keys
        ]
        first, last = query.offset, query.offset + query.limit - 1
        pipe = self._client.pipeline(transaction=True)
        if not filters or (query.sort == "score" and len(filters) == 1 and len(filters[0]) == 1):
            only = filters[0][0] if filters else order  # no filter, or one set scored by score: a range of it
            pipe.zcard(only)
            pipe.zrange(only, first, last)
            total, ids = await pipe.execute()
            return ids, total
        # Scratch keys live only inside this transaction: nothing else ever sees them. Each filter is a union
        # (any of its values); the page is their intersection, ordered by `order` (weight 1, the others 0).
        scratch = scratch_key(self._prefix, uuid.uuid4().hex)
        parts: dict[str, float] = {order: 1}
        for n, keys in enumerate(filters):
            if len(keys) == 1:
                parts[keys[0]] = 0
            else:
                pipe.zunionstore(f"{scratch}:{n}", keys, aggregate="MIN")
                parts[f"{scratch}:{n}"] = 0
        pipe.zinterstore(scratch, parts)
        pipe.zcard(scratch)
        pipe.zrange(scratch, first, last)
        pipe.delete(scratch, *(f"{scratch}:{n}" for n in range(len(filters))))
        *_, total, ids, _deleted = await pipe.execute()
        return ids, total

    async def exists(self, customer_id: str) -> bool:
        return bool(await self._client.exists(customer_key(self._prefix, customer_id)))

    async def history(self, customer_id: str) -> list[Point] | None:
        """Every kept point of the customer, oldest first; None for a customer the snapshot does not know."""
        pipe = self._client.pipeline(transaction=True)
        pipe.exists(customer_key(self._prefix, customer_id))
        pipe.lrange(daily_history_key(self._prefix, customer_id), 0, -1)
        pipe.lrange(history_key(self._prefix, customer_id), 0, -1)
        known, daily, recent = await pipe.execute()
        if not known:
            return None
        return sorted((decode_point(p) for p in [*daily, *recent]), key=lambda p: p.at)

    async def customer_alerts(self, customer_id: str) -> list[RecentAlert]:
        """The customer's kept alerts, newest first."""
        raw = await self._client.zrange(customer_alerts_key(self._prefix, customer_id), 0, -1, desc=True)
        return [decode_alert(a) for a in cast(list[str], raw)]  # members only (no scores asked for)

    async def recent_alerts(self, since_ms: int, limit: int) -> list[RecentAlert]:
        """Everyone's kept alerts raised at `since_ms` or later, newest first, at most `limit`."""
        raw = await self._client.zrevrangebyscore(recent_alerts_key(self._prefix), "+inf", since_ms, start=0, num=limit)
        return [decode_alert(a) for a in cast(list[str], raw)]  # members only (no scores asked for)

    async def days(self) -> list[Day]:
        """The kept days of tier counts and alert counts, oldest first."""
        pipe = self._client.pipeline(transaction=True)
        pipe.hgetall(daily_tiers_key(self._prefix))
        pipe.hgetall(daily_alerts_key(self._prefix))
        tiers, alerts = await pipe.execute()
        out = []
        for day in sorted(set(tiers) | set(alerts)):
            counts = [int(c) for c in tiers[day].split(",")] if day in tiers else [0] * len(TIERS)
            out.append(Day(date.fromisoformat(day), dict(zip(TIERS, counts, strict=True)), int(alerts.get(day, 0))))
        return out

    async def movers(self, count: int) -> tuple[list[Mover], list[Mover]]:
        """The `count` biggest 7-day drops and rises, as of each customer's latest score."""
        pipe = self._client.pipeline(transaction=True)
        pipe.zrangebyscore(change_key(self._prefix), "-inf", "(0", start=0, num=count, withscores=True)
        pipe.zrevrangebyscore(change_key(self._prefix), "+inf", "(0", start=0, num=count, withscores=True)
        drops, rises = await pipe.execute()
        found = {}
        for customer in await self.summaries([c for c, _ in [*drops, *rises]]):
            found[customer.customer_id] = customer
        return (
            [Mover(found[c], change) for c, change in drops if c in found],
            [Mover(found[c], change) for c, change in rises if c in found],
        )

    async def changes(self, ids: list[str]) -> dict[str, float | None]:
        """Each customer's 7-day change as of their latest score (0 when it was not known then)."""
        if not ids:
            return {}
        values = await self._client.zmscore(change_key(self._prefix), ids)
        return {c: None if v is None else float(v) for c, v in zip(ids, values, strict=True)}

    async def latest_changes(self, customer_id: str) -> list[str]:
        """What moved the score in the customer's latest published update, in words."""
        raw = await self._client.hget(customer_key(self._prefix, customer_id), "update")
        return list(json.loads(raw).get("changes", [])) if raw else []

    async def models(self) -> list[str]:
        """Every model a snapshot has named (`name@version`), sorted."""
        return sorted(cast(set[str], await self._client.smembers(models_key(self._prefix))))  # decode_responses

    async def close(self) -> None:
        await self._client.aclose()


def _summary(row: dict[str, str | None]) -> CustomerSummary:
    reasons = row.pop("reasons") or ""
    return CustomerSummary.model_validate({**row, "reasons": reasons.split("\n") if reasons else []})
