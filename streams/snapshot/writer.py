"""The Redis snapshot: latest score per customer, written in batches off the stream's path.

Scores are queued in memory, newest per customer wins, and a timer flushes
them, a script call per 500 customers. A Redis outage therefore never blocks scoring: the
queue keeps the latest value per customer and is written when Redis is back.

The keys are named in streams/snapshot/keys.py. A customer is a member of
the ranking, of exactly one tier set and of exactly one segment set; a flush
moves it between them when its tier or segment changed (SNAPSHOT_SCRIPT,
run inside Redis).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from scoring.records import ScoreRecord, encode
from streams.metrics import Metrics
from streams.snapshot.failure_streak import FailureStreak
from streams.snapshot.keys import customer_keys, index_keys

logger = logging.getLogger(__name__)


# Per customer, the script's arguments after the prefix: id, score, tier, segment, then the rest of the hash.
SNAPSHOT_FIELDS = ("customer_id", "score", "tier", "segment", "confidence", "reasons", "model", "scored_at", "update")
# Customers per script call: each call is atomic, so a large backlog is written in steps that let readers in.
CUSTOMERS_PER_CALL = 500

# Writes each customer's snapshot hash and moves it between the tier and segment sets only when its tier or
# segment changed, as the hash itself says (so a snapshot written by any worker, or by an earlier version,
# is moved right). Atomic per call: readers never see a customer in two tiers. Keys are built from the
# prefix inside the script, so it runs on a single Redis, not a cluster.
SNAPSHOT_SCRIPT = """
local prefix = ARGV[1]
local width = tonumber(ARGV[2])
local written = 0
for i = 3, #ARGV, width do
  local id, score, tier, segment = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local key = prefix .. ':customer:' .. id
  local old = redis.call('HMGET', key, 'tier', 'segment')
  if old[1] and old[1] ~= tier then redis.call('ZREM', prefix .. ':tier:' .. old[1], id) end
  if old[2] and old[2] ~= segment then redis.call('ZREM', prefix .. ':segment:' .. old[2], id) end
  redis.call('HSET', key, 'customer_id', id, 'score', score, 'tier', tier, 'segment', segment,
             'confidence', ARGV[i + 4], 'reasons', ARGV[i + 5], 'model', ARGV[i + 6], 'scored_at', ARGV[i + 7],
             'update', ARGV[i + 8])
  redis.call('ZADD', prefix .. ':scores', score, id)
  redis.call('ZADD', prefix .. ':tier:' .. tier, score, id)
  redis.call('ZADD', prefix .. ':segment:' .. segment, score, id)
  written = written + 1
end
return written
"""


def snapshot_fields(update: ScoreRecord, encoded: bytes | None = None) -> dict[str, str | bytes]:
    """The hash written per customer: flat fields for redis-cli users, plus the whole update (`encoded`, if at hand)."""
    return dict(zip(SNAPSHOT_FIELDS, snapshot_values(update, encoded), strict=True))


def snapshot_values(update: ScoreRecord, encoded: bytes | None = None) -> tuple[str | bytes, ...]:
    """SNAPSHOT_FIELDS' values for one update, in order."""
    return (
        update.customer_id,
        f"{update.score:.1f}",
        update.tier,
        update.segment,
        f"{update.confidence:.4f}",
        "\n".join(update.reasons),
        f"{update.model_name}@{update.model_version}",
        update.scored_at.isoformat(),
        encoded if encoded is not None else encode(update),
    )


class RedisSink:
    def __init__(self, url: str, prefix: str, metrics: Metrics, clock: Callable[[], float] = time.monotonic) -> None:
        self._client = aioredis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
        self._prefix = prefix
        self._metrics = metrics
        self._pending: dict[str, tuple[ScoreRecord, bytes | None]] = {}
        self._erased: set[str] = set()
        self._clock = clock
        self._write = self._client.register_script(SNAPSHOT_SCRIPT)  # EVALSHA, loaded on first use
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
        try:
            if erased:  # first: a customer back after their erasure is written again below
                pipe = self._client.pipeline(transaction=True)
                for customer_id in erased:
                    pipe.delete(*customer_keys(self._prefix, customer_id))
                    for key in index_keys(self._prefix):
                        pipe.zrem(key, customer_id)
                await pipe.execute()
            updates = list(batch.values())
            for first in range(0, len(updates), CUSTOMERS_PER_CALL):
                args: list[str | bytes | int] = [self._prefix, len(SNAPSHOT_FIELDS)]
                for update, encoded in updates[first : first + CUSTOMERS_PER_CALL]:
                    args.extend(snapshot_values(update, encoded))
                await self._write(keys=[], args=args)
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
