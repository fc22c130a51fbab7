"""Several worker processes: /metrics sums what each of them counted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from saksflyt.ops.metrics import metrics_payload

WORKER = """
from saksflyt.ops.metrics import COMMANDS
COMMANDS.labels("Decide", "accepted").inc(3)
"""


def test_metrics_from_several_processes_are_summed(tmp_path: Path) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for _ in range(2):
        subprocess.run([sys.executable, "-c", WORKER], env=env, check=True)
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(metrics_payload(tmp_path).decode())
        for s in family.samples
    }
    key = ("saksflyt_commands_total", (("command", "Decide"), ("outcome", "accepted")))
    assert samples[key] == 6
