"""Connection security: every Kafka client gets the same protocol, credentials and certificates."""

import ssl

import faust
import pytest
import trustme

from streams.kafka.connections import faust_credentials, kafka_options
from streams.settings import Settings


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    authority = trustme.CA()
    folder = tmp_path_factory.mktemp("ca")
    authority.cert_pem.write_to_path(str(folder / "ca.pem"))
    client = authority.issue_cert("healthscore-worker")
    client.private_key_and_cert_chain_pem.write_to_path(str(folder / "client.pem"))
    return folder


def settings(**values) -> Settings:
    return Settings.from_env({f"HEALTHSCORE_{k.upper()}": v for k, v in values.items()})


def test_plaintext_is_the_default_and_adds_nothing() -> None:
    plain = settings(broker_url="kafka://b1:9092;b2:9092")
    assert faust_credentials(plain) is None
    assert kafka_options(plain) == {"bootstrap_servers": ["b1:9092", "b2:9092"]}


def test_sasl_over_tls_gives_both_clients_user_password_mechanism_and_a_verifying_context(ca) -> None:
    secure = settings(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_sasl_username="scorer",
        kafka_sasl_password="s3cret",
        kafka_ssl_cafile=str(ca / "ca.pem"),
    )
    credentials = faust_credentials(secure)
    assert isinstance(credentials, faust.SASLCredentials)
    assert (credentials.username, credentials.password, credentials.mechanism.value) == (
        "scorer",
        "s3cret",
        "SCRAM-SHA-512",
    )
    assert credentials.protocol.value == "SASL_SSL"
    assert credentials.ssl_context.verify_mode == ssl.CERT_REQUIRED
    options = kafka_options(secure)
    assert options["security_protocol"] == "SASL_SSL" and options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (options["sasl_plain_username"], options["sasl_plain_password"]) == ("scorer", "s3cret")
    assert options["ssl_context"].verify_mode == ssl.CERT_REQUIRED


def test_sasl_without_tls_has_no_ssl_context() -> None:
    sasl = settings(kafka_security_protocol="SASL_PLAINTEXT", kafka_sasl_username="u", kafka_sasl_password="p")
    assert faust_credentials(sasl).protocol.value == "SASL_PLAINTEXT"
    assert "ssl_context" not in kafka_options(sasl)


def test_mutual_tls_loads_the_client_certificate(ca) -> None:
    mtls = settings(
        kafka_security_protocol="SSL", kafka_ssl_cafile=str(ca / "ca.pem"), kafka_ssl_certfile=str(ca / "client.pem")
    )
    assert isinstance(faust_credentials(mtls), faust.SSLCredentials)
    assert kafka_options(mtls)["security_protocol"] == "SSL"
    with pytest.raises(ssl.SSLError):  # a certificate without its key is refused at start, not at first use
        kafka_options(settings(kafka_security_protocol="SSL", kafka_ssl_certfile=str(ca / "ca.pem")))


def test_secrets_never_show_in_the_settings_repr() -> None:
    secret = settings(kafka_sasl_password="s3cret", redis_url="redis://:hunter2@cache:6379/0")
    assert "s3cret" not in repr(secret) and "hunter2" not in repr(secret)
    assert "s3cret" not in str(secret.model_dump())
