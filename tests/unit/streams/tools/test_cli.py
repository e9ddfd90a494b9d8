"""The `healthscore` command refuses bad values with one `Error:` line naming them, before it connects anywhere."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import streams.tools.publish
from schemas.control import ErasureRequest, OverrideRequest
from streams.tools.cli import main
from tests.paths import ROOT

DEFAULT_MODEL = str(ROOT / "models" / "default.toml")
SEGMENTED_MODEL = str(ROOT / "models" / "segmented.toml")
OVERRIDE = ["override", "cust-1", "--pin-score", "50"]


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ErasureRequest | OverrideRequest]]:
    """Requests the commands would publish; nothing reaches a broker."""
    requests: list = []
    monkeypatch.setattr(
        streams.tools.publish, "send_request", lambda topic, request, settings: requests.append((topic, request))
    )
    return requests


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def error_line(result: Result) -> str:
    """The one `Error:` line; fails if there is none, several, or a traceback or pydantic dump."""
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    assert "validation error" not in result.output and "Traceback" not in result.output, result.output
    assert result.output.strip().endswith(errors[0]), result.output
    return errors[0]


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["erase", "cust 1", "--reason", "ticket 42"], "'CUSTOMER_ID'"),
        (["erase", "cust-1", "--reason", ""], "'--reason'"),
        (["erase", "cust-1", "--reason", "   "], "'--reason'"),
        (["override", "cust\t1", "--pin-score", "50", "--reason", "r", "--author", "a"], "'CUSTOMER_ID'"),
        ([*OVERRIDE, "--reason", "", "--author", "lee"], "'--reason'"),
        ([*OVERRIDE, "--reason", " \t", "--author", "lee"], "'--reason'"),
        ([*OVERRIDE, "--reason", "renewal", "--author", " "], "'--author'"),
        ([*OVERRIDE, "--reason", "x" * 501, "--author", "lee"], "--reason: String should have at most 500 characters"),
        ([*OVERRIDE, "--reason", "renewal", "--author", "lee", "--days", "100000"], "'--days'"),
        (["override", "cust-1", "--reason", "renewal", "--author", "lee"], "exactly one of --pin-score"),
        (["produce", DEFAULT_MODEL, "--rate", "0"], "'--rate'"),
        (["demo", "--show", "-1"], "'--show'"),
        (["demo", "--rate", "-5"], "'--rate'"),
        (["backtest", "--cutoff", "1997-13-01"], "'--cutoff'"),
        (["backtest", "--cutoff", "1998-01-01", "--holdout-end", "1997-06-30"], "--holdout-end must be after --cutoff"),
        (["calibrate", "--label-cutoff", "1997-10-01", "--out", "m.toml"], "--cutoff must be after --label-cutoff"),
        (["calibrate", "--name", " ", "--out", "m.toml"], "'--name'"),
        (["backtest", "--model", SEGMENTED_MODEL], "--model: " + SEGMENTED_MODEL + " holds several models"),
        (
            ["calibrate", "--model", SEGMENTED_MODEL, "--out", "m.toml"],
            "--model: " + SEGMENTED_MODEL + " holds several",
        ),
        (["preview", "--candidate", DEFAULT_MODEL, "--holdout-end", "1998-01-01"], "--holdout-end needs --cutoff"),
        (["preview", "--candidate", DEFAULT_MODEL, "--cutoff", "soon"], "'--cutoff'"),
        (["worker", "--loglevel", "loud"], "'--loglevel'"),
        (["history", "cust-1", "--since", "2025/04/01", "--url", "http://127.0.0.1:1"], "--since: Input should be"),
        (
            ["history", "cust-1", "--since", "2025-04-02", "--until", "2025-04-01", "--url", "http://127.0.0.1:1"],
            "since must not be after until",
        ),
    ],
)
def test_a_bad_option_value_is_one_usage_error_naming_it_and_nothing_is_sent(args, names, sent) -> None:
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert names in error_line(result)
    assert sent == []


def test_reason_and_author_are_sent_without_surrounding_spaces(sent) -> None:
    assert run("erase", "cust-1", "--reason", "  DSR-17 ").exit_code == 0
    assert run(*OVERRIDE, "--reason", " renewal signed ", "--author", "lee@acme ").exit_code == 0
    (_, erasure), (_, override) = sent
    assert erasure.customer_id == "cust-1" and erasure.reason == "DSR-17"
    assert (override.reason, override.author, override.score) == ("renewal signed", "lee@acme", 50.0)


def test_a_bad_setting_names_the_variable_without_echoing_its_value(sent, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEALTHSCORE_PARTITIONS", "four")
    monkeypatch.setenv("HEALTHSCORE_API_TOKEN", "   ")
    result = run("erase", "cust-1", "--reason", "DSR-17")
    assert result.exit_code == 1
    line = error_line(result)
    assert "HEALTHSCORE_PARTITIONS: Input should be a valid integer" in line
    assert "HEALTHSCORE_API_TOKEN: must not be blank" in line
    assert "four" not in line and sent == []


def test_a_missing_dataset_or_one_without_a_valid_event_is_one_error_line(tmp_path: Path) -> None:
    missing = run("backtest", "--dataset", str(tmp_path / "nope.jsonl"))
    assert missing.exit_code == 1 and "--dataset: " in error_line(missing) and "nope.jsonl" in error_line(missing)
    broken = tmp_path / "broken.jsonl"
    broken.write_text("not json\n\n")
    invalid = run("backtest", "--dataset", str(broken))
    assert invalid.exit_code == 1
    assert error_line(invalid).startswith(
        f"Error: --dataset: {broken} has no valid event; 1 invalid line skipped (the first, line 1: Invalid JSON"
    )
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    required = {"backtest": [], "calibrate": ["--out", "m.toml"], "preview": ["--candidate", DEFAULT_MODEL]}
    for command, args in required.items():
        nothing = run(command, "--dataset", str(empty), *args)
        assert nothing.exit_code == 1 and error_line(nothing) == f"Error: --dataset: {empty} has no valid event"


def test_a_bad_model_file_is_one_error_line_naming_file_and_field(tmp_path: Path) -> None:
    model = tmp_path / "model.toml"
    model.write_text("weights = 3\n")
    events = tmp_path / "events.jsonl"
    events.write_text("")
    result = run("backtest", "--dataset", str(events), "--model", str(model))
    assert result.exit_code == 1
    assert error_line(result).startswith(f"Error: {model}: invalid scoring model: weights: ")


SAMPLE = str(ROOT / "data" / "sample_events.jsonl")
# The sample's deliberately invalid lines, which the worker dead-letters: a file-reading command skips them.
SAMPLE_INVALID = 4


@pytest.mark.parametrize(
    ("args", "runner"),
    [
        (
            ["backtest", "--dataset", SAMPLE, "--cutoff", "2025-02-28", "--holdout-end", "2025-04-30", "--json"],
            "streams.tools.backtest.run_backtest",
        ),
        (
            ["calibrate", "--dataset", SAMPLE, "--label-cutoff", "2025-01-31", "--cutoff", "2025-02-28"],
            "streams.tools.backtest.run_calibration",
        ),
        (["preview", "--candidate", DEFAULT_MODEL, "--dataset", SAMPLE], "streams.tools.preview.run_preview"),
    ],
    ids=["backtest", "calibrate", "preview"],
)
def test_every_command_reading_a_file_skips_invalid_lines_and_says_how_many(
    args: list[str], runner: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One reader for all three: the same valid events reach each, and each names the count on stderr."""
    from streams.tools.datasets import load_events
    from streams.worker.model_file import load_model

    received: list = []

    def run(events: list, *rest: object, **options: object) -> object:
        received.extend(events)
        return {"runner": runner} if "backtest" in args else (load_model(None), 0.5, 300)

    monkeypatch.setattr(runner, run)
    monkeypatch.setattr("streams.tools.preview.show_preview", lambda *a: None)
    out = ["--out", str(tmp_path / "m.toml")] if args[0] == "calibrate" else []
    result = CliRunner().invoke(main, [*args, *out])
    assert result.exit_code == 0, result.output
    skipped = f"{SAMPLE}: {SAMPLE_INVALID} invalid lines skipped (the first, line "
    assert result.stderr.startswith(skipped), result.stderr
    assert "as the worker would dead-letter them" in result.stderr and "Traceback" not in result.output
    lines = [line for line in Path(SAMPLE).read_bytes().splitlines() if line.strip()]
    assert received == load_events(SAMPLE).events and len(received) == len(lines) - SAMPLE_INVALID
    if args[0] == "backtest":
        assert json.loads(result.stdout)["skipped_lines"] == SAMPLE_INVALID  # --json: stdout is the JSON alone
