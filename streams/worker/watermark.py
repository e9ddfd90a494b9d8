"""The event-time clock of the timer and the API: how far every input partition still being read has got.

On the event clock (replays, the demo, the tests) the timer re-scores a
silent customer at `now`, and that moves the customer's clock. Taken as the
newest event time seen, `now` let one record age every customer: the
sample's one visit dated seven weeks ahead of the stream moved it so, the
timer re-scored every customer due at that date, and a third of the events
after it were scored a week or more after they happened. Records fetched
from one partition are also handled before the next partition's, so the
newest time can run days ahead of a partition still being read.

So while records flow, `now` is the oldest of the partitions' newest event
times, as in Kafka Streams and Flink, over the partitions that delivered a
record within IDLE_SECONDS (a partition with nothing to read must not stop
the clock). Once every partition has been quiet that long, all that was sent
has been read, and `now` is the newest event time seen: a replay's last
scores are as of its end. It never goes back.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import datetime

# A partition that delivered no record for this long (real seconds) no longer holds the clock back.
IDLE_SECONDS = 5.0


@dataclass
class Watermark:
    """Per input partition, its newest event time and when it was read; `now` from those still being read."""

    idle_seconds: float = IDLE_SECONDS
    newest: dict[Hashable, datetime] = field(default_factory=dict)
    read_at: dict[Hashable, float] = field(default_factory=dict)  # monotonic seconds of each partition's last record
    low: datetime | None = None  # the clock as last given: it never goes back

    def saw(self, tp: Hashable, occurred_at: datetime, at: float) -> None:
        """A behaviour event of partition `tp`, dated `occurred_at`, was handled at monotonic time `at`."""
        newest = self.newest.get(tp)
        self.newest[tp] = occurred_at if newest is None else max(newest, occurred_at)
        self.read_at[tp] = at

    def now(self, at: float) -> datetime | None:
        """The event-time `now` at monotonic time `at`; None before any event."""
        active = [self.newest[tp] for tp, seen in self.read_at.items() if at - seen <= self.idle_seconds]
        if active:
            candidate = min(active)
        elif self.newest:
            candidate = max(self.newest.values())  # every partition quiet
        else:
            return None
        self.low = candidate if self.low is None else max(self.low, candidate)
        return self.low
