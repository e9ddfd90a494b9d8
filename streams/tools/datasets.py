"""Event logs for the backtest: the real CDNOW purchase log, or any JSON-lines file of events."""

from __future__ import annotations

import importlib.resources
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from pydantic import ValidationError

from schemas.events import EVENT_ADAPTER, Event, PurchaseEvent

CDNOW = "cdnow"


def load_cdnow() -> list[PurchaseEvent]:
    """CDNOW_master.txt from the lifetimes wheel as purchases, one per customer-day, in time order.

    Columns: customer id, date (YYYYMMDD), CDs bought, dollars. Read as a
    file because `lifetimes.datasets` does not import with setuptools >= 82.
    Same-day rows are merged, as BG/NBD counts purchase days.
    """
    path = importlib.resources.files("lifetimes") / "datasets" / "CDNOW_master.txt"
    days: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0, 0.0])
    with path.open("r") as handle:
        for line in handle:
            fields = line.split()
            if len(fields) != 4 or not fields[1].isdigit():
                continue
            totals = days[(fields[0], fields[1])]
            totals[0] += int(fields[2])
            totals[1] += float(fields[3])
    events = [
        PurchaseEvent(
            event_id=f"cdnow-{customer}-{day}",
            customer_id=f"cdnow-{customer}",
            occurred_at=datetime.strptime(day, "%Y%m%d").replace(tzinfo=timezone.utc),
            amount=round(dollars, 2),
            items=max(1, int(cds)),  # the CDs bought that day: an int, in a list typed for the dollars
        )
        for (customer, day), (cds, dollars) in days.items()
    ]
    return sorted(events, key=lambda e: (e.occurred_at, e.customer_id))


@dataclass(frozen=True)
class EventLog:
    """A dataset's valid events in time order, and what was left out of it."""

    events: list[Event]
    skipped: int = 0  # invalid lines: the worker would dead-letter them
    first_skipped: str = ""  # `line N: why`, to find what is wrong when many are

    def skipped_note(self) -> str:
        """`4 invalid lines skipped (the first, line 4341: why)`, or "" when none were."""
        if not self.skipped:
            return ""
        lines = "line" if self.skipped == 1 else "lines"
        return f"{self.skipped:,} invalid {lines} skipped (the first, {self.first_skipped})"


def load_events(dataset: str) -> EventLog:
    """`cdnow`, or a path to a JSON-lines file of events; invalid lines are skipped and counted.

    Skipped rather than fatal because the worker dead-letters them and goes
    on: a log the worker took (the sample file has invalid lines on purpose)
    is one backtest, calibrate and preview take, all three read here.
    """
    if dataset == CDNOW:
        return EventLog(list(load_cdnow()))
    events, skipped, first = [], 0, ""
    with Path(dataset).open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                try:
                    events.append(EVENT_ADAPTER.validate_json(line))
                except ValidationError as exc:
                    skipped += 1
                    first = first or f"line {number}: {exc.errors(include_url=False)[0]['msg']}"
    return EventLog(sorted(events, key=lambda e: e.occurred_at), skipped, first)
