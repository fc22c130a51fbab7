"""Prometheus config and alert rules pass promtool; dashboards only ask for metrics we expose."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

import saksflyt.ops.metrics  # noqa: F401 - registers every metric
from tests import needs

COMPOSE = Path(__file__).resolve().parents[2] / "compose"
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
    "le",
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


SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}


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
