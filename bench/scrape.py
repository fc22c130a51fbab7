"""Scrape size and time of one process's /metrics with every label family filled in.

Labels: 10 municipalities x 10 services for the case gauges and event counters, every command type
x outcome, 3 consumer groups x 6 partitions of lag, a few dead-letter reasons, and samples in every
histogram. Measures the exposition text in-process and through the HTTP server over loopback.

    python bench/scrape.py [--scrapes N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import urllib.request
from collections.abc import Callable

from domain.services import Catalogue
from saksflyt.ops import metrics as m
from saksflyt.ops.health import OpsServer
from schemas.mapping import COMMAND_TYPES, EVENT_MAP

MUNICIPALITIES = ("0301", "4601", "5001", "5501", "1103", "3301", "4204", "1508", "3907", "1804")


def fill() -> None:
    services = Catalogue.default().codes()
    for service in services:
        for knr in MUNICIPALITIES:
            m.OPEN_CASES.labels(service, knr).set(17)
            m.PAST_DEADLINE.labels(service, knr).set(2)
            m.DECISION_SECONDS.labels(service, knr).observe(12.5 * m.DAY_S)
        for _, (event, _, _) in EVENT_MAP.items():
            m.EVENTS_RECORDED.labels(event, service).inc(5)
    for command in COMMAND_TYPES:
        for outcome in ("accepted", "rejected", "duplicate", "failed"):
            m.COMMANDS.labels(command, outcome).inc()
    for group in ("saksflyt-intake", "saksflyt-projections", "archive-export"):
        for partition in range(6):
            m.CONSUMER_LAG.labels(group, "saksflyt.events", str(partition)).set(3)
        for value in (0.001, 0.01, 0.2):
            m.HANDLER_SECONDS.labels(group).observe(value)
    for reason in ("UndecodableMessage", "NotACommand", "ValueError"):
        m.DEAD_LETTERS.labels("saksflyt.commands.dlq", reason).inc()
    m.RELAY_PUBLISH_SECONDS.observe(0.02)
    m.PROJECTION_STALENESS.labels("caseflow").set(1.5)


def timed(scrapes: int, scrape: Callable[[], bytes]) -> tuple[int, float, float]:
    samples, size = [], 0
    for _ in range(scrapes):
        started = time.perf_counter()
        size = len(scrape())
        samples.append(time.perf_counter() - started)
    cuts = statistics.quantiles(samples, n=100)
    return size, cuts[49] * 1000, cuts[98] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scrapes", type=int, default=300)
    args = parser.parse_args()
    fill()
    server = OpsServer(0, {}).start()
    url = f"http://127.0.0.1:{server.port}/metrics"
    size, p50, p99 = timed(args.scrapes, lambda: m.metrics_payload(None))
    http_size, h50, h99 = timed(args.scrapes, lambda: urllib.request.urlopen(url).read())
    server.close()
    series = sum(
        1 for line in m.metrics_payload(None).decode().splitlines() if line.startswith("saksflyt_")
    )
    print(f"{os.cpu_count()} cores; 10 municipalities x 10 services; {series} saksflyt series")
    print(f"exposition in-process: {size / 1024:.1f} KiB, p50 {p50:.2f} ms, p99 {p99:.2f} ms")
    print(f"HTTP scrape (loopback): {http_size / 1024:.1f} KiB, p50 {h50:.2f} ms, p99 {h99:.2f} ms")


if __name__ == "__main__":
    main()
