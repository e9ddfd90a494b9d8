"""The Prometheus alert rules and the Grafana dashboard: valid, tested, and about metrics the worker exports."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import yaml
from prometheus_client.parser import text_string_to_metric_families

from streams.metrics import Metrics
from tests.docs.pages import blocks
from tests.paths import ROOT
from tests.programs import promtool
from tests.samples import busy_metrics

PROMETHEUS = ROOT / "ops" / "prometheus"
MONITORING_PAGE = ROOT / "docs" / "operations" / "monitoring.md"
DASHBOARD = ROOT / "ops" / "grafana" / "dashboards" / "healthscore.json"
DATASOURCES = ROOT / "ops" / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
# Series Prometheus itself adds to every scrape target.
SCRAPE_SERIES = {"up"}
# Words in PromQL that look like metric names but are functions, keywords or label names.
PROMQL_METRIC = re.compile(r"\b(healthscore_\w+|up)\b(?!\s*\()")


def exported_series(metrics: Metrics) -> set[str]:
    """Every sample name the worker exposes: counters with _total, histograms with _bucket/_sum/_count."""
    text = metrics.exposition().decode()
    return {sample.name for family in text_string_to_metric_families(text) for sample in family.samples}


def metric_names(promql: str) -> set[str]:
    without_labels = re.sub(r"\{[^}]*\}", "", promql)
    return set(PROMQL_METRIC.findall(without_labels))


def alert_rules() -> list[dict]:
    groups = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def run(*args: str, cwd: Path = PROMETHEUS) -> subprocess.CompletedProcess:
    return subprocess.run([promtool(), *args], cwd=cwd, capture_output=True, text=True)


def test_promtool_accepts_the_alert_rules() -> None:
    checked = run("check", "rules", "alerts.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_alerts_fire_and_stay_quiet_on_synthetic_series() -> None:
    tested = run("test", "rules", "alerts.test.yml")
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_there_are_alerts_for_a_down_worker_lag_dead_letters_skipped_batches_and_silence_each_tested() -> None:
    names = {rule["alert"] for rule in alert_rules()}
    assert names == {
        "HealthscoreWorkerDown",
        "HealthscoreLagGrowing",
        "HealthscoreDeadLetterRate",
        "HealthscoreUndecodableBatches",
        "HealthscoreNoEvents",
    }
    cases = yaml.safe_load((PROMETHEUS / "alerts.test.yml").read_text())["tests"]
    firing = {c["alertname"] for t in cases for c in t["alert_rule_test"] if c["exp_alerts"]}
    assert firing == names, f"alerts never shown to fire: {names - firing}"


def test_promtool_accepts_the_shipped_prometheus_config_as_it_is() -> None:
    # The rule file is named relative to the config, so the file compose mounts is the file checked here.
    from_the_checkout = run("check", "config", str(PROMETHEUS / "prometheus.yml"), cwd=ROOT)
    assert from_the_checkout.returncode == 0, from_the_checkout.stdout + from_the_checkout.stderr
    assert "1 rule files found" in from_the_checkout.stdout


def test_the_promtool_commands_monitoring_md_shows_pass_as_shown() -> None:
    (snippet,) = [b.text for b in blocks(MONITORING_PAGE) if b.info[:1] == ("bash",) and "promtool" in b.text]
    assert "promtool check config" in snippet and "promtool test rules" in snippet
    path = f"{Path(promtool()).parent}:{os.environ.get('PATH', '')}"
    shown = subprocess.run(
        ["bash", "-ec", snippet],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PATH": path},
    )
    assert shown.returncode == 0, shown.stdout + shown.stderr


def test_alert_rules_and_dashboard_name_only_metrics_the_worker_exports() -> None:
    exported = exported_series(busy_metrics(2)) | SCRAPE_SERIES
    queries = [rule["expr"] for rule in alert_rules()]
    queries += [t["expr"] for panel in json.loads(DASHBOARD.read_text())["panels"] for t in panel["targets"]]
    for query in queries:
        names = metric_names(query)
        assert names, f"no metric in {query!r}"
        assert names <= exported, f"{query!r} names {names - exported}, which the worker does not export"


def test_the_dashboard_shows_throughput_lag_latency_scores_alerts_and_dead_letters() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    shown = set().union(*(metric_names(t["expr"]) for p in dashboard["panels"] for t in p["targets"]))
    assert {
        "healthscore_events_total",
        "healthscore_consumer_lag_records",
        "healthscore_event_to_score_latency_seconds_bucket",
        "healthscore_score_bucket",
        "healthscore_alerts_total",
        "healthscore_dead_letters_total",
    } <= shown
    (source,) = yaml.safe_load(DATASOURCES.read_text())["datasources"]
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == source["uid"], panel["title"]
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])
