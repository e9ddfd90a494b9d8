"""Overrides through the real worker: shown while active, kept across a restart, ended at expiry, audited."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request

from schemas.control import AuditRecord, OverrideRequest
from schemas.outputs import ScoreUpdate
from tests.factories import at, purchase, visit


def updates(run, count: int) -> list[ScoreUpdate]:
    return [ScoreUpdate.model_validate_json(r.value) for r in run.read(run.settings.topic_scores, count)]


def send(run, events) -> None:
    run.publish(
        [(run.settings.topic_for(e.kind), e.customer_id.encode(), e.model_dump_json().encode()) for e in events]
    )


def test_an_override_shows_in_every_update_survives_a_restart_ends_at_expiry_and_is_audited(deploy) -> None:
    run = deploy(HEALTHSCORE_INACTIVITY_TIMER="false")
    send(run, [purchase("acme", 0), visit("acme", 1), purchase("acme", 20)])
    updates(run, 3)

    pin = OverrideRequest(
        request_id="ovr-1",
        customer_id="acme",
        action="pin_tier",
        tier="at_risk",
        reason="champion left the account",
        author="maria@cs",
        requested_at=at(21),
        expires_at=at(30),
    )
    run.publish([(run.settings.topic_overrides, b"acme", pin.model_dump_json().encode())])
    pinned = updates(run, 4)[-1]
    assert (pinned.tier, pinned.cause, pinned.override.request_id) == ("at_risk", "override", "ovr-1")
    assert pinned.computed_score is not None
    url = f"http://127.0.0.1:{run.settings.web_port}/customers/acme"
    with urllib.request.urlopen(url, timeout=10) as response:  # the API shows it too
        health = json.loads(response.read())
    assert (health["tier"], health["override"]["author"]) == ("at_risk", "maria@cs")
    assert health["computed_score"] is not None  # only set while an override changes the score

    run.restart()  # the override is in the customer's state: it survives, and the next recompute keeps it
    send(run, [visit("acme", 25)])
    after_restart = updates(run, 5)[-1]
    assert after_restart.override is not None and after_restart.tier == "at_risk"

    send(run, [visit("acme", 31)])  # past the expiry: this score is the model's again
    ended = updates(run, 6)[-1]
    assert ended.override is None and ended.computed_score is None
    assert ended.changes[0].startswith("manual override ended, expired")

    audit = [AuditRecord.model_validate_json(r.value) for r in run.read(run.settings.topic_audit, 2)]
    assert [(a.action, a.by) for a in audit] == [("applied", "maria@cs"), ("expired", "healthscore")]
    assert 'healthscore_overrides_total{action="expired"} 1.0' in run.metrics()


def test_the_cli_publishes_an_override_and_an_unknown_customer_is_refused(deploy) -> None:
    run = deploy(HEALTHSCORE_INACTIVITY_TIMER="false", HEALTHSCORE_CLOCK="wall")
    send(run, [purchase("globex", 0)])
    updates(run, 1)
    env = {**os.environ, **run.stack.env(), **run.env}
    for customer in ("globex", "nobody"):
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "streams.tools.cli",
                "override",
                customer,
                "--pin-score",
                "77",
                "--reason",
                "renewal signed",
                "--author",
                "lee@cs",
                "--days",
                "7",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
    latest = updates(run, 2)[-1]
    assert (latest.customer_id, latest.score, latest.override.author) == ("globex", 77.0, "lee@cs")
    letters = [r.value for r in run.read(run.settings.topic_deadletter, 1)]
    assert len(letters) == 1 and b"unknown_customer" in letters[0] and b"has not been scored" in letters[0]
