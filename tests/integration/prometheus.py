"""A real Prometheus server (Debian's `prometheus`) scraping test workers, and its HTTP query API.

Started on a free loopback port with a generated config and a temporary
TSDB, stopped by PID at the end. A missing binary fails the test, as a
broker that does not start does: `make setup` installs it.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from streams.tools.localstack import free_port, stop_process, wait_for_port
from tests.waiting import eventually, until

# Scrape often so a test sees a count within a few seconds.
SCRAPE_INTERVAL = "1s"


@dataclass
class PrometheusServer:
    port: int
    process: subprocess.Popen

    def query(self, promql: str) -> list[dict]:
        """The instant-query result vector of `promql` (`data.result`)."""
        url = f"http://127.0.0.1:{self.port}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        with urllib.request.urlopen(url, timeout=5) as response:
            body = json.load(response)
        assert body["status"] == "success", body
        return body["data"]["result"]

    def scalar(self, promql: str) -> float | None:
        """The one value of a query that yields a single series, or None while it yields none."""
        result = self.query(promql)
        assert len(result) <= 1, result
        return float(result[0]["value"][1]) if result else None

    def scalar_when(self, promql: str, expected: float, timeout: float = 60.0) -> float | None:
        """The value of `promql` once it is `expected`; after `timeout` seconds the last value seen, to report."""
        return eventually(lambda: self.scalar(promql), lambda value: value == expected, timeout, interval=0.5)


def prometheus_binary() -> str:
    found = shutil.which("prometheus")
    assert found, "prometheus is not installed; run `make setup` (Debian package `prometheus`)"
    return found


def ready(port: int, process: subprocess.Popen, log: Path) -> bool:
    """Whether /-/ready answers 200: Prometheus listens before its TSDB is open and answers queries 503 until then."""
    assert process.poll() is None, f"prometheus exited: {log.read_text()[-2000:]}"
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=5) as response:
            return response.status == 200
    except OSError:  # URLError and HTTPError (503 while starting) are both OSErrors
        return False


@contextlib.contextmanager
def prometheus_server(workdir: Path, targets: Sequence[str], job: str = "healthscore") -> Iterator[PrometheusServer]:
    """Prometheus scraping `targets` (host:port of /metrics) every second, until the block ends."""
    workdir.mkdir(parents=True, exist_ok=True)
    config = {
        "global": {"scrape_interval": SCRAPE_INTERVAL, "evaluation_interval": SCRAPE_INTERVAL},
        "scrape_configs": [{"job_name": job, "static_configs": [{"targets": list(targets)}]}],
    }
    (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    log = workdir / "prometheus.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [
                prometheus_binary(),
                f"--config.file={workdir / 'prometheus.yml'}",
                f"--storage.tsdb.path={workdir / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(port, process, log)
        assert until(lambda: ready(port, process, log), timeout=60), f"prometheus not ready: {log.read_text()[-2000:]}"
        yield PrometheusServer(port, process)
    finally:
        stop_process(process)
