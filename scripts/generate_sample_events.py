"""Generate the demo's sample events: a few hundred customers over four months, seeded.

Run `python scripts/generate_sample_events.py > data/sample_events.jsonl`;
the same seed always writes the same file (a test checks it). Personas give
the demo something to find: loyal buyers, casual ones, customers who drift
away and then complain, unhappy ones with tickets and low NPS, newcomers.
Every customer also has a CRM profile (plan, size, industry, lifecycle
stage, contract value, renewal date), published with their first event and
again when a newcomer leaves onboarding, so per-segment models
(models/segmented.toml) and renewal-risk alerts have something to act on.
A few duplicates and invalid lines show deduplication and dead letters.
"""

from __future__ import annotations

import json
import random
import sys
import uuid
from datetime import datetime, timedelta, timezone

SEED = 20250101
START = datetime(2025, 1, 1, tzinfo=timezone.utc)
DAYS = 120
CUSTOMERS = 300
PERSONAS = [("loyal", 0.40), ("casual", 0.25), ("drifting", 0.15), ("unhappy", 0.10), ("new", 0.10)]
PLANS = [("starter", 0.45, (1_000, 8_000)), ("pro", 0.40, (8_000, 30_000)), ("enterprise", 0.15, (30_000, 250_000))]
SIZES = ["1-10", "11-50", "51-200", "201-1000", "1001-5000"]
INDUSTRIES = ["retail", "software", "media", "finance", "education"]


class Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.events: list[dict] = []

    def event_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def at(self, day: float) -> str:
        moment = START + timedelta(days=day, seconds=self.rng.randrange(8 * 3600, 22 * 3600))
        return moment.isoformat().replace("+00:00", "Z")

    def emit(self, kind: str, customer: str, day: float, **fields: object) -> None:
        self.events.append(
            {"kind": kind, "event_id": self.event_id(), "customer_id": customer, "occurred_at": self.at(day), **fields}
        )

    def purchases(self, customer: str, start: float, end: float, every: float, basket: float) -> None:
        day = start + self.rng.uniform(0, every)
        while day < end:
            self.emit(
                "purchase",
                customer,
                day,
                amount=round(self.rng.lognormvariate(0, 0.4) * basket, 2),
                items=self.rng.randint(1, 4),
            )
            day += max(1.0, self.rng.gauss(every, every * 0.2))

    def visits(self, customer: str, start: float, end: float, every: float) -> None:
        day = start + self.rng.uniform(0, every)
        while day < end:
            self.emit(
                "visit",
                customer,
                day,
                duration_seconds=round(self.rng.uniform(30, 1800), 1),
                pages=self.rng.randint(1, 30),
            )
            day += max(0.5, self.rng.expovariate(1 / every))

    def survey(self, customer: str, day: float, survey_type: str, low: int, high: int) -> None:
        self.emit("survey", customer, day, survey_type=survey_type, score=self.rng.randint(low, high))

    def ticket(self, customer: str, day: float, priority: str, category: str, resolve_after: float | None) -> None:
        ticket_id = f"T-{self.rng.randrange(10**6):06d}"
        self.emit("ticket", customer, day, ticket_id=ticket_id, action="opened", priority=priority, category=category)
        if resolve_after is not None and day + resolve_after < DAYS:
            self.emit(
                "ticket",
                customer,
                day + resolve_after,
                ticket_id=ticket_id,
                action="resolved",
                priority=priority,
                category=category,
            )

    def profiles(self, rng: random.Random, customer: str, persona: str) -> None:
        """The customer's CRM profile with their first event, and for a newcomer again when onboarding ends.

        A random generator of its own, so adding profiles left every other event of the sample as it was.
        """
        mine = [e for e in self.events if e["customer_id"] == customer]
        if not mine:
            return
        first = min(e["occurred_at"] for e in mine)
        plan, _, (low, high) = rng.choices(PLANS, [w for _, w, _ in PLANS])[0]
        start = datetime.fromisoformat(first.replace("Z", "+00:00"))
        fields = {
            "plan": plan,
            "company_size": rng.choice(SIZES),
            "industry": rng.choice(INDUSTRIES),
            "contract_value": round(rng.uniform(low, high), 2),
            "renewal_date": (START + timedelta(days=rng.uniform(45, 200))).date().isoformat(),
        }
        stage = "onboarding" if persona == "new" else "active"

        def emit(at: datetime, **extra: object) -> None:
            self.events.append(
                {
                    "kind": "profile",
                    "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    "customer_id": customer,
                    "occurred_at": at.isoformat().replace("+00:00", "Z"),
                    **fields,
                    **extra,
                }
            )

        emit(start, lifecycle_stage=stage)
        if persona == "new":
            ends = start + timedelta(days=rng.uniform(14, 30))
            if ends < START + timedelta(days=DAYS):
                emit(ends, lifecycle_stage="active")

    def customer(self, customer: str, persona: str) -> None:
        r = self.rng
        if persona == "loyal":
            self.purchases(customer, 0, DAYS, r.uniform(14, 35), r.uniform(40, 150))
            self.visits(customer, 0, DAYS, r.uniform(2, 6))
            self.survey(customer, r.uniform(20, DAYS), "nps", 8, 10)
            self.survey(customer, r.uniform(10, DAYS), "csat", 4, 5)
        elif persona == "casual":
            self.purchases(customer, 0, DAYS, r.uniform(40, 70), r.uniform(20, 80))
            self.visits(customer, 0, DAYS, r.uniform(7, 15))
            self.survey(customer, r.uniform(30, DAYS), "nps", 6, 9)
        elif persona == "drifting":
            # Engaged at first, then purchases and visits stop; weeks later a
            # complaint or a poor survey is the last thing heard of them.
            quits = r.uniform(25, 50)
            self.purchases(customer, 0, quits, r.uniform(10, 20), r.uniform(40, 120))
            self.visits(customer, 0, quits, r.uniform(2, 5))
            last = r.uniform(quits + 45, DAYS)
            if r.random() < 0.5:
                self.ticket(customer, last, "high", "complaint", None)
            else:
                self.survey(customer, last, "nps", 2, 6)
        elif persona == "unhappy":
            self.purchases(customer, 0, DAYS, r.uniform(30, 60), r.uniform(20, 60))
            self.visits(customer, 0, DAYS * 0.6, r.uniform(5, 12))
            for _ in range(r.randint(2, 4)):
                day = r.uniform(30, DAYS)
                self.ticket(
                    customer,
                    day,
                    r.choice(["high", "urgent", "normal"]),
                    r.choice(["complaint", "bug"]),
                    None if r.random() < 0.6 else r.uniform(1, 10),
                )
            self.survey(customer, r.uniform(60, DAYS), "csat", 1, 2)
            self.survey(customer, r.uniform(60, DAYS), "nps", 0, 5)
        else:  # new
            joined = r.uniform(DAYS - 40, DAYS - 10)
            self.purchases(customer, joined, DAYS, r.uniform(10, 30), r.uniform(30, 90))
            self.visits(customer, joined, DAYS, r.uniform(2, 5))

    def bad_lines(self) -> list[str]:
        """Invalid events a real upstream produces now and then; the worker must dead-letter them."""
        good = {"event_id": self.event_id(), "customer_id": "cust-0001", "occurred_at": self.at(DAYS - 1)}
        return [
            json.dumps({"kind": "survey", **good, "survey_type": "nps", "score": 12}),
            json.dumps({"kind": "purchase", **good, "amount": -25.0}),
            json.dumps({"kind": "visit", **good, "occurred_at": "2025-04-20T10:00:00", "duration_seconds": 60}),
            json.dumps({"kind": "ticket", **good, "ticket_id": "T-1", "action": "escalated"}),
        ]


def generate(seed: int = SEED, customers: int = CUSTOMERS) -> list[str]:
    """The sample file's lines, ordered by event time as upstream would publish them."""
    gen = Generator(seed)
    names, weights = zip(*PERSONAS)
    personas = {}
    for n in range(1, customers + 1):
        personas[f"cust-{n:04d}"] = persona = gen.rng.choices(names, weights)[0]
        gen.customer(f"cust-{n:04d}", persona)
    events = sorted(gen.events, key=lambda e: e["occurred_at"])
    # Redeliveries: the same event twice, as an at-least-once producer may send it.
    for dup in gen.rng.sample(events, 5):
        events.insert(events.index(dup) + 1, dup)
    lines = [json.dumps(e, separators=(",", ":")) for e in events]
    for bad in gen.bad_lines():
        lines.insert(gen.rng.randrange(len(lines)), bad)
    behaviour = len(gen.events)
    crm = random.Random(seed + 1)
    for customer, persona in personas.items():
        gen.profiles(crm, customer, persona)
    return with_profiles(lines, sorted(gen.events[behaviour:], key=lambda e: e["occurred_at"]))


def with_profiles(lines: list[str], profiles: list[dict]) -> list[str]:
    """`lines` with each profile before the first line stamped after it (every other line keeps its place)."""
    out, waiting = [], iter(profiles)
    pending = next(waiting, None)
    for line in lines:
        stamped = json.loads(line).get("occurred_at", "")
        while pending is not None and pending["occurred_at"] <= stamped:
            out.append(json.dumps(pending, separators=(",", ":")))
            pending = next(waiting, None)
        out.append(line)
    while pending is not None:
        out.append(json.dumps(pending, separators=(",", ":")))
        pending = next(waiting, None)
    return out


if __name__ == "__main__":
    sys.stdout.write("\n".join(generate()) + "\n")
