"""The Redis key layout of the snapshot: every key is named by a function here, so writer, API, tests and erasure agree.

All keys live under the configured prefix (`HEALTHSCORE_REDIS_PREFIX`):

- `<prefix>:customer:<id>`: a hash, the customer's latest snapshot
  (`customer_keys`);
- `<prefix>:scores`: a sorted set of every customer by score, and
  `<prefix>:tier:<tier>` / `<prefix>:segment:<segment>`: the same per tier and
  per segment, so the API filters and counts without scanning (`index_keys`);
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


def scratch_key(prefix: str, token: str) -> str:
    return f"{prefix}:query:{token}"
