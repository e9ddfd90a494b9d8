"""A failure retried every flush is logged at once, then at most once a minute with a count, and its end once."""

from __future__ import annotations

import asyncio
import logging

import pytest

from schemas.model_config import ScoringModel
from scoring.pipeline import rescore
from scoring.state import new_state
from streams.failure_streak import FailureStreak, Streak
from streams.metrics import Metrics
from streams.snapshot.writer import RedisSink
from streams.tools.localstack import free_port
from tests.factories import at


def reports(outcomes: list[tuple[str, float]], every: float = 60.0) -> list[tuple[str, Streak]]:
    """What a FailureStreak says to log for ("fail" | "ok", now) outcomes in order."""
    streak, said = FailureStreak(every), []
    for outcome, now in outcomes:
        report = streak.failed(now) if outcome == "fail" else streak.succeeded(now)
        if report is not None:
            said.append((outcome, report))
    return said


def every_fifth_of_a_second(seconds: int) -> list[tuple[str, float]]:
    return [("fail", i / 5) for i in range(seconds * 5 + 1)]


@pytest.mark.parametrize(
    ("outcomes", "logged"),
    [
        ([("ok", 1.0), ("ok", 2.0)], []),
        ([("fail", 10.0)], [("fail", Streak(1, 1, 0.0))]),
        ([("fail", 10.0), ("ok", 12.5)], [("fail", Streak(1, 1, 0.0)), ("ok", Streak(1, 0, 2.5))]),
        # Quiet for a minute after a report, then the count of what it did not say.
        (
            [("fail", 0.0), ("fail", 10.0), ("fail", 59.9), ("fail", 60.0), ("fail", 61.0)],
            [("fail", Streak(1, 1, 0.0)), ("fail", Streak(4, 3, 60.0))],
        ),
        (
            every_fifth_of_a_second(180),
            [
                ("fail", Streak(1, 1, 0.0)),
                ("fail", Streak(301, 300, 60.0)),
                ("fail", Streak(601, 300, 120.0)),
                ("fail", Streak(901, 300, 180.0)),
            ],
        ),
        ([("fail", 0.0), ("fail", 30.0), ("ok", 45.0)], [("fail", Streak(1, 1, 0.0)), ("ok", Streak(2, 1, 45.0))]),
        # A success ends the run: the next failure is the first of a new one, logged at once.
        (
            [("fail", 0.0), ("ok", 1.0), ("fail", 2.0), ("fail", 3.0)],
            [("fail", Streak(1, 1, 0.0)), ("ok", Streak(1, 0, 1.0)), ("fail", Streak(1, 1, 0.0))],
        ),
    ],
)
def test_which_failures_are_logged(outcomes, logged) -> None:
    assert reports(outcomes) == logged


def test_a_sink_that_cannot_reach_redis_logs_twice_in_a_minute_of_flushes_and_counts_every_failure(caplog) -> None:
    now = [0.0]
    metrics = Metrics()
    sink = RedisSink(f"redis://127.0.0.1:{free_port()}/0", "hs", metrics, clock=lambda: now[0])
    sink.offer(rescore(new_state("alice"), ScoringModel(), at(0)).update)

    async def flush_every_fifth_of_a_second(flushes: int) -> None:
        for i in range(flushes):
            now[0] = i / 5
            assert await sink.flush() == 0
        await sink.close()

    with caplog.at_level(logging.WARNING, logger="streams.snapshot.writer"):
        asyncio.run(flush_every_fifth_of_a_second(301))  # 0 to 60 s
    lines = [r.getMessage() for r in caplog.records if r.name == "streams.snapshot.writer"]
    assert len(lines) == 2, lines
    assert lines[0].startswith("Redis write failed, will retry")
    assert lines[1].startswith("Redis writes still failing: 300 failed attempts since the last report, 301 over 60s")
    assert metrics.registry.get_sample_value("healthscore_redis_write_errors_total") == 301
    assert sink.backlog == 1  # still queued for the next flush
