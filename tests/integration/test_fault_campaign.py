"""The reduced fault campaign (``python -m chaos --reduced``) against the suite's broker (the
checker's own eyes are tested in tests/unit/test_fault_checker.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # not in make test-fast

REPO = Path(__file__).resolve().parents[2]
ROLES = {"relay#1", "intake#1", "projector#1", "notices#1", "retention#1", "api#1"}


def test_the_reduced_campaign_loses_nothing_and_doubles_nothing(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    out = tmp_path / "result.json"
    options = ["--kafka", kafka_bootstrap, "--json", str(out), "--keep", str(tmp_path / "run")]
    run = subprocess.run(
        [sys.executable, "-m", "chaos", "--reduced", "--seed", "7", *options],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
    result = json.loads(out.read_text())
    report = result["report"]
    assert all(check["passed"] for check in report["checks"]), report["checks"]
    assert (report["numbers"]["lost"], report["numbers"]["duplicated effects"]) == (0, 0)
    killed = {f["target"] for f in result["faults"] if f["kind"] == "kill -9"}
    assert killed == ROLES  # every process was killed and came back
    kinds = {f["kind"] for f in result["faults"]}
    assert {"PostgreSQL restart", "SMTP down", "consumer group churn", "poison"} <= kinds
    assert all(f["recovery_s"] is not None for f in result["faults"])
