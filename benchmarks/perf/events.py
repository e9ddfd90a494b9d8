"""A seeded, realistic mix of the four event kinds, as the wire bytes upstream would publish.

Kinds by share: visits 60%, purchases 20%, tickets 12%, surveys 8%.
Customers are drawn with a skew (a few are far busier than most, as in real
shops), timestamps advance through the run over `DAYS` days, so each
customer's events are in time order; a ticket is resolved only after it was
opened. The same seed always gives the same bytes.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

START = datetime(2025, 1, 1, tzinfo=timezone.utc)
DAYS = 180  # six months of history
KINDS = ("visit", "purchase", "ticket", "survey")
SHARES = (0.60, 0.20, 0.12, 0.08)
# Pareto exponent of customer activity: the busiest customers have many times the median's events.
ACTIVITY_SKEW = 1.5


@dataclass(frozen=True)
class Record:
    kind: str
    key: bytes
    value: bytes


def customer_id(number: int) -> str:
    return f"cust-{number:07d}"


def generate(events: int, customers: int, seed: int = 8, days: float = DAYS) -> list[Record]:
    """`events` records over `customers` customers and `days` days, every customer with at least one event."""
    rng = random.Random(seed)
    weights = [rng.paretovariate(ACTIVITY_SKEW) for _ in range(customers)]
    # Every customer appears once in order, the rest are drawn by activity.
    chosen = list(range(customers))[:events] + rng.choices(range(customers), weights, k=max(0, events - customers))
    rng.shuffle(chosen)
    kinds = rng.choices(KINDS, SHARES, k=events)
    span = timedelta(days=days).total_seconds()
    open_tickets: dict[int, list[tuple[str, str, str]]] = {}
    records = []
    for n, (number, kind) in enumerate(zip(chosen, kinds)):
        at = START + timedelta(seconds=span * n / events + rng.random())
        cid = customer_id(number)
        body: dict[str, object] = {
            "kind": kind,
            "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "customer_id": cid,
            "occurred_at": at.isoformat().replace("+00:00", "Z"),
        }
        if kind == "visit":
            body |= {"duration_seconds": round(rng.uniform(20, 1800), 1), "pages": rng.randint(1, 30)}
        elif kind == "purchase":
            body |= {"amount": round(rng.lognormvariate(3.8, 0.6), 2), "items": rng.randint(1, 4)}
        elif kind == "ticket":
            body |= _ticket(rng, open_tickets.setdefault(number, []))
        else:
            nps = rng.random() < 0.5
            body |= {"survey_type": "nps" if nps else "csat", "score": rng.randint(0, 10) if nps else rng.randint(1, 5)}
        records.append(Record(kind, cid.encode(), json.dumps(body, separators=(",", ":")).encode()))
    return records


def _ticket(rng: random.Random, open_now: list[tuple[str, str, str]]) -> dict[str, object]:
    """Resolve one of the customer's open tickets about half the time, else open a new one."""
    if open_now and rng.random() < 0.5:
        ticket_id, priority, category = open_now.pop(0)
        action = "resolved"
    else:
        ticket_id = f"T-{rng.getrandbits(40):010x}"
        priority = rng.choices(("low", "normal", "high", "urgent"), (0.3, 0.5, 0.15, 0.05))[0]
        category = rng.choices(("question", "bug", "billing", "complaint", "other"), (0.4, 0.2, 0.15, 0.15, 0.1))[0]
        open_now.append((ticket_id, priority, category))
        action = "opened"
    return {"ticket_id": ticket_id, "action": action, "priority": priority, "category": category}
