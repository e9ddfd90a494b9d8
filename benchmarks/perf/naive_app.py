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

app = faust.App(
    os.environ.get("NAIVE_APP_ID", "naive-baseline"),
    broker=os.environ.get("NAIVE_BROKER_URL", "kafka://127.0.0.1:9092"),
    store="memory://",
    datadir=os.environ.get("NAIVE_DATADIR", ".naive-baseline"),
    topic_partitions=int(os.environ.get("NAIVE_PARTITIONS", "4")),
    # The same Tansu-friendly group timings and producer batch size as the healthscore worker.
    broker_session_timeout=2.0,
    broker_heartbeat_interval=0.5,
    producer_max_batch_size=int(os.environ.get("NAIVE_PRODUCER_MAX_BATCH_BYTES", "1")),
    consumer_auto_offset_reset="earliest",
    web_port=int(os.environ.get("NAIVE_WEB_PORT", "6067")),
    web_in_thread=False,
    autodiscover=False,
)
inputs = app.topic(*os.environ.get("NAIVE_INPUTS", "").split(","), key_type=bytes, value_type=bytes,
                   key_serializer="raw", value_serializer="raw")  # fmt: skip
output = app.topic(os.environ.get("NAIVE_OUTPUT", "naive.out"), key_type=bytes, value_type=bytes,
                   key_serializer="raw", value_serializer="raw")  # fmt: skip
customers = app.Table("naive-customers", default=dict, partitions=int(os.environ.get("NAIVE_PARTITIONS", "4")))


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
