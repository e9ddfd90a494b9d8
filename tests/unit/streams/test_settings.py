"""Settings: read from HEALTHSCORE_* variables, checked at start-up (their docs page: tests/docs/test_reference.py)."""

import socket

import pytest
from pydantic import ValidationError

from streams.settings import Settings


def test_environment_variables_override_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEALTHSCORE_TOPIC_SCORES", "scores.v2")
    monkeypatch.setenv("HEALTHSCORE_PARTITIONS", "12")
    settings = Settings()
    assert settings.topic_scores == "scores.v2" and settings.partitions == 12


def test_bad_values_fail_at_start_up_naming_the_setting() -> None:
    with pytest.raises(ValidationError, match="clock"):
        Settings.from_env({"HEALTHSCORE_CLOCK": "sundial"})


def test_topics_map_to_their_event_kind_and_broker_urls_to_hosts() -> None:
    settings = Settings.from_env({"HEALTHSCORE_BROKER_URL": "kafka://a:9092;kafka://b:9093"})
    assert settings.input_topics()["customer.surveys"] == "survey"
    assert settings.topic_for("ticket") == "customer.tickets"
    assert settings.bootstrap_servers() == ["a:9092", "b:9093"]


def test_the_api_token_is_secret_and_never_blank() -> None:
    settings = Settings.from_env({"HEALTHSCORE_API_TOKEN": "t0ken-in-env"})
    assert settings.api_token.get_secret_value() == "t0ken-in-env"
    assert "t0ken-in-env" not in repr(settings) and "t0ken-in-env" not in str(settings.model_dump())
    with pytest.raises(ValidationError, match="must not be blank"):
        Settings.from_env({"HEALTHSCORE_API_TOKEN": "  "})


@pytest.mark.parametrize(
    ("env", "url"),
    [
        ({"HEALTHSCORE_WEB_HOST": "10.0.0.7", "HEALTHSCORE_WEB_PORT": "7000"}, "http://10.0.0.7:7000"),
        ({"HEALTHSCORE_WEB_HOST": "0.0.0.0"}, f"http://{socket.gethostname()}:6066"),
        ({"HEALTHSCORE_WEB_CANONICAL_URL": "http://worker-3.svc:6066"}, "http://worker-3.svc:6066"),
    ],
)
def test_other_workers_reach_this_one_at_its_canonical_url(env: dict[str, str], url: str) -> None:
    assert Settings.from_env(env).canonical_url() == url
