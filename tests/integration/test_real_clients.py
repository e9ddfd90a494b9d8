"""Clients nobody here wrote: kcat publishes events and reads alerts, redis-cli reads a score, and the
consumer example prints each alert once.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import uuid

import pytest

from schemas.outputs import ChurnRiskAlert, ScoreUpdate
from streams.snapshot.keys import customer_key
from tests.factories import purchase, survey, visit
from tests.paths import ROOT
from tests.waiting import until

EXAMPLE = ROOT / "examples" / "alerts_consumer.py"


def tool(name: str) -> str:
    found = shutil.which(name)
    assert found, f"{name} is not installed; run `make setup` (Debian packages kcat, redis-tools)"
    return found


def events():
    """Two promoters and two detractors; a detractor's NPS answer raises exactly one detractor_nps alert."""
    happy, unhappy = ["ann", "ben"], ["dan", "eve"]
    out = []
    for cid in happy + unhappy:
        out += [purchase(cid, d, 80.0) for d in (0, 10, 20)] + [visit(cid, d + 1) for d in (0, 10, 20)]
    out += [survey(cid, 25, "nps", 10) for cid in happy] + [survey(cid, 25, "nps", 2) for cid in unhappy]
    return out, set(unhappy)


@pytest.fixture(scope="module")
def kcat(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, str]]:
    """The kcat `make setup` installs (scripts/kcat), installed by the Makefile's own rule into a virtualenv
    folder whose python is this one, and the environment of a shell with that virtualenv activated.

    Debian 12's kcat on its own cannot read the local broker's ApiVersions answer (scripts/kcat says why).
    """
    tool("kcat")  # Debian's, which the wrapper runs
    venv = tmp_path_factory.mktemp("venv")
    (venv / "bin").mkdir()
    python = venv / "bin" / "python"
    python.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} "$@"\n')
    python.chmod(0o755)
    stamp = venv / ".installed"  # `setup` proper (apt, pip) is not run: -o keeps it from being remade
    installed = subprocess.run(
        ["make", "-s", "-o", str(stamp), f"VENV={venv}", str(venv / "bin" / "kcat")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    env = {
        **os.environ,
        "PATH": f"{venv / 'bin'}:{os.environ['PATH']}",
        "XDG_CACHE_HOME": str(tmp_path_factory.mktemp("cache")),
    }
    return str(venv / "bin" / "kcat"), env


def kcat_publish(kcat: tuple[str, dict[str, str]], bootstrap: str, topic: str, lines: list[str]) -> None:
    """kcat as a producer: one `key<TAB>value` record per line, partitioned like Java clients (murmur2)."""
    program, env = kcat
    subprocess.run(
        [program, "-P", "-b", bootstrap, "-t", topic, "-K", "\t", "-X", "partitioner=murmur2_random"],
        input="\n".join(lines) + "\n",
        text=True,
        check=True,
        timeout=60,
        env=env,
    )


def kcat_read(kcat: tuple[str, dict[str, str]], bootstrap: str, topic: str) -> list[dict]:
    """kcat as a consumer: every record of `topic` from the beginning, as kcat's JSON envelopes."""
    program, env = kcat
    out = subprocess.run(
        [program, "-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e", "-J", "-q"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env=env,
    )
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


def test_kcat_publishes_events_and_reads_the_alerts(deploy, kcat) -> None:
    run = deploy(HEALTHSCORE_INACTIVITY_TIMER="false")
    sent, detractors = events()
    bootstrap = run.stack.bootstrap
    for topic, kind in run.settings.input_topics().items():
        lines = [f"{e.customer_id}\t{e.model_dump_json()}" for e in sent if e.kind == kind]
        if lines:
            kcat_publish(kcat, bootstrap, topic, lines)

    # Wait for the worker with the project's reader, then read what it published with kcat.
    run.read(run.settings.topic_scores, len(sent))
    score_records = kcat_read(kcat, bootstrap, run.settings.topic_scores)
    updates = [ScoreUpdate.model_validate_json(r["payload"]) for r in score_records]
    assert sorted(u.event_id for u in updates) == sorted(e.event_id for e in sent)
    assert all(r["key"] == ScoreUpdate.model_validate_json(r["payload"]).customer_id for r in score_records)

    alert_records = kcat_read(kcat, bootstrap, run.settings.topic_alerts)
    alerts = [ChurnRiskAlert.model_validate_json(r["payload"]) for r in alert_records]
    assert {a.customer_id for a in alerts if a.trigger == "detractor_nps"} == detractors
    assert sum(a.trigger == "detractor_nps" for a in alerts) == len(detractors)
    assert all(r["key"] == ChurnRiskAlert.model_validate_json(r["payload"]).customer_id for r in alert_records)


def test_redis_cli_reads_each_customers_latest_score(deploy) -> None:
    run = deploy(HEALTHSCORE_INACTIVITY_TIMER="false")
    sent, _ = events()
    topics = {kind: topic for topic, kind in run.settings.input_topics().items()}
    run.publish([(topics[e.kind], e.customer_id.encode(), e.model_dump_json().encode()) for e in sent])
    # A customer's updates share one partition, in order: the last one read is the latest.
    latest = {}
    for record in run.read(run.settings.topic_scores, len(sent)):
        update = ScoreUpdate.model_validate_json(record.value)
        latest[update.customer_id] = update
    assert set(latest) == {e.customer_id for e in sent}

    redis_cli = [tool("redis-cli"), "-p", str(run.stack.redis_port)]

    def hget(key: str, field: str) -> str:
        return subprocess.run(
            [*redis_cli, "HGET", key, field], capture_output=True, text=True, check=True
        ).stdout.strip()

    for cid, update in latest.items():
        key = customer_key(run.settings.redis_prefix, cid)
        # Redis is written on the next flush tick, so wait for this customer's latest score to land.
        until(lambda: hget(key, "score") != "" and float(hget(key, "score")) == update.score)  # noqa: B023 - called here
        assert hget(key, "score") and float(hget(key, "score")) == update.score, key
        assert hget(key, "tier") == update.tier


def test_the_alerts_consumer_example_prints_each_alert_once(deploy) -> None:
    run = deploy(HEALTHSCORE_INACTIVITY_TIMER="false")
    sent, detractors = events()
    topics = {kind: topic for topic, kind in run.settings.input_topics().items()}
    run.publish([(topics[e.kind], e.customer_id.encode(), e.model_dump_json().encode()) for e in sent])
    run.read(run.settings.topic_scores, len(sent))
    records = run.read(run.settings.topic_alerts, len(detractors))
    alerts = [ChurnRiskAlert.model_validate_json(r.value) for r in records]
    assert len(alerts) >= len(detractors)
    # A redelivery, as after a worker crash: the same alert twice on the topic.
    run.publish([(run.settings.topic_alerts, records[0].key, records[0].value)])

    out = subprocess.run(
        [
            sys.executable,
            str(EXAMPLE),
            "--bootstrap",
            run.stack.bootstrap,
            "--topic",
            run.settings.topic_alerts,
            "--group",
            f"example-{uuid.uuid4().hex[:8]}",
            "--from-beginning",
            "--exit-after-idle",
            "3",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    printed = out.stdout.splitlines()
    assert sorted(line.split()[0] for line in printed) == sorted(a.alert_id for a in alerts)
    for alert in alerts:
        (line,) = [line for line in printed if line.startswith(alert.alert_id)]
        assert f"customer={alert.customer_id}" in line and f"trigger={alert.trigger}" in line
        assert alert.detail in line
