"""`healthscore tail`: the real command, on the real local stack, prints what the worker published, as it comes.

Each test runs the command in a subprocess with the deployment's settings
and compares its lines with the records a plain reader of the same topic
gets (Deployment.read), rendered the same way.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter

from schemas.control import OverrideRequest
from streams.tools.render import render
from tests.factories import at, purchase, survey, ticket, visit
from tests.integration.workers import records
from tests.paths import ROOT
from tests.signals import as_in_a_terminal

TIMEOUT = 60


def command(run, *args: str) -> subprocess.Popen:
    """`healthscore tail ARGS` against the deployment, started; its first stderr line says it is in place."""
    env = {**os.environ, **run.stack.env(), **run.env}
    return subprocess.Popen(
        [sys.executable, "-m", "streams.tools.cli", "tail", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=as_in_a_terminal,
    )


def following(process: subprocess.Popen) -> str:
    """Wait until the command says it is reading (from then on nothing written is missed); that line."""
    line = process.stderr.readline()
    assert "following" in line, line + process.stderr.read()
    return line


def finished(process: subprocess.Popen) -> list[str]:
    out, err = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 0, err
    return out.splitlines()


def topics(run) -> dict[str, str]:
    return {kind: topic for topic, kind in run.settings.input_topics().items()}


def customers(names: list[str], first_day: float) -> list:
    events = []
    for n, name in enumerate(names):
        events += [
            purchase(name, first_day + n, 40.0 + n),
            visit(name, first_day + n + 0.5),
            survey(name, first_day + n + 1, "nps", n % 11),
        ]
    return sorted(events, key=lambda e: e.occurred_at)


def lines_of(records_read: list, kind: str) -> list[str]:
    return [render(kind, r.key, r.value).text for r in records_read]


def test_from_the_end_it_prints_only_what_is_published_after_it_started(deploy) -> None:
    run = deploy(HEALTHSCORE_INACTIVITY_TIMER="false")
    before = customers([f"early-{n}" for n in range(12)], 0)
    run.publish(records(topics(run), before))
    assert len(run.read(run.settings.topic_scores, len(before))) == len(before)  # published, in batches

    after = customers([f"late-{n}" for n in range(6)], 20)
    tail = command(run, "scores", "--limit", str(len(after)))
    assert following(tail).startswith(f"following {run.settings.topic_scores} from the end")
    run.publish(records(topics(run), after))
    shown = finished(tail)

    published = run.read(run.settings.topic_scores, len(before) + len(after))
    new = [r for r in published if r.key.startswith(b"late-")]
    assert len(new) == len(after) and len(published) == len(before) + len(after)
    # The same lines, none of the records from before it started (Tansu's short end offsets would
    # repeat the rest of a partition's last batch); partitions interleave, so compared as sets of lines.
    assert Counter(shown) == Counter(lines_of(new, "scores"))
    assert not any("early-" in line for line in shown)


def test_from_the_beginning_for_one_customer_and_as_json(deploy) -> None:
    run = deploy(HEALTHSCORE_INACTIVITY_TIMER="false")
    events = customers([f"c{n}" for n in range(8)], 0)
    events += [ticket("c3", 12, "T-1", priority="urgent", category="complaint"), survey("c3", 12.5, "nps", 0)]
    run.publish(records(topics(run), events))
    scores = run.read(run.settings.topic_scores, len(events))
    mine = [r for r in scores if r.key == b"c3"]

    one = command(run, "scores", "--from-beginning", "--customer", "c3", "--limit", str(len(mine)))
    assert "for c3" in following(one)
    shown = finished(one)
    assert shown == lines_of(mine, "scores")  # one customer, one partition: in the order published
    assert "latest NPS is 0 (detractor)" in shown[-1] and shown[-1].startswith(f"{at(12.5):%Y-%m-%d %H:%M:%S}Z  c3")

    alerts = run.read(run.settings.topic_alerts, 1)
    raw = command(run, "alerts", "--from-beginning", "--json", "--limit", str(len(alerts)))
    following(raw)
    shown = finished(raw)
    assert Counter(shown) == Counter(r.value.decode() for r in alerts)
    assert "c3" in {json.loads(line)["customer_id"] for line in shown}


def test_dead_letters_and_audit_records_are_shown_and_ctrl_c_ends_it_with_130(deploy) -> None:
    run = deploy(HEALTHSCORE_INACTIVITY_TIMER="false")
    run.publish(records(topics(run), [purchase("acme", 0), visit("acme", 1)]))
    run.read(run.settings.topic_scores, 2)
    bad = b'{"kind": "purchase", "customer_id": "acme", "amount": -3}'
    run.publish([(run.settings.topic_purchases, b"acme", bad)])
    pin = OverrideRequest(
        request_id="ovr-1",
        customer_id="acme",
        action="pin_tier",
        tier="at_risk",
        reason="champion left",
        author="maria@cs",
        requested_at=at(2),
        expires_at=at(30),
    )
    run.publish([(run.settings.topic_overrides, b"acme", pin.model_dump_json().encode())])

    (letter,) = run.read(run.settings.topic_deadletter, 1)
    dead = command(run, "deadletter", "--from-beginning", "--customer", "acme", "--limit", "1")
    following(dead)
    (line,) = finished(dead)
    assert line == render("deadletter", letter.key, letter.value).text
    assert f"validation  {run.settings.topic_purchases}[" in line and '{"kind": "purchase"' in line

    (record,) = run.read(run.settings.topic_audit, 1)
    audit = command(run, "audit", "--from-beginning", "--limit", "1")
    following(audit)
    (line,) = finished(audit)
    assert line == render("audit", record.key, record.value).text
    assert "applied  by maria@cs  acme  tier pinned at at_risk until" in line and line.endswith(": champion left")

    for signum in (signal.SIGINT, signal.SIGTERM):  # nothing more comes: stopped by a signal, as Ctrl-C
        waiting = command(run, "alerts")
        following(waiting)
        waiting.send_signal(signum)
        out, err = waiting.communicate(timeout=TIMEOUT)
        assert waiting.returncode == 128 + signum and f"stopped by {signal.Signals(signum).name}" in err, err
        assert out == "" and "Traceback" not in err
