"""A worker that loses its broker says so once, then at most once a minute with a count, and once when it is back.

The Kafka client (aiokafka) logs every failed attempt of every part of it:
connecting to the node, refreshing metadata, fetching, finding the group
coordinator, each retried within milliseconds. Measured with the local
broker stopped under an idle worker: 4,057 lines in 40 s, mostly ERROR,
which buried everything else in the log. `BrokerLog` is a logging filter on
the client's loggers: the first connection error of an outage passes (as
one line that says what happened), the next ones are counted and one line a
minute reports the count, and the outage ends, logged once, when the group
confirms this worker again (a heartbeat accepted or a join completed:
FaustMembership.confirmed_at). Which records are connection errors is
streams/worker/faust_compat.py's `BROKER_UNREACHABLE`, the client's own
message templates. Other records, any level, pass untouched.

Time is an argument (`now`, `at`: monotonic seconds), as in
streams/failure_streak.py, whose rule this is.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection

from streams.failure_streak import REPORT_EVERY_SECONDS, FailureStreak, Streak

logger = logging.getLogger(__name__)

LOST = "broker connection lost; further connection errors are counted and logged at most once a minute: %s"
STILL = "broker unreachable for %.0f s: %d connection errors since the last report (%d in all); latest: %s"


class BrokerLog(logging.Filter):
    """Thins the Kafka client's connection errors while the broker is unreachable; records from any thread."""

    def __init__(
        self,
        unreachable: Collection[tuple[str, str]],
        every: float = REPORT_EVERY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._unreachable = unreachable  # (logger name, message template) of each connection error
        self._clock = clock
        self._streak = FailureStreak(every)
        self._last_error: float | None = None  # when the outage's latest connection error was seen
        self.level = logging.ERROR  # of the outage's first error: its end is logged at the same level
        self._lock = threading.Lock()  # the consumer logs from its own thread, the producer from the event loop's

    def filter(self, record: logging.LogRecord) -> bool:
        return self.seen(record, self._clock())

    def seen(self, record: logging.LogRecord, now: float) -> bool:
        """Whether to log `record`, seen at `now`; a report is logged in its place, with the original in it."""
        if (record.name, record.msg) not in self._unreachable:
            return True
        with self._lock:
            streak = self._streak.failed(now)
            self._last_error = now
        if streak is None:
            return False
        text = record.getMessage()
        if streak.first:
            self.level = record.levelno
            record.msg, record.args = LOST, (text,)
        else:
            record.msg, record.args = STILL, (streak.seconds, streak.unreported, streak.failures, text)
        return True

    @property
    def loggers(self) -> set[str]:
        """The names of the loggers its records come from."""
        return {name for name, _ in self._unreachable}

    def confirmed(self, at: float) -> Streak | None:
        """The group confirmed this worker at `at`: the outage this ends, to log once, or None if none is going on.

        A confirmation no later than the latest connection error ends nothing:
        it may have been sent before the broker went.
        """
        with self._lock:
            if self._last_error is None or at <= self._last_error:
                return None
            self._last_error = None
            return self._streak.succeeded(at)


def install(broker_log: BrokerLog) -> None:
    """Put `broker_log` on every logger one of its records comes from, in place of any BrokerLog there before."""
    for name in sorted(broker_log.loggers):
        client_logger = logging.getLogger(name)
        for old in [f for f in client_logger.filters if isinstance(f, BrokerLog)]:
            client_logger.removeFilter(old)
        client_logger.addFilter(broker_log)


def report_recovery(broker_log: BrokerLog, confirmed_at: float) -> None:
    """Log, once, the end of an outage that a confirmation at `confirmed_at` ended, if one did."""
    ended = broker_log.confirmed(confirmed_at)
    if ended is not None:  # at the first error's level, so whoever saw the outage sees it end
        logger.log(
            broker_log.level,
            "broker reachable again after %.0f s: %d connection errors in all",
            ended.seconds,
            ended.failures,
        )
