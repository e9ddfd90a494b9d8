"""The Redis snapshot: latest score, history and recent alerts per customer, written in batches off the stream's path.

Scores are queued in memory and flushed in script calls of 500 customers:
by each batch of the worker before it stores its states (`confirm`, a
bounded wait; streams/worker/checkpoint.py says why), and by a timer that
retries what a failed flush left. Per customer the queue holds the newest
update, the history points since the last flush (thinned as
streams/snapshot/history.py says, so a customer's backlog stays bounded) and
its newest alerts. A Redis outage therefore never blocks scoring: while
writes fail, batches do not wait for them, the queue is written when Redis
is back, and a flush that failed midway is taken up from its first unwritten chunk.

The keys are named in streams/snapshot/keys.py. A customer is a member of
the ranking, of exactly one tier set, one segment set and one model set;
a flush moves it between them when its tier, segment or model changed
(SNAPSHOT_SCRIPT, run inside Redis).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from schemas.outputs import TIERS
from scoring.instants import to_us
from scoring.records import AlertRecord, ScoreRecord, encode
from streams.failure_streak import FailureStreak
from streams.fencing import Fence, Unfenced
from streams.metrics import Metrics
from streams.snapshot.history import (
    MAX_RECENT_POINTS,
    MS_PER_DAY,
    RECENT_DAYS,
    Point,
    add_point,
    encode_point,
    epoch_ms,
    point_of,
    thin,
)
from streams.snapshot.keys import customer_keys, index_keys
from streams.snapshot.recent_alerts import (
    ALERTS_PER_CUSTOMER,
    RECENT_ALERTS,
    encode_alert,
    owner_prefix,
    recent_alert,
)

logger = logging.getLogger(__name__)


# Per customer, the script's arguments after the header: id, score, tier, segment, then the rest of the hash.
# `scored_us` (scored_at in microseconds) orders a customer's snapshots: Redis keeps the newest.
SNAPSHOT_FIELDS = (
    "customer_id",
    "score",
    "tier",
    "segment",
    "confidence",
    "reasons",
    "model",
    "scored_at",
    "update",
    "scored_us",
)
# The script's first arguments, once per call.
HEADER = (
    "prefix",
    "retention_ms",
    "recent_ms",
    "max_recent",
    "alerts_per_customer",
    "recent_alerts",
    "day",
    "daily_keep",
    "tiers",
)
# Customers per script call: each call is atomic, so a large backlog is written in steps that let readers in.
CUSTOMERS_PER_CALL = 500
# Days of tier counts and alert counts the overview can draw (it shows 90).
DAILY_KEEP = 120

# Writes each customer's snapshot hash and moves it between the tier, segment and model sets only when
# they changed, as the hash itself says (so a snapshot written by any worker, or by an earlier version, is
# moved right); appends its history points and thins the older ones (streams/snapshot/history.py: the
# same rule); adds its new alerts; and records today's customers per tier. Atomic per call: readers never
# see a customer in two tiers. Keys are built from the prefix inside the script, so it runs on a single
# Redis, not a cluster. A point older than the customer's newest, or equal to the last one kept (a retried
# chunk), is skipped, and so is an alert already kept, so writing a chunk twice changes nothing. A snapshot
# scored before the one the hash holds is skipped whole (history and alerts too): a customer's scores only
# move forward in time, so it can only come from a worker that no longer owns the customer (streams/fencing.py).
SNAPSHOT_SCRIPT = """
local prefix = ARGV[1]
local retention, recent, max_recent = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local per_customer, overall, today, keep = tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7], tonumber(ARGV[8])
local MS_PER_DAY = 86400000
local alerts_key = prefix .. ':alerts'
local alerts_daily = prefix .. ':alerts-daily'
local function at_of(point) return tonumber(string.match(point, '^(%d+)')) end
local function seen(point) return string.match(point, '^%d+|([^|]*|[^|]*)|[^|]*|(.*)$') end
local function same(a, b)
  local sa, ra = seen(a)
  local sb, rb = seen(b)
  return sa == sb and ra == rb
end
local function trim_days(key)
  local extra = redis.call('HLEN', key) - keep
  if extra > 0 then
    local days = redis.call('HKEYS', key)
    table.sort(days)
    for d = 1, extra do redis.call('HDEL', key, days[d]) end
  end
end
local written = 0
local i = 10
while i <= #ARGV do
  local id, score, tier, segment, model = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 6]
  local key = prefix .. ':customer:' .. id
  local old = redis.call('HMGET', key, 'tier', 'segment', 'model', 'history_at', 'scored_us')
  local alerts_at = i + 12 + tonumber(ARGV[i + 11])
  local after = alerts_at + 1 + 3 * tonumber(ARGV[alerts_at])
  if old[5] and tonumber(old[5]) > tonumber(ARGV[i + 9]) then
    i = after
  else
    if old[1] and old[1] ~= tier then redis.call('ZREM', prefix .. ':tier:' .. old[1], id) end
    if old[2] and old[2] ~= segment then redis.call('ZREM', prefix .. ':segment:' .. old[2], id) end
    if old[3] and old[3] ~= model then redis.call('ZREM', prefix .. ':model:' .. old[3], id) end
    redis.call('HSET', key, 'customer_id', id, 'score', score, 'tier', tier, 'segment', segment,
               'confidence', ARGV[i + 4], 'reasons', ARGV[i + 5], 'model', model, 'scored_at', ARGV[i + 7],
               'update', ARGV[i + 8], 'scored_us', ARGV[i + 9])
    redis.call('ZADD', prefix .. ':scores', score, id)
    redis.call('ZADD', prefix .. ':tier:' .. tier, score, id)
    redis.call('ZADD', prefix .. ':segment:' .. segment, score, id)
    redis.call('ZADD', prefix .. ':model:' .. model, score, id)
    redis.call('SADD', prefix .. ':models', model)
    redis.call('ZADD', prefix .. ':change7d', ARGV[i + 10], id)
    local history = prefix .. ':history:' .. id
    local daily = prefix .. ':history-daily:' .. id
    local newest = tonumber(old[4] or '0')
    local before = newest
    local last = redis.call('LINDEX', history, -1) or redis.call('LINDEX', daily, -1)
    local points = tonumber(ARGV[i + 11])
    for j = i + 12, i + 11 + points do
      local point = ARGV[j]
      local at = at_of(point)
      if at >= newest then
        if not last or not same(last, point) then
          redis.call('RPUSH', history, point)
          last = point
        end
        newest = at
      end
    end
    i = i + 12 + points
    if newest > before then
      redis.call('HSET', key, 'history_at', newest)
      local size = redis.call('LLEN', history)
      while size > 0 do
        local head = redis.call('LINDEX', history, 0)
        local at = at_of(head)
        if at >= newest - recent and size <= max_recent then break end
        redis.call('LPOP', history)
        size = size - 1
        local tail = redis.call('LINDEX', daily, -1)
        if tail and math.floor(at_of(tail) / MS_PER_DAY) == math.floor(at / MS_PER_DAY) then
          redis.call('LSET', daily, -1, head)
        else
          redis.call('RPUSH', daily, head)
        end
      end
      while true do
        local head = redis.call('LINDEX', daily, 0)
        if not head or at_of(head) > newest - retention then break end
        redis.call('LPOP', daily)
      end
      redis.call('PEXPIRE', history, retention)
      redis.call('PEXPIRE', daily, retention)
    end
    local alerts = tonumber(ARGV[i])
    local mine = prefix .. ':alerts:' .. id
    for j = i + 1, i + 3 * alerts, 3 do
      if redis.call('ZADD', mine, ARGV[j], ARGV[j + 2]) == 1 then
        redis.call('ZADD', alerts_key, ARGV[j], ARGV[j + 2])
        redis.call('HINCRBY', alerts_daily, ARGV[j + 1], 1)
      end
    end
    if alerts > 0 then redis.call('ZREMRANGEBYRANK', mine, 0, -(per_customer + 1)) end
    i = i + 1 + 3 * alerts
    written = written + 1
  end
end
redis.call('ZREMRANGEBYRANK', alerts_key, 0, -(overall + 1))
local counts = {}
for name in string.gmatch(ARGV[9], '[^,]+') do
  table.insert(counts, redis.call('ZCARD', prefix .. ':tier:' .. name))
end
redis.call('HSET', prefix .. ':tiers-daily', today, table.concat(counts, ','))
trim_days(prefix .. ':tiers-daily')
trim_days(alerts_daily)
return written
"""

# Forgets customers: their own keys (given), their place in every index (given, plus the model set their
# snapshot names) and their alerts in everyone's recent alerts (found by their first bytes).
ERASE_SCRIPT = """
local prefix = ARGV[1]
local indexes = tonumber(ARGV[2])
local alerts_key = prefix .. ':alerts'
local i = 3 + indexes
while i <= #ARGV do
  local id, owner, keys = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  local model = redis.call('HGET', prefix .. ':customer:' .. id, 'model')
  if model then redis.call('ZREM', prefix .. ':model:' .. model, id) end
  for j = 3, 2 + indexes do redis.call('ZREM', ARGV[j], id) end
  for _, alert in ipairs(redis.call('ZRANGE', alerts_key, 0, -1)) do
    if string.sub(alert, 1, #owner) == owner then redis.call('ZREM', alerts_key, alert) end
  end
  for j = i + 3, i + 2 + keys do redis.call('DEL', ARGV[j]) end
  i = i + 3 + keys
end
return 1
"""


@dataclass
class Pending:
    """What waits for the next flush for one customer."""

    update: ScoreRecord
    encoded: bytes | None
    points: list[Point] = field(default_factory=list)  # oldest first, thinned
    alerts: list[tuple[int, str, bytes]] = field(default_factory=list)  # (raised ms, day, JSON), newest last

    def then(self, later: Pending, retention_days: int) -> Pending:
        """This entry followed by a later one: the later snapshot, both histories, the newest alerts."""
        points = self.points
        for point in later.points:
            points = add_point(points, point)
        return Pending(
            later.update,
            later.encoded,
            thin(points, retention_days=retention_days),
            [*self.alerts, *later.alerts][-ALERTS_PER_CUSTOMER:],
        )


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
        str(to_us(update.scored_at)),
    )


class RedisSink:
    def __init__(
        self,
        url: str,
        prefix: str,
        metrics: Metrics,
        clock: Callable[[], float] = time.monotonic,
        history_retention_days: int = 400,
        fence: Fence | None = None,
    ) -> None:
        self._client = aioredis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
        self._prefix = prefix
        self._metrics = metrics
        self._pending: dict[str, Pending] = {}
        self._erased: set[str] = set()
        self._clock = clock
        self._retention_days = history_retention_days
        self._write = self._client.register_script(SNAPSHOT_SCRIPT)  # EVALSHA, loaded on first use
        self._forget = self._client.register_script(ERASE_SCRIPT)
        self._failures = FailureStreak()  # flushes retry every REDIS_FLUSH_SECONDS (0.2): log the first, then counts
        self._fence: Fence = fence or Unfenced()
        self._flushing = asyncio.Lock()  # one flush at a time: `confirm` must see the queue written, not in flight

    def offer(
        self,
        update: ScoreRecord,
        encoded: bytes | None = None,
        cause: str | None = None,
        alerts: Sequence[AlertRecord] = (),
    ) -> None:
        """Queue the customer's latest score, its history point and its alerts; an older queued score is replaced.

        `encoded` is the update's JSON when the caller has it already (the agent
        sent it to the scores topic), so a batch dumps each update once, not
        twice; `cause` is the event kind when an event caused the update.
        """
        entry = Pending(
            update,
            encoded,
            [point_of(update, cause)],
            [(epoch_ms(a.raised_at), a.raised_at.date().isoformat(), encode_alert(recent_alert(a))) for a in alerts],
        )
        queued = self._pending.get(update.customer_id)
        self._pending[update.customer_id] = entry if queued is None else queued.then(entry, self._retention_days)

    def erase(self, customer_id: str) -> None:
        """Queue the deletion of every key of the customer; a snapshot queued before it is dropped."""
        self._pending.pop(customer_id, None)
        self._erased.add(customer_id)

    @property
    def backlog(self) -> int:
        return len(self._pending) + len(self._erased)

    async def confirm(self, timeout: float) -> bool:
        """Flush, waiting at most `timeout` seconds; True only if everything queued so far is in Redis now.

        Does not wait while writes are failing or the worker is fenced: the
        timer's flushes retry meanwhile, and the caller keeps what Redis may lack.
        """
        if self._failures.failing or self._fence.lost() is not None:
            return not self.backlog
        try:
            await asyncio.wait_for(self.flush(), timeout)
        except TimeoutError:
            self._metrics.redis_errors.inc()
            self._log_failure(TimeoutError(f"Redis did not answer within {timeout:g} s"))
            return False
        return not self.backlog

    async def flush(self) -> int:
        """Write everything queued; on failure keep what was not written queued (unless superseded) and count the error.

        A fenced worker writes nothing (streams/fencing.py): what it queued stays queued, and Redis keeps
        each customer's newest snapshot whoever offers an older one (SNAPSHOT_SCRIPT).
        """
        async with self._flushing:
            if not self._pending and not self._erased or self._fence.lost() is not None:
                return 0
            return await self._flush()

    async def _flush(self) -> int:
        batch, self._pending = list(self._pending.items()), {}
        erased, self._erased = self._erased, set()
        done = 0  # customers of `batch` written so far
        try:
            if erased:  # first: a customer back after their erasure is written again below
                await self._forget(keys=[], args=self._erase_args(erased))
                erased = set()
            while done < len(batch):
                chunk = batch[done : done + CUSTOMERS_PER_CALL]
                await self._write(keys=[], args=self._write_args(chunk))
                done += len(chunk)
        except BaseException as exc:  # cancelled too (`confirm` gave up): nothing unwritten may be lost
            self._requeue(batch[done:], erased)
            self._metrics.redis_writes.inc(done)
            if not isinstance(exc, (RedisError, OSError)):
                raise
            self._metrics.redis_errors.inc()
            self._log_failure(exc)
            return done
        self._metrics.redis_writes.inc(len(batch))
        ended = self._failures.succeeded(self._clock())
        if ended is not None:  # at the failures' level, so whoever saw them sees them end
            logger.warning(
                "Redis writes succeed again, after %d failed attempts over %.0fs", ended.failures, ended.seconds
            )
        return len(batch)

    def _requeue(self, unwritten: list[tuple[str, Pending]], erased: set[str]) -> None:
        """Put back what a flush did not write, before anything queued since (which is newer)."""
        # Erased while this write failed: their old snapshot must not come back.
        queue = {c: p for c, p in unwritten if c not in self._erased}
        for customer_id, later in self._pending.items():
            earlier = queue.get(customer_id)
            queue[customer_id] = later if earlier is None else earlier.then(later, self._retention_days)
        self._pending = queue
        self._erased |= erased

    def _write_args(self, chunk: list[tuple[str, Pending]]) -> list[str | bytes | int | float]:
        retention_ms = self._retention_days * MS_PER_DAY
        newest = max(p.update.scored_at for _, p in chunk)
        args: list[str | bytes | int | float] = [
            self._prefix,
            retention_ms,
            min(RECENT_DAYS * MS_PER_DAY, retention_ms),
            MAX_RECENT_POINTS,
            ALERTS_PER_CUSTOMER,
            RECENT_ALERTS,
            newest.date().isoformat(),
            DAILY_KEEP,
            ",".join(TIERS),
        ]
        for _, pending in chunk:
            args.extend(snapshot_values(pending.update, pending.encoded))
            args.append(f"{pending.update.change_7d or 0.0:.1f}")
            args.append(len(pending.points))
            args.extend(encode_point(p) for p in pending.points)
            args.append(len(pending.alerts))
            for at, day, alert in pending.alerts:
                args.extend((at, day, alert))
        return args

    def _erase_args(self, erased: set[str]) -> list[str | bytes | int]:
        indexes = index_keys(self._prefix)
        args: list[str | bytes | int] = [self._prefix, len(indexes), *indexes]
        for customer_id in erased:
            keys = customer_keys(self._prefix, customer_id)
            args.extend((customer_id, owner_prefix(customer_id), len(keys), *keys))
        return args

    def _log_failure(self, exc: BaseException) -> None:
        streak = self._failures.failed(self._clock())
        if streak is None:
            return
        if streak.first:
            logger.warning("Redis write failed, will retry (logged again at most once a minute): %s", exc)
        else:
            logger.warning(
                "Redis writes still failing: %d failed attempts since the last report, %d over %.0fs; "
                "%d snapshots waiting; latest: %s",
                streak.unreported,
                streak.failures,
                streak.seconds,
                self.backlog,
                exc,
            )

    async def close(self) -> None:
        await self._client.aclose()
