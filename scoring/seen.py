"""The recent event ids a customer's state remembers, packed in one byte string: the dedup memory.

Each entry is 20 bytes: the event's time (whole seconds, offset so that
byte order is time order), an 8-byte digest of its id and a 4-byte digest
of its content. Entries are kept sorted, so the same events in any order
leave the same bytes, and only the newest DEDUP_MEMORY stay. A lookup is
one `bytes.find` in C; a busy customer's memory is 5 KB, stored as it is.

The id digest (64 bits) makes a new event pass for a remembered one about
once in 10^14; the content digest (32 bits) tells an exact redelivery (a
quiet duplicate) from a different payload under a known id (an upstream
bug), and lets one of those pass for a redelivery once in 4 billion.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

import msgspec

# Recent event ids kept for deduplication; a redelivery after a rebalance
# arrives within a few hundred of the customer's events.
DEDUP_MEMORY = 256
TIME_BYTES, ID_BYTES, CONTENT_BYTES = 8, 8, 4
ENTRY = TIME_BYTES + ID_BYTES + CONTENT_BYTES
UNKNOWN_CONTENT = bytes(CONTENT_BYTES)  # states stored before content digests were kept; override markers
_OFFSET = 1 << 63  # seconds before 1970 are negative; offset, they sort as unsigned bytes
# Each event's id is digested twice (the duplicate check, then the memory): a small cache makes the second a lookup.
DIGEST_CACHE = 1024
_json = msgspec.json.Encoder()


@lru_cache(maxsize=DIGEST_CACHE)
def id_digest(event_id: str) -> bytes:
    return hashlib.blake2b(event_id.encode("utf-8"), digest_size=ID_BYTES).digest()


def content_digest(fields: dict[str, object]) -> bytes:
    """A digest of an event's validated field values: the same for every redelivery of the same event."""
    digest = hashlib.blake2b(_json.encode(fields), digest_size=CONTENT_BYTES).digest()
    return UNKNOWN_CONTENT[:-1] + b"\x01" if digest == UNKNOWN_CONTENT else digest


def recall(memory: bytes, event_id: str) -> bytes | None:
    """The content digest remembered with `event_id` (UNKNOWN_CONTENT if not kept), None for an id not remembered."""
    digest = id_digest(event_id)
    at = memory.find(digest)
    while at != -1:
        if at % ENTRY == TIME_BYTES:  # an id, not bytes of a time or of a content digest that happen to match
            return memory[at + ID_BYTES : at + ID_BYTES + CONTENT_BYTES]
        at = memory.find(digest, at + 1)
    return None


def remember(memory: bytes, at_seconds: int, event_id: str, content: bytes = UNKNOWN_CONTENT) -> bytes:
    """The memory with the event added in time order, the oldest beyond DEDUP_MEMORY dropped."""
    entry = (at_seconds + _OFFSET).to_bytes(TIME_BYTES, "big") + id_digest(event_id) + content
    if not memory or entry >= memory[-ENTRY:]:  # the usual case: the newest event so far
        memory += entry
    else:
        low, high = 0, len(memory) // ENTRY
        while low < high:
            mid = (low + high) // 2
            if memory[mid * ENTRY : (mid + 1) * ENTRY] <= entry:
                low = mid + 1
            else:
                high = mid
        memory = memory[: low * ENTRY] + entry + memory[low * ENTRY :]
    return memory[-DEDUP_MEMORY * ENTRY :] if len(memory) > DEDUP_MEMORY * ENTRY else memory


def remembered(memory: bytes) -> int:
    return len(memory) // ENTRY


def time_of(at_us: int) -> int:
    """An event's time as the memory keeps it: whole seconds (microseconds floored)."""
    return at_us // 1_000_000
