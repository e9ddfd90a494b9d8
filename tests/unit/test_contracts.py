"""The contracts other teams build on: JSON Schema files that match the models, and the AsyncAPI document."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from jsonschema import Draft202012Validator
from pydantic import ValidationError

from schemas.control import OverrideRequest
from schemas.events import EVENT_ADAPTER
from schemas.json_schema import CONTRACTS, file_name, json_schemas
from schemas.model_config import ScoringModel
from scoring.replay import replay
from streams.cli import main
from streams.settings import Settings
from tests.factories import purchase, survey, ticket, visit

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_DIR = ROOT / "schemas" / "json"
ASYNCAPI = ROOT / "docs" / "asyncapi.yaml"
SAMPLE_EVENTS = ROOT / "data" / "sample_events.jsonl"


def validator(stem: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads((SCHEMA_DIR / file_name(stem)).read_text()))


def test_the_checked_in_schema_files_are_what_the_models_generate() -> None:
    expected = json_schemas()
    on_disk = {path.name: path.read_text() for path in SCHEMA_DIR.glob("*.json")}
    assert set(on_disk) == set(expected), "schemas/json has missing or extra files: run `healthscore schemas`"
    for name, text in expected.items():
        assert on_disk[name] == text, f"{name} is out of date: run `healthscore schemas`"


def test_every_file_is_a_valid_draft_2020_12_schema_using_only_standard_keywords() -> None:
    # `then` and `else` are standard too: jsonschema checks them as part of `if`.
    known = set(Draft202012Validator.VALIDATORS) | {"$schema", "$id", "$defs", "$ref", "title", "description",
                                                    "default", "examples", "format", "discriminator", "then", "else"}  # fmt: skip

    def walk(node: object, where: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key not in ("properties", "$defs", "mapping"):
                    assert key in known, f"{where}: `{key}` is not a JSON Schema keyword"
                    if key not in ("default", "examples", "const", "enum", "discriminator"):  # values, not schemas
                        walk(value, f"{where}.{key}")
                else:
                    for name, sub in value.items():
                        walk(sub, f"{where}.{key}.{name}")
        elif isinstance(node, list):
            for item in node:
                walk(item, where)

    for stem in CONTRACTS:
        schema = json.loads((SCHEMA_DIR / file_name(stem)).read_text())
        Draft202012Validator.check_schema(schema)
        walk(schema, stem)


def test_every_sample_event_is_valid_under_its_kinds_schema() -> None:
    lines = SAMPLE_EVENTS.read_text().splitlines()[:500]
    for line in lines:
        body = json.loads(line)
        errors = list(validator(f"{body['kind']}-event").iter_errors(body))
        assert not errors, (line, [e.message for e in errors])
        EVENT_ADAPTER.validate_json(line)  # and the model agrees


def event(kind: str, **changes: object) -> dict:
    base = {"purchase": purchase("c", 0), "visit": visit("c", 0), "ticket": ticket("c", 0), "survey": survey("c", 0, "nps", 9)}
    return {**json.loads(base[kind].model_dump_json()), **changes}


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        ("purchase", event("purchase", amount=-1)),
        ("purchase", event("purchase", amount=True)),
        ("purchase", event("purchase", amount=2_000_000)),
        ("purchase", event("purchase", items=0)),
        ("purchase", event("purchase", currency="usd")),
        ("purchase", event("purchase", coupon="X")),
        ("visit", event("visit", duration_seconds=-5)),
        ("visit", event("visit", pages=False)),
        ("ticket", event("ticket", action="reopened")),
        ("survey", event("survey", survey_type="ces")),
        ("purchase", {k: v for k, v in event("purchase").items() if k != "customer_id"}),
        ("purchase", {k: v for k, v in event("purchase").items() if k != "kind"}),  # the worker picks the model by kind
        ("purchase", event("purchase", event_id="")),
        ("survey", event("survey", survey_type="nps", score=12)),
        ("survey", event("survey", survey_type="nps", score=-1)),
        ("survey", event("survey", survey_type="csat", score=9)),
        ("survey", event("survey", survey_type="csat", score=0)),
    ],
)
def test_the_schema_rejects_what_the_model_rejects(kind: str, body: dict) -> None:
    assert list(validator(f"{kind}-event").iter_errors(body)), "the schema accepts it"
    with pytest.raises(ValueError):
        EVENT_ADAPTER.validate_json(json.dumps(body))


OVERRIDE = {"request_id": "o-1", "customer_id": "c", "reason": "QBR went well", "author": "lee",
            "requested_at": "2025-01-05T00:00:00Z", "expires_at": "2025-02-05T00:00:00Z"}  # fmt: skip


@pytest.mark.parametrize(
    ("body", "valid"),
    [
        ({**OVERRIDE, "action": "pin_score", "score": 80}, True),
        ({**OVERRIDE, "action": "pin_score", "score": 80, "tier": None, "adjustment": None}, True),  # null: not given
        ({**OVERRIDE, "action": "pin_tier", "tier": "watch"}, True),
        ({**OVERRIDE, "action": "adjust", "adjustment": -30}, True),
        ({**OVERRIDE, "action": "clear"}, True),
        ({**OVERRIDE, "action": "clear", "expires_at": None}, True),
        ({**OVERRIDE, "action": "pin_score"}, False),
        ({**OVERRIDE, "action": "pin_score", "score": None}, False),
        ({**OVERRIDE, "action": "pin_score", "score": 80, "tier": "watch"}, False),
        ({**OVERRIDE, "action": "pin_tier", "score": 80}, False),
        ({**OVERRIDE, "action": "adjust", "adjustment": 5, "expires_at": None}, False),
        ({k: v for k, v in OVERRIDE.items() if k != "expires_at"} | {"action": "adjust", "adjustment": 5}, False),
        ({**OVERRIDE, "action": "clear", "adjustment": 5}, False),
    ],
)
def test_the_override_schema_says_which_value_each_action_takes_as_the_model_does(body: dict, valid: bool) -> None:
    schema_takes_it = not list(validator("override-request").iter_errors(body))
    try:
        model_takes_it = bool(OverrideRequest.model_validate_json(json.dumps(body)))
    except ValidationError:
        model_takes_it = False
    assert (schema_takes_it, model_takes_it) == (valid, valid)


def test_published_outputs_are_valid_under_their_schemas() -> None:
    events = [purchase("c", 0), visit("c", 1), ticket("c", 2, category="complaint"), survey("c", 3, "nps", 0)]
    result = replay(events, ScoringModel())
    assert result.updates and result.alerts
    for update in result.updates:
        assert not list(validator("score-update").iter_errors(json.loads(update.model_dump_json())))
    for alert in result.alerts:
        assert not list(validator("churn-risk-alert").iter_errors(json.loads(alert.model_dump_json())))
    model = json.loads(ScoringModel().model_dump_json())
    assert not list(validator("scoring-model").iter_errors(model))


def test_the_schemas_command_writes_the_files_and_check_fails_on_a_stale_one(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["schemas", "--out", str(tmp_path)]).exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(json_schemas())
    assert runner.invoke(main, ["schemas", "--out", str(tmp_path), "--check"]).exit_code == 0
    (tmp_path / file_name("score-update")).write_text("{}\n")
    stale = runner.invoke(main, ["schemas", "--out", str(tmp_path), "--check"])
    assert stale.exit_code != 0 and "score-update.schema.json" in stale.output


def asyncapi() -> dict:
    return yaml.safe_load(ASYNCAPI.read_text())


def test_asyncapi_lists_every_topic_with_its_direction() -> None:
    settings = Settings.model_construct()  # the defaults, as deployed
    channels = asyncapi()["channels"]
    assert set(channels) == {*settings.input_topics(), *settings.control_topics(), *settings.output_topics()}
    for topic in [*settings.input_topics(), *settings.control_topics()]:
        assert "publish" in channels[topic] and "subscribe" not in channels[topic], topic
        assert channels[topic]["bindings"]["kafka"]["partitions"] == settings.partitions
    for topic in settings.output_topics():
        assert "subscribe" in channels[topic] and "publish" not in channels[topic], topic


def test_asyncapi_messages_point_at_the_schema_files_of_the_right_models() -> None:
    document = asyncapi()
    assert document["asyncapi"].startswith("2.6")
    messages = document["components"]["messages"]
    settings = Settings.model_construct()
    expected = {**{t: f"{k}-event" for t, k in settings.input_topics().items()},
                settings.topic_scores: "score-update", settings.topic_alerts: "churn-risk-alert",
                settings.topic_deadletter: "dead-letter", settings.topic_erasures: "erasure-request",
                settings.topic_overrides: "override-request", settings.topic_audit: "audit-record"}  # fmt: skip
    for topic, channel in document["channels"].items():
        operation = channel.get("publish") or channel["subscribe"]
        name = operation["message"]["$ref"].removeprefix("#/components/messages/")
        ref = messages[name]["payload"]["$ref"]
        assert (ASYNCAPI.parent / ref).resolve() == (SCHEMA_DIR / file_name(expected[topic])).resolve(), topic
        assert "key" in operation["bindings"]["kafka"], topic
