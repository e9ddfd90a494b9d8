"""HEALTHSCORE_STORE=rocksdb://: the worker keeps its customers on local disk and resumes from it after a restart.

The reference is the offline replay of the same CDNOW purchases (tests/integration/exactness.py).
"""

from __future__ import annotations

from rocksdict import AccessType, Options, Rdict

from schemas.model_config import ScoringModel
from scoring.replay import replay
from streams.kafka.codecs import decode_state
from streams.kafka.partitions import partition_of
from streams.kafka.topics import topic_reader
from streams.state.tables import STATE_TABLE
from streams.tools.localstack import stop_process
from tests.integration.exactness import (
    CDNOW_ENV,
    assert_exactly_the_offline_result,
    cdnow_purchases,
    wait_until_all_scored,
)

CUSTOMERS = 600
OFFSET_KEY = b"__faust\0offset__"  # where Faust keeps the newest changelog offset in each partition's database


def on_disk(datadir, partitions: int) -> dict[int, dict[str, bytes]]:
    """Partition -> customer id -> stored state, read from the worker's RocksDB files (the worker must be stopped)."""
    found: dict[int, dict[str, bytes]] = {}
    for partition in range(partitions):
        path = datadir / "v1" / "tables" / f"{STATE_TABLE}-{partition}.db"
        db = Rdict(str(path), options=Options(raw_mode=True), access_type=AccessType.read_only())
        found[partition] = {key.decode(): value for key, value in db.items() if key != OFFSET_KEY}
        db.close()
    return found


def changelog_read(log: str, changelog: str) -> tuple[int, int]:
    """(records read back from `changelog`, records it held) by the first recovery in `log`, from Faust's tables."""

    def table(title: str) -> dict[int, int]:
        rows, topic = {}, None
        for line in log.split(title, 1)[1].splitlines()[1:]:
            if not line.startswith(("|", "+")):
                break  # the next log line
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) == 3 and cells[1].isdigit():
                topic = topic if cells[0] == "〃" else cells[0]
                if topic == changelog:
                    rows[int(cells[1])] = int(cells[2])
        return rows

    highwater, starts = table("Highwater - Active"), table("Reading Starts At - Active")
    return sum(highwater[p] - starts[p] for p in highwater), sum(h + 1 for h in highwater.values())


def test_a_rocksdb_worker_restarted_resumes_from_its_disk_and_scores_on_exactly(deploy) -> None:
    events = cdnow_purchases(CUSTOMERS)
    first, rest = events[: len(events) // 2], events[len(events) // 2 :]
    run = deploy(HEALTHSCORE_STORE="rocksdb://", HEALTHSCORE_INACTIVITY_TIMER="false", **CDNOW_ENV)
    topic, partitions = run.settings.topic_purchases, run.settings.partitions
    scores = topic_reader([run.stack.bootstrap], [run.settings.topic_scores])
    seen: list = []

    run.publish([(topic, e.customer_id.encode(), e.model_dump_json().encode()) for e in first])
    wait_until_all_scored(run, scores, seen, first)
    stop_process(run.process)  # SIGTERM; its databases are readable once it has gone

    # What the first worker left on disk: every customer once, in its own partition's database, as replayed.
    stored = on_disk(run.settings.datadir, partitions)
    expected = replay(first, ScoringModel()).states
    assert sorted(cid for rows in stored.values() for cid in rows) == sorted(expected)
    for partition, rows in stored.items():
        for cid, raw in rows.items():
            assert partition_of(cid.encode(), partitions) == partition, cid
            assert decode_state(raw) == expected[cid], cid

    run.restart()  # the same group, datadir and store
    run.publish([(topic, e.customer_id.encode(), e.model_dump_json().encode()) for e in rest])
    wait_until_all_scored(run, scores, seen, events)
    scores.close()
    resent = assert_exactly_the_offline_result(run, events, seen)
    # It resumed from its disk: a memory store would have read the whole changelog back.
    newest_start = run.log.read_text().split("[^Worker]: Starting...")[-1]
    read, held = changelog_read(newest_start, f"{run.settings.app_id}-{STATE_TABLE}-changelog")
    assert held >= len(expected) and read <= held // 10
    print(
        f"\nrocksdb restart: {len(first)} + {len(rest)} events; {resent} updates re-sent; "
        f"the restart read back {read} of {held} changelog records"
    )
