"""The alerts the Redis snapshot keeps for the console: each customer's last few and everyone's latest.

An alert is kept as compact JSON, `customer_id` first, so erasure can find a
customer's alerts among everyone's by their first bytes (`owner_prefix`)
without decoding them.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from scoring.records import AlertRecord

# The customer page shows these; older ones are on the alerts topic.
ALERTS_PER_CUSTOMER = 20
# The overview's "raised today" list, and a bound on what an outage can make wait for Redis overall.
RECENT_ALERTS = 1000

_encoder = msgspec.json.Encoder()


class RecentAlert(msgspec.Struct, kw_only=True):
    """What the console shows of a ChurnRiskAlert (schemas/outputs.py): who, what fired, when, and the score then."""

    customer_id: str
    alert_id: str
    trigger: str
    severity: str
    detail: str
    tier: str
    score: float
    raised_at: datetime


def recent_alert(alert: AlertRecord) -> RecentAlert:
    return RecentAlert(
        customer_id=alert.customer_id,
        alert_id=alert.alert_id,
        trigger=alert.trigger,
        severity=alert.severity,
        detail=alert.detail,
        tier=alert.tier,
        score=alert.score,
        raised_at=alert.raised_at,
    )


def encode_alert(alert: RecentAlert) -> bytes:
    return _encoder.encode(alert)


def decode_alert(raw: str | bytes) -> RecentAlert:
    return msgspec.json.decode(raw, type=RecentAlert)


def owner_prefix(customer_id: str) -> bytes:
    """The first bytes of every kept alert of the customer (`{"customer_id":"<id>",`)."""
    return b'{"customer_id":' + _encoder.encode(customer_id) + b","
