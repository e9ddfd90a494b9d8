"""The backtest through the streaming path: a CDNOW sample replayed through the real broker and worker gives
the same state, and so the same scores at the cutoff, as the offline backtest."""

from __future__ import annotations

from schemas.model_config import ScoringModel
from schemas.outputs import ScoreUpdate
from scoring.backtest import Split, fold_until, score_at
from streams.kafka.codecs import decode_state
from streams.kafka.topics import topic_reader
from streams.state.tables import STATE_TABLE
from streams.tools.backtest import day
from streams.tools.datasets import load_cdnow
from tests.integration.exactness import CDNOW_ENV

SPLIT = Split.from_days(day("1997-09-30"), day("1998-06-30"))
CUSTOMERS = 250


def test_scores_at_the_cutoff_from_the_workers_state_equal_the_offline_backtest(deploy) -> None:
    sample = {f"cdnow-{n:05d}" for n in range(1, CUSTOMERS + 1)}
    events = [e for e in load_cdnow() if e.customer_id in sample and e.occurred_at < SPLIT.cutoff]
    run = deploy(HEALTHSCORE_INACTIVITY_TIMER="false", **CDNOW_ENV)
    run.publish([(run.settings.topic_purchases, e.customer_id.encode(), e.model_dump_json().encode()) for e in events])
    updates = [ScoreUpdate.model_validate_json(r.value) for r in run.read(run.settings.topic_scores, len(events))]
    assert len(updates) == len(events)

    # The worker's state is what its changelog holds: the newest record per customer.
    reader = topic_reader([run.stack.bootstrap], [f"{run.settings.app_id}-{STATE_TABLE}-changelog"])
    streamed = {}
    for _ in range(20):
        for batch in reader.poll(timeout_ms=500).values():
            for record in batch:
                streamed[record.key.decode()] = decode_state(record.value)
    reader.close()

    offline = fold_until(events, SPLIT.cutoff)
    assert set(streamed) == set(offline) and len(offline) == CUSTOMERS
    for cid, state in offline.items():
        got = streamed[cid]
        assert (got.purchase_count, got.total_spend, got.purchase_times, got.buckets) == (
            state.purchase_count,
            state.total_spend,
            state.purchase_times,
            state.buckets,
        )
    model = ScoringModel()
    assert score_at(streamed, model, SPLIT.cutoff) == score_at(offline, model, SPLIT.cutoff)
