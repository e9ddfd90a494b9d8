"""A customer's stored state: versioned MessagePack now, and every earlier form still read, nothing forgotten.

tests/data/states/v1-json-states.json holds states written by the JSON codec before
issue 18 (zlib-compressed, and plain JSON before that), with the ScoreUpdate and alerts
that version published for one more event. Read by this version, each must publish the same.
"""

from __future__ import annotations

import base64
import json

import msgspec
import pytest

from schemas.events import EVENT_ADAPTER
from schemas.model_config import ScoringModel
from schemas.outputs import ChurnRiskAlert, ScoreUpdate
from scoring.pipeline import event_clock, step
from scoring.records import encode
from scoring.replay import replay
from scoring.seen import recall, remembered
from scoring.state_codec import VERSION, decode_state, encode_state
from tests.factories import profile, purchase, survey, ticket, visit
from tests.paths import DATA

FIXTURES = json.loads((DATA / "states" / "v1-json-states.json").read_text())
MODEL = ScoringModel()


@pytest.mark.parametrize("form", ["stored", "stored_as_plain_json"])
@pytest.mark.parametrize("customer", sorted(FIXTURES))
def test_a_state_stored_by_the_json_codec_publishes_what_that_version_published_next(customer: str, form: str) -> None:
    case = FIXTURES[customer]
    raw = base64.b64decode(case["stored"]) if form == "stored" else case["stored_as_plain_json"].encode()
    state = decode_state(raw)
    event = EVENT_ADAPTER.validate_json(case["next_event"])
    result = step(state, event, MODEL, event_clock(state, event.occurred_at))
    assert ScoreUpdate.model_validate_json(encode(result.update)) == ScoreUpdate.model_validate_json(
        case["next_update"]
    )
    assert [ChurnRiskAlert.model_validate_json(encode(a)) for a in result.alerts] == [
        ChurnRiskAlert.model_validate_json(a) for a in case["next_alerts"]
    ]
    assert recall(state.seen, event.event_id) is not None  # and it is remembered now
    redelivered = step(state, event, MODEL, event_clock(state, event.occurred_at))
    assert redelivered.duplicate and not redelivered.conflict


def test_a_migrated_state_remembers_every_event_id_it_had() -> None:
    stored = json.loads(FIXTURES["rich"]["stored_as_plain_json"])
    state = decode_state(json.dumps(stored).encode())
    assert remembered(state.seen) == len(stored["seen"])
    # Ids stored in full by the first version are digested on reading, as the second did.
    stored["seen"] = [{"at": "2025-01-01T12:00:00Z", "event_id": "an-old-id"}]
    assert recall(decode_state(json.dumps(stored).encode()).seen, "an-old-id") is not None


def busy_state():
    events = [profile("c", 0, plan="enterprise", contract_value=1200.0)]
    events += [purchase("c", d, 20.0 + d) for d in range(0, 120, 3)] + [visit("c", d + 0.5) for d in range(0, 120, 2)]
    events += [
        ticket("c", 5, "T-1", priority="urgent", category="complaint"),
        survey("c", 6, "nps", 4),
        survey("c", 7, "csat", 2),
        ticket("c", 9, "T-2"),
        ticket("c", 11, "T-2", "resolved"),
    ]
    return replay(sorted(events, key=lambda e: e.occurred_at), MODEL).states["c"]


def test_the_current_form_round_trips_every_field() -> None:
    state = busy_state()
    raw = encode_state(state)
    assert raw[0] == VERSION and decode_state(raw) == state
    assert msgspec.structs.asdict(decode_state(raw)) == msgspec.structs.asdict(state)


def test_a_busy_customers_state_stays_small() -> None:
    state = busy_state()
    assert remembered(state.seen) > 100 and len(state.buckets.day) > 40
    assert len(encode_state(state)) < 8_000  # the dedup memory (20 bytes an id) is most of it
