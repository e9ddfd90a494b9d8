"""Faust's and aiokafka's internals the worker relies on are still there, in the pinned versions.

streams/worker/faust_compat.py (and the store subclass in
streams/state/stores.py) use attributes Faust does not promise to keep. A
faust-streaming upgrade must come with a review of those modules: this test
names every internal used and fails on any version but the pinned one.
"""

import asyncio
import hashlib
import importlib
import inspect
import tomllib
from importlib.metadata import version
from pathlib import Path

import faust
import pytest
from aiokafka.consumer.group_coordinator import GroupCoordinator
from faust.stores import rocksdb
from faust.tables import TableManager
from faust.tables.recovery import Recovery
from faust.transport import consumer as faust_consumer
from faust.transport.drivers import aiokafka as driver

from streams.settings import Settings
from streams.worker.app import create_app
from streams.worker.faust_compat import BROKER_UNREACHABLE, _TolerantPartitionRecords
from tests.paths import ROOT

# aiokafka's, before prepare_aiokafka puts the subclass in its place.
PARTITION_RECORDS = _TolerantPartitionRecords.__bases__[0]

# Faust and aiokafka functions copied with changes (the fetch loop, batch decoding) or wrapped (the wait for acks):
# the source they were taken from.
COPIED_SOURCES = {
    faust_consumer.Consumer._drain_messages: "44a2500309e83c63",
    faust_consumer.Consumer.wait_empty: "e4662fe24f094819",
    PARTITION_RECORDS._unpack_records: "b803e6d46480732c",
}

# Methods subclassed or called, by class.
METHODS = [
    (driver.Consumer, ["_drain_messages", "_new_consumer_thread", "_add_gap", "wait_first", "wait_empty", "getmany"]),
    (driver.AIOKafkaConsumerThread, ["_create_worker_consumer", "_ensure_consumer", "call_thread", "on_thread_stop"]),
    (faust.App, ["_new_transport"]),
    (faust.Table, ["_new_store_by_url", "_on_changelog_sent"]),
    (
        rocksdb.Store,
        [
            "__post_init__",
            "_set",
            "_del",
            "_get",
            "_contains",
            "_dbs_for_key",
            "_dbs_for_actives",
            "_db_for_partition",
            "_iteritems",
            "_iterkeys",
            "_itervalues",
            "_size",
            "revoke_partitions",
        ],
    ),
    (faust.Worker, ["_schedule_shutdown"]),
    (PARTITION_RECORDS, ["_consume_aborted_up_to", "_contains_abort_marker", "_consumer_record"]),
    (GroupCoordinator, ["_do_heartbeat", "_on_join_complete", "reset_generation", "request_rejoin"]),
    (Recovery, ["_build_highwaters", "_build_offsets", "_seek_offsets"]),
]


def test_aiokafka_builds_its_group_coordinator_and_faust_its_recovery_where_the_worker_replaces_them() -> None:
    from aiokafka.consumer import consumer

    assert "GroupCoordinator(" in inspect.getsource(consumer.AIOKafkaConsumer.start)
    assert "self._recovery = Recovery(" in inspect.getsource(TableManager.recovery.fget)
    for name in ["signal_recovery_start", "tp_to_table", "active_highwaters"]:
        assert name in inspect.getsource(Recovery), name
    assert "member_id" in inspect.getsource(GroupCoordinator.reset_generation)


def test_the_aiokafka_fetcher_builds_its_records_by_the_module_names_replaced() -> None:
    from aiokafka.consumer import fetcher

    source = inspect.getsource(fetcher.Fetcher)
    assert "MemoryRecords(" in source and "PartitionRecords(" in source and fetcher.READ_COMMITTED == 1
    init = inspect.signature(PARTITION_RECORDS.__init__).parameters
    assert list(init)[1:] == [
        "tp",
        "records",
        "aborted_transactions",
        "fetch_offset",
        "key_deserializer",
        "value_deserializer",
        "check_crcs",
        "isolation_level",
    ]


# Attributes read on a built worker's objects.
CONSUMER_ATTRIBUTES = [
    "_committed_offset",
    "_read_offset",
    "_active_partitions",
    "_paused_partitions",
    "_thread",
    "_stopped",
    "_commit_every",
    "_n_acked",
    "suspend_flow",
    "diag",
    "callback",
    "flow_active",
    "_unacked_messages",
]


def pinned(package: str) -> str:
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    [spec] = [d for d in dependencies if d.startswith(f"{package}==")]
    return spec.split("==")[1]


@pytest.mark.parametrize("package", ["faust-streaming", "aiokafka"])
def test_the_installed_faust_and_aiokafka_are_the_pinned_versions(package: str) -> None:
    assert version(package) == pinned(package)


@pytest.mark.parametrize("function", list(COPIED_SOURCES), ids=lambda f: f.__qualname__)
def test_the_faust_code_copied_into_faust_compat_is_unchanged_upstream(function) -> None:
    digest = hashlib.sha256(inspect.getsource(function).encode()).hexdigest()[:16]
    assert digest == COPIED_SOURCES[function], f"{function.__qualname__} changed upstream: review faust_compat.py"


@pytest.mark.parametrize(("cls", "names"), METHODS, ids=lambda v: getattr(v, "__qualname__", ""))
def test_every_faust_method_overridden_or_called_exists(cls: type, names: list[str]) -> None:
    assert [n for n in names if not callable(getattr(cls, n, None))] == []


def test_every_internal_attribute_read_exists_on_a_built_worker(tmp_path: Path) -> None:
    async def built() -> list[str]:
        app = create_app(Settings.from_env({"HEALTHSCORE_DATADIR": str(tmp_path)})).app
        consumer = app.consumer
        client = consumer._thread._create_worker_consumer(app.transport)
        missing = [n for n in CONSUMER_ATTRIBUTES if not hasattr(consumer, n)]
        missing += [n for n in ["_fetch_max_wait_ms", "_client"] if not hasattr(client, n)]
        await client.stop()  # built, never started: closes its client
        missing += [] if hasattr(app.topics, "_tp_index") else ["topics._tp_index"]
        missing += [] if callable(getattr(app.tables.recovery.completed, "is_set", None)) else ["recovery.completed"]
        missing += [n for n in ["rebalancing", "in_recovery", "flow_control"] if not hasattr(app, n)]
        missing += [] if callable(getattr(app.assignor, "assigned_actives", None)) else ["assignor.assigned_actives"]
        table = app.tables["customer-state"]
        missing += (
            [] if isinstance(getattr(table.data, "_key_partition", None), dict) else ["memory store._key_partition"]
        )
        return missing

    assert asyncio.run(built()) == []


def test_offsets_a_fetch_jumped_over_are_never_committed_while_the_offset_checks_fetch_them_again(
    tmp_path: Path,
) -> None:
    """A fetch jumped from offset 11 to 23 (the consumer dropped 12-22); 23 is held, 12-13 handled after the seek back.

    Only 11-13 are done: every commit must stop at 14, or a kill before 14-22 are handled loses them (Faust
    counts a jump as acknowledged; its successive commits then reached 24). Without the checks (transactional
    inputs) a jump is offsets the broker does not have, and a commit passes them, as Faust's does.
    """

    async def commits(checks: bool, acked: list[int]) -> list[int]:
        env = {"HEALTHSCORE_DATADIR": str(tmp_path), "HEALTHSCORE_OFFSET_CHECKS": str(checks).lower()}
        consumer = create_app(Settings.from_env(env)).app.consumer
        tp = faust.types.TP("customer.purchases", 0)
        consumer._committed_offset[tp] = 11
        await consumer._add_gap(tp, 12, 23)  # as the fetch loop notes a jump: from the last read + 1 to the new
        consumer._acked[tp].extend(acked)
        made = []
        while (offset := consumer._new_offset(tp)) is not None:
            made.append(offset)
            consumer._committed_offset[tp] = offset  # as Faust's commit records it
        return made

    assert max(asyncio.run(commits(True, [11, 12, 13]))) == 14
    assert max(asyncio.run(commits(False, [11, 23]))) == 24


# The module logging each of BROKER_UNREACHABLE's records, by logger name where the two differ.
LOGGING_MODULE = {"aiokafka": "aiokafka.client"}


@pytest.mark.parametrize(("name", "template"), sorted(BROKER_UNREACHABLE))
def test_every_connection_error_the_broker_log_thins_out_is_still_logged_by_aiokafka_so(
    name: str, template: str
) -> None:
    module = importlib.import_module(LOGGING_MODULE.get(name, name))
    assert module.log.name == name and template in inspect.getsource(module)
