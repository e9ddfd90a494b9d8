"""One clock rule on the event-time clock: only a customer's behaviour moves their clock (issue 28).

A profile and a person's override are scored at the customer's clock as it
stands, whatever date they carry; an override expires by that clock, as
long after it was applied as it was asked to last. On the wall clock
nothing changes.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

from schemas.control import OverrideRequest
from schemas.outputs import ScoreUpdate
from scoring.instants import from_us
from scoring.overrides import on_clock
from scoring.pipeline import clock_for, customer_clock
from scoring.replay import replay
from streams.kafka.codecs import decode_state
from streams.worker.outputs import Outputs
from tests.factories import at, profile, purchase, survey, ticket, visit
from tests.fakes import MODEL, Sent, make_scorer, message

OVERRIDES = "healthscore.overrides"
KINDS = {f"customer.{kind}s": kind for kind in ("purchase", "visit", "ticket", "survey", "profile")}
# A wall clock 19 months after the events, as when a 2025 sample is replayed on the event clock today.
WALL = at(600)


def history(customer: str) -> list:
    return [purchase(customer, 0), visit(customer, 3), purchase(customer, 30), survey(customer, 40, "csat", 4)]


def override_record(
    customer: str, action: str = "pin_score", days: float = 14, request_id: str = "o-1", **fields: object
) -> OverrideRequest:
    fields = fields or {"score": 20.0}
    return OverrideRequest(
        request_id=request_id,
        customer_id=customer,
        action=action,
        reason="call went badly",
        author="sam",
        requested_at=WALL,
        expires_at=WALL + timedelta(days=days),
        **fields,
    )


def worker(clock: str = "event"):
    outputs = Outputs(scores=Sent(), alerts=Sent(), deadletter=Sent(), audit=Sent())
    return make_scorer(kinds=KINDS, clock=clock, override_topic=OVERRIDES, outputs=outputs)


def messages(events: list, first: int = 0) -> list:
    """Each event on its kind's topic, as consecutive records of one partition."""
    return [
        message(f"customer.{e.kind}s", e.customer_id.encode(), e.model_dump_json().encode(), first + n)
        for n, e in enumerate(events)
    ]


def updates(w) -> list[ScoreUpdate]:
    return [ScoreUpdate.model_validate_json(v) for v in w.outputs.scores.values]


def test_only_behaviour_moves_the_customers_clock() -> None:
    state = replay(history("c"), MODEL).states["c"]
    assert customer_clock(state) == at(40)
    assert clock_for(state, profile("c", 600, plan="pro")) == at(40)  # a profile stamped today moves nothing
    assert clock_for(state, purchase("c", 45)) == at(45)
    assert clock_for(state, purchase("c", 10)) == at(40)  # a late event never moves it back
    assert clock_for(None, profile("new", 7, plan="pro")) == at(7)  # known by nothing else: its own time


def test_an_override_moved_onto_the_customers_clock_lasts_as_long_as_it_was_asked_to() -> None:
    moved = on_clock(override_record("c", days=14), at(40))
    assert (moved.requested_at, moved.expires_at) == (at(40), at(54))
    clear = OverrideRequest(
        request_id="o-2", customer_id="c", action="clear", reason="r", author="a", requested_at=WALL
    )
    assert on_clock(clear, at(40)).expires_at is None


def test_an_override_stamped_with_the_wall_clock_does_not_move_an_event_time_customer_months_ahead() -> None:
    """Issue 28: cust-0042 went 44.0 -> 18.1, 'no purchase for 604 days', a false critical alert, history cut."""
    w = worker()
    asyncio.run(w.handle(messages(history("c"))))
    before = updates(w)[-1]
    record = override_record("c", action="adjust", adjustment=-5.0)
    asyncio.run(w.handle([message(OVERRIDES, b"c", record.model_dump_json().encode(), 4)]))
    after = updates(w)[-1]
    assert after.scored_at == before.scored_at == at(40)  # the customer's clock, not the request's wall clock
    assert after.computed_score == before.score and after.score == round(before.score - 5, 1)
    assert not any("days" in reason for reason in after.reasons if "604" in reason)
    state = decode_state(w.table[b"c"])
    assert from_us(state.last_scored_at) == at(40)
    assert state.override.expires_at == at(54)  # expires by the clock it was applied on


def test_an_override_expires_by_the_customers_clock_and_is_shown_no_longer() -> None:
    w = worker()
    asyncio.run(w.handle(messages(history("c"))))
    record = override_record("c", days=14)
    asyncio.run(w.handle([message(OVERRIDES, b"c", record.model_dump_json().encode(), 4)]))
    asyncio.run(w.handle(messages([visit("c", 50)], first=5)))
    assert updates(w)[-1].override is not None  # day 50: still in force (until day 54)
    asyncio.run(w.handle(messages([visit("c", 60)], first=6)))
    last = updates(w)[-1]
    assert last.override is None and any("manual override ended, expired" in c for c in last.changes)


def test_a_profile_stamped_today_rescores_an_event_time_customer_at_their_own_time() -> None:
    w = worker()
    asyncio.run(w.handle(messages(history("c"))))
    asyncio.run(w.handle(messages([profile("c", 600, plan="enterprise")], first=4)))
    assert {u.scored_at for u in updates(w)[-2:]} == {at(40)}
    assert w.now() == at(40)  # nor the worker's clock, which the timer scores everyone at


def test_on_the_wall_clock_an_override_is_scored_and_expires_as_stamped() -> None:
    w = worker(clock="wall")
    asyncio.run(w.handle(messages(history("c"))))
    now = datetime.now(timezone.utc)
    record = override_record("c", days=14).model_copy(
        update={"requested_at": now, "expires_at": now + timedelta(days=14)}
    )
    asyncio.run(w.handle([message(OVERRIDES, b"c", record.model_dump_json().encode(), 4)]))
    assert decode_state(w.table[b"c"]).override.expires_at == now + timedelta(days=14)
    assert updates(w)[-1].scored_at >= now


def test_one_event_dated_weeks_ahead_does_not_move_the_timers_clock_for_everyone() -> None:
    """The sample's visit of cust-0001 dated seven weeks ahead of the stream: taken as the worker's `now`, the timer
    re-scored every customer due at that date, and their own next events were scored weeks after they happened."""
    w = make_scorer(kinds=KINDS, clock="event")

    def on(tp: str, events: list, first: int = 0) -> list:
        return [
            message(f"customer.{e.kind}s", e.customer_id.encode(), e.model_dump_json().encode(), first + n, tp)
            for n, e in enumerate(events)
        ]

    asyncio.run(w.handle(on("visits-0", [visit("a", 1), visit("a", 20), visit("odd", 70)])))
    asyncio.run(w.handle(on("tickets-1", [ticket("c", 5, "T-1"), ticket("c", 21, "T-2")])))
    assert w.now() == at(21)  # the oldest of the partitions' newest: tickets-1 has got to day 21
    asyncio.run(w.handle(on("tickets-1", [ticket("c", 30, "T-3")], first=2)))
    assert w.now() == at(30)
    assert updates(w)[-1].scored_at == at(30)  # and the customer's own events are scored when they happened
