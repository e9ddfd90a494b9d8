"""Each command, when what it needs does not answer, stops on one `Error:` line naming what and where, with the
exit code of that cause (docs/reference/cli.md#exit-codes), and no traceback unless asked for with -v.

Nothing is mocked: "down" is a loopback port where nothing listens, a redis-server that was started and
stopped, a PATH without redis-server. The commands run as a user runs them, in a process of their own.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from streams.exceptions import ApiUnreachable, BrokerUnavailable, LocalStackError, RedisUnavailable
from streams.tools.cli import EXIT_CODES
from streams.tools.localstack import LocalStack, free_port
from tests.paths import ROOT

BROKER_DOWN, REDIS_DOWN, NO_API, NO_STACK = (
    EXIT_CODES[BrokerUnavailable],
    EXIT_CODES[RedisUnavailable],
    EXIT_CODES[ApiUnreachable],
    EXIT_CODES[LocalStackError],
)
# Generous: the connect timeout is 5 s and a command starts in a second or two. kafka-python alone waited 30 s.
WITHIN_SECONDS = 25
MODEL = str(ROOT / "models" / "default.toml")


@dataclass
class Outcome:
    code: int
    stderr: str
    seconds: float

    def error_line(self) -> str:
        """The one line on stderr, which must start with `Error:`; no traceback, no log line besides it."""
        lines = self.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: "), self.stderr
        return lines[0]


def healthscore(*args: str, env: dict[str, str], path: str | None = None) -> Outcome:
    """`healthscore ARGS` in a process of its own, with these HEALTHSCORE_* settings and no others."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HEALTHSCORE_")}
    if path is not None:
        clean["PATH"] = path
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "streams.tools.cli", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    return Outcome(done.returncode, done.stderr, time.monotonic() - started)


@pytest.fixture
def events(tmp_path: Path) -> Path:
    path = tmp_path / "events.jsonl"
    path.write_text('{"kind": "visit", "customer_id": "c1"}\n')
    return path


@pytest.fixture
def stopped_redis(tmp_path: Path) -> int:
    """The port of a redis-server that ran and was stopped: connections to it are refused."""
    redis_only = LocalStack(workdir=tmp_path, broker_port=0, redis_port=free_port())
    redis_only.start_redis()
    redis_only.stop_redis()
    return redis_only.redis_port


BROKER_COMMANDS = {
    "produce": ["produce", "{events}"],
    "override": ["override", "c1", "--pin-score", "50", "--reason", "renewal", "--author", "lee"],
    "erase": ["erase", "c1", "--reason", "DSR-1"],
    "worker": ["worker"],
    "tail": ["tail", "scores"],
}


@pytest.mark.parametrize("command", BROKER_COMMANDS)
def test_no_broker_is_one_line_naming_its_address_and_exit_code_3(
    command: str, stack: LocalStack, events: Path
) -> None:
    broker = f"kafka://127.0.0.1:{free_port()}"
    args = [arg.format(events=events) for arg in BROKER_COMMANDS[command]]
    # Redis answers (the worker checks it first), so the broker is what is missing.
    outcome = healthscore(*args, env={"HEALTHSCORE_BROKER_URL": broker, "HEALTHSCORE_REDIS_URL": stack.redis_url})
    assert outcome.code == BROKER_DOWN, outcome.stderr
    assert outcome.error_line() == (f"Error: no Kafka broker answers at {broker} (HEALTHSCORE_BROKER_URL) within 5 s")
    assert outcome.seconds < WITHIN_SECONDS


def test_with_v_the_traceback_comes_before_the_line(events: Path) -> None:
    broker = f"kafka://127.0.0.1:{free_port()}"
    outcome = healthscore("-v", "produce", str(events), env={"HEALTHSCORE_BROKER_URL": broker})
    assert outcome.code == BROKER_DOWN
    assert "Traceback (most recent call last)" in outcome.stderr
    assert "KafkaTimeoutError" in outcome.stderr  # the client's own failure, under ours
    assert outcome.stderr.splitlines()[-1].startswith(f"Error: no Kafka broker answers at {broker}")


def test_a_worker_whose_redis_is_stopped_says_so_without_the_password(stack: LocalStack, stopped_redis: int) -> None:
    url = f"redis://:s3cret-pw@127.0.0.1:{stopped_redis}/0"
    outcome = healthscore("worker", env={"HEALTHSCORE_BROKER_URL": stack.broker_url, "HEALTHSCORE_REDIS_URL": url})
    assert outcome.code == REDIS_DOWN, outcome.stderr
    assert outcome.error_line() == (
        f"Error: Redis does not answer at 127.0.0.1:{stopped_redis} "
        "(HEALTHSCORE_REDIS_URL) within 5 s: Connection refused"
    )
    assert outcome.seconds < WITHIN_SECONDS


@pytest.mark.parametrize(
    "command", [["history", "c1"], ["preview", "--live", "--candidate", MODEL]], ids=["history", "preview-live"]
)
def test_no_worker_api_is_one_line_naming_the_url_and_exit_code_5(command: list[str]) -> None:
    port = free_port()
    outcome = healthscore(*command, env={"HEALTHSCORE_WEB_PORT": str(port)})
    assert outcome.code == NO_API, outcome.stderr
    assert outcome.error_line().startswith(f"Error: no worker's API answers at http://127.0.0.1:{port}: ")
    assert outcome.seconds < WITHIN_SECONDS


def test_history_from_a_worker_whose_redis_stopped_is_exit_code_4(deploy, tmp_path: Path) -> None:
    (tmp_path / "redis").mkdir()
    own_redis = LocalStack(workdir=tmp_path / "redis", broker_port=0, redis_port=free_port())
    own_redis.start_redis()
    try:
        run = deploy(HEALTHSCORE_REDIS_URL=own_redis.redis_url, HEALTHSCORE_INACTIVITY_TIMER="false")
        url = f"http://127.0.0.1:{run.settings.web_port}"
        ready = healthscore("history", "nobody", "--url", url, env={})
        deadline = time.monotonic() + 60
        while ready.code == NO_API and time.monotonic() < deadline:  # the worker's web server is starting
            time.sleep(0.5)
            ready = healthscore("history", "nobody", "--url", url, env={})
        assert ready.code == 1 and "404" in ready.error_line(), ready.stderr  # up, and Redis answers
    finally:
        own_redis.stop_redis()
    outcome = healthscore("history", "nobody", "--url", url, env={})
    assert outcome.code == REDIS_DOWN, outcome.stderr
    assert outcome.error_line() == (
        f"Error: the worker at {url} cannot read Redis now (503): "
        "the Redis snapshot cannot be read right now; retry shortly"
    )


@pytest.mark.parametrize("command", ["stack", "demo"])
def test_without_redis_server_the_local_stack_is_one_line_and_exit_code_6(command: str, tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    outcome = healthscore(command, "--workdir", str(tmp_path / "work"), env={}, path=str(empty))
    assert outcome.code == NO_STACK, outcome.stderr
    assert outcome.error_line() == "Error: redis-server is not installed; run `apt-get install redis-server` (Debian)"
    assert outcome.seconds < WITHIN_SECONDS


def test_a_local_stack_port_in_use_is_one_line_naming_it(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        stack = LocalStack(workdir=tmp_path, broker_port=port, redis_port=free_port())
        with pytest.raises(LocalStackError) as refused:
            stack.start_broker()
    assert str(refused.value) == f"the broker cannot listen on 127.0.0.1:{port}: Address already in use"
    assert "broker" not in stack.processes  # nothing was started
