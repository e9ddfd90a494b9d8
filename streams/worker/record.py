"""An input record as the worker reads it: the shape of Faust's ConsumerMessage that the worker relies on."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Protocol, TypeVar

# A partition as the caller names it (Faust's TP in the worker): what takes partitions gives the same type back.
PartitionKey = TypeVar("PartitionKey", bound=Hashable)


class Record(Protocol):
    """One record of an input or control topic, with its coordinates, bytes and Faust's acknowledgement count."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None

    @property
    def timestamp(self) -> float | None:
        """The broker timestamp, in seconds (read-only here, so Faust's `float` fits)."""
        ...

    @property
    def tp(self) -> Hashable:
        """(topic, partition), as Faust's TP."""
        ...

    generation_id: int | None  # the group generation the record was fetched in

    def incref(self) -> None:
        """One more reference: Faust acknowledges the record only when every reference is released."""
        ...
