"""Prometheus config and alert rules pass promtool; dashboards only ask for metrics we expose."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client import REGISTRY

import saksflyt.ops.metrics  # noqa: F401 - registers every metric
from tests import needs

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "compose"
DASHBOARDS = sorted((COMPOSE / "grafana/provisioning/dashboards").glob("*.json"))
ALLOWED_LABELS = {
    "command",
    "outcome",
    "event",
    "service",
    "kommunenummer",
    "channel",
    "kind",  # the letters of the notices policy (4)
    "group",
    "topic",
    "partition",
    "projection",
    "reason",
    "action",
    "limit",  # address | caller: which rate limit refused (2)
    "le",
    "handler",  # the API's route templates (never a case id): about 70
    "method",
    "status",  # status classes: 2xx, 3xx, 4xx, 5xx
}


@pytest.mark.parametrize(
    ("what", "path"), [("rules", "prometheus/alerts.yml"), ("config", "prometheus/prometheus.yml")]
)
def test_promtool_accepts_the_config_and_rules(what: str, path: str) -> None:
    result = subprocess.run(
        [needs.tool("promtool"), "check", what, str(COMPOSE / path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_sum", "_count"),
    "summary": ("_sum", "_count"),
    "gauge": ("",),
}


def _our_metric_names() -> set[str]:
    """The series names our metric families expose (counters end in _total, and so on)."""
    names = set()
    for collector in list(REGISTRY._names_to_collectors.values()):
        for metric in collector.collect():
            if metric.name.startswith("saksflyt_"):
                names.update(metric.name + suffix for suffix in SUFFIXES[metric.type])
    return names


def test_every_dashboard_query_names_a_metric_we_expose() -> None:
    ours = _our_metric_names()
    assert len(DASHBOARDS) == 2
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text(encoding="utf-8"))
        exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
        assert exprs, path.name
        for expr in exprs:
            for name in re.findall(r"saksflyt_[a-z_]+", expr):
                assert name in ours, f"{path.name}: {name} is not a saksflyt metric"


def test_alert_rules_name_metrics_we_expose() -> None:
    rules = (COMPOSE / "prometheus/alerts.yml").read_text(encoding="utf-8")
    for name in re.findall(r"saksflyt_[a-z_]+", rules):
        assert name in _our_metric_names(), name


def test_metric_labels_are_the_documented_bounded_set() -> None:
    for collector in list(REGISTRY._names_to_collectors.values()):
        for metric in collector.collect():
            if metric.name.startswith("saksflyt_"):
                labels = set(getattr(collector, "_labelnames", ()))
                assert labels <= ALLOWED_LABELS, (metric.name, labels - ALLOWED_LABELS)


def test_every_alert_says_what_it_means_and_where_its_runbook_is() -> None:
    rules = yaml.safe_load((COMPOSE / "prometheus" / "alerts.yml").read_text())
    alerts = [rule for group in rules["groups"] for rule in group["rules"]]
    assert alerts
    for alert in alerts:
        notes = alert["annotations"]
        assert len(notes["description"]) > 40, alert["alert"]
        runbook = REPO / notes["runbook_url"]
        assert runbook.is_file() and alert["alert"] in runbook.read_text(), alert["alert"]


def _promtool_test(folder: Path) -> subprocess.CompletedProcess[str]:
    command = [needs.tool("promtool"), "test", "rules", str(folder / "alerts.test.yml")]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def test_promtool_unit_tests_of_the_alert_rules_pass(tmp_path: Path) -> None:
    """Each alert fires on the series that should fire it, with its annotations, and not
    before (compose/prometheus/alerts.test.yml); a broken expectation fails."""
    result = _promtool_test(COMPOSE / "prometheus")
    assert result.returncode == 0, result.stdout + result.stderr
    for name in ("alerts.yml", "alerts.test.yml"):
        text = (COMPOSE / "prometheus" / name).read_text()
        (tmp_path / name).write_text(text.replace("350 waiting", "349 waiting"))
    assert _promtool_test(tmp_path).returncode != 0
    tested = yaml.safe_load((COMPOSE / "prometheus" / "alerts.test.yml").read_text())
    names = {t["alertname"] for case in tested["tests"] for t in case["alert_rule_test"]}
    rules = yaml.safe_load((COMPOSE / "prometheus" / "alerts.yml").read_text())
    assert names == {r["alert"] for g in rules["groups"] for r in g["rules"]}  # every alert tested


def test_the_casework_dashboard_filters_by_service_and_municipality() -> None:
    board = json.loads((COMPOSE / "grafana/provisioning/dashboards/casework.json").read_text())
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert set(variables) == {"service", "kommunenummer"}
    assert all(v["includeAll"] and v["multi"] for v in variables.values())
    for panel in board["panels"]:
        for target in panel.get("targets", []):
            expr = target["expr"]
            if re.search(r"saksflyt_(open_cases|cases_past_deadline|decision_duration)", expr):
                assert "$service" in expr and "$kommunenummer" in expr, expr
