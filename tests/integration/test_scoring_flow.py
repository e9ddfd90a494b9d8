"""Events in, scores, alerts and dead letters out, through the real broker, worker and Redis.

The expected outputs are computed offline by the same scoring code over the
valid events; the worker must publish exactly those, and nothing for the
bad records but a dead letter each.
"""

from __future__ import annotations

import base64
import json
import re
from collections import Counter

from schemas.model_config import ScoringModel
from schemas.outputs import ChurnRiskAlert, DeadLetter, ScoreUpdate
from scoring.replay import replay
from streams.snapshot.keys import customer_key, ranking_key
from tests.factories import published, purchase, survey, ticket, visit
from tests.waiting import until

MAX_BYTES = 4096


def scenario():
    """Three customers: engaged alice, unhappy bob, carol who drifts away and then complains."""
    events = [purchase("alice", d, 90.0) for d in range(0, 100, 14)]
    events += [visit("alice", d + 0.5) for d in range(0, 100, 4)]
    events += [survey("alice", 60, "nps", 10), survey("alice", 70, "csat", 5)]
    events += [purchase("bob", 0, 40.0), visit("bob", 2), visit("bob", 20)]
    events += [
        ticket("bob", 30, "B-1", priority="high", category="complaint"),
        survey("bob", 31, "nps", 1),
        survey("bob", 32, "csat", 1),
        ticket("bob", 33, "B-2", priority="urgent", category="complaint"),
    ]
    events += [purchase("carol", d, 70.0) for d in (0, 10, 20, 30)] + [visit("carol", d) for d in range(0, 31, 3)]
    events += [ticket("carol", 120, "C-1", priority="high", category="complaint")]
    return sorted(events, key=lambda e: e.occurred_at)


def bad_records(topics: dict[str, str]) -> list[tuple[str, bytes | None, bytes, str, str]]:
    """(topic, key, value, error, reason fragment): one of each kind of bad input the worker must survive."""
    ok = {"event_id": "bad-1", "customer_id": "bob", "occurred_at": "2025-01-05T00:00:00Z"}

    def js(body: dict) -> bytes:
        return json.dumps(body).encode()

    p, v, t, s = topics["purchase"], topics["visit"], topics["ticket"], topics["survey"]
    return [
        (p, b"bob", b"this is not json", "invalid_json", "not valid JSON"),
        (p, b"bob", b"\xc3\x28 invalid utf-8", "invalid_encoding", "not UTF-8"),
        (p, b"bob", js({"kind": "purchase", **ok, "amount": 1, "pad": "x" * MAX_BYTES}), "too_large", "over the limit"),
        (p, b"bob", b"[1, 2, 3]", "validation", "Input should be an object"),
        (p, b"bob", js({"kind": "refund", **ok, "amount": 1}), "validation", "does not match any of the expected tags"),
        (p, b"bob", js({"kind": "purchase", **{**ok, "event_id": ""}, "amount": 1}), "validation", "event_id"),
        (
            p,
            b"bob",
            js({"kind": "purchase", **ok, "amount": "lots"}),
            "validation",
            "amount: Input should be a valid number",
        ),
        (p, b"bob", js({"kind": "purchase", **ok, "amount": 1, "coupon": "X"}), "validation", "coupon: Extra inputs"),
        (
            v,
            b"bob",
            js({"kind": "visit", **{**ok, "occurred_at": "2025-01-05T00:00:00"}, "duration_seconds": 5}),
            "validation",
            "occurred_at: Value error, must be an RFC 3339 date-time with a time zone",
        ),
        (v, b"bob", js({"kind": "visit", **ok, "duration_seconds": -5}), "validation", "duration_seconds"),
        (s, b"bob", js({"kind": "survey", **ok, "survey_type": "nps", "score": 11}), "validation", "between 0 and 10"),
        (s, b"bob", js({"kind": "survey", **ok, "survey_type": "csat", "score": 0}), "validation", "between 1 and 5"),
        (t, b"bob", js({"kind": "ticket", **ok, "ticket_id": "X", "action": "reopened"}), "validation", "action"),
        (v, b"bob", js({"kind": "purchase", **ok, "amount": 1}), "wrong_topic", "a purchase event on"),
        (p, b"alice", js({"kind": "purchase", **ok, "amount": 1}), "key_mismatch", "message key is 'alice'"),
        (p, None, js({"kind": "purchase", **ok, "amount": 2}), "key_mismatch", "message key is missing"),
        (
            p,
            b"bob",
            js({"kind": "purchase", **{**ok, "occurred_at": "2999-01-01T00:00:00Z"}, "amount": 3}),
            "future_timestamp",
            "more than 1 day, 0:00:00 after it was received",
        ),
    ]


def test_events_become_exact_scores_alerts_dead_letters_and_redis_snapshots(deploy) -> None:
    # Without the timer, every ScoreUpdate comes from an event and can be compared with a replay.
    run = deploy(HEALTHSCORE_MAX_MESSAGE_BYTES=str(MAX_BYTES), HEALTHSCORE_INACTIVITY_TIMER="false")
    topics = {kind: topic for topic, kind in run.settings.input_topics().items()}
    events = scenario()
    duplicate = events[5]
    bad = bad_records(topics)
    records, pending_bad = [], iter(bad)
    for n, event in enumerate(events):
        record = (topics[event.kind], event.customer_id.encode(), event.model_dump_json().encode())
        records.append(record)
        if event is duplicate:
            records.append(record)  # a redelivery: counted once
        if n % 3 == 0 and (broken := next(pending_bad, None)):
            records.append(broken[:3])  # bad input interleaved with good
    records.extend(broken[:3] for broken in pending_bad)
    run.publish(records)

    updates = [ScoreUpdate.model_validate_json(r.value) for r in run.read(run.settings.topic_scores, len(events))]
    # Per customer, order holds within a topic but not across the four, so the
    # reference replays each customer's events in the order the worker took them.
    by_id = {e.event_id: e for e in events}
    assert sorted(u.event_id for u in updates) == sorted(by_id)  # each valid event scored once
    expected = replay([by_id[u.event_id] for u in updates], ScoringModel())
    alerts = [
        ChurnRiskAlert.model_validate_json(r.value) for r in run.read(run.settings.topic_alerts, len(expected.alerts))
    ]
    letters = [DeadLetter.model_validate_json(r.value) for r in run.read(run.settings.topic_deadletter, len(bad))]

    # Scores: exactly what scoring computes for that order, per customer.
    assert updates == published(expected.updates)
    # The final state does not depend on the interleaving: same as an event-time-ordered replay.
    in_time_order = replay(events, ScoringModel())
    last = {u.customer_id: u for u in updates}
    for cid, update in {u.customer_id: u for u in in_time_order.updates}.items():
        assert (last[cid].score, last[cid].tier, last[cid].reasons) == (update.score, update.tier, update.reasons)
    assert last["alice"].tier == "healthy"

    # Alerts: bob and carol, each with reasons a person can act on.
    assert sorted(alerts, key=lambda a: a.alert_id) == sorted(published(expected.alerts), key=lambda a: a.alert_id)
    alerted = {a.customer_id: a for a in alerts}
    assert {"bob", "carol"} <= set(alerted)
    assert any("detractor" in r or "complaint" in r for r in alerted["bob"].reasons)
    assert any(re.match(r"no purchase for 9\d days, \d\.\dx the usual 10-day cycle", r) for r in last["carol"].reasons)
    assert "detractor_nps" in {a.trigger for a in alerts if a.customer_id == "bob"}
    assert last["bob"].tier in {"at_risk", "critical"}
    # Whether bob *enters* a worse tier depends on the order the worker took the four
    # topics (a first event that is already a detractor survey starts him there); in
    # time order he does, and the worker's alerts equal the replay of its own order above.
    assert "tier_entry" in {a.trigger for a in in_time_order.alerts if a.customer_id == "bob"}

    # Dead letters: each bad record once, with its reason and its original bytes.
    assert len(letters) == len(bad)
    got = {(letter.topic, base64.b64decode(letter.value_base64)): letter for letter in letters}
    assert len(got) == len(bad)
    for topic, key, value, error, fragment in bad:
        letter = got[(topic, value)]
        assert letter.error == error, letter.reason
        assert fragment in letter.reason
        assert letter.key_base64 == (None if key is None else base64.b64encode(key).decode())

    # Redis: the latest score per customer, ranked lowest first.
    client = run.redis()
    prefix = run.settings.redis_prefix
    assert until(lambda: client.zcard(ranking_key(prefix)) == 3)
    ranking = client.zrange(ranking_key(prefix), 0, -1, withscores=True)
    assert ranking == sorted(((cid, u.score) for cid, u in last.items()), key=lambda x: x[1])
    for cid, update in last.items():
        snapshot = client.hgetall(customer_key(prefix, cid))
        assert snapshot["tier"] == update.tier
        assert float(snapshot["score"]) == update.score
        assert ScoreUpdate.model_validate_json(snapshot["update"]) == update

    # Metrics: counted by kind and outcome, dead letters by reason.
    text = run.metrics()
    kinds = Counter(e.kind for e in events)
    for kind, count in kinds.items():
        assert f'healthscore_events_total{{kind="{kind}",outcome="scored"}} {float(count)}' in text
    assert f'healthscore_events_total{{kind="{duplicate.kind}",outcome="duplicate"}} 1.0' in text
    for error, count in Counter(b[3] for b in bad).items():
        assert f'healthscore_dead_letters_total{{error="{error}"}} {float(count)}' in text
    assert "healthscore_alerts_total" in text and "healthscore_event_to_score_latency_seconds_count" in text
    assert f"healthscore_score_count {float(len(events))}" in text
