"""Each benchmark that ``make bench`` tabulates runs at a tiny size against the real services and
writes its numbers, and the docs table can be made from them. Nothing here times anything: the
numbers themselves belong to ``make bench``."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytestmark = pytest.mark.slow  # not in make test-fast

BENCH = Path(__file__).resolve().parents[2] / "bench"

TINY: dict[str, list[str]] = {
    "eventstore": ["--cases", "10", "--rounds", "1"],
    "backbone": ["--applications", "20", "--samples", "5", "--rounds", "1"],
    "readmodels": ["--applications", "20", "--rounds", "1"],
    "intake": ["--commands", "150", "--rounds", "1"],
    "load": [
        "--rates",
        "20",
        "--seconds",
        "3",
        "--processes",
        "1",
        "--applications",
        "20",
        "--warmup",
        "3",
    ],
}


def run_script(name: str, arguments: list[str], out: Path, services: dict[str, str]) -> Any:
    """Run one benchmark small. One that stalls is stopped with SIGABRT after 300 s, so
    ``faulthandler`` prints where each of its threads waited: the failure says where it hung."""
    script = subprocess.Popen(
        [sys.executable, str(BENCH / f"{name}.py"), *arguments, "--json", str(out)],
        cwd=BENCH,
        env={**os.environ, **services, "PYTHONFAULTHANDLER": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _, stderr = script.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        script.send_signal(signal.SIGABRT)
        _, stderr = script.communicate()
        pytest.fail(f"bench/{name}.py {' '.join(arguments)} stalled for 300 s:\n{stderr[-6000:]}")
    assert script.returncode == 0, stderr[-3000:]
    return json.loads(out.read_text())


def bench_runner() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_run", BENCH / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def services(postgres_url: str, kafka_bootstrap: str) -> dict[str, str]:
    return {"SAKSFLYT_TEST_POSTGRES_URL": postgres_url, "SAKSFLYT_TEST_KAFKA": kafka_bootstrap}


def test_the_tabulated_benchmarks_run_small_and_make_the_table(
    services: dict[str, str], tmp_path: Path
) -> None:
    results: dict[str, Any] = {
        "machine": bench_runner().machine(),
        "started": "2026-01-01T00:00:00+00:00",
    }
    for name, arguments in TINY.items():
        results[name] = {
            "numbers": run_script(name, arguments, tmp_path / f"{name}.json", services)
        }
    intake = results["intake"]["numbers"]
    assert intake["batched"]["commands_per_s"] > 0 and intake["bare"]["events_per_s"] > 0
    assert results["load"]["numbers"]["load"][0]["steps"], "the load test offered its rate"
    table = bench_runner().markdown(results)
    for stage in ("command path", "intake", "relay", "read models", "end to end"):
        assert stage in table
    assert "| ratio |" in table and results["machine"]["cores"] == os.cpu_count()
