"""The project's own local stack: a real broker and Redis on free loopback ports, gone afterwards.

Gone also when the command holding it is stopped by a signal: Ctrl-C, `kill`
(SIGTERM) or a closed terminal (SIGHUP).
"""

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from kafka import KafkaProducer

from streams.kafka.topics import topic_reader
from streams.tools.localstack import local_stack
from tests.paths import ROOT
from tests.signals import as_in_a_terminal
from tests.waiting import until

# Generous: stopping gives each child 10 s to go before it is killed.
EXIT_WITHIN_SECONDS = 60


def listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def stat_of(pid: int) -> list[str]:
    """/proc/PID/stat after "pid (name)": state, ppid, ... (field 22 of the file, the start time, is [19])."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def children_of(pid: int) -> dict[int, str]:
    """The processes whose parent is `pid` (Linux), by id, with their start time: an id can be reused."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := stat_of(int(entry.name))) and stat[1] == str(pid):
            found[int(entry.name)] = stat[19]
    return found


def alive(pid: int, started_at: str) -> bool:
    stat = stat_of(pid)
    return bool(stat) and stat[19] == started_at and stat[0] != "Z"


def test_the_stack_serves_kafka_and_redis_and_stops_cleanly(tmp_path) -> None:
    with local_stack(tmp_path) as stack:
        processes = dict(stack.processes)
        assert stack.broker_port != stack.redis_port
        assert redis.Redis.from_url(stack.redis_url).ping()
        producer = KafkaProducer(bootstrap_servers=stack.bootstrap)
        producer.send("smoke", key=b"k", value=b"hello").get(timeout=10)
        producer.close()
        reader = topic_reader([stack.bootstrap], ["smoke"])
        values = [r.value for batch in reader.poll(timeout_ms=5000).values() for r in batch]
        reader.close()
        assert values == [b"hello"]
    assert all(p.poll() is not None for p in processes.values())
    assert not listening(stack.broker_port) and not listening(stack.redis_port)


def run_until(args: list[str], out: Path, ready: str) -> tuple[subprocess.Popen, str]:
    """Start `healthscore ARGS`, its stdout to `out`, and wait until it printed a line matching `ready`."""
    with out.open("w") as handle:
        command = subprocess.Popen(
            [sys.executable, "-m", "streams.tools.cli", *args],
            cwd=ROOT,
            stdout=handle,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=as_in_a_terminal,
        )
    if not until(lambda: re.search(ready, out.read_text(), re.MULTILINE) or command.poll() is not None, timeout=60):
        command.kill()
        pytest.fail(f"no {ready!r} within 60 s: {out.read_text()}")
    assert command.poll() is None, command.communicate()[1]
    return command, out.read_text()


def stopped_by(command: subprocess.Popen, signum: int, started: dict[int, str], ports: list[int]) -> None:
    """Send `signum`; assert the command exits as it says and leaves no process or port behind."""
    command.send_signal(signum)
    try:
        _, err = command.communicate(timeout=EXIT_WITHIN_SECONDS)
    except subprocess.TimeoutExpired:
        command.kill()
        err = f"still running {EXIT_WITHIN_SECONDS} s after {signal.Signals(signum).name}"
    left = [pid for pid, started_at in started.items() if alive(pid, started_at)]
    for pid in left:  # a failure must not leave them running
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    assert command.returncode == 128 + signum, err
    assert f"stopped by {signal.Signals(signum).name}" in err
    assert left == []
    assert [port for port in ports if listening(port)] == []


# What docs/operations/local-stack.md's walk-through needs in the shells it starts a worker and commands in: the
# stack's address and Tansu timings, the event clock for the replay, the demo's models, a free port for the API.
WALKTHROUGH = {
    "HEALTHSCORE_BROKER_URL",
    "HEALTHSCORE_REDIS_URL",
    "HEALTHSCORE_SESSION_TIMEOUT",
    "HEALTHSCORE_HEARTBEAT_INTERVAL",
    "HEALTHSCORE_PROBE_CHANGELOG_ENDS",
    "HEALTHSCORE_CLOCK",
    "HEALTHSCORE_MODEL_PATH",
    "HEALTHSCORE_WEB_PORT",
}


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP], ids=lambda s: s.name)
def test_the_stack_command_stops_broker_and_redis_on_a_signal(signum: int, tmp_path: Path) -> None:
    command, out = run_until(
        ["stack", "--workdir", str(tmp_path / "stack")], tmp_path / "out.txt", r"^export HEALTHSCORE_WEB_PORT="
    )
    ports = [int(p) for p in re.findall(r"^export HEALTHSCORE_\w+_URL=\w+://127\.0\.0\.1:(\d+)", out, re.MULTILINE)]
    exports = dict(re.findall(r"^export (HEALTHSCORE_\w+)=(\S+)$", out, re.MULTILINE))
    assert exports.keys() == WALKTHROUGH and exports["HEALTHSCORE_CLOCK"] == "event", out
    assert exports["HEALTHSCORE_MODEL_PATH"] == str(ROOT / "models" / "segmented.toml")  # from any folder
    assert int(exports["HEALTHSCORE_WEB_PORT"]) not in ports and not listening(int(exports["HEALTHSCORE_WEB_PORT"]))
    started = children_of(command.pid)
    assert len(ports) == 2 and all(listening(port) for port in ports), out
    assert len(started) == 2  # tansu and redis-server
    stopped_by(command, signum, started, ports)


def test_the_demo_stops_broker_redis_and_worker_on_sigterm(tmp_path: Path) -> None:
    command, out = run_until(
        ["demo", "--workdir", str(tmp_path / "demo")],
        tmp_path / "out.txt",
        r"^worker started; metrics at http://127\.0\.0\.1:\d+",
    )
    ports = [int(port) for port in re.findall(r"127\.0\.0\.1:(\d+)", out)]
    assert len(ports) == 3, out  # broker, redis, the worker's web server
    assert until(lambda: listening(ports[2]), timeout=60), "the worker's web server never came up"
    started = children_of(command.pid)
    assert len(started) == 3  # tansu, redis-server, the worker
    stopped_by(command, signal.SIGTERM, started, ports)


def test_the_stack_command_fails_and_stops_the_broker_when_redis_dies(tmp_path: Path) -> None:
    command, out = run_until(
        ["stack", "--workdir", str(tmp_path / "stack")], tmp_path / "out.txt", r"^export HEALTHSCORE_REDIS_URL="
    )
    broker_port = int(re.search(r"^export HEALTHSCORE_BROKER_URL=kafka://127\.0\.0\.1:(\d+)", out, re.MULTILINE)[1])
    started = children_of(command.pid)
    (redis_pid,) = [pid for pid in started if "redis" in Path(f"/proc/{pid}/comm").read_text()]
    os.kill(redis_pid, signal.SIGKILL)
    try:
        _, err = command.communicate(timeout=EXIT_WITHIN_SECONDS)
    finally:
        if command.poll() is None:
            command.terminate()  # it stops the broker on SIGTERM
    assert command.returncode == 6  # the local stack's exit code (docs/reference/cli.md#exit-codes)
    assert f"Error: redis (exit code -9) stopped by itself; its log is in {tmp_path / 'stack'}" in err
    assert not listening(broker_port) and not any(alive(pid, at) for pid, at in started.items())
