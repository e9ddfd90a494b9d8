"""The worker's Kafka consumer takes its fetch wait from the settings (Faust hard-codes 1,500 ms)."""

import asyncio

import pytest

from streams.settings import Settings
from streams.worker.app import create_app
from streams.worker.faust_compat import FAUST_FETCH_MAX_WAIT_MS


@pytest.mark.parametrize("setting", [None, "10"])
def test_the_worker_consumer_waits_at_most_the_configured_fetch_wait(setting: str | None, tmp_path) -> None:
    env = {"HEALTHSCORE_DATADIR": str(tmp_path)} | ({"HEALTHSCORE_FETCH_MAX_WAIT_MS": setting} if setting else {})

    async def built() -> int:
        app = create_app(Settings.from_env(env)).app
        # The aiokafka consumer the worker thread would start; building it connects nothing.
        consumer = app.consumer._thread._create_worker_consumer(app.transport)
        return consumer._fetch_max_wait_ms

    assert asyncio.run(built()) == (int(setting) if setting else FAUST_FETCH_MAX_WAIT_MS)
