"""Builds the Faust app: topics, the state table, the scoring agent, timers and web views."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import faust
from faust.types import TP
from yarl import URL

from schemas.model_config import Model
from scoring.schedule import DueQueue, Schedule
from streams.worker.scorer import RECORD_OVERHEAD_BYTES, Outputs, ProducerTopic, Scorer, ScorerConfig, hold
from streams.kafka.connections import faust_credentials
from streams.worker.faust_compat import App
from streams.worker.lag import LAG_INTERVAL_SECONDS, consumer_state, input_positions, sample_lag
from streams.metrics import Metrics
from streams.kafka.producer import OutputProducer
from streams.worker.model_file import load_model
from streams.snapshot.writer import RedisSink
from streams.worker.timers import InactivityTimer
from streams.snapshot.reader import RedisReader
from streams.settings import Settings
from streams.api import routes
from streams.api.routes import Api
from streams.state.stores import StateTable, StateWriter

logger = logging.getLogger(__name__)

STATE_TABLE = "customer-state"
# Quiet checks of the consumer's positions, while records wait, after which the consumer's state is logged.
STALL_CHECKS = 5
ERASURES_TABLE = "customer-erasures"


@dataclass
class Service:
    app: faust.App
    scorer: Scorer
    metrics: Metrics
    redis: RedisSink
    timer: InactivityTimer


@dataclass
class FaustConsumerPosition:
    """Offset continuity's view of the Faust consumer (streams/worker/offsets.py)."""

    app: faust.App

    def committed_offset(self, tp: TP) -> int | None:
        # Faust keeps the last committed offset per partition privately; it is set by the seek to
        # committed offsets after every assignment, before the partition's first record is handed out.
        return self.app.consumer._committed_offset.get(tp)

    def assignment(self) -> set[TP]:
        return set(self.app.consumer.assignment())

    async def earliest(self, tps: list[TP]) -> dict[TP, int]:
        return dict(await self.app.consumer.earliest_offsets(*tps))

    async def seek(self, tp: TP, offset: int) -> None:
        # On the consumer's own thread: Faust's seek calls aiokafka directly from the caller's thread,
        # and aiokafka is not thread-safe. Measured in CI: a seek landing while the fetcher handed out
        # records crashed the worker (KeyError in aiokafka's Fetcher.fetched_records).
        consumer = self.app.consumer
        await consumer._thread.call_thread(consumer.seek, tp, offset)


def _raw_topic(app: faust.App, *names: str, partitions: int | None = None) -> faust.TopicT:
    return app.topic(
        *names, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw", partitions=partitions
    )


def _customer_table(app: faust.App, name: str, settings: Settings) -> faust.Table:
    """A changelog-backed table keyed by customer id, partitioned like the customer's input records."""
    return app.Table(
        name,
        default=None,
        partitions=settings.partitions,
        key_type=bytes,  # bytes keys and values get the raw codec: we encode values ourselves
        value_type=bytes,
        # Writes happen at batch commit or in the timer, outside any one stream event, so the changelog
        # partition comes from the default partitioner: the murmur2 partition of the customer's records.
        use_partitioner=True,
        options=rocksdb_options(settings),
    )


def rocksdb_options(settings: Settings) -> dict[str, int]:
    """Memory bounds of each RocksDB database (one per table partition); the memory store ignores them.

    Faust's defaults allow three 64 MB memtables and a 2 GB block cache per
    database: with 4 partitions that is gigabytes a worker may grow into
    while holding a million customers. These make it
    partitions x (2 x write buffer + block cache) per table.
    """
    mb = 1024 * 1024
    return {"write_buffer_size": settings.rocksdb_write_buffer_mb * mb, "max_write_buffer_number": 2,
            "block_cache_size": settings.rocksdb_block_cache_mb * mb}  # fmt: skip


def due_schedule(settings: Settings, tabledir: Path) -> Schedule:
    """The timer's schedule: in memory beside a memory table, on disk beside a RocksDB one (bounded memory)."""
    if URL(settings.store).scheme != "rocksdb":
        return DueQueue()
    from streams.state.due_store import RocksDueQueue  # rocksdict is the optional `rocksdb` extra

    return RocksDueQueue(tabledir / "customer-due", rocksdb_options(settings))


def create_app(settings: Settings, model: Model | None = None) -> Service:
    """A worker for `settings`; nothing connects until the worker starts.

    The model comes from `settings.model_path` unless given; a bad file
    raises ModelFileError here, before anything starts.
    """
    model = model or load_model(settings.model_path)
    app = App(
        settings.app_id,
        broker=settings.broker_url,
        broker_credentials=faust_credentials(settings),
        store=settings.store,
        Table=StateTable,  # files `rocksdb://` data by key partition (streams/state/stores.py)
        datadir=str(settings.datadir),
        topic_partitions=settings.partitions,
        broker_session_timeout=settings.session_timeout,
        broker_heartbeat_interval=settings.heartbeat_interval,
        producer_max_batch_size=settings.producer_max_batch_bytes,
        consumer_auto_offset_reset="earliest",
        web_host=settings.web_host,
        web_bind=settings.web_host,  # Faust would otherwise listen on every interface
        web_port=settings.web_port,
        canonical_url=settings.canonical_url(),
        web_in_thread=False,
        autodiscover=False,
    )
    app.fetch_max_wait_ms = settings.fetch_max_wait_ms
    app.shutdown_timeout = settings.shutdown_timeout_seconds
    inputs = _raw_topic(app, *settings.input_topics(), *settings.control_topics(), partitions=settings.partitions)
    producer = OutputProducer(settings)
    outputs = Outputs(
        scores=ProducerTopic(producer, settings.topic_scores),
        alerts=ProducerTopic(producer, settings.topic_alerts),
        deadletter=ProducerTopic(producer, settings.topic_deadletter),
        audit=ProducerTopic(producer, settings.topic_audit),
        producer=producer,
    )
    table = _customer_table(app, STATE_TABLE, settings)
    erasures = _customer_table(app, ERASURES_TABLE, settings)
    metrics = Metrics()
    redis = RedisSink(settings.redis_url, settings.redis_prefix, metrics)
    reader = RedisReader(settings.redis_url, settings.redis_prefix)
    scorer = Scorer(
        table=table,
        outputs=outputs,
        model=model,
        metrics=metrics,
        redis=redis,
        config=ScorerConfig(
            kinds=settings.input_topics(),
            max_message_bytes=settings.max_message_bytes,
            max_future=timedelta(seconds=settings.max_future_seconds),
            max_age=timedelta(days=settings.max_event_age_days),
            dead_value_bytes=settings.deadletter_value_bytes,
            max_output_bytes=producer.max_request_size - RECORD_OVERHEAD_BYTES,
            clock=settings.clock,
            surveys_need_known_customer=settings.surveys_need_known_customer,
            erasure_topic=settings.topic_erasures,
            override_topic=settings.topic_overrides,
        ),
        erasures=erasures,
        consumer=FaustConsumerPosition(app) if settings.offset_checks else None,
        due=due_schedule(settings, Path(app.conf.tabledir)),
        writer=StateWriter(table, producer, settings.partitions, settings.changelog_end_markers),
    )

    @app.on_partitions_assigned.connect
    async def restart_offset_checks(sender: faust.App, assigned: set[TP], **kwargs: object) -> None:
        scorer.partitions_assigned()
    source = settings.topic_purchases
    timer = InactivityTimer(
        scorer=scorer,
        partitions=settings.partitions,
        owned=lambda p: TP(source, p) in app.assignor.assigned_actives(),
    )

    @table.on_recover
    async def schedule_recovered() -> None:
        timer.start_rebuild()  # in the background: scoring resumes at once

    if settings.inactivity_timer:

        @app.timer(interval=settings.timer_seconds, name="inactivity")
        async def inactivity() -> None:
            now = scorer.now()
            if now is not None:
                await timer.tick(now)

    @app.agent(inputs, name="score-events")
    async def score_events(stream: faust.StreamT) -> None:
        await scorer.start()
        async for events in stream.take_events(settings.batch_max_events, within=settings.batch_seconds):
            messages = [event.message for event in events]
            try:
                await scorer.handle(messages)
            except BaseException:
                # Faust acks the batch when the agent leaves it, even by an exception: keep it uncommitted.
                hold(messages)
                raise

    @app.timer(interval=settings.redis_flush_seconds, name="flush-redis")
    async def flush_redis() -> None:
        await redis.flush()

    @app.timer(interval=LAG_INTERVAL_SECONDS, name="consumer-positions")
    async def consumer_positions() -> None:
        # One read of the consumer's positions serves the lag gauge and the check for stalled tails.
        positions = await input_positions(app, [*settings.input_topics(), *settings.control_topics()])
        lag = await sample_lag(app, settings.input_topics(), metrics, None if positions is None else scorer.unscored(positions))
        if not settings.offset_checks:
            return
        # A rebalance or changelog recovery holds records back on purpose: no verdict then.
        if app.rebalancing or app.in_recovery:
            scorer.rebalancing()
            return
        await scorer.recover_tails(positions or {})
        if lag and sum(lag.values()) and scorer.progress.quiet_checks == STALL_CHECKS:
            logger.warning("%d input records wait and none arrived for %.0f s; positions %s; consumer %s",
                           sum(lag.values()), STALL_CHECKS * LAG_INTERVAL_SECONDS,
                           {f"{tp.topic}[{tp.partition}]": p for tp, p in (positions or {}).items()},
                           consumer_state(app, settings.input_topics()))  # fmt: skip

    @app.on_before_shutdown.connect
    async def final_flush(sender: faust.App, **kwargs: object) -> None:
        # Scores queued since the last tick would otherwise wait for the next worker.
        await producer.stop()
        await redis.flush()
        await redis.close()
        await reader.close()

    routes.register(Api(app=app, table=table, clock=scorer.now, reader=reader, metrics=metrics.exposition,
                        backlog=lambda: redis.backlog, model=model, partitions=settings.partitions,
                        source_topic=source, token=settings.api_token))  # fmt: skip

    return Service(app=app, scorer=scorer, metrics=metrics, redis=redis, timer=timer)
