"""One line per output record, for `healthscore tail`: what a person scanning a topic looks for, first things first.

Each topic's line leads with the record's own time and the customer, then
what changed: a score with its movement, tier, segment and model, and its
top reasons and changes; an alert's severity, trigger and what fired; a
dead letter's error code, where the bad record was and a prefix of it; an
override's action, author and what it does. A `tone` lets a terminal colour
the line; the text alone says everything. A record that is not what the
topic should carry is shown as such, never dropped.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Literal

from pydantic import BaseModel, ValidationError

from schemas.control import AuditRecord, OverrideRequest
from schemas.outputs import ChurnRiskAlert, DeadLetter, ScoreUpdate, Tier

Tone = Literal["good", "warn", "bad"] | None
# Reasons and changes shown per score line: the rest is in --json.
SHOWN_REASONS = 2
# Bytes of a dead record's value shown: enough to recognise the producer's payload.
VALUE_PREFIX_BYTES = 80
TIER_TONES: dict[str, Tone] = {"healthy": "good", "watch": None, "at_risk": "warn", "critical": "bad"}


@dataclass(frozen=True)
class Line:
    text: str
    tone: Tone = None


def when(moment: datetime) -> str:
    """A record's time in UTC to the second: the lines of a topic line up."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")


def movement(score: float, previous: float | None) -> str:
    return "new" if previous is None else f"{score - previous:+.1f}"


def standing(tier: Tier, previous: Tier | None) -> str:
    return tier if previous in (None, tier) else f"{previous}->{tier}"


def listed(label: str, items: list[str]) -> str:
    shown = "; ".join(items[:SHOWN_REASONS])
    more = f" (+{len(items) - SHOWN_REASONS} more)" if len(items) > SHOWN_REASONS else ""
    return f"  {label}: {shown}{more}" if items else ""


def score_line(update: ScoreUpdate) -> Line:
    flags: list[str] = [update.cause] if update.cause != "event" else []
    if update.override is not None and update.cause != "override":
        flags.append("overridden")  # a person's correction still in force
    computed = update.computed_score
    model_score = f" (model {computed:.1f})" if computed is not None and computed != update.score else ""
    text = (
        f"{when(update.scored_at)}  {update.customer_id}  {update.score:5.1f} "
        f"({movement(update.score, update.previous_score)}){model_score}  {standing(update.tier, update.previous_tier)}"
        f"  {update.segment}  {update.model_name}@{update.model_version}{''.join(f' [{f}]' for f in flags)}"
        f"{listed('reasons', update.reasons)}{listed('changes', update.changes)}"
    )
    return Line(text, TIER_TONES[update.tier])


def alert_line(alert: ChurnRiskAlert) -> Line:
    text = (
        f"{when(alert.raised_at)}  {alert.severity.upper():6}  {alert.trigger}  {alert.customer_id}  "
        f"{standing(alert.tier, alert.previous_tier)} {alert.score:.1f}  {alert.detail}"
    )
    return Line(text, "bad" if alert.severity == "high" else "warn")


def value_prefix(letter: DeadLetter) -> str:
    """The first bytes of the bad record as text, control characters escaped; its size when more is left out."""
    raw = base64.b64decode(letter.value_base64)
    shown = raw[:VALUE_PREFIX_BYTES].decode("utf-8", "replace").encode("unicode_escape").decode("ascii")
    size = max(letter.value_length, len(raw))
    return shown + (f"... ({size:,} bytes)" if size > VALUE_PREFIX_BYTES else "")


def dead_letter_line(letter: DeadLetter) -> Line:
    text = (
        f"{when(letter.received_at)}  {letter.error}  {letter.topic}[{letter.partition}]@{letter.offset}  "
        f"{letter.reason}  value: {value_prefix(letter)}"
    )
    return Line(text, "bad")


def override_text(override: OverrideRequest) -> str:
    what = {
        "pin_score": f"score pinned at {override.score}",
        "pin_tier": f"tier pinned at {override.tier}",
        "adjust": f"score adjusted by {override.adjustment or 0:+.1f}",
        "clear": "override cleared",
    }[override.action]
    until = f" until {when(override.expires_at)}" if override.expires_at is not None else ""
    return what + until


def audit_line(record: AuditRecord) -> Line:
    text = (
        f"{when(record.at)}  {record.action}  by {record.by}  {record.customer_id}  "
        f"{override_text(record.override)}: {record.reason}"
    )
    return Line(text, None)


@dataclass(frozen=True)
class OutputKind:
    """An output topic as `tail` reads it: its model, its line, and where a record names its customer."""

    model: type[BaseModel]
    line: Callable[[BaseModel], Line]
    keyed: bool = True  # keyed by customer id; a dead letter instead carries its bad record's key


OUTPUTS: dict[str, OutputKind] = {
    "scores": OutputKind(ScoreUpdate, score_line),  # type: ignore[arg-type]
    "alerts": OutputKind(ChurnRiskAlert, alert_line),  # type: ignore[arg-type]
    "deadletter": OutputKind(DeadLetter, dead_letter_line, keyed=False),  # type: ignore[arg-type]
    "audit": OutputKind(AuditRecord, audit_line),  # type: ignore[arg-type]
}


def render(kind: str, key: bytes | None, value: bytes | None) -> Line:
    """The line of one record of the `kind` output topic; a tombstone or an unreadable value says what it is."""
    customer = key.decode("utf-8", "replace") if key is not None else "-"
    if value is None:
        return Line(f"{customer}  erased (tombstone: the customer's data was deleted)", None)
    try:
        record = OUTPUTS[kind].model.model_validate_json(value)
    except ValidationError as exc:
        return Line(
            f"unreadable {kind} record for {customer}: {exc.error_count()} error(s), "
            f"first: {exc.errors()[0]['msg']}; value: {value[:VALUE_PREFIX_BYTES]!r}",
            "bad",
        )
    return OUTPUTS[kind].line(record)


def customer_of(kind: str, key: bytes | None, value: bytes | None) -> str | None:
    """Whose record this is: the key, or for a dead letter the key of the record it kept (None: no key, unreadable)."""
    if OUTPUTS[kind].keyed:
        return None if key is None else key.decode("utf-8", "replace")
    try:
        letter = DeadLetter.model_validate_json(value or b"")
    except ValidationError:
        return None
    return None if letter.key_base64 is None else base64.b64decode(letter.key_base64).decode("utf-8", "replace")
