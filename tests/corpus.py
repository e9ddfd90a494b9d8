"""The hostile-input corpus (tests/data/hostile/): each case as the key and value bytes that go on the wire."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, get_args

from schemas.events import EventKind
from schemas.outputs import DeadLetterError
from tests.paths import DATA

CORPUS_DIR = DATA / "hostile"
KINDS: tuple[EventKind, ...] = get_args(EventKind)
VALUE_FIELDS = ("value", "text", "value_file", "generate", "tombstone")


@dataclass(frozen=True)
class HostileCase:
    """One corpus entry, with its key and value as the bytes that go on the wire."""

    name: str
    kind: EventKind  # the kind of input topic it is sent to
    key: bytes | None
    value: bytes | None  # None: a Kafka tombstone
    error: DeadLetterError
    reason: str
    xfail: str | None = None

    @property
    def needs_worker_state(self) -> bool:
        """Decodes fine on its own; only the worker, which knows its customers, can reject it."""
        return self.error == "unknown_customer"


def load_corpus(directory: Path = CORPUS_DIR) -> list[HostileCase]:
    manifest = json.loads((directory / "corpus.json").read_text(encoding="utf-8"))
    return [_case(entry, directory) for entry in manifest["cases"]]


def corpus_max_bytes(directory: Path = CORPUS_DIR) -> int:
    return json.loads((directory / "corpus.json").read_text(encoding="utf-8"))["max_bytes"]


def _case(entry: dict[str, Any], directory: Path) -> HostileCase:
    given_values = [f for f in VALUE_FIELDS if f in entry]
    if len(given_values) != 1:
        raise ValueError(f"corpus case {entry.get('name')!r} needs exactly one of {VALUE_FIELDS}, has {given_values}")
    return HostileCase(
        name=entry["name"],
        kind=entry["topic"],
        key=_key(entry["key"]),
        value=_value(entry, given_values[0], directory),
        error=entry["error"],
        reason=entry["reason"],
        xfail=entry.get("xfail"),
    )


def _key(key: str | None) -> bytes | None:
    if key is None:
        return None
    if key.startswith("@base64:"):
        return base64.b64decode(key.removeprefix("@base64:"), validate=True)
    return key.encode("utf-8")


def _value(entry: dict[str, Any], field: str, directory: Path) -> bytes | None:
    if field == "value":
        return json.dumps(entry["value"]).encode("utf-8")
    if field == "text":
        return entry["text"].encode(entry.get("encoding", "utf-8"))
    if field == "value_file":
        return (directory / entry["value_file"]).read_bytes()
    if field == "tombstone":
        return None
    return _generate(entry["name"], entry["generate"])


def _generate(name: str, spec: dict[str, Any]) -> bytes:
    if spec["kind"] == "huge":
        body = {
            "kind": "purchase",
            "event_id": f"bad-{name}",
            "customer_id": "bob",
            "occurred_at": "2025-01-05T00:00:00Z",
            "amount": 12.5,
            "padding": "",
        }
        short = len(json.dumps(body).encode())
        if spec["bytes"] < short:
            raise ValueError(f"corpus case {name!r}: a huge payload needs at least {short} bytes")
        return json.dumps({**body, "padding": "x" * (spec["bytes"] - short)}).encode()
    if spec["kind"] == "spaces":
        event = json.dumps(spec["event"]).encode()
        if spec["bytes"] < len(event):
            raise ValueError(f"corpus case {name!r}: the event alone has {len(event)} bytes")
        return event + b" " * (spec["bytes"] - len(event))
    if spec["kind"] == "nested_arrays":
        return b"[" * spec["depth"] + b"]" * spec["depth"]
    if spec["kind"] == "nested_objects":
        nested: Any = "x"
        for _ in range(spec["depth"]):
            nested = {"a": nested}
        return json.dumps({**spec["event"], spec["field"]: nested}).encode()
    raise ValueError(f"corpus case {name!r}: unknown generator {spec['kind']!r}")


CORPUS = load_corpus()
MAX_BYTES = corpus_max_bytes()
NOW = datetime(2025, 6, 1, tzinfo=timezone.utc)  # after every corpus date but 2999
