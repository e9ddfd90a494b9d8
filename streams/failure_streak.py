"""When to log a failure that repeats on every retry: the first at once, then a count at most once per interval.

A write retried every 0.2 s against a Redis that refuses it (a wrong
password, an outage) would otherwise log five lines a second, and a Kafka
client that lost its broker about a hundred (streams/worker/broker_log.py).
Time is an argument (`now`, monotonic seconds), so the rule is tested without a clock.
"""

from __future__ import annotations

from dataclasses import dataclass

# Often enough to see that an outage goes on, rarely enough to leave room for anything else in the log.
REPORT_EVERY_SECONDS = 60.0


@dataclass(frozen=True)
class Streak:
    """A run of consecutive failures, as far as it went when reported."""

    failures: int  # since the first failure of the run
    unreported: int  # since the last report, this one included
    seconds: float  # from the first failure of the run to now

    @property
    def first(self) -> bool:
        return self.failures == 1


@dataclass
class FailureStreak:
    """Counts consecutive failures and says which of them to log; a success ends the run."""

    every: float = REPORT_EVERY_SECONDS
    _started: float | None = None
    _failures: int = 0
    _unreported: int = 0
    _reported_at: float = 0.0

    def failed(self, now: float) -> Streak | None:
        """Count one failure; the streak to log now, or None to stay quiet (reported less than `every` ago)."""
        if self._started is None:
            self._started = now
        self._failures += 1
        self._unreported += 1
        if self._failures > 1 and now - self._reported_at < self.every:
            return None
        streak = Streak(self._failures, self._unreported, now - self._started)
        self._reported_at, self._unreported = now, 0
        return streak

    @property
    def failing(self) -> bool:
        """A run of failures is going on: the last attempt failed."""
        return self._started is not None

    def succeeded(self, now: float) -> Streak | None:
        """End the run: the streak that just ended, to log once, or None if nothing was failing."""
        if self._started is None:
            return None
        streak = Streak(self._failures, self._unreported, max(0.0, now - self._started))
        self._started, self._failures, self._unreported = None, 0, 0
        return streak
