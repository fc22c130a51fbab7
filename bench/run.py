"""``make bench``: every benchmark in turn, one JSON file of results, the table in the docs.

Runs each script of ``bench/`` (PostgreSQL and Kafka started by ``compose/with-services.sh``),
shows its output as it goes, and writes ``bench/results/<UTC time>.json``: the machine (cores,
RAM, Python, Kafka, PostgreSQL, library versions, commit), each script's printed lines, and the
numbers of those that write JSON. Then it prints the summary table — every stage next to its
baseline from the same run — and puts it in ``docs/benchmarks.md`` between its markers.

    python bench/run.py                 # the whole set (under 20 minutes on 2 cores)
    python bench/run.py --table FILE    # only regenerate the docs table from a results file
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import psycopg

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- bench:table -->", "<!-- /bench:table -->"

# (name, arguments, writes JSON): sizes chosen so the set stays well under 20 minutes
SCRIPTS: list[tuple[str, list[str], bool]] = [
    ("eventstore", [], True),
    ("codec", [], False),
    # ~24,000 events a round: rounds of 6,000 (under half a second) swung 0.56-0.84 by hand
    ("backbone", ["--applications", "4000", "--rounds", "5", "--samples", "200"], True),
    ("readmodels", ["--applications", "6000", "--rounds", "5"], True),  # ~36,000 events
    ("intake", ["--commands", "5000"], True),
    ("load", ["--rates", "300,500,700,900", "--seconds", "30"], True),
    ("memory", ["--memory", "100000", "--memory-rate", "800"], True),
    ("privacy", [], False),
    ("notices", [], False),
    ("noark5", ["--cases", "10000"], False),
    ("scrape", [], False),
    ("flood", ["--seconds", "20"], False),
    (
        "door",
        ["--clients", "1,8,32,64", "--seconds", "8", "--offered", "200", "--rounds", "3"],
        True,
    ),
]


def machine() -> dict[str, Any]:
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    found = re.search(r"MemTotal:\s+(\d+)", meminfo)
    facts: dict[str, Any] = {
        "cores": os.cpu_count(),
        "ram_gib": round(int(found.group(1)) / 1024**2, 1) if found else None,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "libraries": {
            name: version(name)
            for name in ("eventsourcing", "kafka-python", "fastavro", "psycopg", "pydantic")
        },
    }
    pom = (ROOT / "compose" / "kafka" / "pom.xml").read_text()
    kafka = re.search(r"<kafka.version>(.*)</kafka.version>", pom)
    facts["kafka"] = kafka.group(1) if kafka else None
    url = os.environ.get("SAKSFLYT_TEST_POSTGRES_URL")
    if url:
        with psycopg.connect(url) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            facts["postgresql"] = row[0] if row else None
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    )
    facts["commit"] = commit.stdout.strip() or None
    return facts


def run_all() -> dict[str, Any]:
    results: dict[str, Any] = {"machine": machine(), "started": datetime.now(UTC).isoformat()}
    with tempfile.TemporaryDirectory() as tmp:
        for name, arguments, writes_json in SCRIPTS:
            script = "load" if name == "memory" else name
            out = Path(tmp) / f"{name}.json"
            command = [sys.executable, str(HERE / f"{script}.py"), *arguments]
            if writes_json:
                command += ["--json", str(out)]
            print(f"\n== {name}: {' '.join(command[2:])}", flush=True)
            started = time.perf_counter()
            lines = []
            with subprocess.Popen(command, cwd=HERE, stdout=subprocess.PIPE, text=True) as proc:
                assert proc.stdout is not None
                for line in proc.stdout:
                    print(line, end="", flush=True)
                    lines.append(line.rstrip("\n"))
            if proc.returncode:
                raise SystemExit(f"bench/{script}.py failed (exit {proc.returncode})")
            results[name] = {
                "seconds": round(time.perf_counter() - started, 1),
                "printed": lines,
                **({"numbers": json.loads(out.read_text())} if writes_json else {}),
            }
    results["finished"] = datetime.now(UTC).isoformat()
    return results


def rows(results: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(stage, saksflyt, baseline in the same run, ratio) for every stage with a baseline."""
    table: list[tuple[str, str, str, str]] = []
    store = results["eventstore"]["numbers"]
    for name, label in (("sqlite", "SQLite"), ("postgres", "PostgreSQL")):
        if name in store:
            r = store[name]
            table.append(
                (
                    f"command path, one command at a time ({label})",
                    f"{r['saksflyt_events_per_s']:,.0f} ev/s",
                    f"bare eventsourcing {r['bare_events_per_s']:,.0f} ev/s",
                    f"{r['ratio']:.2f}",
                )
            )
    intake = results["intake"]["numbers"]
    bare = intake["bare"]["events_per_s"]
    for name in ("batched", "one-by-one"):
        r = intake[name]
        table.append(
            (
                f"`saksflyt intake` from Kafka, {intake['commands']:,} commands, {name} (PG)",
                f"{r['commands_per_s']:,.0f} cmd/s, {r['events_per_s']:,.0f} ev/s",
                f"bare eventsourcing per command {bare:,.0f} ev/s",
                f"{r['events_per_s'] / bare:.2f}",
            )
        )
    relay = results["backbone"]["numbers"]
    table.append(
        (
            "relay → Kafka",
            f"{relay['relay_events_per_s']:,.0f} ev/s",
            f"raw producer {relay['raw_messages_per_s']:,.0f} msg/s",
            f"{relay['ratio']:.2f}",
        )
    )
    models = results["readmodels"]["numbers"]
    for key, label in (("live_apply", "live apply"), ("rebuild", "rebuild from topic")):
        table.append(
            (
                f"read models, {label} (PG)",
                f"{models[key]:,.0f} ev/s",
                f"decode-only consumer {models['decode_only']:,.0f} ev/s",
                f"{models[key] / models['decode_only']:.2f}",
            )
        )
    door = results.get("door", {}).get("numbers", {}).get("http", {})
    for name, label in (("sqlite", "SQLite"), ("postgres", "PostgreSQL")):
        if name not in door:
            continue
        r, clients = door[name], "32"
        ours, bare = r["saksflyt"][clients], r["library+token"][clients]
        table.append(
            (
                f"HTTP commands, {clients} concurrent clients ({label})",
                f"{ours['per_s']:,.0f} cmd/s, p99 {ours['p99_ms']:,.0f} ms",
                f"bare eventsourcing + token check, same server {bare['per_s']:,.0f} cmd/s",
                f"{r['ratio_to_library_with_token'][clients]:.2f}",
            )
        )
        if "offered" in r:
            o = r["offered"]
            table.append(
                (
                    f"HTTP, {o['offered_per_s']:,.0f} cmd/s offered ({label})",
                    f"p99 {o['p99_ms']:,.0f} ms; read model shows it p99 "
                    f"{o['read_model']['p99_ms']:,.0f} ms",
                    "—",
                    "—",
                )
            )
    for row in results["load"]["numbers"]["load"]:
        steps = row["steps"]
        held = [s for s in steps if s["held"]]
        shown = held[-1] if held else steps[0]
        p99 = shown["to_read_models"].get("p99", 0) * 1000
        if held:
            outcome = f"{row['highest_rate_held']:,} cmd/s held, read-model p99 {p99:,.0f} ms"
        else:
            outcome = f"not held at {shown['rate']:,} cmd/s (read-model p99 {p99:,.0f} ms)"
        table.append(
            (
                f"end to end under offered load, {row['processes']} × intake and projector (PG)",
                outcome,
                "—",
                "—",
            )
        )
    return table


def markdown(results: dict[str, Any]) -> str:
    facts = results["machine"]
    lines = [
        f"Run of {results['started'][:16].replace('T', ' ')} UTC at commit {facts['commit']}: "
        f"{facts['cores']} cores, {facts['ram_gib']} GiB, Python {facts['python']}, "
        f"Apache Kafka {facts['kafka']}, PostgreSQL {facts.get('postgresql')} "
        "(all on the same machine, 127.0.0.1). Ratios are saksflyt over the baseline measured "
        "in the same run, interleaved: the median of each stage's rounds (3; the relay and the "
        "read models 5).",
        "",
        "| stage | saksflyt | baseline, same run | ratio |",
        "|---|---|---|---|",
        *(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows(results)),
    ]
    return "\n".join(lines)


def write_table(results: dict[str, Any]) -> None:
    text = DOC.read_text()
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    DOC.write_text(text[:start] + "\n" + markdown(results) + "\n" + text[end:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", type=Path, help="regenerate the docs table from this file")
    args = parser.parse_args()
    if args.table:
        results = json.loads(args.table.read_text())
    else:
        results = run_all()
        out = HERE / "results" / f"{results['started'][:19].replace(':', '')}.json"
        out.parent.mkdir(exist_ok=True)
        out.write_text(json.dumps(results, indent=2, default=str) + "\n")
        print(f"\nresults: {out.relative_to(ROOT)}")
    print("\n" + markdown(results))
    write_table(results)
    print(f"table written to {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
