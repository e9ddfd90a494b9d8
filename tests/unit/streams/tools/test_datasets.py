"""The one reader of event files for backtest, calibrate and preview: invalid lines skipped and counted."""

from __future__ import annotations

from pathlib import Path

from streams.tools.datasets import EventLog, load_events
from tests.factories import purchase, visit

NOT_JSON = "Invalid JSON: expected ident at line 1 column 2"


def test_a_file_is_read_in_time_order_with_its_invalid_lines_skipped_and_counted(tmp_path: Path) -> None:
    late, early = visit("ann", 5), purchase("bob", 1)
    path = tmp_path / "events.jsonl"
    lines = [late.model_dump_json(), "", "not json", early.model_dump_json(), '{"kind": "refund"}', "  "]
    path.write_text("\n".join(lines) + "\n")
    log = load_events(str(path))
    assert log.events == [early, late]
    assert (log.skipped, log.first_skipped) == (2, f"line 3: {NOT_JSON}")
    assert log.skipped_note() == f"2 invalid lines skipped (the first, line 3: {NOT_JSON})"


def test_a_clean_log_says_nothing_was_skipped() -> None:
    assert EventLog([purchase("ann", 0)]).skipped_note() == ""
    one = EventLog([], skipped=1, first_skipped="line 1: why")
    assert one.skipped_note() == "1 invalid line skipped (the first, line 1: why)"
