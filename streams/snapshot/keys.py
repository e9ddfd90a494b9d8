"""The Redis key layout of the snapshot: every key is named by a function here, so writer, API, tests and erasure agree.

All keys live under the configured prefix (`HEALTHSCORE_REDIS_PREFIX`):

- `<prefix>:customer:<id>`: a hash, the customer's latest snapshot
  (`customer_keys`);
- `<prefix>:scores`: a sorted set of every customer by score, and
  `<prefix>:tier:<tier>` / `<prefix>:segment:<segment>`: the same per tier and
  per segment, so the API filters and counts without scanning (`index_keys`);
- `<prefix>:model:<name@version>`: the same per scoring model, and
  `<prefix>:models`, a set of the models' names, for the console's filter;
- `<prefix>:change7d`: every customer by the 7-day change of their latest
  score (movers, and the at-risk list sorted by change);
- `<prefix>:history:<id>` and `<prefix>:history-daily:<id>`: lists of the
  customer's score history, every change of the last 30 days and one point
  per day before that (streams/snapshot/history.py);
- `<prefix>:alerts:<id>`: a sorted set of the customer's recent alerts, and
  `<prefix>:alerts`, the recent alerts of everyone, by time raised;
- `<prefix>:tiers-daily` and `<prefix>:alerts-daily`: hashes by day
  (`YYYY-MM-DD`) of the customers per tier at the day's last flush and of
  the alerts raised that day (the console's overview);
- `<prefix>:query:<uuid>`: a reader's scratch set for one filtered page,
  deleted in the same transaction (`scratch_key`).

The writer's Lua script (streams/snapshot/writer.py) builds the same names
inside Redis; tests/unit/streams/snapshot/test_keys.py checks that they agree.
"""

from __future__ import annotations

from schemas.outputs import SEGMENTS, TIERS


def customer_key(prefix: str, customer_id: str) -> str:
    return f"{prefix}:customer:{customer_id}"


def ranking_key(prefix: str) -> str:
    return f"{prefix}:scores"


def tier_key(prefix: str, tier: str) -> str:
    return f"{prefix}:tier:{tier}"


def segment_key(prefix: str, segment: str) -> str:
    return f"{prefix}:segment:{segment}"


def model_key(prefix: str, model: str) -> str:
    return f"{prefix}:model:{model}"


def models_key(prefix: str) -> str:
    return f"{prefix}:models"


def change_key(prefix: str) -> str:
    return f"{prefix}:change7d"


def history_key(prefix: str, customer_id: str) -> str:
    return f"{prefix}:history:{customer_id}"


def daily_history_key(prefix: str, customer_id: str) -> str:
    return f"{prefix}:history-daily:{customer_id}"


def customer_alerts_key(prefix: str, customer_id: str) -> str:
    return f"{prefix}:alerts:{customer_id}"


def recent_alerts_key(prefix: str) -> str:
    return f"{prefix}:alerts"


def daily_tiers_key(prefix: str) -> str:
    return f"{prefix}:tiers-daily"


def daily_alerts_key(prefix: str) -> str:
    return f"{prefix}:alerts-daily"


def customer_keys(prefix: str, customer_id: str) -> list[str]:
    """Every key that belongs to one customer alone: deleting them all forgets the customer's snapshot and history."""
    return [
        customer_key(prefix, customer_id),
        history_key(prefix, customer_id),
        daily_history_key(prefix, customer_id),
        customer_alerts_key(prefix, customer_id),
    ]


def index_keys(prefix: str) -> list[str]:
    """Every shared sorted set of fixed name a customer may be a member of (member = customer id).

    Erasure removes the customer from each, and from the model set its
    snapshot names (`model_key`), whose names depend on the models in use.
    """
    return [
        ranking_key(prefix),
        *(tier_key(prefix, tier) for tier in TIERS),
        *(segment_key(prefix, segment) for segment in SEGMENTS),
        change_key(prefix),
    ]


def scratch_key(prefix: str, token: str) -> str:
    return f"{prefix}:query:{token}"
