"""A customer state's stored form: versioned MessagePack, and the reading of every earlier form.

The state table, its changelog and RocksDB hold these bytes. The first byte
is the format version; version 2 is the CustomerState Struct as MessagePack
(msgspec), decoded straight into the Struct without a second validation of
the worker's own bytes: a round trip takes a few microseconds, where the
zlib-compressed JSON of version 1, validated by pydantic on every read, took
about 150. States written as version 1 (zlib JSON, or plain JSON before
that) are still read: `migrate_v1` maps their fields onto the Struct.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, overload

import msgspec

from scoring.instants import to_us
from scoring.seen import TIME_BYTES, UNKNOWN_CONTENT, id_digest
from scoring.state import (
    AlertMemory,
    Answer,
    ClosedTicket,
    CustomerState,
    OpenTicket,
    Override,
    Profile,
    Resolution,
    median_gap_days,
)
from scoring.windows import COUNTERS, Buckets, micros

VERSION = 2
_PREFIX = bytes([VERSION])
_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(CustomerState)
# Fields of version-1 buckets and totals that were floats of units and are micro-units now.
_MICRO_COUNTERS = ("spend", "visit_seconds")
_OFFSET = 1 << 63


def encode_state(state: CustomerState) -> bytes:
    return _PREFIX + _encoder.encode(state)


def decode_state(raw: bytes) -> CustomerState:
    if raw[:1] == _PREFIX:
        return _decoder.decode(memoryview(raw)[1:])
    # Version 1: JSON, zlib-compressed (a zlib stream starts with 0x78), or plain JSON before that ("{").
    return migrate_v1(json.loads(raw if raw[:1] == b"{" else zlib.decompress(raw)))


@overload
def _us(value: str) -> int: ...
@overload
def _us(value: str | None) -> int | None: ...
def _us(value: str | None) -> int | None:
    return None if value is None else to_us(datetime.fromisoformat(value))


def _digest(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _seen(entries: list[Any]) -> bytes:
    """The dedup memory of a version-1 state: [time, id digest, content digest] lists, or {at, event_id} objects."""
    packed = []
    for entry in entries:
        if isinstance(entry, Mapping):
            at, digest, content = (
                to_us(datetime.fromisoformat(entry["at"])) // 1_000_000,
                id_digest(entry["event_id"]),
                b"",
            )
        else:
            at, digest, content = entry[0], _digest(entry[1]), _digest(entry[2]) if len(entry) > 2 and entry[2] else b""
        packed.append((at + _OFFSET).to_bytes(TIME_BYTES, "big") + digest + (content or UNKNOWN_CONTENT))
    return b"".join(sorted(packed))


def migrate_v1(data: Mapping[str, Any]) -> CustomerState:
    """A version-1 state (pydantic JSON, defaults left out) as the current Struct, nothing forgotten."""
    buckets = Buckets()
    for bucket in data.get("buckets", []):
        buckets.day.append(bucket["day"])
        for name in COUNTERS:
            value = bucket.get(name, 0)
            getattr(buckets, name).append(micros(value) if name in _MICRO_COUNTERS else int(value))
    purchase_times = sorted(_us(t) for t in data.get("purchase_times", []))
    alert = data.get("alert", {})
    history = data.get("history", [])
    profile, override = data.get("profile"), data.get("override")
    return CustomerState(
        customer_id=data["customer_id"],
        first_seen=_us(data.get("first_seen")),
        last_event_at=_us(data.get("last_event_at")),
        event_count=data.get("event_count", 0),
        seen=_seen(data.get("seen", [])),
        buckets=buckets,
        purchase_count=data.get("purchase_count", 0),
        total_spend=micros(data.get("total_spend", 0.0)),
        purchase_times=purchase_times,
        purchase_cycle_days=median_gap_days(purchase_times),
        last_purchase_at=_us(data.get("last_purchase_at")),
        visit_count=data.get("visit_count", 0),
        visit_seconds=micros(data.get("visit_seconds", 0.0)),
        last_visit_at=_us(data.get("last_visit_at")),
        tickets_opened=data.get("tickets_opened", 0),
        complaints=data.get("complaints", 0),
        open_tickets=[
            OpenTicket(t["ticket_id"], t["priority"], _us(t["opened_at"])) for t in data.get("open_tickets", [])
        ],
        closed_tickets=[ClosedTicket(t["ticket_id"], _us(t["at"])) for t in data.get("closed_tickets", [])],
        resolutions=[Resolution(_us(r["at"]), r["hours"]) for r in data.get("resolutions", [])],
        last_ticket_at=_us(data.get("last_ticket_at")),
        csat=[Answer(_us(a["at"]), a["score"]) for a in data.get("csat", [])],
        nps=Answer(_us(data["nps"]["at"]), data["nps"]["score"]) if data.get("nps") else None,
        last_survey_at=_us(data.get("last_survey_at")),
        last_score=data.get("last_score"),
        last_tier=data.get("last_tier"),
        last_scored_at=_us(data.get("last_scored_at")),
        last_signals=dict(data.get("last_signals", {})),
        history_day=[p["day"] for p in history],
        history_score=[p["score"] for p in history],
        alert=AlertMemory(
            level=alert.get("level"),
            last_alert_at={t: _us(at) for t, at in alert.get("last_alert_at", {}).items()},
            last_alert_tier=dict(alert.get("last_alert_tier", {})),
            overdue_alerted_for=_us(alert.get("overdue_alerted_for")),
            detractor_alerted_for=_us(alert.get("detractor_alerted_for")),
            stale_tickets_alerted=list(alert.get("stale_tickets_alerted", [])),
            renewal_alerted_for=date.fromisoformat(alert["renewal_alerted_for"])
            if alert.get("renewal_alerted_for")
            else None,
        ),
        profile=msgspec.convert(profile, Profile, strict=False) if profile else None,
        override=msgspec.convert(override, Override, strict=False) if override else None,
    )
