"""A real local broker and Redis per test session, and isolated workers per test.

Each deployment gets its own app id (consumer group), topic names and Redis
prefix, so tests never see each other's messages or group state.
"""

from __future__ import annotations

import subprocess
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from kafka import KafkaProducer

from streams.kafka.topics import ensure_topics, topic_reader
from streams.settings import Settings
from streams.tools.localstack import LocalStack, local_stack, stop_process
from tests.integration.workers import isolated_env, take
from tests.waiting import until, watch


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    # A broker that fails to start fails the session: never a skip.
    with local_stack(tmp_path_factory.mktemp("stack")) as running:
        yield running


@dataclass
class Deployment:
    stack: LocalStack
    settings: Settings
    process: subprocess.Popen
    log: Path
    env: dict[str, str]
    name: str

    def restart(self, module: str = "streams.tools.cli", **overrides: str) -> None:
        """Stop the worker (SIGTERM) and start it again with the same group and state, plus `overrides`."""
        stop_process(self.process)
        self.env = {**self.env, **overrides}
        self.settings = Settings.from_env(self.stack.env() | self.env)
        self.process = self.stack.start_worker(self.name, self.env, module)

    def publish(self, records: list[tuple[str, bytes | None, bytes]]) -> None:
        """Send (topic, key, value) records in order and wait until the broker has them."""
        producer = KafkaProducer(bootstrap_servers=self.stack.bootstrap, acks="all")
        for topic, key, value in records:
            producer.send(topic, key=key, value=value)
        producer.flush()
        producer.close()

    def read(self, topic: str, count: int, timeout: float = 60.0, settle: float = 1.0) -> list:
        """Every record on `topic` once `count` have arrived, and any that come in the `settle` seconds after
        (one too many, a duplicate): what a caller then counts is all there is."""
        consumer = topic_reader([self.stack.bootstrap], [topic])
        records: list = []

        def read_more() -> int:
            assert self.process.poll() is None, f"worker died: {self.log.read_text()[-3000:]}"
            return take(consumer, records)

        try:
            if until(lambda: read_more() >= count, timeout, interval=0):
                watch(read_more, settle, interval=0)
        finally:
            consumer.close()
        return records

    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.settings.redis_url, decode_responses=True)

    def metrics(self) -> str:
        url = f"http://127.0.0.1:{self.settings.web_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read().decode()


@pytest.fixture
def deploy(stack: LocalStack, tmp_path: Path) -> Iterator:
    """Start a worker on fresh topics: `deploy(**HEALTHSCORE_* overrides) -> Deployment`.

    `module` runs another entry point than `healthscore` (tests/integration/faulty_worker.py).
    """
    started: list[Deployment] = []

    def _deploy(module: str = "streams.tools.cli", **overrides: str) -> Deployment:
        env = isolated_env(tmp_path, "it", **overrides)
        settings = Settings.from_env(stack.env() | env)
        ensure_topics(settings)
        name = f"worker-{env['HEALTHSCORE_APP_ID'].removeprefix('it-')}"
        process = stack.start_worker(name, env, module)
        deployment = Deployment(stack, settings, process, stack.workdir / f"{name}.log", env, name)
        started.append(deployment)
        return deployment

    yield _deploy
    for deployment in started:
        stop_process(deployment.process)
