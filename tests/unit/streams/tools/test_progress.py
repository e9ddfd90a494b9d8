"""Progress of long runs: on stderr only, a bar on a terminal, a plain line now and then elsewhere."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from click.testing import CliRunner

import streams.tools.publish
from streams.tools.cli import main
from streams.tools.progress import PLAIN_EVERY_SECONDS, PlainProgress, progress
from tests.factories import purchase, visit


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_plain_line_every_few_seconds_and_one_at_the_end() -> None:
    out, clock = io.StringIO(), Clock()
    shown = PlainProgress("publishing", 1000, out, clock=clock)
    for _ in range(10):  # 400 items in 2 s: too soon for a line
        clock.now += 0.2
        shown.advance(40)
    assert out.getvalue() == ""
    clock.now += PLAIN_EVERY_SECONDS
    shown.advance(100)
    clock.now += 1.0
    shown.advance(500)
    shown.finish()
    assert out.getvalue().splitlines() == [
        f"publishing: 500/1,000 (50%), 71/s, {2 + PLAIN_EVERY_SECONDS:.1f} s",
        f"publishing: 1,000/1,000 (100%), 125/s, {3 + PLAIN_EVERY_SECONDS:.1f} s done",
    ]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_a_live_bar_and_a_pipe_gets_text_without_control_codes(capsys) -> None:
    terminal, pipe = Terminal(), io.StringIO()
    for stream in (terminal, pipe):
        with progress("publishing", 3, stream) as advance:
            for _ in range(3):
                advance(1)
                print("the answer")  # what the command prints meanwhile stays on stdout
    assert "\x1b[" in terminal.getvalue() and "3/3" in terminal.getvalue()
    assert pipe.getvalue().startswith("publishing: 3/3 (100%)") and "\x1b" not in pipe.getvalue()
    assert capsys.readouterr().out == "the answer\n" * 6 and "the answer" not in terminal.getvalue()


def test_without_a_total_the_count_rate_and_time_are_shown() -> None:
    out, clock = io.StringIO(), Clock()
    shown = PlainProgress("customer states read", None, out, clock=clock)
    shown.advance(1000)
    clock.now += 2.0
    shown.finish()
    assert out.getvalue() == "customer states read: 1,000, 500/s, 2.0 s done\n"


class Producer:
    """kafka-python's KafkaProducer as `publish` uses it; keeps what was sent."""

    sent: list[tuple[str, bytes | None, bytes]] = []

    def __init__(self, **options: object) -> None:
        pass

    def send(self, topic: str, key: bytes | None, value: bytes) -> None:
        self.sent.append((topic, key, value))

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


@pytest.fixture
def producer(monkeypatch: pytest.MonkeyPatch) -> type[Producer]:
    monkeypatch.setattr(streams.tools.publish, "KafkaProducer", Producer)
    Producer.sent = []
    return Producer


def test_produce_shows_progress_on_stderr_and_its_answer_on_stdout_is_unchanged(producer, tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(
        "\n".join([purchase("dana", 0).model_dump_json(), visit("dana", 1).model_dump_json(), "oops"]) + "\n"
    )
    result = CliRunner().invoke(main, ["produce", str(path)])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["customer.purchases: 1", "customer.visits: 1", "published 2 events"]
    (shown,) = [line for line in result.stderr.splitlines() if line.startswith("publishing: ")]
    assert shown.startswith("publishing: 3/3 (100%)") and shown.endswith(" done")
    assert "skipped line 3: not JSON" in result.stderr
    assert len(producer.sent) == 2
