"""Kafka record batches built byte by byte: compressed with each codec, or unreadable on purpose.

A real producer never writes an unknown codec id or corrupt compressed
bytes with a valid CRC; these helpers do, so the worker's handling of such
batches can be tested (unit: the fetcher's decoding; integration: sent to
the broker as they are).
"""

from __future__ import annotations

from aiokafka.record.default_records import DefaultRecordBatchBuilder
from aiokafka.record.util import calc_crc32c

CODECS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
# Byte positions in a v2 record batch (KIP-98): base offset (8), length (4), leader epoch (4), magic (1), CRC (4),
# then the attributes, whose low 3 bits are the codec; the CRC covers everything from the attributes on.
CRC_AT, ATTRIBUTES_AT, RECORDS_AT = 17, 21, 61
UNKNOWN_CODEC = 6


def batch(records: list[tuple[bytes | None, bytes]], codec: str = "none", base_offset: int = 0) -> bytearray:
    """A v2 record batch of (key, value) records as a producer sends it, at `base_offset`."""
    builder = DefaultRecordBatchBuilder(2, CODECS[codec], 0, -1, -1, -1, 1 << 20)
    for delta, (key, value) in enumerate(records):
        assert builder.append(delta, timestamp=None, key=key, value=value, headers=[]) is not None
    raw = builder.build()
    raw[0:8] = base_offset.to_bytes(8, "big", signed=True)
    return raw


def with_codec(raw: bytearray, codec_id: int) -> bytearray:
    """The batch claiming another codec, its CRC made valid again: no client can decode it."""
    attributes = int.from_bytes(raw[ATTRIBUTES_AT : ATTRIBUTES_AT + 2], "big")
    raw[ATTRIBUTES_AT : ATTRIBUTES_AT + 2] = ((attributes & ~0x07) | codec_id).to_bytes(2, "big")
    return with_valid_crc(raw)


def corrupted(raw: bytearray) -> bytearray:
    """The batch with its compressed records overwritten in the middle, its CRC made valid again."""
    middle = (RECORDS_AT + len(raw)) // 2
    raw[middle : middle + 8] = b"\xff" * 8
    return with_valid_crc(raw)


def with_valid_crc(raw: bytearray) -> bytearray:
    raw[CRC_AT:ATTRIBUTES_AT] = calc_crc32c(bytes(raw[ATTRIBUTES_AT:])).to_bytes(4, "big")
    return raw
