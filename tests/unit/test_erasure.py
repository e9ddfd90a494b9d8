"""Erasure requests: decoded like events, and within a batch an erasure cuts the customer's history in two."""

import asyncio
import json
from datetime import datetime, timezone
from types import SimpleNamespace

from schemas.control import ErasureRequest
from schemas.model_config import ScoringModel
from schemas.outputs import DeadLetter, ScoreUpdate
from scoring.replay import replay
from streams.worker.scorer import Outputs
from streams.kafka.codecs import decode_request, decode_state, encode_state
from tests.factories import at, purchase, visit
from tests.unit.test_timer import CountingTable, Sent, make_scorer

NOW = datetime(2025, 6, 1, tzinfo=timezone.utc)
REQUEST = {"request_id": "dsr-1", "customer_id": "c-1", "requested_at": "2025-03-01T00:00:00Z", "reason": "DSR"}


def decode(value: bytes, key: bytes | None = b"c-1"):
    return decode_request(ErasureRequest, topic="customer.erasures", partition=0, offset=3, key=key, value=value, max_bytes=1024,
                          received_at=NOW)  # fmt: skip


def test_a_valid_request_decodes() -> None:
    request = decode(json.dumps(REQUEST).encode())
    assert isinstance(request, ErasureRequest) and request.customer_id == "c-1"


def test_bad_requests_are_dead_letters_with_a_reason_and_never_the_id_in_the_reason() -> None:
    cases = {
        b"not json": "invalid_json",
        json.dumps({**REQUEST, "requested_at": "2025-03-01T00:00:00"}).encode(): "validation",  # no zone
        json.dumps({k: v for k, v in REQUEST.items() if k != "request_id"}).encode(): "validation",
        b"\xff\xfe": "invalid_encoding",
        json.dumps({**REQUEST, "reason": "x" * 2000}).encode(): "too_large",
    }
    for value, error in cases.items():
        letter = decode(value)
        assert isinstance(letter, DeadLetter) and letter.error == error, value[:40]
    wrong_key = decode(json.dumps(REQUEST).encode(), key=b"c-2")
    assert isinstance(wrong_key, DeadLetter) and wrong_key.error == "key_mismatch"
    assert "c-1" not in wrong_key.reason and "c-2" not in wrong_key.reason


class Snapshots:
    def __init__(self) -> None:
        self.offered: list[str] = []
        self.erased: list[str] = []

    def offer(self, update, encoded=None) -> None:
        self.offered.append(update.customer_id)

    def erase(self, customer_id: str) -> None:
        self.erased.append(customer_id)


def record(topic: str, key: str, value: str, offset: int) -> SimpleNamespace:
    return SimpleNamespace(topic=topic, partition=0, offset=offset, key=key.encode(), value=value.encode(),
                           timestamp=None, tp=("t", 0))  # fmt: skip


def test_in_one_batch_events_before_an_erasure_are_forgotten_and_later_ones_start_afresh() -> None:
    table, erasures = CountingTable(), {}
    table[b"c-2"] = encode_state(replay([visit("c-2", 0)], ScoringModel()).states["c-2"])
    outputs = Outputs(scores=Sent(), alerts=Sent(), deadletter=Sent())
    redis = Snapshots()
    scorer = make_scorer(table=table, outputs=outputs, redis=redis, kinds={"customer.purchases": "purchase"},
                         max_message_bytes=4096, erasure_topic="customer.erasures", erasures=erasures)  # fmt: skip
    request = ErasureRequest(request_id="dsr-1", customer_id="c-1", requested_at=at(10))
    batch = [
        record("customer.purchases", "c-1", purchase("c-1", 1).model_dump_json(), 0),
        record("customer.purchases", "c-2", purchase("c-2", 2).model_dump_json(), 1),
        record("customer.erasures", "c-1", request.model_dump_json(), 0),
        record("customer.purchases", "c-1", purchase("c-1", 5).model_dump_json(), 2),  # late, before the request
        record("customer.purchases", "c-1", purchase("c-1", 12, amount=7.0).model_dump_json(), 3),  # after it
    ]
    asyncio.run(scorer.handle_batch(batch))

    state = decode_state(table[b"c-1"])
    assert (state.purchase_count, state.total_spend_amount) == (1, 7.0)  # only the purchase after the request
    assert decode_state(table[b"c-2"]).purchase_count == 1  # others untouched
    assert erasures == {b"c-1": at(10).isoformat().encode()}
    assert redis.erased == ["c-1"] and redis.offered.count("c-1") == 1
    sent = outputs.scores.values
    assert sent[2] is None  # the tombstone, after the update that came before the request
    assert [ScoreUpdate.model_validate_json(v).customer_id for v in sent if v is not None] == ["c-1", "c-2", "c-1"]
