"""The baseline peer: a naive Faust pipeline, one event at a time, one table write per event.

What a first Faust implementation looks like: decode the JSON, update a
per-customer dict of counters in a changelog-backed table, send one output
record. It scores nothing (it does far less work per event than healthscore),
so its rate is the cost of Faust's per-message path, not of scoring.

Run by benchmarks/throughput.py as `python benchmarks/perf/naive_app.py worker -l warn`
with NAIVE_* variables naming the broker, the app id, the input topics and the output topic.
"""

from __future__ import annotations

import json
import os

import faust
from faust_peer import input_topics, peer_app, raw_topic

app = peer_app(
    "naive-baseline", 6067, producer_max_batch_size=int(os.environ.get("NAIVE_PRODUCER_MAX_BATCH_BYTES", "16384"))
)
inputs = input_topics(app)
output = raw_topic(app, os.environ.get("NAIVE_OUTPUT", "naive.out"))
customers = app.Table("naive-customers", default=dict, partitions=app.conf.topic_partitions)


@app.agent(inputs)
async def count_events(stream: faust.StreamT) -> None:
    async for key, value in stream.items():
        event = json.loads(value)
        counts = dict(customers[event["customer_id"]])
        counts[event["kind"]] = counts.get(event["kind"], 0) + 1
        counts["last"] = event["occurred_at"]
        customers[event["customer_id"]] = counts  # reassigned, so the table writes its changelog
        await output.send(key=key, value=json.dumps(counts).encode())


if __name__ == "__main__":
    app.main()
