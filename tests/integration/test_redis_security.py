"""Redis with a password over TLS: the worker writes there and never logs the secret; a wrong one is logged once."""

from __future__ import annotations

import re
import subprocess

import pytest
import redis
import trustme

from streams.snapshot.keys import customer_key
from streams.tools.localstack import free_port, redis_binary, stop_process, wait_for_port
from tests.factories import purchase, visit
from tests.waiting import until

PASSWORD = "correct-horse-battery"


@pytest.fixture
def secure_redis(tmp_path):
    """A redis-server that accepts only TLS connections with the password; yields (url, ca file)."""
    authority = trustme.CA()
    server = authority.issue_cert("127.0.0.1", "localhost")
    ca, cert, key = tmp_path / "ca.pem", tmp_path / "server.pem", tmp_path / "server.key"
    authority.cert_pem.write_to_path(str(ca))
    server.cert_chain_pems[0].write_to_path(str(cert))
    server.private_key_pem.write_to_path(str(key))
    port, log = free_port(), tmp_path / "redis-tls.log"
    process = subprocess.Popen(
        [
            redis_binary(),
            "--port",
            "0",
            "--tls-port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--tls-cert-file",
            str(cert),
            "--tls-key-file",
            str(key),
            "--tls-ca-cert-file",
            str(ca),
            "--tls-auth-clients",
            "no",
            "--requirepass",
            PASSWORD,
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
            "--logfile",
            str(log),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, process, log)
        yield f"rediss://:{PASSWORD}@127.0.0.1:{port}/0?ssl_ca_certs={ca}", ca, port
    finally:
        stop_process(process)


def test_the_worker_writes_snapshots_to_a_password_protected_tls_redis(deploy, secure_redis) -> None:
    url, ca, port = secure_redis
    with pytest.raises(redis.AuthenticationError):  # the server really demands the password
        redis.Redis(host="127.0.0.1", port=port, ssl=True, ssl_ca_certs=str(ca)).ping()
    run = deploy(HEALTHSCORE_INACTIVITY_TIMER="false", HEALTHSCORE_REDIS_URL=url)
    events = [purchase("tls-1", 0), visit("tls-1", 1), purchase("tls-2", 2)]
    run.publish(
        [(run.settings.topic_for(e.kind), e.customer_id.encode(), e.model_dump_json().encode()) for e in events]
    )
    run.read(run.settings.topic_scores, len(events))
    client = redis.Redis.from_url(url, decode_responses=True)
    for cid in ("tls-1", "tls-2"):
        assert until(lambda: client.exists(customer_key(run.settings.redis_prefix, cid)), timeout=15), cid  # noqa: B023
    assert "healthscore_redis_write_errors_total 0.0" in run.metrics()
    assert PASSWORD not in run.log.read_text()


def test_a_wrong_redis_password_is_logged_once_not_at_every_flush(deploy, secure_redis) -> None:
    url, _, _ = secure_redis
    wrong = url.replace(PASSWORD, "wrong-horse")
    run = deploy(HEALTHSCORE_INACTIVITY_TIMER="false", HEALTHSCORE_REDIS_URL=wrong)
    run.publish([(run.settings.topic_purchases, b"pw-1", purchase("pw-1", 0).model_dump_json().encode())])
    run.read(run.settings.topic_scores, 1)

    def errors() -> float:
        found = re.search(r"^healthscore_redis_write_errors_total (\S+)$", run.metrics(), re.MULTILINE)
        return float(found.group(1)) if found else 0.0

    # About 5 s of flushes, five a second, each one failing and counted.
    assert until(lambda: errors() >= 20, timeout=30), errors()
    lines = [line for line in run.log.read_text().splitlines() if "Redis write" in line]
    assert len(lines) == 1, lines
    assert "failed, will retry" in lines[0] and "wrong-horse" not in lines[0]
