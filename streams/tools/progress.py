"""Progress of a long run, on stderr: a live bar on a terminal, a plain line every few seconds anywhere else.

On stderr so that what a command prints on stdout (its answer, which a
script may read) is the same with or without it. A log file or a CI job
gets a line now and then instead of a bar's control codes, and a last line
when the run ends.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

# Often enough to show a run is alive, rarely enough that a log of a long run stays readable.
PLAIN_EVERY_SECONDS = 5.0
# The bar redraws ten times a second anyway; counting between redraws costs an addition.
BAR_EVERY_SECONDS = 0.1

Advance = Callable[[int], None]


@dataclass
class Tally:
    """How far a run of `total` items has come, and the line that says so."""

    label: str
    total: int | None  # None: not known beforehand
    started: float
    done: int = 0

    def line(self, now: float, final: bool = False) -> str:
        elapsed = max(now - self.started, 0.0)
        rate = f"{self.done / elapsed:,.0f}/s" if elapsed > 0 else "-/s"
        count = f"{self.done:,}" if self.total is None else f"{self.done:,}/{self.total:,}"
        share = f" ({100 * self.done / self.total:.0f}%)" if self.total else ""
        return f"{self.label}: {count}{share}, {rate}, {elapsed:.1f} s{' done' if final else ''}"


class PlainProgress:
    """A line on `stream` at most every `every` seconds while items are counted, and one when the run ends."""

    def __init__(
        self,
        label: str,
        total: int | None,
        stream: TextIO,
        every: float = PLAIN_EVERY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream, self.every, self.clock = stream, every, clock
        self.tally = Tally(label, total, clock())
        self.shown_at = self.tally.started

    def advance(self, count: int) -> None:
        self.tally.done += count
        now = self.clock()
        if now - self.shown_at >= self.every:
            self.shown_at = now
            self._write(self.tally.line(now))

    def finish(self) -> None:
        self._write(self.tally.line(self.clock(), final=True))

    def _write(self, line: str) -> None:
        print(line, file=self.stream, flush=True)


@contextmanager
def progress(label: str, total: int | None, stream: TextIO | None = None) -> Iterator[Advance]:
    """Count items with the callable given (`advance(n)`); shown as a bar when `stream` (stderr) is a terminal.

    Without a `total` (not known beforehand) the count, rate and time are shown alone.
    """
    stream = stream or sys.stderr
    if not stream.isatty():
        plain = PlainProgress(label, total, stream)
        yield plain.advance
        plain.finish()
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
    )
    # rich would otherwise send what the command prints meanwhile to stderr, above the bar: stdout stays the answer.
    with Progress(*columns, console=Console(file=stream), redirect_stdout=False, redirect_stderr=False) as bar:
        task = bar.add_task(label, total=total, rate="")
        tally = Tally(label, total, time.monotonic())
        shown_at = tally.started

        def advance(count: int) -> None:
            nonlocal shown_at
            tally.done += count
            now = time.monotonic()
            if now - shown_at >= BAR_EVERY_SECONDS or tally.done == total:  # a bar update costs microseconds
                shown_at = now
                bar.update(task, completed=tally.done, rate=f"{tally.done / (now - tally.started):,.0f}/s")

        yield advance
