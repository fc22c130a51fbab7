"""Open-loop load: commands offered at fixed rates, latency to the event store and to the read models.

Production's shape on one machine: ``saksflyt intake`` and ``saksflyt project`` as 1, 2 or 3
processes each (one consumer group each, six partitions), one ``saksflyt relay``; the event store
and the read models on PostgreSQL, Kafka in KRaft mode.

The offered commands are a simulated month's (all ten services, the demo's mix, those senders
put on Kafka) in arrival order, replayed in cycles with fresh case and command ids. A sender
produces command *i* at ``start + i / rate`` whatever happened before (open loop: a slow system
does not slow the offer down, so latency is measured from when each command was due). A watcher
reads the event store and the read models every 25 ms for the cases it waits on: command →
events stored, and command → read-model row at the case's new version. A rate is **held** when
the sender kept to the schedule, every accepted command became visible, and p99 to the read models
was at most 1 s. For each process count the rates go up until one is not held.

RSS of every process is sampled once a second (``--memory EVENTS``: at one rate until that many
events are stored, printing the curve).

    SAKSFLYT_TEST_KAFKA=… SAKSFLYT_TEST_POSTGRES_URL=… python bench/load.py \\
        [--rates 100,200,300,400,500,600] [--seconds 60] [--processes 1,2,3] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import psycopg

from consumers.topics import Topics, ensure_topics
from domain import commands as cmd
from domain.commands import Verdict
from saksflyt import kafka_wiring
from saksflyt.bootstrap import bootstrap, projection_store
from saksflyt.demo.simulation import simulated_commands
from saksflyt.privacy.keyring import FileKeyRing
from saksflyt.settings import Settings
from schemas.codec import AvroCodec
from schemas.kafka_layout import command_record
from schemas.mapping import COMMAND_NAMES, command_to_record

CODEC = AvroCodec()
POLL_S = 0.025
P99_LIMIT_S = 1.0
DRAIN_S = 30.0


@dataclass(frozen=True)
class Step:
    command: cmd.Command
    version: int | None  # the case's version once it is applied; None: refused


class Workload:
    """A simulated month's Kafka commands and the version each leaves its case at."""

    def __init__(self, applications: int, tmp: Path) -> None:
        app = bootstrap(sqlite(tmp / "sim"))
        try:
            month = [
                c for c in simulated_commands(app, applications, 5) if type(c) in COMMAND_NAMES
            ]
        finally:
            app.close()
        check = bootstrap(sqlite(tmp / "check"))  # what each does when sent alone, in order
        try:
            self.steps = [self._step(check.handle(c)) for c in month]
        finally:
            check.close()

    @staticmethod
    def _step(handled: cmd.Handled) -> Step:
        accepted = handled.verdict is Verdict.ACCEPTED
        return Step(handled.command, handled.version if accepted else None)

    def cycle(self) -> Iterator[Step]:
        """The month again and again, each time as new cases."""
        while True:
            cases: dict[uuid.UUID, uuid.UUID] = {}
            for step in self.steps:
                case_id = cases.setdefault(step.command.case_id, uuid.uuid4())
                yield replace(
                    step, command=replace(step.command, command_id=uuid.uuid4(), case_id=case_id)
                )


def sqlite(folder: Path) -> Settings:
    folder.mkdir(parents=True, exist_ok=True)
    return Settings(
        event_store="sqlite", sqlite_path=folder / "events.db", key_ring=folder / "ring.json"
    )


@dataclass
class Waits:
    """Commands sent and not yet seen, by case: (version expected, when the command was due)."""

    store: dict[uuid.UUID, list[tuple[int, float]]] = field(default_factory=dict)
    read_models: dict[uuid.UUID, list[tuple[int, float]]] = field(default_factory=dict)
    to_store: list[float] = field(default_factory=list)
    to_read_models: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def expect(self, case_id: uuid.UUID, version: int, due: float) -> None:
        with self.lock:
            self.store.setdefault(case_id, []).append((version, due))
            self.read_models.setdefault(case_id, []).append((version, due))

    def pending(self) -> int:
        with self.lock:
            return sum(map(len, self.store.values())) + sum(map(len, self.read_models.values()))


class Watcher(threading.Thread):
    def __init__(self, url: str, schema: str, waits: Waits) -> None:
        super().__init__(daemon=True)
        self.conn = psycopg.connect(url, autocommit=True)
        self.schema, self.waits, self.stop = schema, waits, threading.Event()

    def run(self) -> None:
        while not self.stop.wait(POLL_S):
            self._see(
                self.waits.store,
                self.waits.to_store,
                f'SELECT originator_id::text, max(originator_version) FROM "{self.schema}".'
                "saksflyt_events WHERE originator_id = ANY(%s::uuid[]) GROUP BY 1",
            )
            self._see(
                self.waits.read_models,
                self.waits.to_read_models,
                f'SELECT case_id, version FROM "{self.schema}".case_overview'
                " WHERE case_id = ANY(%s::text[])",
            )
        self.conn.close()

    def _see(
        self, waiting: dict[uuid.UUID, list[tuple[int, float]]], seen: list[float], sql: str
    ) -> None:
        with self.waits.lock:
            ids = [str(case_id) for case_id in waiting]
        if not ids:
            return
        rows = self.conn.execute(sql, (ids,)).fetchall()
        now = time.perf_counter()
        with self.waits.lock:
            for case_id, version in rows:
                key = uuid.UUID(case_id)
                left = [(v, due) for v, due in waiting.get(key, []) if v > version]
                seen += [now - due for v, due in waiting.get(key, []) if v <= version]
                if left:
                    waiting[key] = left
                else:
                    waiting.pop(key, None)


def _rss(pid: int, name: str, sizes: dict[str, float]) -> None:
    status = Path(f"/proc/{pid}/status")
    for line in status.read_text().splitlines() if status.exists() else []:
        if line.startswith("VmRSS:"):
            sizes[name] = int(line.split()[1]) / 1024


class Processes:
    """The processes under test, started from the installed ``saksflyt`` command."""

    def __init__(self, made: Setup, workers: int) -> None:
        exe = str(Path(sys.executable).with_name("saksflyt"))
        names = ["relay"] + ["intake"] * workers + ["project"] * workers
        self.running = []
        for n, name in enumerate(names):
            log = (made.logs / f"{made.schema}-{name}-{n}.log").open("w")
            process = subprocess.Popen([exe, name], env=made.env, stdout=log, stderr=log)
            self.running.append((name, process))

    def rss_mib(self) -> dict[str, float]:
        """Resident memory of each process (name#n) and of the processes it started (name#n.k:
        the relay's encoders), from /proc."""
        sizes: dict[str, float] = {}
        for n, (name, process) in enumerate(self.running):
            _rss(process.pid, f"{name}#{n}", sizes)
            children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
            found = children.read_text().split() if children.exists() else []
            for k, child in enumerate(found, start=1):
                _rss(int(child), f"{name}#{n}.{k}", sizes)
        return sizes

    def alive(self) -> bool:
        return all(process.poll() is None for _, process in self.running)

    def stop(self) -> None:
        for _, process in self.running:
            process.send_signal(signal.SIGTERM)
        for _, process in self.running:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()


@dataclass
class Result:
    rate: int
    seconds: float
    sent: int
    behind_s: float  # how late the sender was at the end
    to_store: dict[str, float]
    to_read_models: dict[str, float]
    unseen: int
    held: bool


def percentiles(values: list[float]) -> dict[str, float]:
    if len(values) < 2:
        return {}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": cuts[49], "p95": cuts[94], "p99": cuts[98], "max": max(values)}


class Sender:
    def __init__(self, bootstrap_servers: str, topic: str, workload: Workload) -> None:
        self.producer = kafka_wiring.producer(bootstrap_servers, "bench-load")
        self.topic, self.steps = topic, workload.cycle()

    def offer(self, rate: int, seconds: float, waits: Waits) -> tuple[int, float]:
        """Send at ``rate`` for ``seconds``; (commands sent, how far behind schedule at the end)."""
        start = time.perf_counter()
        total = int(rate * seconds)
        behind = 0.0
        for i in range(total):
            due = start + i / rate
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            else:
                behind = -wait
            step = next(self.steps)
            if step.version is not None:
                waits.expect(step.command.case_id, step.version, due)
            message = command_record(*command_to_record(step.command, "bench"), CODEC)
            self.producer.send(
                self.topic, key=message.key, value=message.value, headers=message.headers
            )
        self.producer.flush()
        return total, behind


def run_rate(sender: Sender, watcher_waits: Waits, rate: int, seconds: float) -> Result:
    waits = watcher_waits
    waits.to_store.clear()
    waits.to_read_models.clear()
    sent, behind = sender.offer(rate, seconds, waits)
    deadline = time.monotonic() + DRAIN_S
    while waits.pending() and time.monotonic() < deadline:
        time.sleep(0.1)
    with waits.lock:
        unseen = sum(map(len, waits.read_models.values()))
        waits.store.clear()
        waits.read_models.clear()
    to_rm = percentiles(list(waits.to_read_models))
    held = unseen == 0 and behind < 1.0 and to_rm.get("p99", 1e9) <= P99_LIMIT_S
    return Result(
        rate, seconds, sent, behind, percentiles(list(waits.to_store)), to_rm, unseen, held
    )


@dataclass
class Setup:
    env: dict[str, str]
    schema: str
    topics: Topics
    logs: Path


def setup(url: str, bootstrap_servers: str, tmp: Path) -> Setup:
    schema = f"load_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    topics = Topics(prefix=f"load{uuid.uuid4().hex[:8]}")
    ensure_topics(bootstrap_servers, topics)
    ring = tmp / f"{schema}.json"
    FileKeyRing.create(ring)
    env = {
        **os.environ,
        "SAKSFLYT_EVENT_STORE": "postgres",
        "SAKSFLYT_POSTGRES_URL": url,
        "SAKSFLYT_POSTGRES_SCHEMA": schema,
        "SAKSFLYT_PROJECTION_STORE": "postgres",
        "SAKSFLYT_KAFKA": bootstrap_servers,
        "SAKSFLYT_TOPIC_PREFIX": topics.prefix,
        "SAKSFLYT_KEY_RING": str(ring),
    }
    settings = Settings(
        event_store="postgres",
        postgres_url=url,
        postgres_schema=schema,
        projection_store="postgres",
        key_ring=ring,
    )
    bootstrap(settings).close()  # the tables exist before several processes start at once
    projection_store(settings).db.close()
    return Setup(env, schema, topics, tmp)


def drop(url: str, schema: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def ladder(
    url: str,
    kafka: str,
    workload: Workload,
    workers: int,
    rates: list[int],
    seconds: float,
    tmp: Path,
    warmup: float = 20,
) -> dict[str, Any]:
    made = setup(url, kafka, tmp)
    processes = Processes(made, workers)
    waits = Waits()
    watcher = Watcher(url, made.schema, waits)
    watcher.start()
    sender = Sender(kafka, made.topics.commands, workload)
    results: list[Result] = []
    rss: list[dict[str, float]] = []
    try:
        warm = run_rate(sender, waits, rates[0] // 2 or 1, warmup)  # groups joined, caches warm
        if warm.unseen:
            raise RuntimeError(f"warm-up: {warm.unseen} commands never became visible")
        for rate in rates:
            result = run_rate(sender, waits, rate, seconds)
            rss.append(processes.rss_mib())
            results.append(result)
            _print(workers, result)
            if not result.held or not processes.alive():
                break
    finally:
        watcher.stop.set()
        processes.stop()
        drop(url, made.schema)
    held = [r.rate for r in results if r.held]
    return {
        "processes": workers,
        "highest_rate_held": max(held, default=0),
        "steps": [vars(r) for r in results],
        "rss_mib": rss,
    }


def _print(workers: int, r: Result) -> None:
    store, rm = r.to_store, r.to_read_models
    line = (
        f"{workers} × intake/projector  {r.rate:>4} cmd/s for {r.seconds:.0f} s: "
        f"store p50 {store.get('p50', 0) * 1000:6.0f} ms p99 {store.get('p99', 0) * 1000:6.0f} ms | "
        f"read models p50 {rm.get('p50', 0) * 1000:6.0f} p95 {rm.get('p95', 0) * 1000:6.0f} "
        f"p99 {rm.get('p99', 0) * 1000:6.0f} ms"
    )
    if r.unseen:
        line += f" | {r.unseen} not seen within {DRAIN_S:.0f} s"
    if r.behind_s >= 1:
        line += f" | sender {r.behind_s:.1f} s behind"
    print(line + ("  held" if r.held else "  NOT held"), flush=True)


def memory(
    url: str, kafka: str, workload: Workload, rate: int, events: int, tmp: Path
) -> dict[str, Any]:
    """One intake, relay and projector at ``rate`` until ``events`` are stored; RSS every 10 %."""
    made = setup(url, kafka, tmp)
    processes = Processes(made, 1)
    sender = Sender(kafka, made.topics.commands, workload)
    waits = Waits()  # not watched: only the offer and the processes' memory matter here
    curve: list[dict[str, Any]] = []
    conn = psycopg.connect(url, autocommit=True)
    stored = 0
    try:
        while stored < events:
            sender.offer(rate, 10, waits)
            waits.store.clear()
            waits.read_models.clear()
            row = conn.execute(
                f'SELECT max(notification_id) FROM "{made.schema}".saksflyt_events'
            ).fetchone()
            stored = int(row[0] or 0) if row else 0
            if not curve or stored >= min(curve[-1]["events"] + events // 10, events):
                curve.append({"events": stored, **processes.rss_mib()})
                print(json.dumps(curve[-1]), flush=True)
            if not processes.alive():
                raise RuntimeError("a process under test stopped")
    finally:
        conn.close()
        processes.stop()
        drop(url, made.schema)
    return {"rate": rate, "curve": curve}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="100,200,300,400,500,600,800")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--processes", default="1,2,3")
    parser.add_argument("--applications", type=int, default=1500)
    parser.add_argument("--warmup", type=float, default=20, help="seconds at half the first rate")
    parser.add_argument("--memory", type=int, metavar="EVENTS", help="RSS over this many events")
    parser.add_argument("--memory-rate", type=int, default=300)
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--logs", type=Path, help="keep the processes' logs in this folder")
    args = parser.parse_args()
    url, kafka = os.environ["SAKSFLYT_TEST_POSTGRES_URL"], os.environ["SAKSFLYT_TEST_KAFKA"]
    with tempfile.TemporaryDirectory() as tmp:
        if args.logs:
            args.logs.mkdir(parents=True, exist_ok=True)
            tmp = str(args.logs)
        workload = Workload(args.applications, Path(tmp))
        print(f"{os.cpu_count()} cores; a cycle of {len(workload.steps)} commands", flush=True)
        if args.memory:
            out: dict[str, Any] = {
                "memory": memory(url, kafka, workload, args.memory_rate, args.memory, Path(tmp))
            }
        else:
            rates = [int(r) for r in args.rates.split(",")]
            out = {
                "load": [
                    ladder(
                        url, kafka, workload, int(n), rates, args.seconds, Path(tmp), args.warmup
                    )
                    for n in args.processes.split(",")
                ]
            }
            for row in out["load"]:
                held = row["highest_rate_held"]
                print(f"{row['processes']} × intake/projector: highest rate held {held} cmd/s")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2, default=str))


if __name__ == "__main__":
    main()
