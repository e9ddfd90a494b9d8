"""Service settings, read once at start-up from HEALTHSCORE_* variables or a .env file."""

from __future__ import annotations

import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.events import EventKind

# Bind addresses meaning "every interface": no other worker can reach this one at such an address.
WILDCARD_HOSTS = ("0.0.0.0", "::", "")


class Settings(BaseSettings):
    """Every knob of the worker, the producer and the demo.

    The defaults suit Apache Kafka; the local stack overrides the group
    timings because Tansu holds a JoinGroup for half the session timeout.
    """

    model_config = SettingsConfigDict(env_prefix="HEALTHSCORE_", env_file=".env", frozen=True, extra="ignore")

    app_id: str = Field(
        "healthscore",
        description="Faust app id: the consumer group and the prefix of the changelog topics. Workers with the same id share the partitions.",
    )
    broker_url: str = Field("kafka://127.0.0.1:9092", description="Kafka bootstrap URL(s), `kafka://host:port;...`.")
    redis_url: str = Field(
        "redis://127.0.0.1:6379/0",
        description="Redis for the latest-score snapshot; a password goes in the URL (`redis://:pw@host/0`), TLS with `rediss://`. Kept out of the settings' repr.",
        repr=False,  # it may hold a password
    )
    redis_prefix: str = Field("healthscore", description="Prefix of every Redis key written.")
    connect_timeout_seconds: float = Field(
        5.0,
        gt=0,
        description="How long a command waits for the broker or Redis to answer before it stops with one `Error:` line naming the address (exit code 3 or 4, Command line). `healthscore worker` checks both before Faust starts.",
    )
    partitions: int = Field(
        4,
        ge=1,
        description="Partitions of the input topics and of the state table. Fixed once the topics exist; see Scaling out.",
    )
    store: str = Field(
        "memory://",
        description="Faust table store: `memory://` rebuilds the tables from their changelog at every start; `rocksdb://` keeps them on local disk under `HEALTHSCORE_DATADIR` (the `rocksdb` extra).",
    )
    rocksdb_write_buffer_mb: int = Field(
        16,
        ge=1,
        description="RocksDB store: memtable size of each table partition's database; two are kept, so at most twice this is unflushed writes.",
    )
    rocksdb_block_cache_mb: int = Field(
        32,
        ge=1,
        description="RocksDB store: read cache of each table partition's database. The store may use partitions x (2 x write buffer + block cache) per table; the timer's schedule on disk has the same bounds. Faust's own defaults allow about 2.2 GB per partition.",
    )
    datadir: Path = Field(
        Path(".healthscore"), description="Where the worker keeps local table data (RocksDB databases)."
    )
    web_host: str = Field(
        "127.0.0.1",
        description="Bind address of the HTTP endpoints (the HTTP API, probes, `/metrics`); the server listens on this address only.",
    )
    web_port: int = Field(6066, ge=1, le=65535, description="Port of the HTTP endpoints.")
    web_canonical_url: str | None = Field(
        None,
        description="URL other workers reach this one's HTTP API at (a request for a customer is forwarded to the worker holding it); unset means `http://WEB_HOST:WEB_PORT`, with the machine's host name when `WEB_HOST` is `0.0.0.0`.",
    )
    api_token: SecretStr | None = Field(
        None,
        description="Bearer token the customer-data endpoints require; unset leaves them open; blank is refused. Never logged.",
    )
    clock: Literal["wall", "event"] = Field(
        "wall",
        description="`wall` scores at the current time; `event` at the customers' own event time, the timer at the event time every input partition has reached (replays, the demo, the tests). See State and time.",
    )
    max_message_bytes: int = Field(
        65536, ge=256, description="Larger input records are dead-lettered unread (`too_large`)."
    )
    max_future_seconds: float = Field(
        86400.0,
        ge=0,
        description="Events dated further ahead of the wall clock are dead-lettered (`future_timestamp`).",
    )
    max_event_age_days: float = Field(
        3650.0,
        gt=0,
        description="Events dated further back than this before they were received are dead-lettered (`too_old`); raise it to backfill older history (the CDNOW tests use 36500).",
    )
    deadletter_value_bytes: int = Field(
        65536,
        ge=0,
        le=262144,
        description="Most bytes of a bad record's value kept in its dead letter, with the whole value's length and SHA-256; at most 262144, so a dead letter always fits the producer's 1 MB request limit.",
    )
    surveys_need_known_customer: bool = Field(
        False,
        description="Dead-letter (`unknown_customer`) a survey from a customer with no other event yet. Off by default: the topics are read at their own pace, so a real customer's survey can arrive first; it is then scored as their first event.",
    )
    shutdown_timeout_seconds: float = Field(
        30.0,
        gt=0,
        description="Longest a stopping worker (SIGTERM) takes to stop, broker or Redis gone or not: up to half of it waiting for records under way, a quarter flushing outputs and snapshots; when it has passed the worker exits with code 70. Records it gave up on were not committed and are handled again by the next owner.",
    )
    model_path: Path | None = Field(
        None,
        description="Scoring-model TOML file; unset means the built-in defaults, which `models/default.toml` spells out.",
    )
    inactivity_timer: bool = Field(True, description="Re-score customers whose score time alone may have moved.")
    timer_seconds: float = Field(1.0, gt=0, description="How often the inactivity timer looks for customers due.")
    batch_max_events: int = Field(
        500,
        ge=1,
        description="Most input records scored together; their outputs are acknowledged before their states are stored.",
    )
    batch_seconds: float = Field(
        0.02, gt=0, description="Longest a record waits for its batch to fill before it is scored."
    )
    offset_checks: bool = Field(
        True,
        description="Fetch again input records the consumer skipped and never commit past them (`streams/worker/offsets.py`); turn off for input topics written by transactional producers, whose markers leave gaps in the offsets.",
    )
    redis_flush_seconds: float = Field(0.2, gt=0, description="How often pending scores are written to Redis.")
    history_retention_days: int = Field(
        400,
        ge=1,
        le=3650,
        description="How long a customer's score history stays in Redis after their newest score (1 to 3,650): every change of the last 30 days, one point per day before that. See Score history.",
    )
    producer_max_batch_bytes: int = Field(
        16384,
        ge=1,
        description="Batch size of Faust's own producer, which writes the changelog of the tables Faust writes itself (the erasure list).",
    )
    probe_changelog_ends: bool = Field(
        False,
        description="Before a table partition is restored, read the last record batch of its changelog to find where it really ends (`streams/kafka/partition_ends.py`), for brokers that report a partition's end as the first offset of its last batch + 1. The local stack's Tansu needs it; Apache Kafka does not.",
    )
    output_batch_bytes: int = Field(
        16384,
        ge=1,
        description="Batch size of the output producer (`streams/kafka/producer.py`), which sends scores, alerts, dead letters, audit records and the customer states' changelog records.",
    )
    output_max_request_bytes: int = Field(
        1048576,
        ge=65536,
        description="Largest request that producer sends; an output larger than this dead-letters its input record (`processing_error`).",
    )
    compression: Literal["none", "gzip", "snappy", "lz4", "zstd"] = Field(
        "zstd",
        description="How the project's producers compress record batches: the output producer (outputs and the state changelog), Faust's changelog producer, and `produce`, `override` and `erase`. `none`, `gzip`, `snappy`, `lz4` or `zstd`; consumers read every codec whatever this says (Running).",
    )
    fetch_max_wait_ms: int = Field(
        1500,
        ge=1,
        le=60000,
        description="Longest a consumer fetch waits for records (Faust's 1500). Lower cuts latency on brokers that answer a fetch only when the wait is over (Tansu); Apache Kafka answers as soon as records arrive.",
    )
    session_timeout: float = Field(
        10.0, gt=0, description="Consumer group session timeout, seconds (the local stack uses 2.0)."
    )
    heartbeat_interval: float = Field(
        3.0, gt=0, description="Consumer group heartbeat interval, seconds (the local stack uses 0.5)."
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT",
        description="How every Kafka client connects: `PLAINTEXT`, `SSL`, `SASL_PLAINTEXT` or `SASL_SSL` (`streams/kafka/connections.py`).",
    )
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = Field(
        "PLAIN", description="SASL mechanism with a `SASL_*` protocol: `PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512`."
    )
    kafka_sasl_username: str | None = Field(None, description="SASL user name.")
    kafka_sasl_password: SecretStr | None = Field(None, description="SASL password; never logged or printed.")
    kafka_ssl_cafile: Path | None = Field(
        None, description="CA bundle that signs the brokers' certificates; unset means the system CAs."
    )
    kafka_ssl_certfile: Path | None = Field(None, description="Client certificate, for mutual TLS.")
    kafka_ssl_keyfile: Path | None = Field(None, description="Client private key, for mutual TLS.")
    topic_purchases: str = Field("customer.purchases", description="Input topic of purchase events.")
    topic_visits: str = Field("customer.visits", description="Input topic of visit events.")
    topic_tickets: str = Field("customer.tickets", description="Input topic of ticket events.")
    topic_surveys: str = Field("customer.surveys", description="Input topic of survey events.")
    topic_profiles: str = Field("customer.profiles", description="Input topic of customer profile events.")
    topic_erasures: str = Field(
        "customer.erasures", description="Input topic of erasure requests (data protection), keyed by customer_id."
    )
    topic_overrides: str = Field(
        "healthscore.overrides", description="Input topic of manual override requests, keyed by customer_id."
    )
    topic_audit: str = Field("healthscore.audit", description="Output topic of override audit records.")
    topic_scores: str = Field(
        "healthscore.scores", description="Output topic of ScoreUpdates (and of erasure tombstones)."
    )
    topic_alerts: str = Field("healthscore.alerts", description="Output topic of ChurnRiskAlerts.")
    topic_deadletter: str = Field("healthscore.deadletter", description="Output topic of DeadLetters.")

    @field_validator("api_token")
    @classmethod
    def _token_not_blank(cls, token: SecretStr | None) -> SecretStr | None:
        # An empty variable must not open the API by accident, nor protect it with an empty token.
        if token is not None and not token.get_secret_value().strip():
            raise ValueError("must not be blank; unset HEALTHSCORE_API_TOKEN to leave the API open")
        return token

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Settings from HEALTHSCORE_* entries of `env` (not os.environ), as a child process would read them."""
        prefix = cls.model_config["env_prefix"]
        values: dict[str, Any] = {k.removeprefix(prefix).lower(): v for k, v in env.items() if k.startswith(prefix)}
        return cls(**values)

    def input_topics(self) -> dict[str, EventKind]:
        """Input topic name -> the one event kind it carries."""
        return {
            self.topic_purchases: "purchase",
            self.topic_visits: "visit",
            self.topic_tickets: "ticket",
            self.topic_surveys: "survey",
            self.topic_profiles: "profile",
        }

    def topic_for(self, kind: EventKind) -> str:
        return {kind_: topic for topic, kind_ in self.input_topics().items()}[kind]

    def control_topics(self) -> list[str]:
        """Input topics that carry requests, not events; partitioned like the events they act on."""
        return [self.topic_erasures, self.topic_overrides]

    def output_topics(self) -> list[str]:
        return [self.topic_scores, self.topic_alerts, self.topic_deadletter, self.topic_audit]

    def canonical_url(self) -> str:
        """Where other workers forward HTTP requests for the customers this worker holds."""
        if self.web_canonical_url:
            return self.web_canonical_url
        host = socket.gethostname() if self.web_host in WILDCARD_HOSTS else self.web_host
        return f"http://{host}:{self.web_port}"

    def bootstrap_servers(self) -> list[str]:
        """The broker URL as a plain host:port list, for kafka-python clients."""
        hosts = self.broker_url.split("://", 1)[-1]
        return [h.split("://", 1)[-1] for h in hosts.replace(",", ";").split(";") if h]
