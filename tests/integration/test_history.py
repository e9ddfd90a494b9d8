"""Score history through a real worker and Redis: every change kept with its cause, read back by the API and the
command, carried through a Redis outage, guarded by the token, and forgotten on erasure with the customer's alerts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from datetime import datetime

from schemas.api import CustomerHistory
from schemas.control import OverrideRequest
from schemas.outputs import ChurnRiskAlert, ScoreUpdate
from streams.snapshot.keys import customer_keys, recent_alerts_key
from tests.factories import at, purchase, survey, ticket, visit
from tests.integration.worker_metrics import metric_total
from tests.waiting import until

TOKEN = "it-history-5b1e"


def send(run, events) -> None:
    run.publish(
        [(run.settings.topic_for(e.kind), e.customer_id.encode(), e.model_dump_json().encode()) for e in events]
    )


def get(run, path: str, token: str | None = TOKEN) -> tuple[int, dict]:
    request = urllib.request.Request(f"http://127.0.0.1:{run.settings.web_port}{path}")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as failed:
        return failed.code, json.loads(failed.read())


def changes(updates: list[ScoreUpdate]) -> list[tuple[float, str, bool]]:
    """The (score, tier, overridden) of each update that changed one of them: what the history must keep."""
    kept: list[tuple[float, str, bool]] = []
    for update in updates:
        now = (round(update.score, 1), update.tier, update.override is not None)
        if not kept or kept[-1] != now:
            kept.append(now)
    return kept


def ms(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def history_of(run, customer_id: str, query: str = "") -> CustomerHistory:
    status, body = get(run, f"/customers/{customer_id}/history{query}")
    assert status == 200, body
    return CustomerHistory.model_validate(body)


def test_every_change_is_kept_with_its_cause_and_read_back_by_the_api_and_the_command(deploy) -> None:
    run = deploy(HEALTHSCORE_INACTIVITY_TIMER="false", HEALTHSCORE_API_TOKEN=TOKEN)
    # One topic at a time: the worker reads its input topics each at its own pace, so a customer's clock
    # (event time) would otherwise jump to the newest event read on any of them.
    phases = [
        [purchase("acme", d, 80.0) for d in range(0, 60, 6)],
        [visit("acme", 61)],
        [ticket("acme", 61.5, "T-1", priority="urgent", category="complaint")],
        [survey("acme", 62, "nps", 2)],
    ]
    events, updates = [], []
    for phase in phases:
        send(run, phase)
        events += phase
        updates = [ScoreUpdate.model_validate_json(r.value) for r in run.read(run.settings.topic_scores, len(events))]
    pin = OverrideRequest(
        request_id="ovr-h",
        customer_id="acme",
        action="pin_score",
        score=75.0,
        reason="QBR went well",
        author="sam@cs",
        requested_at=at(63),
        expires_at=at(90),
    )
    run.publish([(run.settings.topic_overrides, b"acme", pin.model_dump_json().encode())])
    updates.append(ScoreUpdate.model_validate_json(run.read(run.settings.topic_scores, len(events) + 1)[-1].value))
    kinds = {e.event_id: e.kind for e in events}

    def complete() -> bool:
        return get(run, "/customers/acme/history")[0] == 200 and len(history_of(run, "acme").points) == len(
            changes(updates)
        )

    assert until(complete, timeout=20), "every change in Redis"
    points = history_of(run, "acme").points
    assert [(p.score, p.tier, p.overridden) for p in points] == changes(updates)
    # Each point is the first update of its change: its time, and the kind of event (or the override) behind it.
    firsts = [u for n, u in enumerate(updates) if n == 0 or changes(updates[: n + 1]) != changes(updates[:n])]
    assert [p.at for p in points] == [ms(u.scored_at) for u in firsts]  # kept to the millisecond
    assert [p.cause for p in points] == [kinds.get(u.event_id, u.cause) for u in firsts]
    assert {"purchase", "visit", "ticket", "survey", "override"} <= {p.cause for p in points}
    assert points[-1].cause == "override" and points[-1].overridden and points[-1].score == 75.0
    assert {p.model for p in points} == {"default@2"}

    # Bounds: days are whole days, instants exact; both ends included.
    window = history_of(run, "acme", "?since=2025-01-20&until=2025-02-10").points
    assert window and window == [p for p in points if "2025-01-20" <= p.at.date().isoformat() <= "2025-02-10"]
    exact = history_of(run, "acme", f"?since={points[2].at.isoformat().replace('+00:00', 'Z')}")
    assert exact.points == points[2:]

    assert get(run, "/customers/acme/history?since=2025-03-01&until=2025-02-01") == (
        400,
        {"error": "since must not be after until"},
    )
    assert get(run, "/customers/acme/history?since=last-week")[0] == 400
    assert get(run, "/customers/nobody/history")[0] == 404
    assert get(run, "/customers/acme/history", token=None)[0] == 401
    assert get(run, "/customers/acme/history", token="wrong")[0] == 401

    env = {**os.environ, **run.stack.env(), **run.env}
    printed = subprocess.run(
        [sys.executable, "-m", "streams.tools.cli", "history", "acme", "--rows", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert printed.returncode == 0, printed.stderr
    assert f"acme: {len(points)} points" in printed.stdout
    assert printed.stdout.count("default@2") == len(points) and "override" in printed.stdout
    refused = subprocess.run(
        [sys.executable, "-m", "streams.tools.cli", "history", "acme"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**env, "HEALTHSCORE_API_TOKEN": "wrong"},
    )
    assert refused.returncode == 1 and "401" in refused.stderr and "bearer token" in refused.stderr


def test_changes_scored_while_redis_is_down_reach_the_history_once_it_is_back(deploy) -> None:
    run = deploy(HEALTHSCORE_INACTIVITY_TIMER="false")
    first = [purchase("r1", 0, 30.0), visit("r1", 1)]
    send(run, first)
    run.read(run.settings.topic_scores, len(first))
    assert until(lambda: get(run, "/customers/r1/history")[0] == 200)
    run.stack.stop_redis()  # no persistence: what Redis held is gone, what waits in the worker is not
    try:
        during = [purchase("r1", 2 + d, 40.0 + d) for d in range(6)]
        send(run, during)
        updates = [
            ScoreUpdate.model_validate_json(r.value)
            for r in run.read(run.settings.topic_scores, len(first) + len(during))
        ]
        # The changes wait in the worker: their writes failed and will be retried.
        assert until(lambda: metric_total(run.settings.web_port, "healthscore_redis_write_errors_total") >= 1)
    finally:
        run.stack.start_redis()
    expected = changes(updates[len(first) :])
    assert until(
        lambda: (
            get(run, "/customers/r1/history")[0] == 200
            and [(p.score, p.tier, p.overridden) for p in history_of(run, "r1").points] == expected
        ),
        timeout=20,
    ), "the changes made during the outage in Redis"


def test_an_erased_customer_loses_history_and_alerts_and_nobody_else_does(deploy) -> None:
    run = deploy(HEALTHSCORE_INACTIVITY_TIMER="false")
    angry = [
        purchase("eve", 0, 90.0),
        ticket("eve", 1, "T-1", priority="urgent", category="complaint"),
        survey("eve", 2, "nps", 0),
        purchase("bob", 0, 40.0),
        survey("bob", 2, "nps", 1),
    ]
    send(run, angry)
    run.read(run.settings.topic_scores, len(angry))
    alerts = [ChurnRiskAlert.model_validate_json(r.value) for r in run.read(run.settings.topic_alerts, 2)]
    assert {a.customer_id for a in alerts} == {"eve", "bob"}, "both raised an alert (detractor NPS)"
    db, prefix = run.redis(), run.settings.redis_prefix
    assert until(lambda: all(db.exists(key) for key in customer_keys(prefix, "eve") if ":history-daily:" not in key))
    assert until(lambda: len(db.zrange(recent_alerts_key(prefix), 0, -1)) == len(alerts))

    env = {**os.environ, **run.stack.env(), **run.env}
    sent = subprocess.run(
        [sys.executable, "-m", "streams.tools.cli", "erase", "eve", "--reason", "DSR-2026-204"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert sent.returncode == 0, sent.stderr
    assert until(lambda: not any(db.exists(key) for key in customer_keys(prefix, "eve"))), "eve's keys deleted"
    everyone = [json.loads(a) for a in db.zrange(recent_alerts_key(prefix), 0, -1)]
    assert {a["customer_id"] for a in everyone} == {"bob"}
    assert [key for key in db.keys(f"{prefix}:*") if db.type(key) == "zset" and db.zscore(key, "eve") is not None] == []
    assert get(run, "/customers/eve/history")[0] == 404
    assert get(run, "/customers/bob/history")[0] == 200 and db.exists(customer_keys(prefix, "bob")[0])
