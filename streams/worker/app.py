"""Builds a worker: the Faust app, its tables, the scoring agent, timers, the API and the console, one builder call each."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import cast

import faust
from faust.types import TP

from schemas.model_config import Model
from streams.api import routes
from streams.api.routes import Api
from streams.console import routes as console
from streams.fencing import Fence
from streams.kafka.connections import faust_credentials, kafka_options
from streams.kafka.partition_ends import true_ends
from streams.kafka.partition_offsets import PartitionOffsets
from streams.kafka.producer import OutputProducer
from streams.metrics import Metrics
from streams.settings import Settings
from streams.snapshot.reader import RedisReader
from streams.snapshot.writer import RedisSink
from streams.state.stores import StateTable, StateWriter, partition_page
from streams.state.tables import ERASURES_TABLE, STATE_TABLE, customer_table, due_schedule
from streams.worker.broker_log import BrokerLog, install, report_recovery
from streams.worker.checkpoint import Checkpoint
from streams.worker.continuity import Continuity
from streams.worker.faust_compat import (
    BROKER_UNREACHABLE,
    App,
    FaustConsumerPosition,
    FaustMembership,
    consumer_state,
    holding_back,
    memory_key_partitions,
    owned_partitions,
    prepare_aiokafka,
    tables_recovered,
)
from streams.worker.handling import Handler, ScorerConfig
from streams.worker.lag import LAG_INTERVAL_SECONDS, input_positions, sample_lag
from streams.worker.model_file import load_model
from streams.worker.outputs import RECORD_OVERHEAD_BYTES, Outputs, ProducerTopic
from streams.worker.scorer import Scorer
from streams.worker.timers import InactivityTimer

logger = logging.getLogger(__name__)

# Quiet checks of the consumer's positions, while records wait, after which the consumer's state is logged.
STALL_CHECKS = 5
# How often the worker looks whether the group confirmed it again after the broker was unreachable.
BROKER_CHECK_SECONDS = 1.0
# Of the shutdown timeout, the part the final flush of outputs and snapshots may take (records under way wait for
# half: streams/worker/faust_compat.py WAIT_EMPTY_SHARE); the rest is for closing the clients.
FINAL_FLUSH_SHARE = 0.25


@dataclass
class Service:
    """The worker's parts a runner or a test reaches: the Faust app and what it was built from."""

    app: faust.App
    scorer: Scorer
    metrics: Metrics
    redis: RedisSink
    timer: InactivityTimer


def create_app(settings: Settings, model: Model | None = None) -> Service:
    """A worker for `settings`; nothing connects until the worker starts.

    The model comes from `settings.model_path` unless given; a bad file
    raises ModelFileError here, before anything starts.
    """
    model = model or load_model(settings.model_path)
    app = faust_app(settings)
    membership = FaustMembership(app, settings.session_timeout)
    producer = OutputProducer(settings, membership)
    metrics = Metrics()
    redis = RedisSink(
        settings.redis_url,
        settings.redis_prefix,
        metrics,
        history_retention_days=settings.history_retention_days,
        fence=membership,
    )
    reader = RedisReader(settings.redis_url, settings.redis_prefix)
    offsets = PartitionOffsets(kafka_options(settings))  # the consumer's own client queues behind its fetch
    table = customer_table(app, STATE_TABLE, settings)
    scorer = build_scorer(app, settings, model, table, producer, metrics, redis, membership, offsets)
    timer = build_timer(app, settings, scorer, table)
    add_scoring_agent(app, settings, scorer)
    add_housekeeping(app, settings, scorer, metrics, redis, offsets)
    add_broker_watch(app, settings, membership, metrics)
    add_shutdown_flush(app, producer, redis, reader, offsets)
    api = Api(
        app=app,
        table=table,
        clock=scorer.now,
        reader=reader,
        metrics=metrics.exposition,
        backlog=lambda: redis.backlog,
        owned=lambda: owned_partitions(app),
        recovered=lambda: tables_recovered(app),
        broker=membership.reachable,
        fence=membership,
        model=model,
        partitions=settings.partitions,
        source_topic=settings.topic_purchases,
        token=settings.api_token,
        states=lambda partition, after, limit: partition_page(
            table, partition, after, limit, memory_key_partitions(table)
        ),
    )
    routes.register(api)
    console.register(api)  # the pages people read, on the same server and token
    return Service(app=app, scorer=scorer, metrics=metrics, redis=redis, timer=timer)


def faust_app(settings: Settings) -> faust.App:
    """The Faust app, with the broker, store and web server of `settings`."""
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
        producer_compression_type=None if settings.compression == "none" else settings.compression,
        consumer_auto_offset_reset="earliest",
        web_host=settings.web_host,
        web_bind=settings.web_host,  # Faust would otherwise listen on every interface
        web_port=settings.web_port,
        canonical_url=settings.canonical_url(),
        web_in_thread=False,
        web_tables_enabled=False,  # Faust's /table pages would read the state table with no token
        autodiscover=False,
    )
    app.fetch_max_wait_ms = settings.fetch_max_wait_ms
    app.shutdown_timeout = settings.shutdown_timeout_seconds
    app.commit_over_gaps = not settings.offset_checks
    if settings.probe_changelog_ends:
        app.end_probe = partial(true_ends, kafka_options(settings))
    return app


def outputs(producer: OutputProducer, settings: Settings) -> Outputs:
    """The four output topics, all sent through one batching producer."""
    return Outputs(
        scores=ProducerTopic(producer, settings.topic_scores),
        alerts=ProducerTopic(producer, settings.topic_alerts),
        deadletter=ProducerTopic(producer, settings.topic_deadletter),
        audit=ProducerTopic(producer, settings.topic_audit),
        producer=producer,
    )


def scorer_config(settings: Settings, producer: OutputProducer) -> ScorerConfig:
    return ScorerConfig(
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
    )


def build_scorer(
    app: faust.App,
    settings: Settings,
    model: Model,
    table: faust.Table,
    producer: OutputProducer,
    metrics: Metrics,
    redis: RedisSink,
    fence: Fence,
    offsets: PartitionOffsets,
) -> Scorer:
    """The scorer of every batch, with offset checks restarted at each assignment."""
    sent = outputs(producer, settings)
    erasures = customer_table(app, ERASURES_TABLE, settings)
    continuity = Continuity(FaustConsumerPosition(app, offsets), metrics, checks=settings.offset_checks)
    handler = Handler(
        config=scorer_config(settings, producer),
        model=model,
        table=table,
        outputs=sent,
        metrics=metrics,
        erasures=erasures,
    )
    checkpoint = Checkpoint(
        outputs=sent,
        states=StateWriter(table, producer, settings.partitions),
        redis=redis,
        erasures=erasures,
        due=due_schedule(settings, Path(app.conf.tabledir)),
        metrics=metrics,
        continuity=continuity,
    )
    scorer = Scorer(handler=handler, continuity=continuity, checkpoint=checkpoint, fence=fence)

    @app.on_partitions_assigned.connect  # type: ignore[arg-type]  # mode types handlers as (sender, *args, signal=..., **kwargs)
    async def restart_offset_checks(sender: faust.App, assigned: set[TP], **kwargs: object) -> None:
        continuity.partitions_assigned()

    return scorer


def build_timer(app: faust.App, settings: Settings, scorer: Scorer, table: faust.Table) -> InactivityTimer:
    """The inactivity timer: its schedule rebuilt after each table recovery, ticking when enabled."""
    source = settings.topic_purchases
    timer = InactivityTimer(
        scorer=scorer,
        partitions=settings.partitions,
        owned=lambda p: TP(source, p) in owned_partitions(app),
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

    return timer


def add_scoring_agent(app: faust.App, settings: Settings, scorer: Scorer) -> None:
    """The one agent: batches of input records, scored together."""
    inputs = app.topic(
        *settings.input_topics(),
        *settings.control_topics(),
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=settings.partitions,
    )
    prepare_aiokafka(inputs.topics)

    @app.agent(inputs, name="score-events")
    async def score_events(stream: faust.StreamT) -> None:
        await scorer.continuity.resume()
        async for events in cast(faust.Stream, stream).take_events(  # take_events is not on StreamT
            settings.batch_max_events, within=settings.batch_seconds
        ):
            messages = [event.message for event in events]
            try:
                await scorer.handle(messages)
            except BaseException:
                # Faust acks the batch when the agent leaves it, even by an exception: keep it uncommitted.
                scorer.continuity.hold(messages)
                raise


def add_housekeeping(
    app: faust.App, settings: Settings, scorer: Scorer, metrics: Metrics, redis: RedisSink, offsets: PartitionOffsets
) -> None:
    """Timers that flush Redis snapshots, sample lag and heal stalled partitions."""

    @app.timer(interval=settings.redis_flush_seconds, name="flush-redis")
    async def flush_redis() -> None:
        await redis.flush()

    @app.timer(interval=LAG_INTERVAL_SECONDS, name="consumer-positions")
    async def consumer_positions() -> None:
        # One read of the consumer's positions serves the lag gauge and the check for stalled tails.
        positions = await input_positions(app, [*settings.input_topics(), *settings.control_topics()])
        unscored = None if positions is None else scorer.continuity.unscored(positions)
        lag = await sample_lag(offsets, settings.input_topics(), metrics, unscored)
        if not settings.offset_checks:
            return
        if holding_back(app):  # records held back on purpose: no verdict then
            scorer.continuity.rebalancing()
            return
        await scorer.recover_tails(positions or {})
        if lag and sum(lag.values()) and scorer.continuity.quiet_checks == STALL_CHECKS:
            logger.warning(
                "%d input records wait and none arrived for %.0f s; positions %s; consumer %s",
                sum(lag.values()),
                STALL_CHECKS * LAG_INTERVAL_SECONDS,
                {f"{tp.topic}[{tp.partition}]": p for tp, p in (positions or {}).items()},
                consumer_state(app, settings.input_topics()),
            )


def add_broker_watch(app: faust.App, settings: Settings, membership: FaustMembership, metrics: Metrics) -> None:
    """The Kafka client's connection errors thinned out (streams/worker/broker_log.py), the end of an outage logged
    once, and the partitions gauge: those the worker may write for, none while it may have lost them."""
    broker_log = BrokerLog(BROKER_UNREACHABLE)
    install(broker_log)

    @app.timer(interval=BROKER_CHECK_SECONDS, name="broker-watch")
    async def broker_back() -> None:
        report_recovery(broker_log, membership.confirmed_at())

    def writable() -> int:
        if membership.lost() is not None:
            return 0
        return sum(tp.topic == settings.topic_purchases for tp in owned_partitions(app))

    metrics.partitions_owned.set_function(writable)


def add_shutdown_flush(
    app: faust.App, producer: OutputProducer, redis: RedisSink, reader: RedisReader, offsets: PartitionOffsets
) -> None:
    async def flush() -> None:
        await producer.stop()
        await redis.flush()

    @app.on_before_shutdown.connect  # type: ignore[arg-type]  # mode types handlers as (sender, *args, signal=..., **kwargs)
    async def final_flush(sender: faust.App, **kwargs: object) -> None:
        # Scores queued since the last tick would otherwise wait for the next worker.
        bound = app.shutdown_timeout * FINAL_FLUSH_SHARE
        try:
            await asyncio.wait_for(flush(), bound)
        except TimeoutError:  # the broker or Redis is gone: what was not committed is handled again
            logger.warning(
                "the final flush of outputs and snapshots did not finish within %.0f s of stopping; the next "
                "owner of the partitions sends again what was not acknowledged",
                bound,
            )
        finally:
            await redis.close()
            await reader.close()
            await offsets.close()
