"""The one reference for fault tests: what a worker published and stored equals an offline replay.

Purchases only, on one topic: each customer's order is then fixed, so
`scoring.replay.replay` of the same events is the exact reference for
state, scores and alerts, however often records were redelivered.
"""

from __future__ import annotations

from schemas.events import Event
from schemas.model_config import ScoringModel
from schemas.outputs import ChurnRiskAlert, ScoreUpdate
from scoring.replay import replay
from streams.kafka.codecs import decode_state
from streams.state.tables import STATE_TABLE
from streams.tools.datasets import load_cdnow
from tests.factories import published
from tests.integration.workers import read_all, read_to_end, take, uncommitted
from tests.waiting import eventually, until

# The CDNOW log dates from 1997-98, older than the worker's default horizon for old events.
CDNOW_ENV = {"HEALTHSCORE_MAX_EVENT_AGE_DAYS": "36500"}


def cdnow_purchases(customers: int) -> list[Event]:
    """The real CDNOW purchases of its first `customers` customers, in the log's (time) order."""
    sample = {f"cdnow-{n:05d}" for n in range(1, customers + 1)}
    return [e for e in load_cdnow() if e.customer_id in sample]


def wait_until_all_scored(run, reader, seen: list, events: list[Event], timeout: float = 60.0) -> None:
    """Read the scores topic into `seen` until every event has a ScoreUpdate and the group is past every input
    record: then all it will send for them, re-sends after a restart too, is in `seen`."""
    inputs = sorted(run.settings.input_topics())
    missing = {e.event_id for e in events}
    read = 0

    def all_scored() -> bool:
        nonlocal read
        assert run.process.poll() is None, run.log.read_text()[-2000:]
        take(reader, seen)
        missing.difference_update(ScoreUpdate.model_validate_json(r.value).event_id for r in seen[read:])
        read = len(seen)
        return not missing

    assert until(all_scored, timeout, interval=0), lost_report(run, missing, events, seen)
    group = run.settings.app_id
    behind = eventually(lambda: uncommitted(run.stack.bootstrap, group, inputs), lambda b: not b, timeout)
    assert not behind, f"the group has not committed every input record, (committed, end): {behind}"
    read_to_end(reader, seen)


def lost_report(run, missing: set[str], events: list[Event], seen: list) -> str:
    """What a failed wait shows: how many and which events lack an update, and the worker's warnings."""
    customers = sorted({e.customer_id for e in events if e.event_id in missing})
    notable = [
        line for line in run.log.read_text().splitlines() if "WARNING" in line or "ERROR" in line or "Traceback" in line
    ]
    return (
        f"events were lost: {len(missing)} of {len(events)} have no ScoreUpdate ({len(seen)} updates read); "
        f"customers {customers[:10]}...; worker warnings:\n" + "\n".join(notable[-40:])
    )


def assert_exactly_the_offline_result(run, events: list[Event], seen: list) -> int:
    """Updates, newest states and alerts equal the offline replay; returns how many updates were re-sent."""
    updates = [ScoreUpdate.model_validate_json(r.value) for r in seen]
    expected = replay(events, ScoringModel())
    want = {u.event_id: u for u in published(expected.updates)}
    # Redelivered events re-send identical updates (same event_id, same content): consumers can deduplicate.
    assert {u.event_id for u in updates} == set(want)
    differing = [(u, want[u.event_id]) for u in updates if u != want[u.event_id]]
    assert not differing, (
        f"{len(differing)} updates differ from the offline replay; the first:\n{differing[0][0]}\n{differing[0][1]}"
    )

    # State: the newest changelog record per customer equals the offline fold, counters and all.
    records = read_all(run.stack.bootstrap, [f"{run.settings.app_id}-{STATE_TABLE}-changelog"])
    streamed = {r.key.decode(): decode_state(r.value) for r in records}
    assert set(streamed) == set(expected.states), (
        sorted(set(expected.states) - set(streamed))[:10],
        sorted(set(streamed) - set(expected.states))[:10],
    )
    for cid, state in expected.states.items():
        assert streamed[cid] == state, cid

    # Alerts: every expected alert arrived; repeats carry the same id and content; nothing unexpected.
    alert_records = read_all(run.stack.bootstrap, [run.settings.topic_alerts])
    alerts = [ChurnRiskAlert.model_validate_json(r.value) for r in alert_records]
    expected_alerts = {a.alert_id: a for a in published(expected.alerts)}
    assert {a.alert_id for a in alerts} == set(expected_alerts)
    assert all(a == expected_alerts[a.alert_id] for a in alerts)
    return len(updates) - len(events)
