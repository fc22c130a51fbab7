"""``make chaos``: a seeded fault campaign against real processes, then the checker.

    python -m chaos [--seed N] [--reduced] [--kafka HOST:PORT] [--docs docs/reliability.md]

The full campaign starts a three-broker KRaft cluster, PostgreSQL and an SMTP server on
127.0.0.1; ``--reduced`` is the small one ``make test`` runs (one broker: ``--kafka`` shares an
existing one). The same seed schedules the same faults against the same load; the exit code is 0
only when every check passed. ``--docs`` writes the run's table into that file.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from chaos.campaign import FULL, REDUCED, Campaign, Run, write_json
from chaos.checker import Report

MARKS = ("<!-- chaos:table -->", "<!-- /chaos:table -->")


def table(run: Run, report: Report, minutes: float) -> str:
    n = report.numbers
    kinds = Counter(f.kind for f in run.faults)
    longest: dict[str, float] = {}
    for f in run.faults:
        if f.recovery_s is not None:
            longest[f.kind] = max(longest.get(f.kind, 0.0), f.recovery_s)
    sent = n.get("commands sent", {})
    dead = n.get("dead letters", {})
    lines = [
        f"Seed **{run.seed}**, {run.shape.name} campaign, {os.cpu_count()} cores, "
        f"{minutes:.1f} minutes in all (replay: `python -m chaos --seed {run.seed}`).",
        "",
        "| fault | injected | longest recovery |",
        "|---|---:|---:|",
        *(
            f"| {k} | {v} | {longest.get(k, float('nan')):.1f} s |"
            for k, v in sorted(kinds.items())
        ),
        "",
        "| measure | value |",
        "|---|---:|",
        f"| commands over Kafka (acknowledged sends) | {sent.get('kafka', 0)} |",
        f"| requests over HTTP | {sent.get('http requests', 0)} |",
        f"| HTTP requests resent by the client | {sum(sent.get('http resent', {}).values())} |",
        f"| events stored | {n.get('events stored', 0)} |",
        f"| cases | {n.get('cases', 0)} |",
        f"| **lost** | **{n.get('lost', '?')}** |",
        f"| **duplicated effects** | **{n.get('duplicated effects', '?')}** |",
        f"| receipts (one per submission) | {n.get('receipts', 0)} |",
        f"| receipt copies resent with the same Message-ID | "
        f"{n.get('receipt copies resent with the same Message-ID', 0)} |",
        f"| events delivered again on the topic (at-least-once) | "
        f"{n.get('events redelivered on the topic', 0)} |",
        f"| dead letters (commands / events) | {dead.get('commands', 0)} / {dead.get('events', 0)} |",
        f"| refusals on the rejected topic | {dead.get('refusals on the rejected topic', 0)} |",
        f"| process restarts | {sum(n.get('restarts', {}).values())} |",
        f"| longest recovery | {n.get('longest recovery s') or 0:.1f} s |",
        f"| settled after the load in | {report.settled_s} s |",
        "",
        "| check | result |",
        "|---|---|",
        *(
            f"| {c.name} | {'passed' if c.passed else 'FAILED'}: {c.detail} |"
            for c in report.checks
        ),
    ]
    if run.notes:
        lines += ["", *(f"- {note}" for note in run.notes)]
    return "\n".join(lines)


def write_docs(path: Path, text: str) -> None:
    doc = path.read_text()
    start, end = MARKS
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    path.write_text(pattern.sub(lambda _: f"{start}\n{text}\n{end}", doc))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, help="replay this campaign (default: a new seed)")
    parser.add_argument("--reduced", action="store_true", help="the small campaign of make test")
    parser.add_argument("--kafka", help="use this single broker instead of starting a cluster")
    parser.add_argument("--docs", type=Path, help="write the table into this file")
    parser.add_argument("--json", type=Path, help="write the whole result here")
    parser.add_argument("--keep", type=Path, help="keep logs and data in this folder")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop what it started, then go
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 10**6)
    shape = REDUCED if args.reduced else FULL
    begun = time.monotonic()
    print(f"{shape.name} fault campaign, seed {seed}", flush=True)
    with tempfile.TemporaryDirectory(prefix="saksflyt-chaos-") as tmp:
        folder = args.keep or Path(tmp)
        campaign = Campaign(shape, seed, folder, kafka=args.kafka)
        try:
            campaign.setup()
            print(
                f"  {len(campaign.plan.kafka)} Kafka commands, {len(campaign.plan.journeys)} "
                f"HTTP journeys; tweaks {dict(campaign.plan.tweaks)}",
                flush=True,
            )
            report = campaign.execute()
        finally:
            campaign.teardown()
        minutes = (time.monotonic() - begun) / 60
        text = table(campaign.run, report, minutes)
        print(text)
        if args.docs:
            write_docs(args.docs, text)
        if args.json:
            write_json(campaign.run, report, args.json)
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
