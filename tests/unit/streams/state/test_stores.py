"""The table stores hand out their keys in chunks that survive changes between them, and a partition page by page."""

from functools import partial
from types import SimpleNamespace

from rocksdict import Options, Rdict

from streams.state.stores import KeyPartitionedRocksDB, partition_page

OFFSET_KEY = b"__faust\0offset__"


def store_with(tmp_path, partitions: dict[int, list[bytes]], unconfirmed: dict[bytes, bytes | None]):
    """The parts of KeyPartitionedRocksDB that key_chunks reads, over real databases."""
    dbs = {}
    for partition, keys in partitions.items():
        db = Rdict(str(tmp_path / f"p{partition}"), Options(raw_mode=True))
        for key in keys:
            db[key] = b"state"
        db[OFFSET_KEY] = b"41"
        dbs[partition] = db
    return SimpleNamespace(
        _dbs=dbs, _dbs_for_actives=lambda: list(dbs.values()), offset_key=OFFSET_KEY, unconfirmed=unconfirmed
    )


def chunks_of(store, size: int):
    return KeyPartitionedRocksDB.key_chunks(store, size)


def test_every_stored_and_unconfirmed_key_comes_once_in_chunks_of_at_most_size(tmp_path) -> None:
    on_disk = {0: [f"a{n:03d}".encode() for n in range(25)], 1: [f"b{n:03d}".encode() for n in range(7)]}
    # a001 has a newer value on its way, a002 is deleted but not yet on the changelog, new-1 only written.
    store = store_with(tmp_path, on_disk, {b"a001": b"newer", b"a002": None, b"new-1": b"state"})
    chunks = list(chunks_of(store, 10))
    keys = [key for chunk in chunks for key in chunk]
    assert all(len(chunk) <= 10 for chunk in chunks)
    assert sorted(keys) == sorted({*on_disk[0], *on_disk[1], b"new-1"} - {b"a002"})
    assert len(keys) == len(set(keys))
    assert chunks[-1] == [b"a001", b"new-1"]  # the newest value of a key not yet on disk is the one read


def test_the_table_may_change_and_a_partition_go_between_chunks(tmp_path) -> None:
    store = store_with(tmp_path, {0: [f"a{n:03d}".encode() for n in range(30)], 1: [b"b000", b"b001"]}, {})
    chunks = chunks_of(store, 10)
    first = next(chunks)
    store._dbs[0][b"a000x"] = b"state"  # behind the position read: missed, its writer schedules it
    store._dbs[0][b"a025x"] = b"state"  # ahead of it: read
    del store._dbs[1]  # revoked
    rest = [key for chunk in chunks for key in chunk]
    assert first == [f"a{n:03d}".encode() for n in range(9)]  # the 10 read include Faust's offset key
    assert b"a025x" in rest and b"a000x" not in rest
    assert not any(key.startswith(b"b") for key in rest)
    assert len(first) + len(rest) == 31  # partition 0: its 30 keys and the one written ahead of the position


def test_a_partition_is_paged_in_key_order_from_disk_and_writes_not_yet_acknowledged(tmp_path) -> None:
    store = store_with(tmp_path, {0: [b"a3", b"a1", b"a5"], 1: [b"b1"]}, {b"a1": b"newer", b"a5": None, b"a4": b"new"})
    store._partition = lambda key: 0 if key.startswith(b"a") else 1
    keys = partial(KeyPartitionedRocksDB.partition_keys, store, 0)
    assert keys(None, 10) == [b"a1", b"a3", b"a4"]  # a5 deleted, a4 not yet on disk; Faust's offset key left out
    assert keys(None, 2) == [b"a1", b"a3"]
    assert keys(b"a1", 10) == [b"a3", b"a4"] and keys(b"a4", 10) == []
    assert KeyPartitionedRocksDB.partition_keys(store, 1, None, 10) == [b"b1"]
    assert KeyPartitionedRocksDB.partition_keys(store, 3, None, 10) == []  # not held here


def test_a_memory_table_partition_is_paged_from_its_key_partition_map_each_key_once() -> None:
    table = {f"c{n:02d}".encode(): f"state-{n}".encode() for n in range(20)}
    key_partitions = {key: int(key[1:]) % 3 for key in table} | {b"gone": 0}  # an erased key the map still has
    pages, after = [], None
    while True:
        page = partition_page(table, 0, after, 3, key_partitions)
        pages.append(page.states)
        if page.next_after is None:
            break
        after = page.next_after
    got = [key for states in pages for key, _ in states]
    assert got == sorted(key for key, p in key_partitions.items() if p == 0 and key in table)
    assert all(len(states) <= 3 for states in pages) and pages[0][0] == (b"c00", b"state-0")
    assert partition_page(table, 0, b"c18", 3, key_partitions).next_after is None  # the last page says so
