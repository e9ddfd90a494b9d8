"""A record batch the consumer could not decode, standing in for its records so the worker can dead-letter them.

Kafka clients compress record batches (gzip, snappy, lz4, zstd), and the
worker reads every codec (the libraries are dependencies). A batch can
still be unreadable: a codec id no client knows, compressed bytes that are
corrupt, a CRC that does not match. Decoding happens in the consumer's
fetcher, where an exception would stop every partition of the worker
(aiokafka raises it out of `getmany`, and Faust's fetch loop crashes on
it). So the fetcher (streams/worker/faust_compat.py) yields one record in
the batch's place whose value is an `UndecodableBatch`: the batch's raw
bytes with its offset range and the reason. The scorer dead-letters it as
a range (`undecodable_batch`) and the partition goes on after it.
"""

from __future__ import annotations


class UndecodableBatch(bytes):
    """The raw bytes of a batch that could not be decoded, with the offsets it covered and why.

    A bytes subclass, so the record passes through Faust like any other
    raw value; an instance can only come from the fetcher, never from a
    producer, so no record on a topic can pass for one.
    """

    first: int
    last: int
    reason: str

    def __new__(cls, raw: bytes, *, first: int, last: int, reason: str) -> UndecodableBatch:
        batch = super().__new__(cls, raw)
        batch.first, batch.last, batch.reason = first, last, reason
        return batch
