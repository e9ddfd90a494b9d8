"""What a worker tells its operator, with the real local broker stopped and started: an idle minute logs no warning,
a broker outage is a few log lines and a `/readyz` that names the broker, and a SIGTERM while the broker is gone
stops the worker cleanly within its shutdown timeout.

The broker tests run a stack of their own: stopping the session's broker would fail every other test.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from streams.kafka.topics import ensure_topics
from streams.settings import Settings
from streams.tools.localstack import LocalStack, local_stack, stop_process
from tests.integration.workers import isolated_env
from tests.waiting import until

IDLE_SECONDS = 60.0
OUTAGE_SECONDS = 20.0
NOTICEABLE = re.compile(r"\[(WARNING|ERROR|CRITICAL)\]")  # the levels of Faust's log format
SHUTDOWN_TIMEOUT = 10  # seconds; the stop with the broker gone takes about one


def readyz(port: int) -> dict:
    """`/readyz`'s checks; {} while the worker does not answer."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as response:
            return json.loads(response.read())["checks"]
    except urllib.error.HTTPError as refused:
        return json.loads(refused.read())["checks"]
    except OSError:
        return {}


def gauge(port: int, name: str) -> float | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            found = re.search(rf"^{name} (\S+)$", response.read().decode(), re.MULTILINE)
    except OSError:
        return None
    return float(found.group(1)) if found else None


def noticeable(log: Path, since: int = 0) -> list[str]:
    """The WARNING and ERROR lines of the worker's log after its first `since` lines."""
    return [line for line in log.read_text().splitlines()[since:] if NOTICEABLE.search(line)]


@contextmanager
def worker_on_own_stack(tmp_path: Path, **overrides: str) -> Iterator[tuple[LocalStack, subprocess.Popen, Settings]]:
    """A worker, ready, on a broker and Redis of its own."""
    with local_stack(tmp_path / "stack") as stack:
        env = isolated_env(tmp_path, "outage", **overrides)
        settings = Settings.from_env(stack.env() | env)
        ensure_topics(settings)
        worker = stack.start_worker("worker", env)
        try:
            assert until(lambda: all(readyz(settings.web_port).values() or [False]), timeout=60), readyz(
                settings.web_port
            )
            yield stack, worker, settings
        finally:
            stop_process(worker)


def test_an_idle_worker_logs_no_warning_in_a_minute(deploy) -> None:
    run = deploy()
    assert until(lambda: all(readyz(run.settings.web_port).values() or [False]), timeout=60)
    start = len(run.log.read_text().splitlines())
    assert not until(lambda: bool(noticeable(run.log, start)), timeout=IDLE_SECONDS), noticeable(run.log, start)


def test_a_broker_outage_is_a_few_log_lines_and_readyz_names_the_broker(tmp_path) -> None:
    with worker_on_own_stack(tmp_path) as (stack, worker, settings):
        port, log = settings.web_port, stack.workdir / "worker.log"
        assert gauge(port, "healthscore_partitions_owned") == settings.partitions
        start = len(log.read_text().splitlines())
        stack.stop_broker()
        assert until(lambda: readyz(port).get("broker") is False, timeout=30), readyz(port)
        down = readyz(port)
        assert down == {"partitions_assigned": False, "table_recovered": True, "broker": False, "redis": True}
        assert gauge(port, "healthscore_partitions_owned") == 0
        # The broker stays away; the worker keeps saying so and logs next to nothing meanwhile.
        assert not until(lambda: readyz(port).get("broker") is not False, timeout=OUTAGE_SECONDS)

        stack.start_broker()
        ensure_topics(settings)  # the memory broker lost them; provisioning creates them again
        assert until(lambda: all(readyz(port).values() or [False]), timeout=90), readyz(port)
        assert until(lambda: any("broker reachable again" in line for line in noticeable(log, start)), timeout=10)
        assert until(lambda: gauge(port, "healthscore_partitions_owned") == settings.partitions, timeout=10)
        lines = noticeable(log, start)
        print(f"\n{len(lines)} warning and error lines over the outage and the rejoin:", *lines, sep="\n")
        assert len(lines) <= 5, lines  # was some 100 a second
        assert sum("broker connection lost" in line for line in lines) == 1
        assert sum("broker reachable again" in line for line in lines) == 1
        assert worker.poll() is None


def test_a_worker_stopped_while_the_broker_is_gone_stops_cleanly_within_its_shutdown_timeout(tmp_path) -> None:
    with worker_on_own_stack(tmp_path, HEALTHSCORE_SHUTDOWN_TIMEOUT_SECONDS=str(SHUTDOWN_TIMEOUT)) as (
        stack,
        worker,
        settings,
    ):
        stack.stop_broker()
        assert until(lambda: readyz(settings.web_port).get("broker") is False, timeout=30)
        worker.send_signal(signal.SIGTERM)
        # The worker exits on its own when the timeout has passed (exit code 70); 0 means it stopped cleanly before.
        assert worker.wait(timeout=SHUTDOWN_TIMEOUT + 30) == 0, (stack.workdir / "worker.log").read_text()[-3000:]
