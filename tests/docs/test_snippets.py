"""What the docs show runs: every `healthscore` command line parses, every Python block executes, every JSON
example is valid JSON and, when its fence names a model (```json ScoreUpdate), valid under that model."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import click
import pytest
from pydantic import TypeAdapter

from schemas.api import CustomerHealth, CustomerHistory, CustomerPage, CustomerSummary, StatesPage, TierCounts
from schemas.control import AuditRecord, ErasureRequest, OverrideRequest
from schemas.events import EVENT_ADAPTER
from schemas.outputs import ChurnRiskAlert, DeadLetter, ScoreUpdate
from streams.tools.cli import main
from tests.docs.pages import ROOT, Block, blocks, pages

MODELS: dict[str, TypeAdapter] = {
    "Event": EVENT_ADAPTER,
    **{
        model.__name__: TypeAdapter(model)
        for model in (
            ScoreUpdate,
            ChurnRiskAlert,
            DeadLetter,
            AuditRecord,
            OverrideRequest,
            ErasureRequest,
            CustomerPage,
            CustomerSummary,
            TierCounts,
            CustomerHealth,
            CustomerHistory,
            StatesPage,
        )
    },
}
GLOBAL_OPTIONS = {"-v", "-vv", "--verbose", "--help"}
# Example file names a command line may use without the file existing here.
PLACEHOLDER_SUFFIXES = (".jsonl", ".toml", ".json")


def all_blocks(language: str) -> list[Block]:
    return [b for page in pages() for b in blocks(page) if b.info[:1] == (language,)]


def command_lines() -> list[tuple[str, list[str]]]:
    """(where, arguments after the program) of every `healthscore` command in a shell block."""
    found = []
    for block in all_blocks("bash"):
        for line in block.text.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            words = words[: words.index("|")] if "|" in words else words  # what follows a pipe is another program
            if words and Path(words[0]).name == "healthscore":
                found.append((f"{block.where}: {line.strip()}", words[1:]))
    return found


def test_the_docs_show_commands() -> None:
    assert len(command_lines()) >= 10  # the collection below found the blocks at all


@pytest.mark.parametrize(("where", "words"), command_lines(), ids=[w for w, _ in command_lines()])
def test_every_healthscore_command_line_parses(
    where: str, words: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)  # paths in the docs are relative to the checkout
    words = list(words)
    while words and words[0].startswith("-"):
        assert words.pop(0) in GLOBAL_OPTIONS, f"{where}: unknown option before the command"
    if not words:
        return  # `healthscore --help`
    command = main.commands.get(words[0])
    assert command is not None, f"{where}: no command {words[0]!r}"
    arguments = [placeholder(word, tmp_path) for word in words[1:]]
    try:
        command.make_context(words[0], arguments, parent=click.Context(main, info_name="healthscore"))
    except click.exceptions.Exit as done:  # --help
        assert done.exit_code == 0
    except click.UsageError as exc:
        pytest.fail(f"{where}: {exc.format_message()}")


def placeholder(word: str, tmp_path: Path) -> str:
    """An example file that does not exist here (events.jsonl) becomes an empty one, so only the syntax is tested."""
    if word.startswith("-") or not word.endswith(PLACEHOLDER_SUFFIXES) or (ROOT / word).exists():
        return word
    stand_in = tmp_path / Path(word).name
    stand_in.touch()
    return str(stand_in)


@pytest.mark.parametrize("block", all_blocks("python"), ids=lambda b: b.where)
def test_every_python_block_runs(block: Block, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    exec(compile(block.text, block.where, "exec"), {"__name__": "docs_snippet"})  # noqa: S102 - our own docs


@pytest.mark.parametrize("block", all_blocks("json"), ids=lambda b: b.where)
def test_every_json_example_is_valid(block: Block) -> None:
    json.loads(block.text)
    if len(block.info) > 1:
        assert block.info[1] in MODELS, f"{block.where}: no model called {block.info[1]}"
        MODELS[block.info[1]].validate_json(block.text)
