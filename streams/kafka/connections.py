"""How every Kafka client of the project authenticates: one place, so no client is left on plaintext.

The worker (Faust, over aiokafka) and the command-line tools (kafka-python:
producer, topic creation, readers) read the same settings. Redis needs no
code here: its password and TLS go in HEALTHSCORE_REDIS_URL
(`redis://:password@host:6379/0`, `rediss://host:6380/0?ssl_ca_certs=/path/ca.pem`).
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from typing import Any, TypeVar

import faust
from kafka.errors import KafkaTimeoutError

from streams.exceptions import BrokerUnavailable
from streams.settings import Settings

Client = TypeVar("Client")


def ssl_context(settings: Settings) -> ssl.SSLContext:
    """Verifies the broker against the CA file (or the system's CAs); a client cert makes it mutual TLS."""
    context = ssl.create_default_context(cafile=str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None)
    if settings.kafka_ssl_certfile:
        keyfile = str(settings.kafka_ssl_keyfile) if settings.kafka_ssl_keyfile else None
        context.load_cert_chain(str(settings.kafka_ssl_certfile), keyfile)
    return context


def faust_credentials(settings: Settings) -> faust.types.auth.CredentialsT | None:
    """Faust's `broker_credentials` for the configured security protocol; None for plaintext."""
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return None
    if protocol == "SSL":
        return faust.SSLCredentials(ssl_context(settings))
    password = settings.kafka_sasl_password.get_secret_value() if settings.kafka_sasl_password else None
    return faust.SASLCredentials(
        username=settings.kafka_sasl_username,
        password=password,
        mechanism=settings.kafka_sasl_mechanism,
        ssl_context=ssl_context(settings) if protocol == "SASL_SSL" else None,
    )


def producer_options(settings: Settings) -> dict[str, Any]:
    """kafka_options plus how record batches are compressed; the same keywords suit aiokafka's producer."""
    compression = None if settings.compression == "none" else settings.compression
    return {**kafka_options(settings), "compression_type": compression}


def kafka_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for kafka-python's KafkaProducer, KafkaConsumer and KafkaAdminClient."""
    options: dict[str, Any] = {"bootstrap_servers": settings.bootstrap_servers()}
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return options
    options["security_protocol"] = protocol
    if protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = ssl_context(settings)
    if protocol in ("SASL_PLAINTEXT", "SASL_SSL"):
        options["sasl_mechanism"] = settings.kafka_sasl_mechanism
        options["sasl_plain_username"] = settings.kafka_sasl_username
        if settings.kafka_sasl_password:
            options["sasl_plain_password"] = settings.kafka_sasl_password.get_secret_value()
    return options


def connect(client: Callable[..., Client], settings: Settings, **options: Any) -> Client:
    """`client(**options)`, a kafka-python KafkaProducer, KafkaConsumer or KafkaAdminClient, that reached a broker.

    BrokerUnavailable, naming HEALTHSCORE_BROKER_URL, when none answers within
    HEALTHSCORE_CONNECT_TIMEOUT_SECONDS (kafka-python would wait 30 s).
    """
    try:
        return client(**options, bootstrap_timeout_ms=int(settings.connect_timeout_seconds * 1000))
    except KafkaTimeoutError as exc:
        where = f"{settings.broker_url} (HEALTHSCORE_BROKER_URL) within {settings.connect_timeout_seconds:g} s"
        raise BrokerUnavailable(f"no Kafka broker answers at {where}") from exc
