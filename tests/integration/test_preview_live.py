"""`healthscore preview --live`: the running workers' states, read through their API partition by partition.

Two workers share the partitions and the API token: asked through one of
them, every customer comes exactly once, each partition answered by its
owner, each state the one offline replay folds from the same events; the
real command shows the comparison the offline preview computes from them.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from base64 import b64decode
from collections import Counter

import pytest
from pydantic import SecretStr

from schemas.model_config import ScoringModel
from schemas.outputs import ScoreUpdate
from scoring.preview import compare
from scoring.replay import replay
from scoring.state_codec import decode_state
from streams.exceptions import ApiUnreachable, LiveStatesError
from streams.tools.live_states import page as one_page
from streams.tools.live_states import pages, read_live_states
from streams.tools.localstack import free_port, stop_process
from streams.worker.model_file import load_model
from tests.factories import purchase, survey, ticket, visit
from tests.integration.workers import records
from tests.paths import ROOT
from tests.samples import SEGMENTED
from tests.waiting import until

TOKEN = "it-live-9c41e7"


def customers(count: int) -> list:
    events = []
    for n in range(count):
        name = f"cust-{n:03d}"
        events += [purchase(name, n % 9, 20.0 + n), visit(name, n % 9 + 1), survey(name, n % 9 + 2, "csat", 1 + n % 5)]
        if n % 4 == 0:
            events.append(ticket(name, n % 9 + 3, "T-1", priority="urgent", category="complaint"))
    return sorted(events, key=lambda e: e.occurred_at)


def scored(run, events) -> list[ScoreUpdate]:
    topics = {kind: topic for topic, kind in run.settings.input_topics().items()}
    run.publish(records(topics, events))
    updates = [ScoreUpdate.model_validate_json(r.value) for r in run.read(run.settings.topic_scores, len(events))]
    assert len(updates) == len(events)
    return updates


def answering(url: str) -> set[str]:
    """The workers whose pages came back in a whole read through `url`; none while it does not answer yet."""
    try:
        return {got.worker for got in pages(url, SecretStr(TOKEN))}
    except (ApiUnreachable, LiveStatesError):
        return set()


def test_two_workers_page_every_customer_exactly_once_and_the_cli_compares_them(deploy, stack) -> None:
    first = deploy(HEALTHSCORE_INACTIVITY_TIMER="false", HEALTHSCORE_API_TOKEN=TOKEN)
    events = customers(40)
    updates = scored(first, events)
    second_port = free_port()
    env = {
        **first.env,
        "HEALTHSCORE_WEB_PORT": str(second_port),
        "HEALTHSCORE_DATADIR": first.env["HEALTHSCORE_DATADIR"] + "-2",
    }
    second = stack.start_worker(first.name + "-2", env)
    try:
        ports = (first.settings.web_port, second_port)
        urls = {f"http://127.0.0.1:{p}" for p in ports}
        url = f"http://127.0.0.1:{second_port}"
        # Asked through the second worker only, in pages of 3: once the group has split the partitions,
        # each partition's pages come from its owner, the other worker's forwarded.
        assert until(lambda: answering(url) == urls, timeout=60)
        read = list(pages(url, SecretStr(TOKEN), limit=3))
        assert {page.worker for page in read} == urls
        live = read_live_states(url, SecretStr(TOKEN), page_size=3)
        ids = Counter(customer for page in read for customer in page_ids(page))
        assert ids == Counter({f"cust-{n:03d}": 1 for n in range(40)})
        assert all(len(page.states) <= 3 for page in read) and live.partitions == first.settings.partitions

        # The states are the ones the same events fold into offline, in the order the workers took them.
        by_id = {e.event_id: e for e in events}
        offline = replay([by_id[u.event_id] for u in updates], ScoringModel()).states
        assert live.states == offline

        # Customer data: the token is required, as on every customer route; bad requests say what is wrong.
        for token in (None, SecretStr("wrong")):
            with pytest.raises(LiveStatesError, match="refused the token"):
                one_page(url, 0, None, 3, token)
        with pytest.raises(LiveStatesError, match="partition 9: 404 no partition '9'"):
            one_page(url, 9, None, 3, SecretStr(TOKEN))
        with pytest.raises(LiveStatesError, match="partition 0: 400 limit='100000'"):
            one_page(url, 0, None, 100_000, SecretStr(TOKEN))

        # The command: the comparison the offline preview makes of the same states, at the workers' clock.
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "streams.tools.cli",
                "preview",
                "--live",
                "--candidate",
                str(SEGMENTED),
                "--url",
                url,
                "--show",
                "100",
            ],
            cwd=ROOT,
            env={**os.environ, **stack.env(), **first.env},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        now = max(e.occurred_at for e in events)
        expected = compare(offline, ScoringModel(), load_model(SEGMENTED), now)
        out = result.stdout
        assert f"40 customers read from 2 worker(s), {live.partitions} partitions" in out
        assert f"scored as of {now.isoformat()}" in out
        before, after = expected.current.tier_counts(), expected.candidate.tier_counts()
        for tier in before:
            assert re.search(rf"│ {tier} +│ +{before[tier]} │ +{after[tier]} │", out), (tier, out)
        assert f"{len(expected.moves):,} customers would change tier" in out
        assert "customer states read: 40" in result.stderr  # progress, on stderr
    finally:
        stop_process(second)


def page_ids(page) -> list[str]:
    """The customer ids of a page's states, read with the state codec."""
    return [decode_state(b64decode(text)).customer_id for text in page.states]


def test_a_rocksdb_worker_pages_its_partitions_too_and_the_pages_change_nothing(deploy) -> None:
    run = deploy(HEALTHSCORE_INACTIVITY_TIMER="false", HEALTHSCORE_STORE="rocksdb://")
    events = customers(25)
    scored(run, events)
    url = f"http://127.0.0.1:{run.settings.web_port}"
    read = list(pages(url, None, limit=4))  # asked again while the worker restores its table (503)
    assert Counter(i for page in read for i in page_ids(page)) == Counter({f"cust-{n:03d}": 1 for n in range(25)})
    assert [page.partition for page in read] == sorted(page.partition for page in read)
    # Read-only: nothing was published because of the reads.
    assert len(run.read(run.settings.topic_scores, len(events), settle=2.0)) == len(events)
