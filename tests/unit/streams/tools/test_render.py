"""`healthscore tail`'s lines: one per record, what a person looks for first, nothing dropped."""

from __future__ import annotations

import base64

import pytest
from kafka import TopicPartition

from schemas.control import AuditRecord, OverrideRequest
from schemas.outputs import ChurnRiskAlert, DeadLetter, ScoreUpdate
from streams.tools.cli import main
from streams.tools.render import OUTPUTS, Line, customer_of, render
from streams.tools.tail import WrittenSince, raw_json
from tests.factories import at

DIMENSIONS = [
    {"name": d, "value": 0.5, "weight": 0.25, "contribution": 12.5}
    for d in ("satisfaction", "loyalty", "activity", "financial")
]


PIN = OverrideRequest(
    request_id="ovr-1",
    customer_id="cust-0042",
    action="pin_tier",
    tier="at_risk",
    reason="champion left",
    author="maria@acme",
    requested_at=at(0),
    expires_at=at(30),
)


def update(**fields: object) -> ScoreUpdate:
    base = {
        "customer_id": "cust-0187",
        "score": 36.9,
        "tier": "at_risk",
        "previous_score": 37.4,
        "previous_tier": "at_risk",
        "confidence": 1.0,
        "dimensions": DIMENSIONS,
        "reasons": ["no visits in the last 30 days", "last visit 61 days ago", "CSAT averages 1.0/5"],
        "changes": ["latest NPS is 1 (detractor) (new)"],
        "change_7d": -1.2,
        "change_30d": -1.2,
        "segment": "at_risk",
        "clv_12m": 186.59,
        "purchase_cycle_days": 45.5,
        "model_name": "default",
        "model_version": "2",
        "scored_at": at(3.25),
        "cause": "event",
    }
    return ScoreUpdate.model_validate(base | fields)


def alert(**fields: object) -> ChurnRiskAlert:
    base = {
        "alert_id": "a-1",
        "customer_id": "cust-0042",
        "trigger": "renewal_risk",
        "severity": "high",
        "detail": "renewal in 21 days with the score at 31.0",
        "tier": "at_risk",
        "previous_tier": "watch",
        "score": 31.0,
        "change_7d": -9.0,
        "segment": "at_risk",
        "reasons": [],
        "changes": [],
        "raised_at": at(1),
        "model_name": "default",
        "model_version": "2",
    }
    return ChurnRiskAlert.model_validate(base | fields)


def letter(value: bytes, key: bytes | None = b"acme", **fields: object) -> DeadLetter:
    base = {
        "error": "validation",
        "reason": "amount: Input should be greater than or equal to 0",
        "topic": "customer.purchases",
        "partition": 2,
        "offset": 41,
        "key_base64": None if key is None else base64.b64encode(key).decode(),
        "key_length": None,
        "value_base64": base64.b64encode(value).decode(),
        "value_length": len(value),
        "received_at": at(2),
    }
    return DeadLetter.model_validate(base | fields)


def audit(**fields: object) -> AuditRecord:
    base = {
        "audit_id": "u-1",
        "customer_id": "cust-0042",
        "action": "applied",
        "override": PIN,
        "by": "maria@acme",
        "reason": "champion left",
        "at": at(0),
    }
    return AuditRecord.model_validate(base | fields)


def line(kind: str, record) -> Line:
    return render(
        kind, record.customer_id.encode() if hasattr(record, "customer_id") else None, record.model_dump_json().encode()
    )


@pytest.mark.parametrize(
    ("kind", "record", "expected"),
    [
        (
            "scores",
            update(),
            Line(
                "2025-01-04 18:00:00Z  cust-0187   36.9 (-0.5)  at_risk  at_risk  default@2"
                "  reasons: no visits in the last 30 days; last visit 61 days ago (+1 more)"
                "  changes: latest NPS is 1 (detractor) (new)",
                "warn",
            ),
        ),
        (
            "scores",
            update(
                previous_score=None,
                previous_tier=None,
                score=80.0,
                tier="healthy",
                segment="new",
                reasons=[],
                changes=[],
                cause="timer",
            ),
            Line("2025-01-04 18:00:00Z  cust-0187   80.0 (new)  healthy  new  default@2 [timer]", "good"),
        ),
        (
            "scores",
            update(
                previous_tier="watch",
                tier="critical",
                score=20.0,
                previous_score=55.0,
                changes=[],
                computed_score=48.2,
                cause="override",
                override=PIN,
                reasons=["x"],
            ),
            Line(
                "2025-01-04 18:00:00Z  cust-0187   20.0 (-35.0) (model 48.2)  watch->critical  at_risk"
                "  default@2 [override]  reasons: x",
                "bad",
            ),
        ),
        (
            "scores",
            update(computed_score=36.9, override=PIN, changes=[], reasons=[]),  # a pinned tier keeps the score
            Line("2025-01-04 18:00:00Z  cust-0187   36.9 (-0.5)  at_risk  at_risk  default@2 [overridden]", "warn"),
        ),
        (
            "alerts",
            alert(),
            Line(
                "2025-01-02 12:00:00Z  HIGH    renewal_risk  cust-0042  watch->at_risk 31.0"
                "  renewal in 21 days with the score at 31.0",
                "bad",
            ),
        ),
        (
            "alerts",
            alert(severity="normal", trigger="tier_entry", previous_tier="at_risk", detail="entered at_risk"),
            Line("2025-01-02 12:00:00Z  NORMAL  tier_entry  cust-0042  at_risk 31.0  entered at_risk", "warn"),
        ),
        (
            "deadletter",
            letter(b'{"kind": "purchase",\n"amount": -3}'),
            Line(
                "2025-01-03 12:00:00Z  validation  customer.purchases[2]@41"
                '  amount: Input should be greater than or equal to 0  value: {"kind": "purchase",\\n"amount": -3}',
                "bad",
            ),
        ),
        (
            "deadletter",
            letter(b"x" * 100, value_length=70_000, value_truncated=True),
            Line(
                "2025-01-03 12:00:00Z  validation  customer.purchases[2]@41"
                f"  amount: Input should be greater than or equal to 0  value: {'x' * 80}... (70,000 bytes)",
                "bad",
            ),
        ),
        (
            "audit",
            audit(),
            Line(
                "2025-01-01 12:00:00Z  applied  by maria@acme  cust-0042"
                "  tier pinned at at_risk until 2025-01-31 12:00:00Z: champion left"
            ),
        ),
        (
            "audit",
            audit(action="expired", by="healthscore", reason="expired at 2025-01-31T12:00:00+00:00"),
            Line(
                "2025-01-01 12:00:00Z  expired  by healthscore  cust-0042"
                "  tier pinned at at_risk until 2025-01-31 12:00:00Z: expired at 2025-01-31T12:00:00+00:00"
            ),
        ),
    ],
)
def test_each_topic_has_a_line_that_reads_left_to_right(kind: str, record, expected: Line) -> None:
    assert line(kind, record) == expected


def test_a_tombstone_and_an_unreadable_record_are_shown_not_dropped() -> None:
    assert render("scores", b"cust-9", None).text == "cust-9  erased (tombstone: the customer's data was deleted)"
    broken = render("alerts", b"cust-9", b'{"customer_id": "cust-9"}')
    assert broken.tone == "bad" and broken.text.startswith("unreadable alerts record for cust-9: ")
    assert raw_json(None) == "null" and raw_json(b'{"a": 1}') == '{"a": 1}'


def test_a_dead_letter_belongs_to_the_customer_its_record_was_keyed_by() -> None:
    assert customer_of("scores", b"cust-1", b"{}") == "cust-1"
    assert customer_of("scores", None, None) is None
    assert customer_of("deadletter", None, letter(b"{}", key=b"acme").model_dump_json().encode()) == "acme"
    assert customer_of("deadletter", None, letter(b"{}", key=None).model_dump_json().encode()) is None
    assert customer_of("deadletter", None, b"not json") is None


def test_from_the_end_records_stamped_before_the_start_are_left_out_until_a_partition_catches_up() -> None:
    fresh, p0, p1 = WrittenSince(started_ms=1_000), TopicPartition("t", 0), TopicPartition("t", 1)
    # The rest of a batch written before the start, which a short end offset (Tansu) hands out again.
    assert [fresh(p0, ms) for ms in (990, 995, 1_000, 998, 1_200)] == [False, False, True, True, True]
    assert fresh(p1, 999) is False and fresh(p1, 1_001) is True  # each partition on its own


def test_tail_offers_exactly_the_output_topics_it_can_render() -> None:
    (kind,) = [p for p in main.commands["tail"].params if p.name == "kind"]
    assert list(kind.type.choices) == list(OUTPUTS)
