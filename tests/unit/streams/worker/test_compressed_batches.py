"""Record batches as producers compress them: every codec is read, and a batch no codec can read is one dead letter.

Upstream producers often compress (librdkafka's and the Java client's
`compression.type`); a missing codec library took the whole worker down
once. These tests fail when a codec library is missing from the
environment, and show what becomes of a batch that cannot be decoded: its
offset range is dead-lettered as one record, with its raw bytes, and the
partition goes on.
"""

from __future__ import annotations

import asyncio
import base64
import re
import tomllib
import zlib

import pytest
from aiokafka import codec as aiokafka_codec
from aiokafka.errors import UnsupportedCodecError
from aiokafka.structs import TopicPartition
from kafka import codec as kafka_python_codec

from schemas.outputs import DeadLetter, ScoreUpdate
from streams.kafka.connections import producer_options
from streams.kafka.producer import OutputProducer
from streams.kafka.undecodable import UndecodableBatch
from streams.settings import Settings
from streams.worker.app import create_app
from streams.worker.faust_compat import _KeptMemoryRecords, _TolerantPartitionRecords, prepare_aiokafka
from streams.worker.offsets import OffsetGuard
from tests.batches import CODECS, UNKNOWN_CODEC, batch, corrupted, with_codec, with_valid_crc
from tests.factories import purchase
from tests.fakes import TOPIC, Position, make_scorer, message, messages
from tests.paths import ROOT

INPUT = "input-topic"
OTHER = "a-changelog"


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
@pytest.mark.parametrize("client", [aiokafka_codec, kafka_python_codec], ids=["aiokafka", "kafka-python"])
def test_every_codec_a_producer_may_use_is_installed_for_every_client_the_project_ships(client, codec) -> None:
    assert getattr(client, f"has_{codec}")(), f"{client.__name__} cannot decode {codec}: a dependency is missing"


def test_the_codec_libraries_are_dependencies_of_the_package_so_every_install_and_the_image_has_them() -> None:
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {re.split(r"[<>=\[ ]", d)[0] for d in dependencies}
    assert {"cramjam", "python-snappy", "lz4", "zstandard"} <= names


@pytest.mark.parametrize("codec", ["none", "gzip", "snappy", "lz4", "zstd"])
def test_every_producer_of_the_project_compresses_as_the_setting_says(codec, tmp_path) -> None:
    settings = Settings.from_env({"HEALTHSCORE_COMPRESSION": codec, "HEALTHSCORE_DATADIR": str(tmp_path)})
    expected = None if codec == "none" else codec
    assert producer_options(settings)["compression_type"] == expected  # kafka-python: produce, override, erase
    assert OutputProducer(settings)._options["compression_type"] == expected  # outputs and the state changelog
    assert create_app(settings).app.conf.producer_compression_type == expected  # Faust's own changelog writes


def test_the_default_compression_is_zstd() -> None:
    """Picked by benchmarks/compression.py (docs/operations/running.md#compression)."""
    assert Settings().compression == "zstd"


def records(n: int, tag: str) -> list[tuple[bytes, bytes]]:
    return [(f"{tag}{i}".encode(), f'{{"n": {i}, "pad": "{"x" * 100}"}}'.encode()) for i in range(n)]


def fetched(raw: bytes, topic: str = INPUT, fetch_offset: int = 0) -> list:
    prepare_aiokafka([INPUT])
    tp = TopicPartition(topic, 0)
    return list(_TolerantPartitionRecords(tp, _KeptMemoryRecords(raw), [], fetch_offset, None, None, True, 0))


def test_batches_compressed_with_each_codec_read_back_record_for_record() -> None:
    sent = [(codec, records(4, codec)) for codec in CODECS]
    raw = b"".join(bytes(batch(rs, codec, base_offset=4 * n)) for n, (codec, rs) in enumerate(sent))
    got = fetched(raw)
    assert [r.offset for r in got] == list(range(4 * len(CODECS)))
    assert [(r.key, r.value) for r in got] == [record for _, rs in sent for record in rs]
    assert not any(isinstance(r.value, UndecodableBatch) for r in got)


@pytest.mark.parametrize(
    ("spoil", "error"),
    [
        (lambda raw: with_codec(raw, UNKNOWN_CODEC), "Unknown compression codec 0x06"),
        (corrupted, "while decompressing data"),
        (lambda raw: raw.__setitem__(slice(70, 72), b"\0\0") or raw, "Invalid CRC"),  # CRC left as it was
    ],
    ids=["unknown-codec", "corrupt-compressed-bytes", "crc-mismatch"],
)
def test_a_batch_that_cannot_be_decoded_becomes_one_record_for_its_range_and_the_batches_after_it_are_read(
    spoil, error
) -> None:
    bad = spoil(batch(records(5, "bad"), "gzip", base_offset=3))
    raw = bytes(batch(records(3, "a"), "lz4", 0)) + bytes(bad) + bytes(batch(records(2, "b"), "zstd", 8))
    got = fetched(raw)
    assert [r.offset for r in got] == [0, 1, 2, 7, 8, 9]  # the stand-in has the batch's last offset
    [stand_in] = [r.value for r in got if isinstance(r.value, UndecodableBatch)]
    assert (stand_in.first, stand_in.last) == (3, 7)
    assert error in stand_in.reason
    assert bytes(stand_in) == bytes(bad)  # the batch as the broker holds it, still compressed


def test_a_fetch_that_starts_inside_an_undecodable_batch_covers_only_its_records_from_there() -> None:
    raw = bytes(with_codec(batch(records(5, "bad"), "gzip", base_offset=10), UNKNOWN_CODEC))
    [stand_in] = [r.value for r in fetched(raw, fetch_offset=12)]
    assert (stand_in.first, stand_in.last) == (12, 14)


@pytest.mark.parametrize(
    ("spoil", "raised"),
    [(lambda raw: with_codec(raw, UNKNOWN_CODEC), UnsupportedCodecError), (corrupted, zlib.error)],
    ids=["codec", "bytes"],
)
def test_other_topics_fail_on_an_undecodable_batch_as_aiokafka_does(spoil, raised) -> None:
    """The tables' changelogs are read by the same consumer: a state must never be skipped unnoticed."""
    with pytest.raises(raised):
        fetched(bytes(spoil(batch(records(2, "c"), "gzip"))), topic=OTHER)


def stand_in_message(first: int, last: int, raw: bytes, tp: str = "p0"):
    value = UndecodableBatch(
        raw, first=first, last=last, reason="UnsupportedCodecError: Unknown compression codec 0x06"
    )
    return message(TOPIC, None, value, last, tp)


def test_the_scorer_dead_letters_an_undecodable_batch_as_its_range_and_scores_the_records_around_it() -> None:
    raw = bytes(with_valid_crc(batch(records(3, "x"), "gzip", base_offset=1)))
    before, after = messages([purchase("a", 0)]), messages([purchase("b", 1), purchase("c", 2)], first=4)
    worker = make_scorer(kinds={TOPIC: "purchase"}, consumer=Position({"p0": 0}))
    asyncio.run(worker.handle([*before, stand_in_message(1, 3, raw), *after]))

    assert [ScoreUpdate.model_validate_json(v).customer_id for v in worker.outputs.scores.values] == ["a", "b", "c"]
    [letter] = [DeadLetter.model_validate_json(v) for v in worker.outputs.deadletter.values]
    assert (letter.error, letter.topic, letter.offset, letter.last_offset) == ("undecodable_batch", TOPIC, 1, 3)
    assert "offsets 1..3" in letter.reason and "Unknown compression codec 0x06" in letter.reason
    assert base64.b64decode(letter.value_base64) == raw and letter.key_base64 is None
    assert worker.metrics.dead_letters.labels("undecodable_batch")._value.get() == 1
    assert worker.continuity.consumer.seeks == []  # the range is no hole: nothing fetched again
    assert worker.continuity.guard.expected["p0"] == 6


def test_a_failed_batch_holding_an_undecodable_range_is_fetched_again_from_the_ranges_first_offset() -> None:
    worker = make_scorer(kinds={TOPIC: "purchase"}, consumer=Position({"p0": 5}))
    worker.continuity.guard = OffsetGuard()
    asyncio.run(worker.continuity.rewind([stand_in_message(5, 9, b"raw")]))
    assert worker.continuity.consumer.seeks == [("p0", 5)]
