"""A worker process that always stops: a bounded graceful shutdown, then a hard exit.

Faust's shutdown first waits until every record under way is acknowledged
(`Consumer.wait_empty`), with no bound: seen here, a worker whose batch
could not finish ignored SIGTERM for 30 to 90 s, logging
`wait_empty: Waiting for tasks`. The wait is bounded by
HEALTHSCORE_SHUTDOWN_TIMEOUT_SECONDS (streams/transport.py); and in case
anything else hangs (a producer flush to a broker that is gone), the
process exits on its own a few seconds after that bound. Nothing is lost
either way: records not committed are handled again by the next owner of
their partition, and their events are deduplicated by id.
"""

from __future__ import annotations

import logging
import os
import signal
import threading

import faust

logger = logging.getLogger(__name__)

# After the graceful bound, time left for the producer flush and the loop to close.
HARD_EXIT_GRACE_SECONDS = 10.0
HARD_EXIT_CODE = 70  # EX_SOFTWARE: the stop was not clean, though nothing was committed that was not done


class Worker(faust.Worker):
    """faust.Worker whose stop on a signal takes at most the app's shutdown timeout plus a grace period."""

    def _schedule_shutdown(self, signal: signal.Signals) -> None:
        if not self._signal_stop_time:
            bound = self.app.shutdown_timeout + HARD_EXIT_GRACE_SECONDS
            watchdog = threading.Timer(bound, _exit_now, args=(bound,))
            watchdog.daemon = True  # a clean stop ends the process without waiting for it
            watchdog.start()
        super()._schedule_shutdown(signal)


def _exit_now(bound: float) -> None:
    logger.error("shutdown took more than %.0f s: exiting now; records not committed are handled again by the "
                 "next owner of their partition", bound)  # fmt: skip
    logging.shutdown()
    os._exit(HARD_EXIT_CODE)
