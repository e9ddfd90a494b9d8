"""`preview --live`'s reader: every partition page by page, a moving partition asked again, errors a person can act on.

A small HTTP server on loopback plays the worker's API; the real workers are
in tests/integration/test_preview_live.py.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest
from pydantic import SecretStr

import streams.tools.live_states
from scoring.state import new_state
from scoring.state_codec import encode_state
from streams.exceptions import ApiUnreachable, LiveStatesError
from streams.settings import Settings
from streams.tools.live_states import default_url, read_live_states
from streams.tools.localstack import free_port

TOKEN = "t0ken"
# Partition -> its customers in key order; the fake API pages through them like the worker does.
HELD = {0: ["a1", "a2", "a3"], 1: [], 2: ["c1"]}


class FakeApi(BaseHTTPRequestHandler):
    busy: list[str] = []  # paths answered 503 once (a partition moving)
    asked: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.asked.append(self.path)
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self.answer(401, {"error": "missing or wrong bearer token"})
        if self.path in self.busy:
            self.busy.remove(self.path)
            return self.answer(503, {"error": "partition 0 is moving between workers; retry shortly"})
        url = urlparse(self.path)
        partition = int(url.path.split("/")[2])
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        after, limit = query.get("after"), int(query["limit"])
        rest = [c for c in HELD[partition] if after is None or c > after]
        shown = rest[:limit]
        self.answer(
            200,
            {
                "partition": partition,
                "partitions": len(HELD),
                "states": [base64.b64encode(encode_state(new_state(c))).decode() for c in shown],
                "next_after": shown[-1] if len(rest) > limit else None,
                "clock": "2025-05-01T00:00:00Z",
                "model": "default@2",
                "worker": f"http://worker-{partition % 2}",
            },
        )

    def answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setattr(streams.tools.live_states, "RETRY_PAUSE_SECONDS", 0.01)
    FakeApi.busy, FakeApi.asked = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_every_partition_is_read_page_by_page_and_a_moving_one_asked_again(api: str) -> None:
    FakeApi.busy = ["/partitions/0/states?limit=2&after=a2"]
    read: list[int] = []
    live = read_live_states(api, SecretStr(TOKEN), read=read.append, page_size=2)
    assert sorted(live.states) == ["a1", "a2", "a3", "c1"]
    assert live.states["a3"] == new_state("a3")  # decoded with the state codec
    assert (live.partitions, live.models, live.workers) == (3, {"default@2"}, {"http://worker-0", "http://worker-1"})
    assert read == [2, 1, 0, 1]  # partition 0 in two pages, the empty partition 1, partition 2
    assert FakeApi.asked.count("/partitions/0/states?limit=2&after=a2") == 2


def test_a_refused_token_and_no_worker_are_one_line_errors(api: str) -> None:
    with pytest.raises(LiveStatesError, match="refused the token: give --token or HEALTHSCORE_API_TOKEN"):
        read_live_states(api, SecretStr("wrong"))
    with pytest.raises(LiveStatesError, match="refused the token"):
        read_live_states(api, None)
    nobody = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ApiUnreachable, match=f"no worker's API answers at {nobody}"):
        read_live_states(nobody, None)


def test_a_partition_that_stays_unanswerable_is_an_error_in_the_end(api: str, monkeypatch) -> None:
    monkeypatch.setattr(streams.tools.live_states, "RETRY_SECONDS", 0.05)
    FakeApi.busy = ["/partitions/0/states?limit=1000"] * 100
    with pytest.raises(LiveStatesError, match="partition 0: 503 partition 0 is moving between workers"):
        read_live_states(api, SecretStr(TOKEN))


@pytest.mark.parametrize(
    ("env", "url"),
    [
        ({}, "http://127.0.0.1:6066"),
        ({"HEALTHSCORE_WEB_HOST": "0.0.0.0", "HEALTHSCORE_WEB_PORT": "7000"}, "http://127.0.0.1:7000"),
        ({"HEALTHSCORE_WEB_HOST": "10.0.0.5"}, "http://10.0.0.5:6066"),
        ({"HEALTHSCORE_WEB_CANONICAL_URL": "http://worker-1.internal:6066"}, "http://worker-1.internal:6066"),
    ],
)
def test_the_default_url_is_where_the_worker_settings_put_the_api(env: dict[str, str], url: str) -> None:
    assert default_url(Settings.from_env(env)) == url
