"""Moving a JSON-lines file of events in time, so an old sample plays as if it had just happened.

The sample is dated 2025. Replayed as it is, a worker on the wall clock
scores its customers a year and a half after their last event (all at_risk
or critical); on the event clock the first event sent after it, stamped
today, moves the worker's event-time watermark that far ahead, and every
customer ages with it. Moved by one constant, so the newest event lands
just before now, every gap between events is kept and the sample's
customers are the ones it was made to show, as of today
(`healthscore produce --shift-to-now`).

Pure: `now` is an argument, and nothing here reads a clock or a file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime, timedelta, timezone
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from schemas.control import ErasureRequest, OverrideRequest
from schemas.events import EVENT_ADAPTER

# The newest event lands this long before `now`: never in the future, however little
# HEALTHSCORE_MAX_FUTURE_SECONDS allows, and a minute is nothing to a score counted in days.
MARGIN = timedelta(minutes=1)

# What a line may be, each with the field that says when it happened. A line that is none of
# them is left as it is, byte for byte, so the worker dead-letters it as it would have.
KINDS: tuple[tuple[TypeAdapter[Any], str], ...] = (
    (EVENT_ADAPTER, "occurred_at"),
    (TypeAdapter(ErasureRequest), "requested_at"),
    (TypeAdapter(OverrideRequest), "requested_at"),
)


def shift_to_now(lines: Iterable[bytes], now: datetime, margin: timedelta = MARGIN) -> timedelta:
    """The shift, in whole seconds, that puts the newest valid line's time `margin` before `now`.

    Zero when no line is a valid event or request: there is nothing to move.
    Whole seconds so that times written without a fraction keep none.
    """
    moments = [parsed[1] for line in lines if (parsed := _parse(line)) is not None]
    if not moments:
        return timedelta(0)
    gap = now - margin - max(moments)
    return gap - timedelta(microseconds=gap.microseconds)  # rounded down: never later than now - margin


def shift_line(line: bytes, by: timedelta) -> bytes:
    """`line` with every instant it carries moved by `by`, and every date by whole days.

    A date (a profile's renewal_date) moves by as many days as the line's
    own time moved from one UTC day to another, so a renewal 30 days after
    its event stays 30 days after it. Only the dates and times change; other
    values are written back as they were read. A line that is not a valid
    event, erasure or override request is returned as it is.
    """
    parsed = _parse(line)
    if parsed is None:
        return line
    model, moment = parsed
    days = (moment + by).astimezone(timezone.utc).date() - moment.astimezone(timezone.utc).date()
    body = json.loads(line)
    for name, written in body.items():
        value = getattr(model, name, None)
        if isinstance(value, datetime):  # before date: a datetime is a date too
            body[name] = _written_like(value + by, written)
        elif isinstance(value, date):
            body[name] = (value + days).isoformat()
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _parse(line: bytes) -> tuple[BaseModel, datetime] | None:
    """The line as the model it validates as, and when it happened; None if it is no valid event or request."""
    for adapter, moment in KINDS:
        try:
            model = adapter.validate_json(line)
        except ValidationError:
            continue
        return model, getattr(model, moment)
    return None


def _written_like(moment: datetime, written: str) -> str:
    """`moment` in its own offset, with `Z` for UTC where the original wrote `Z`."""
    text = moment.isoformat()
    return text.removesuffix("+00:00") + "Z" if written.endswith("Z") and text.endswith("+00:00") else text
