"""Erasure requests: decoded like events, and within a batch an erasure cuts the customer's history in two."""

import asyncio
import json
from datetime import datetime, timezone

from schemas.control import ErasureRequest
from schemas.model_config import ScoringModel
from schemas.outputs import DeadLetter, ScoreUpdate
from scoring.replay import replay
from streams.kafka.codecs import decode_request, decode_state, encode_state
from streams.worker.outputs import Outputs
from tests.factories import at, purchase, visit
from tests.fakes import CountingTable, Sent, Snapshots, make_scorer, message

NOW = datetime(2025, 6, 1, tzinfo=timezone.utc)
REQUEST = {"request_id": "dsr-1", "customer_id": "c-1", "requested_at": "2025-03-01T00:00:00Z", "reason": "DSR"}


def decode(value: bytes, key: bytes | None = b"c-1"):
    return decode_request(
        ErasureRequest,
        topic="customer.erasures",
        partition=0,
        offset=3,
        key=key,
        value=value,
        max_bytes=1024,
        received_at=NOW,
    )


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


def test_in_one_batch_events_before_an_erasure_are_forgotten_and_later_ones_start_afresh() -> None:
    table, erasures = CountingTable(), {}
    table[b"c-2"] = encode_state(replay([visit("c-2", 0)], ScoringModel()).states["c-2"])
    outputs = Outputs(scores=Sent(), alerts=Sent(), deadletter=Sent())
    redis = Snapshots()
    scorer = make_scorer(
        table=table,
        outputs=outputs,
        redis=redis,
        kinds={"customer.purchases": "purchase"},
        max_message_bytes=4096,
        erasure_topic="customer.erasures",
        erasures=erasures,
    )
    request = ErasureRequest(request_id="dsr-1", customer_id="c-1", requested_at=at(10))
    batch = [
        message("customer.purchases", b"c-1", purchase("c-1", 1).model_dump_json().encode(), 0),
        message("customer.purchases", b"c-2", purchase("c-2", 2).model_dump_json().encode(), 1),
        message("customer.erasures", b"c-1", request.model_dump_json().encode(), 0),
        message(
            "customer.purchases", b"c-1", purchase("c-1", 5).model_dump_json().encode(), 2
        ),  # late, before the request
        message(
            "customer.purchases", b"c-1", purchase("c-1", 12, amount=7.0).model_dump_json().encode(), 3
        ),  # after it
    ]
    asyncio.run(scorer.handle_batch(batch))

    state = decode_state(table[b"c-1"])
    assert (state.purchase_count, state.total_spend_amount) == (1, 7.0)  # only the purchase after the request
    assert decode_state(table[b"c-2"]).purchase_count == 1  # others untouched
    assert erasures == {b"c-1": at(10).isoformat().encode()}
    assert redis.erased == ["c-1"] and [u.customer_id for u in redis.offered].count("c-1") == 1
    sent = outputs.scores.values
    assert sent[2] is None  # the tombstone, after the update that came before the request
    assert [ScoreUpdate.model_validate_json(v).customer_id for v in sent if v is not None] == ["c-1", "c-2", "c-1"]
    assert sorted(scorer.due.pop_due(at(10_000))) == ["c-1", "c-2"]  # back after the erasure: the timer looks again


def test_an_erased_customer_is_taken_off_the_timers_schedule() -> None:
    scorer = make_scorer(
        kinds={"customer.purchases": "purchase"}, max_message_bytes=4096, erasure_topic="customer.erasures"
    )
    request = ErasureRequest(request_id="dsr-1", customer_id="c-1", requested_at=at(10))
    asyncio.run(
        scorer.handle_batch([message("customer.purchases", b"c-1", purchase("c-1", 1).model_dump_json().encode(), 0)])
    )
    assert len(scorer.due) == 1
    asyncio.run(scorer.handle_batch([message("customer.erasures", b"c-1", request.model_dump_json().encode(), 0)]))
    assert scorer.due.pop_due(at(10_000)) == []
