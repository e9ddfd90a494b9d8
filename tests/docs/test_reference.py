"""The reference pages against the code they describe: a setting, metric, route, command or code missing from
its page, or a row for one that does not exist, fails here rather than misleading a reader."""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import get_args

import faust.web  # noqa: F401 - loads faust.web, which the Blueprint needs
import pytest

from schemas.api import CustomerListQuery
from schemas.control import AuditRecord
from schemas.events import EVENT_MODELS
from schemas.outputs import ChurnRiskAlert, DeadLetter, DeadLetterError, ScoreUpdate
from streams.api.routes import blueprint
from streams.console.routes import blueprint as console_blueprint
from streams.metrics import Metrics
from streams.settings import Settings
from streams.tools.cli import EXIT_CODES, main
from tests.docs.pages import DOCS, quoted, section, table_rows

REFERENCE = DOCS / "reference"
SETTINGS_PAGE = REFERENCE / "settings.md"
METRICS_PAGE = REFERENCE / "metrics.md"
HTTP_PAGE = REFERENCE / "http-api.md"
CLI_PAGE = REFERENCE / "cli.md"
EVENTS_PAGE = REFERENCE / "events-and-outputs.md"
# Fields every event has; the events table lists the others per kind.
COMMON_EVENT_FIELDS = {"kind", "schema_version", "event_id", "customer_id", "occurred_at"}


def documented_settings() -> dict[str, str]:
    """HEALTHSCORE_* name -> the default its row shows."""
    rows = re.findall(r"^\| `(HEALTHSCORE_\w+)` \| `([^`]*)` \|", SETTINGS_PAGE.read_text(), re.MULTILINE)
    return dict(rows)


@pytest.mark.parametrize("field", list(Settings.model_fields))
def test_every_setting_is_documented_with_its_default(field: str) -> None:
    documented = documented_settings()
    variable = f"HEALTHSCORE_{field.upper()}"
    assert variable in documented, f"{variable} is not in docs/reference/settings.md"
    assert documented[variable] == str(Settings.model_fields[field].default)


@pytest.mark.parametrize("field", list(Settings.model_fields))
def test_every_setting_means_on_the_page_what_its_description_in_the_code_says(field: str) -> None:
    """The page's meaning, its links read as their text, is the field's description: one text, kept in two places."""
    meanings = dict(
        re.findall(r"^\| `(HEALTHSCORE_\w+)` \| `[^`]*` \| (.*) \|$", SETTINGS_PAGE.read_text(), re.MULTILINE)
    )
    meaning = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", meanings[f"HEALTHSCORE_{field.upper()}"])
    assert meaning == Settings.model_fields[field].description


def test_every_documented_setting_exists() -> None:
    real = {f"HEALTHSCORE_{field.upper()}" for field in Settings.model_fields}
    assert sorted(set(documented_settings()) - real) == []


def exported_metrics() -> dict[str, tuple[str, tuple[str, ...]]]:
    """Exposition name -> (type, label names) of every metric the worker registers."""
    out = {}
    for metric in vars(Metrics()).values():
        kind = getattr(metric, "_type", None)
        if kind is None:
            continue  # the registry itself
        name = metric._name + "_total" if kind == "counter" else metric._name
        out[name] = (kind, tuple(metric._labelnames))
    return out


def test_the_metrics_table_is_every_metric_with_its_type_and_labels() -> None:
    documented = {}
    for row in table_rows(METRICS_PAGE.read_text()):
        if row[0].startswith("`healthscore_"):
            documented[row[0].strip("`")] = (row[1], tuple(quoted(row[2])))
    assert documented == exported_metrics()


def routes() -> set[str]:
    """`METHOD /path` of every route of the API's and the console's Blueprints."""
    app = SimpleNamespace(table_route=lambda **kwargs: lambda handler: handler)
    api = SimpleNamespace(app=app, table=None, token=None)
    found = set()
    for route in [*blueprint(api).routes, *console_blueprint(api).routes]:
        for method in ("get", "post", "put", "patch", "delete"):
            if method in vars(route.handler):
                found.add(f"{method.upper()} {route.uri}")
    return found


def test_the_http_table_is_every_route() -> None:
    documented = {quoted(row[0])[0] for row in table_rows(HTTP_PAGE.read_text()) if re.match(r"`[A-Z]+ /", row[0])}
    assert documented == routes()


def test_the_list_parameters_are_the_query_model_fields() -> None:
    rows = table_rows(section(HTTP_PAGE, "`GET /customers` parameters"))
    assert [quoted(row[0])[0] for row in rows] == list(CustomerListQuery.model_fields)


@pytest.mark.parametrize("command", sorted(main.commands))
def test_every_command_and_option_is_described(command: str) -> None:
    text = section(CLI_PAGE, next(h for h in headings(CLI_PAGE.read_text()) if h.startswith(f"`healthscore {command}")))
    options = [opt for param in main.commands[command].params for opt in param.opts if opt.startswith("--")]
    assert [opt for opt in options if f"`{opt}`" not in text] == []


def headings(text: str) -> list[str]:
    return [m.group(1).strip() for m in re.finditer(r"^#{2,4} +(.*)$", text, re.MULTILINE)]


def test_no_command_is_described_that_does_not_exist() -> None:
    described = {m.group(1) for h in headings(CLI_PAGE.read_text()) if (m := re.match(r"`healthscore (\w+)", h))}
    assert described == set(main.commands)


def test_the_dead_letter_reasons_are_the_codes_the_worker_uses() -> None:
    rows = table_rows(section(EVENTS_PAGE, "Dead-letter reasons"))
    assert [quoted(row[0])[0] for row in rows] == list(get_args(DeadLetterError))


@pytest.mark.parametrize("kind", list(EVENT_MODELS))
def test_the_events_table_gives_each_kind_its_topic_and_fields(kind: str) -> None:
    rows = {quoted(row[0])[0]: row for row in table_rows(section(EVENTS_PAGE, "Events (input)")) if row[0] != ""}
    assert kind in rows, f"no row for {kind} events"
    topic, fields = quoted(rows[kind][1]), set(quoted(rows[kind][2]))
    assert topic == [Settings.model_construct().topic_for(kind)]
    assert sorted(set(EVENT_MODELS[kind].model_fields) - COMMON_EVENT_FIELDS - fields) == []


@pytest.mark.parametrize("model", [ScoreUpdate, ChurnRiskAlert, DeadLetter, AuditRecord], ids=lambda m: m.__name__)
def test_each_output_table_lists_exactly_the_fields_of_its_model(model: type) -> None:
    rows = table_rows(section(EVENTS_PAGE, model.__name__))
    documented = [name for row in rows for name in quoted(row[0])]
    assert sorted(documented) == sorted(model.model_fields)


def test_the_exit_codes_table_is_one_row_per_cause_the_command_line_maps() -> None:
    rows = [quoted(cells[0])[0] for cells in table_rows(section(CLI_PAGE, "Exit codes"))]
    causes = {str(code) for code in EXIT_CODES.values()}
    assert len(causes) == len(EXIT_CODES), "two causes share an exit code"
    # 0 done, 1 any other error, 2 usage (click), 70 a hung stop (the worker), 128 + n a signal.
    assert sorted(rows) == sorted({"0", "1", "2", "70", "128 + n"} | causes)
