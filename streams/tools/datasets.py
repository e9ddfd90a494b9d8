"""Event logs for the backtest: the real CDNOW purchase log, or any JSON-lines file of events."""

from __future__ import annotations

import logging

import importlib.resources
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

from pydantic import ValidationError

from schemas.events import EVENT_ADAPTER, Event, PurchaseEvent

CDNOW = "cdnow"

logger = logging.getLogger(__name__)


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
            items=max(1, cds),
        )
        for (customer, day), (cds, dollars) in days.items()
    ]
    return sorted(events, key=lambda e: (e.occurred_at, e.customer_id))


def load_events(dataset: str, skip_invalid: bool = False) -> list[Event]:
    """`cdnow`, or a path to a JSON-lines file of events; an invalid line is an error unless `skip_invalid`."""
    if dataset == CDNOW:
        return list(load_cdnow())
    events, skipped = [], 0
    with Path(dataset).open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                try:
                    events.append(EVENT_ADAPTER.validate_json(line))
                except ValidationError as exc:
                    if not skip_invalid:
                        raise ValueError(f"{dataset}:{number}: {exc.errors(include_url=False)[0]['msg']}") from exc
                    skipped += 1
    if skipped:
        logger.warning("%s: %d invalid lines skipped (the worker would dead-letter them)", dataset, skipped)
    return sorted(events, key=lambda e: e.occurred_at)
