"""The Faust app both benchmark peers run in (naive_app.py, empty_agent.py), configured by NAIVE_* variables.

One definition, so the peers differ from each other only in their agent,
and from the healthscore worker only in what the benchmark compares: both
use the worker's Tansu-friendly group timings (session 2 s, heartbeat 0.5 s).
A peer runs on stock Faust's fetch loop, or with `fetch_loop="healthscore"`
on the worker's own transport (streams.worker.faust_compat.App, its fast delivery
path and fetch wait), so an agent can be compared on the loop the worker has.
"""

from __future__ import annotations

import os
from typing import Any

import faust

from streams.worker.faust_compat import App

FETCH_LOOPS = {"faust": faust.App, "healthscore": App}


def peer_app(default_id: str, default_web_port: int, fetch_loop: str = "faust", **settings: Any) -> faust.App:
    """A peer app on `fetch_loop` ("faust": stock Faust; "healthscore": the worker's streams.worker.faust_compat.App)."""
    return FETCH_LOOPS[fetch_loop](
        os.environ.get("NAIVE_APP_ID", default_id),
        broker=os.environ.get("NAIVE_BROKER_URL", "kafka://127.0.0.1:9092"),
        store="memory://",
        datadir=os.environ.get("NAIVE_DATADIR", f".{default_id}"),
        topic_partitions=int(os.environ.get("NAIVE_PARTITIONS", "4")),
        broker_session_timeout=2.0,
        broker_heartbeat_interval=0.5,
        consumer_auto_offset_reset="earliest",
        web_port=int(os.environ.get("NAIVE_WEB_PORT", str(default_web_port))),
        web_in_thread=False,
        autodiscover=False,
        **settings,
    )


def raw_topic(app: faust.App, *names: str) -> faust.TopicT:
    """Topics read and written as bytes: the peers decode (or not) for themselves."""
    return app.topic(*names, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")


def input_topics(app: faust.App) -> faust.TopicT:
    return raw_topic(app, *os.environ.get("NAIVE_INPUTS", "").split(","))
