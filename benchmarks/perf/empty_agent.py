"""Faust's input path alone: an agent that takes batches as the worker does and does nothing with them.

Its rate is the most an agent on that fetch loop reaches on these topics
with these settings, whatever it does per event: the fetch loop, the
conductor, the stream and the batching are all that run. Set beside the raw consumer (a), it says how much of the
gap to the ceiling is Faust's before healthscore does any work. With
EMPTY_FETCH_LOOP=healthscore (the default) it runs on the worker's own
transport (streams.worker.faust_compat.App), so the worker's ratio to it is the share
of the worker's own fetch loop left to scoring; with EMPTY_FETCH_LOOP=faust
it runs on stock Faust, which shows what the worker's fast loop gains.

Run by benchmarks/throughput.py as `python benchmarks/perf/empty_agent.py worker -l warn`
with NAIVE_* variables as for naive_app.py, EMPTY_BATCH_MAX / EMPTY_BATCH_SECONDS (the
worker's batch settings) and EMPTY_FETCH_LOOP. GET /count/ on its web port answers {"events": n}.
"""

from __future__ import annotations

import os

import faust
from faust_peer import input_topics, peer_app

app = peer_app("empty-agent", 6068, fetch_loop=os.environ.get("EMPTY_FETCH_LOOP", "healthscore"))
inputs = input_topics(app)
received = {"events": 0}


@app.agent(inputs)
async def take_and_drop(stream: faust.StreamT) -> None:
    batch_max = int(os.environ.get("EMPTY_BATCH_MAX", "500"))
    within = float(os.environ.get("EMPTY_BATCH_SECONDS", "0.02"))
    async for events in stream.take_events(batch_max, within=within):
        received["events"] += len(events)


@app.page("/count/")
async def count(web: faust.web.Web, request: faust.web.Request) -> faust.web.Response:
    return web.json(received)


if __name__ == "__main__":
    app.main()
