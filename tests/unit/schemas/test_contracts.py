"""The contracts other teams build on: JSON Schema files that match the models, and the AsyncAPI document.

One contract: a message the JSON Schema of its topic takes is one the worker's decoder takes, and
the other way round, but for the differences listed in BEYOND_THE_SCHEMA (and docs/reference/contracts.md).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any, get_args

import pytest
import regress
import yaml
from click.testing import CliRunner
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError as SchemaError
from pydantic import ValidationError

from schemas.control import ErasureRequest, OverrideRequest
from schemas.events import EVENT_ADAPTER, CompanySize, EventKind, LifecycleStage, TicketCategory, TicketPriority
from schemas.json_schema import CONTRACTS, file_name, json_schemas
from schemas.model_config import ScoringModel
from schemas.outputs import DeadLetter
from scoring.records import encode
from scoring.replay import replay
from streams.kafka.codecs import MAX_AGE, decode_event, decode_request
from streams.settings import Settings
from streams.tools.cli import main
from tests.corpus import CORPUS, MAX_BYTES, NOW
from tests.factories import purchase, survey, ticket, visit
from tests.paths import ROOT

SCHEMA_DIR = ROOT / "schemas" / "json"
ASYNCAPI = ROOT / "docs" / "reference" / "asyncapi.yaml"
CONTRACTS_DOC = ROOT / "docs" / "reference" / "contracts.md"
SAMPLE_EVENTS = ROOT / "data" / "sample_events.jsonl"


def _ecma_262_pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[SchemaError]:
    # JSON Schema patterns are ECMA-262 regexes, read here as check-jsonschema reads them. jsonschema's
    # default, Python's re, lets `$` match before a final newline: it would take "USD\n", which the worker
    # (and any ECMA-262 validator) refuses.
    if validator.is_type(instance, "string") and not _regex(pattern).find(instance):
        yield SchemaError(f"{instance!r} does not match {pattern!r}")


@cache
def _regex(pattern: str) -> regress.Regex:
    return regress.Regex(pattern, flags="u")


Ecma262Validator = validators.extend(Draft202012Validator, {"pattern": _ecma_262_pattern})


@cache
def validator(stem: str) -> Draft202012Validator:
    """The schema file's validator, asserting `format` too, as the strictest producer's would."""
    schema = json.loads((SCHEMA_DIR / file_name(stem)).read_text())
    return Ecma262Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def test_the_checked_in_schema_files_are_what_the_models_generate() -> None:
    expected = json_schemas()
    on_disk = {path.name: path.read_text() for path in SCHEMA_DIR.glob("*.json")}
    assert set(on_disk) == set(expected), "schemas/json has missing or extra files: run `healthscore schemas`"
    for name, text in expected.items():
        assert on_disk[name] == text, f"{name} is out of date: run `healthscore schemas`"


def test_every_file_is_a_valid_draft_2020_12_schema_using_only_standard_keywords() -> None:
    # `then` and `else` are standard too: jsonschema checks them as part of `if`.
    annotations = {"$schema", "$id", "$defs", "$ref", "title", "description", "default", "examples", "format"}
    known = set(Draft202012Validator.VALIDATORS) | annotations | {"discriminator", "then", "else"}

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
    base = {
        "purchase": purchase("c", 0),
        "visit": visit("c", 0),
        "ticket": ticket("c", 0),
        "survey": survey("c", 0, "nps", 9),
    }
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


OVERRIDE = {
    "request_id": "o-1",
    "customer_id": "c",
    "reason": "QBR went well",
    "author": "lee",
    "requested_at": "2025-01-05T00:00:00Z",
    "expires_at": "2025-02-05T00:00:00Z",
}


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


# --- one contract: the worker's decoder and the JSON Schema of the topic agree

NAN = (
    "NaN is not JSON, yet Python's json module reads and writes it; no bound can refuse it, since every "
    "comparison with NaN is false"
)
INTEGRAL_FLOAT = (
    "JSON Schema counts 2.0 as an integer (the same number as 2); the worker wants an integer "
    "written without a fraction, as every JSON library writes one"
)
TWO_FIELDS = "no JSON Schema keyword compares two fields: expires_at must be after requested_at"

# Every way the worker and a JSON Schema validator part, by DeadLetter error code or by message name, and
# why no schema can say it. docs/reference/contracts.md lists the same; the last test below holds the two together.
BEYOND_THE_SCHEMA: dict[str, str] = {
    "too_large": "a limit on the record's bytes: a schema sees the value, however much whitespace came with it",
    "invalid_encoding": (
        "a schema sees the value once read; JSON readers (Python's among them) read UTF-16 and a "
        "UTF-8 byte order mark, the worker reads UTF-8 without one (RFC 8259, section 8.1)"
    ),
    "key_mismatch": "the Kafka key is not part of the value",
    "future_timestamp": "depends on when the worker receives the record",
    "too_old": "depends on when the worker receives the record: more than HEALTHSCORE_MAX_EVENT_AGE_DAYS before",
    "unknown_customer": "depends on the worker's state: a survey from a customer it has never seen",
    "amount_nan": NAN,
    "duration_nan": NAN,
    "purchase_items_2_0": INTEGRAL_FLOAT,
    "csat_4_0": INTEGRAL_FLOAT,
    "schema_version_1_0": INTEGRAL_FLOAT,
    "override_expires_before_it_is_requested": TWO_FIELDS,
    "override_expires_when_it_is_requested": TWO_FIELDS,
}
REQUESTS = {"erasure-request": ErasureRequest, "override-request": OverrideRequest}


@dataclass(frozen=True)
class Message:
    """A record on one of the worker's input topics, and what the contract says of it."""

    source: str  # corpus, sample, edge or request
    name: str
    contract: str  # the schema file's stem: purchase-event, ..., override-request
    key: bytes | None
    value: bytes | None
    taken: bool | None  # by the worker: no for the corpus, the table's word for an edge case, unsaid for samples
    refused_by_worker_state: str | None = None  # an error only the worker's state finds, after the decoder
    max_age: timedelta = MAX_AGE  # edge cases of the timestamp's form go back further than the worker's horizon

    def worker_says(self) -> str | None:
        """None when the worker takes the message; otherwise its DeadLetter error."""
        coordinates = {
            "partition": 0,
            "offset": 0,
            "key": self.key,
            "value": self.value,
            "max_bytes": MAX_BYTES,
            "received_at": NOW,
        }
        if self.contract in REQUESTS:
            result = decode_request(REQUESTS[self.contract], topic="control", **coordinates)
        else:
            kind: Any = self.contract.removesuffix("-event")
            result = decode_event(topic=f"customer.{kind}s", expected_kind=kind, max_age=self.max_age, **coordinates)
        return result.error if isinstance(result, DeadLetter) else self.refused_by_worker_state

    def schema_says(self) -> str | None:
        """None when the topic's JSON Schema takes the value as Python's json module reads it; otherwise why not."""
        try:
            value = json.loads(self.value or b"")
        except (ValueError, RecursionError) as exc:
            return f"not JSON: {exc}"
        error = next(iter(validator(self.contract).iter_errors(value)), None)
        return None if error is None else error.message

    def difference(self) -> str | None:
        """The key in BEYOND_THE_SCHEMA that explains why only one side refuses it, if only one does."""
        worker, schema = self.worker_says(), self.schema_says()
        if (worker is None) == (schema is None):
            return None
        listed = [key for key in (self.name, worker) if key in BEYOND_THE_SCHEMA]
        return listed[0] if listed else f"unexplained: worker says {worker!r}, schema says {schema!r}"


def corpus_messages() -> list[Message]:
    return [
        Message(
            "corpus",
            case.name,
            f"{case.kind}-event",
            case.key,
            case.value,
            taken=False,
            refused_by_worker_state=case.error if case.needs_worker_state else None,
        )
        for case in CORPUS
    ]


def sample_messages() -> list[Message]:
    """Each line of the sample file, keyed by its customer_id as `healthscore produce` sends it."""
    bodies = [(n, line, json.loads(line)) for n, line in enumerate(SAMPLE_EVENTS.read_text().splitlines(), 1)]
    return [
        Message("sample", f"line {n}", f"{body['kind']}-event", body["customer_id"].encode(), line.encode(), taken=None)
        for n, line, body in bodies
    ]


BASES: dict[str, dict[str, Any]] = {  # the required fields only
    "purchase": {"amount": 12.5},
    "visit": {"duration_seconds": 60},
    "ticket": {"ticket_id": "T-1", "action": "opened"},
    "survey": {"survey_type": "nps", "score": 7},
    "profile": {},
}
LONGEST = 128  # characters of an identifier, at most
# The edge cases test the contract's forms and ranges, among them years long past (1000, 2000): the
# worker's horizon for old events (`too_old`, shown by the corpus) would refuse those for their age.
EDGE_MAX_AGE = timedelta(days=400_000)
LABEL = 64  # characters of a profile's plan or industry, at most


def edge(name: str, kind: EventKind, taken: bool, **fields: Any) -> Message:
    """An event at or just past a boundary of its contract; optional fields absent unless given."""
    body = {
        "kind": kind,
        "event_id": f"edge-{name}",
        "customer_id": "bob",
        "occurred_at": "2025-01-05T00:00:00Z",
        **BASES[kind],
        **fields,
    }
    return Message(
        "edge",
        name,
        f"{kind}-event",
        body["customer_id"].encode(),
        json.dumps(body).encode(),
        taken,
        max_age=EDGE_MAX_AGE,
    )


def request(name: str, contract: str, taken: bool, **fields: Any) -> Message:
    base = {"request_id": f"req-{name}", "customer_id": "bob", "requested_at": "2025-01-05T00:00:00Z"}
    if contract == "override-request":
        base |= {"reason": "QBR went well", "author": "lee", "expires_at": "2025-02-05T00:00:00Z"}
    return Message("request", name, contract, b"bob", json.dumps(base | fields).encode(), taken)


EDGES: list[Message] = [
    *(edge(f"{kind}_with_required_fields_only", kind, True) for kind in BASES),
    edge("schema_version_1", "purchase", True, schema_version=1),
    edge("amount_0", "purchase", True, amount=0),
    edge("amount_1000000", "purchase", True, amount=1_000_000),
    edge("amount_as_an_integer", "purchase", True, amount=12),
    edge("amount_in_exponent_form", "purchase", True, amount=1.25e3),
    edge("amount_minus_a_cent", "purchase", False, amount=-0.01),
    edge("amount_a_cent_over_1000000", "purchase", False, amount=1_000_000.01),
    edge("items_1", "purchase", True, items=1),
    edge("items_10000", "purchase", True, items=10_000),
    edge("items_10001", "purchase", False, items=10_001),
    edge("items_null", "purchase", False, items=None),
    edge("currency_eur", "purchase", True, currency="EUR"),
    edge("currency_four_letters", "purchase", False, currency="EURO"),
    edge("currency_with_a_newline", "purchase", False, currency="EUR\n"),
    edge("duration_0", "visit", True, duration_seconds=0),
    edge("duration_86400", "visit", True, duration_seconds=86_400),
    edge("duration_86400_5", "visit", False, duration_seconds=86_400.5),
    edge("pages_0", "visit", True, pages=0),
    edge("pages_100000", "visit", True, pages=100_000),
    edge("pages_minus_1", "visit", False, pages=-1),
    edge("pages_100001", "visit", False, pages=100_001),
    *(edge(f"ticket_{action}", "ticket", True, action=action) for action in ("opened", "resolved")),
    *(edge(f"priority_{value}", "ticket", True, priority=value) for value in get_args(TicketPriority)),
    *(edge(f"category_{value}", "ticket", True, category=value) for value in get_args(TicketCategory)),
    *(edge(f"csat_{score}", "survey", 1 <= score <= 5, survey_type="csat", score=score) for score in range(-1, 12)),
    *(edge(f"nps_{score}", "survey", 0 <= score <= 10, survey_type="nps", score=score) for score in range(-1, 12)),
    edge("survey_without_a_type", "survey", False, survey_type=None),
    *(edge(f"company_size_{value}", "profile", True, company_size=value) for value in get_args(CompanySize)),
    *(edge(f"lifecycle_{value}", "profile", True, lifecycle_stage=value) for value in get_args(LifecycleStage)),
    edge(
        "profile_all_null",
        "profile",
        True,
        plan=None,
        company_size=None,
        industry=None,
        lifecycle_stage=None,
        contract_value=None,
        renewal_date=None,
    ),
    edge("contract_value_0", "profile", True, contract_value=0),
    edge("contract_value_100000000", "profile", True, contract_value=100_000_000),
    edge("contract_value_over", "profile", False, contract_value=100_000_000.5),
    edge("plan_1_character", "profile", True, plan="x"),
    edge("plan_64_characters", "profile", True, plan="p" * LABEL),
    edge("plan_65_characters", "profile", False, plan="p" * (LABEL + 1)),
    edge("plan_empty", "profile", False, plan=""),
    edge("plan_with_spaces", "profile", True, plan="Enterprise Plus"),
    edge("plan_with_a_tab", "profile", False, plan="Enterprise\tPlus"),
    edge("renewal_date", "profile", True, renewal_date="2025-06-30"),
    edge("renewal_on_a_leap_day", "profile", True, renewal_date="2028-02-29"),
    edge("renewal_on_february_29_of_a_common_year", "profile", False, renewal_date="2027-02-29"),
    edge("renewal_date_in_unix_seconds", "profile", False, renewal_date="1782777600"),
    edge("event_id_1_character", "visit", True, event_id="e"),
    edge("event_id_128_characters", "visit", True, event_id="e" * LONGEST),
    edge("event_id_129_characters", "visit", False, event_id="e" * (LONGEST + 1)),
    edge("event_id_128_emoji", "visit", True, event_id="\U0001f600" * LONGEST),  # code points, not UTF-16 units
    edge("event_id_129_emoji", "visit", False, event_id="\U0001f600" * (LONGEST + 1)),
    edge("event_id_in_greek", "visit", True, event_id="συμβάν-1"),
    edge("event_id_with_a_no_break_space", "visit", False, event_id="e\u00a01"),
    edge("event_id_with_an_ideographic_space", "visit", False, event_id="e\u30001"),
    edge("event_id_with_a_line_separator", "visit", False, event_id="e\u20281"),
    edge("event_id_with_delete", "visit", False, event_id="e\x7f1"),
    edge("event_id_with_a_trailing_newline", "visit", False, event_id="e-1\n"),
    edge("customer_id_128_characters", "visit", True, customer_id="c" * LONGEST),
    *(
        edge(f"occurred_at_{label}", "visit", True, occurred_at=text)
        for label, text in [
            ("utc", "2025-01-05T09:30:00Z"),
            ("plus_offset", "2025-01-05T10:30:00+01:00"),
            ("minus_offset", "2025-01-05T04:30:00-05:00"),
            ("minus_zero", "2025-01-05T09:30:00-00:00"),
            ("plus_23_59", "2025-01-05T09:30:00+23:59"),
            ("milliseconds", "2025-01-05T09:30:00.250Z"),
            ("nanoseconds", "2025-01-05T09:30:00.123456789Z"),
            ("leap_day", "2024-02-29T12:00:00Z"),
            ("leap_day_of_2000", "2000-02-29T12:00:00Z"),
            ("year_1000", "1000-01-01T00:00:00Z"),
            ("end_of_a_31_day_month", "2024-12-31T23:59:59.999999Z"),
        ]
    ),
    *(
        edge(f"occurred_at_{label}", "visit", False, occurred_at=text)
        for label, text in [
            ("february_29_of_1900", "1900-02-29T12:00:00Z"),
            ("april_31", "2025-04-31T12:00:00Z"),
            ("month_13", "2025-13-01T12:00:00Z"),
            ("day_0", "2025-01-00T12:00:00Z"),
            ("plus_24_00", "2025-01-05T09:30:00+24:00"),
            ("leap_second", "2016-12-31T23:59:60Z"),
            ("hour_24", "2025-01-05T24:00:00Z"),
            ("fraction_without_digits", "2025-01-05T09:30:00.Z"),
            ("arabic_indic_digits", "٢٠٢٥-01-05T09:30:00Z"),
            ("iso_week_date", "2025-W01-7T09:30:00Z"),
            ("ordinal_date", "2025-005T09:30:00Z"),
            ("basic_format", "20250105T093000Z"),
            ("trailing_newline", "2025-01-05T09:30:00Z\n"),
            ("tomorrow_plus_a_second", "2025-06-02T00:00:01Z"),
            ("year_9999", "9999-12-31T23:59:59Z"),
        ]
    ),
    request("erasure", "erasure-request", True),
    request("erasure_with_a_reason", "erasure-request", True, reason="ticket DSR-9"),
    request("erasure_requested_without_a_zone", "erasure-request", False, requested_at="2025-01-05T00:00:00"),
    request("erasure_requested_in_unix_seconds", "erasure-request", False, requested_at=1736035200),
    request("override_pin_score", "override-request", True, action="pin_score", score=100),
    request("override_pin_score_0", "override-request", True, action="pin_score", score=0),
    request("override_pin_score_100_5", "override-request", False, action="pin_score", score=100.5),
    request("override_pin_score_in_a_string", "override-request", False, action="pin_score", score="80"),
    request("override_pin_tier", "override-request", True, action="pin_tier", tier="critical"),
    request("override_adjust_30", "override-request", True, action="adjust", adjustment=30),
    request("override_adjust_minus_30_5", "override-request", False, action="adjust", adjustment=-30.5),
    request("override_clear", "override-request", True, action="clear"),
    request(
        "override_expires_before_it_is_requested",
        "override-request",
        False,
        action="adjust",
        adjustment=5,
        expires_at="2025-01-04T00:00:00Z",
    ),
    request(
        "override_expires_when_it_is_requested",
        "override-request",
        False,
        action="adjust",
        adjustment=5,
        expires_at="2025-01-05T00:00:00Z",
    ),
]


@pytest.mark.parametrize("message", [*corpus_messages(), *EDGES], ids=lambda m: f"{m.source}:{m.name}")
def test_the_decoder_and_the_schema_agree_but_for_the_listed_differences(message: Message) -> None:
    worker = message.worker_says()
    assert (worker is None) is message.taken, f"the worker says {worker!r}"
    difference = message.difference()
    assert difference is None or difference in BEYOND_THE_SCHEMA, difference


def test_the_decoder_and_the_schema_agree_on_every_line_of_the_sample_file() -> None:
    messages = sample_messages()
    # The file holds 4 invalid events on purpose (one of them without a time zone): the schema must refuse them too.
    assert len([m for m in messages if m.worker_says() is not None]) == 4
    assert {m.name: m.difference() for m in messages if m.difference()} == {}


def test_every_listed_difference_is_shown_by_a_message_and_written_in_the_docs() -> None:
    shown = {message.difference() for message in [*corpus_messages(), *EDGES]} - {None}
    assert shown == set(BEYOND_THE_SCHEMA), "the table lists a difference no message shows, or misses one"
    docs = CONTRACTS_DOC.read_text()
    assert [key for key in BEYOND_THE_SCHEMA if f"`{key}`" not in docs] == []


def test_published_outputs_are_valid_under_their_schemas() -> None:
    events = [purchase("c", 0), visit("c", 1), ticket("c", 2, category="complaint"), survey("c", 3, "nps", 0)]
    result = replay(events, ScoringModel())
    assert result.updates and result.alerts
    for update in result.updates:
        assert not list(validator("score-update").iter_errors(json.loads(encode(update))))
    for alert in result.alerts:
        assert not list(validator("churn-risk-alert").iter_errors(json.loads(encode(alert))))
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
    expected = {
        **{t: f"{k}-event" for t, k in settings.input_topics().items()},
        settings.topic_scores: "score-update",
        settings.topic_alerts: "churn-risk-alert",
        settings.topic_deadletter: "dead-letter",
        settings.topic_erasures: "erasure-request",
        settings.topic_overrides: "override-request",
        settings.topic_audit: "audit-record",
    }
    for topic, channel in document["channels"].items():
        operation = channel.get("publish") or channel["subscribe"]
        name = operation["message"]["$ref"].removeprefix("#/components/messages/")
        ref = messages[name]["payload"]["$ref"]
        assert (ASYNCAPI.parent / ref).resolve() == (SCHEMA_DIR / file_name(expected[topic])).resolve(), topic
        assert "key" in operation["bindings"]["kafka"], topic
