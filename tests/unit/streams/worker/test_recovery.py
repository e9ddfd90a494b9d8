"""Restoring a table partition reads its changelog to the true end, and offsets never stop the worker.

Faust's recovery (streams/worker/faust_compat.py `_Recovery`) with the
broker's answers as a test sets them: a partition that ends later than the
broker reports, a local copy past the end, an empty partition whose first
offset is reported as -1, and a rebalance that comes while a recovery runs.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest
from faust.types import TP

from streams.settings import Settings
from streams.worker.app import create_app

CHANGELOG = "healthscore-customer-state-changelog"


class Consumer:
    """The broker as recovery asks it: reported ends (next offsets), first offsets, and the seeks made."""

    def __init__(self, ends: dict[TP, int], earliest: dict[TP, int] | None = None) -> None:
        self.ends, self.earliest, self.seeks = ends, earliest or {}, []

    async def highwaters(self, *tps: TP) -> dict[TP, int]:
        return {tp: self.ends[tp] for tp in tps}

    async def earliest_offsets(self, *tps: TP) -> dict[TP, int]:
        return {tp: self.earliest.get(tp, 0) for tp in tps}

    async def seek_wait(self, offsets: dict[TP, int]) -> None:
        self.seeks.append(dict(offsets))


@pytest.fixture
def recovery(tmp_path: Path):
    app = create_app(Settings.from_env({"HEALTHSCORE_DATADIR": str(tmp_path)})).app
    return app, app.tables.recovery


def run(coroutine):
    return asyncio.run(coroutine)


def test_a_partition_that_ends_after_what_the_broker_reports_is_read_to_its_true_end(recovery) -> None:
    app, rec = recovery
    tp, other = TP(CHANGELOG, 2), TP(CHANGELOG, 3)

    async def probe(ends):
        return {t: end + 20 if t == tp else end for t, end in ends.items()}  # a 21-record last batch at offset 59

    app.end_probe = probe
    highwaters: Counter = Counter()
    run(rec._build_highwaters(Consumer({tp: 60, other: 131}), {tp, other}, highwaters, "active"))
    assert highwaters == {tp: 79, other: 130}  # Faust keeps last offsets; replaced, never added to


def test_without_a_probe_the_reported_ends_stand(recovery) -> None:
    _, rec = recovery
    tp = TP(CHANGELOG, 0)
    highwaters: Counter = Counter()
    run(rec._build_highwaters(Consumer({tp: 60}), {tp}, highwaters, "active"))
    assert highwaters == {tp: 59}


def test_a_local_copy_past_the_end_of_its_changelog_is_dropped_and_read_again_from_the_start(recovery, caplog) -> None:
    app, rec = recovery
    tp = TP(CHANGELOG, 1)
    table = app.tables["customer-state"]
    rec.tp_to_table[tp] = table
    table.data[b"stale"] = b"state the changelog no longer has"
    table.data._key_partition[b"stale"] = 1
    table.data[b"kept"] = b"another partition's"
    table.data._key_partition[b"kept"] = 0
    rec.active_highwaters = Counter({tp: 40})
    offsets = Counter({tp: 95})  # what this worker had read before the log was truncated
    run(rec._build_offsets(Consumer({tp: 41}, {tp: 5}), {tp}, offsets, "active"))
    assert offsets[tp] == 4  # from the first offset on the broker again (Faust seeks to the offset after)
    assert b"stale" not in table.data and table.data[b"kept"] == b"another partition's"
    assert "past the last offset in the topic (40)" in caplog.text


def test_an_empty_partition_reported_as_starting_at_minus_one_is_read_from_offset_zero(recovery) -> None:
    _, rec = recovery
    tp = TP(CHANGELOG, 0)
    offsets: Counter = Counter({tp: None})
    consumer = Consumer({tp: 0}, {tp: -1})
    run(rec._build_offsets(consumer, {tp}, offsets, "standby"))
    assert offsets[tp] == -1
    run(rec._seek_offsets(consumer, {tp}, offsets, "standby"))
    assert consumer.seeks == [{tp: 0}]


def test_no_seek_while_a_newer_rebalance_is_pending_its_recovery_seeks_for_itself(recovery) -> None:
    _, rec = recovery
    tp, new = TP(CHANGELOG, 0), TP(CHANGELOG, 1)
    consumer = Consumer({})
    run(rec._seek_offsets(consumer, {tp, new}, Counter({tp: 12, new: None}), "standby"))
    assert consumer.seeks == [{tp: 12}]  # the new assignment's partition, not built yet, is not sought
    rec.signal_recovery_start.set()
    run(rec._seek_offsets(consumer, {tp}, Counter({tp: 12}), "standby"))
    assert consumer.seeks == [{tp: 12}]
