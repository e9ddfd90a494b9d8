"""The worker's outputs are built as msgspec records, not pydantic models: they must still be the contract.

Each record has the fields of its pydantic model, in the same order, and everything the
scorer emits over generated event streams validates against that model (the JSON the
topics carry is what the published JSON Schemas describe).
"""

from __future__ import annotations

from datetime import timedelta

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.control import AuditRecord, OverrideRequest
from schemas.events import CustomerProfile
from schemas.model_config import ScoringModel
from schemas.outputs import ChurnRiskAlert, DimensionScore, ScoreUpdate
from scoring.pipeline import event_clock, rescore_if_changed, step, step_override
from scoring.records import AlertRecord, AuditEntry, ScoreRecord, encode
from scoring.records import DimensionScore as DimensionRecord
from scoring.state import Override, Profile, new_state
from tests.factories import at, profile, purchase, survey, ticket, visit
from tests.strategies import events as event_streams

MODEL = ScoringModel()


@pytest.mark.parametrize(
    "record, model",
    [
        (ScoreRecord, ScoreUpdate),
        (AlertRecord, ChurnRiskAlert),
        (AuditEntry, AuditRecord),
        (DimensionRecord, DimensionScore),
        (Profile, CustomerProfile),
        (Override, OverrideRequest),
    ],
)
def test_each_record_has_its_models_fields_in_its_order(record: type[msgspec.Struct], model: type) -> None:
    assert record.__struct_fields__ == tuple(model.model_fields)


def emitted(history, later_days: float):
    """Everything a worker would publish for `history`, a profile and an override, then a timer re-score."""
    state, out = new_state("c"), []
    stream = [
        profile(
            "c",
            0,
            plan="pro",
            company_size="11-50",
            industry="retail",
            lifecycle_stage="active",
            contract_value=9000.0,
            renewal_date=(at(0) + timedelta(days=40)).date(),
        ),
        *history,
    ]
    for event in sorted(stream, key=lambda e: e.occurred_at):
        result = step(state, event, MODEL, event_clock(state, event.occurred_at))
        out += [result.update, *result.alerts] if result.update else list(result.alerts)
    if state.event_count:
        request = OverrideRequest(
            request_id="o-1",
            customer_id="c",
            action="adjust",
            adjustment=-5.0,
            reason="r",
            author="a",
            requested_at=at(60),
            expires_at=at(61),
        )
        result = step_override(state, request, MODEL, event_clock(state, at(60)))
        out += [result.update, *result.alerts, *result.audits]
        timed = rescore_if_changed(state, MODEL, at(60 + later_days))
        out += [u for u in (timed.update, *timed.alerts, *timed.audits) if u is not None]
    return out


@settings(max_examples=200)
@given(event_streams, st.floats(min_value=0, max_value=400))
def test_everything_emitted_over_generated_event_streams_validates_against_its_model(history, later: float) -> None:
    contract = {ScoreRecord: ScoreUpdate, AlertRecord: ChurnRiskAlert, AuditEntry: AuditRecord}
    for record in emitted(history, later):
        parsed = contract[type(record)].model_validate_json(encode(record))
        assert msgspec.json.decode(encode(record)) == msgspec.json.decode(parsed.model_dump_json())


def test_a_score_update_round_trips_through_the_contract_unchanged() -> None:
    history = [
        purchase("c", 1, 30.0),
        visit("c", 2),
        ticket("c", 3, "T-1", priority="high", category="complaint"),
        survey("c", 4, "nps", 3),
    ]
    updates = [r for r in emitted(history, 30) if isinstance(r, ScoreRecord)]
    assert len(updates) >= 6 and any(u.override is not None for u in updates) and all(u.profile for u in updates)
    for record in updates:
        parsed = ScoreUpdate.model_validate_json(encode(record))
        assert ScoreUpdate.model_validate_json(parsed.model_dump_json()) == parsed
        assert parsed.score == record.score and parsed.reasons == record.reasons and parsed.changes == record.changes
