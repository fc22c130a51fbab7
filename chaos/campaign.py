"""A seeded fault campaign: the services, the processes under a supervisor, load, one fault at a
time on a schedule the seed decides, then the checker (``chaos.checker``).

Each fault is timed from the moment it is injected until the system has recovered: the process
or server it hit is ready again and a probe — an application sent over Kafka at that moment — is
in the read models and its receipt has reached the SMTP server.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import json
import os
import random
import shutil
import signal
import subprocess
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from chaos import checker
from chaos.cluster import KafkaCluster, Postgres, wait_for
from chaos.load import (
    CODEC,
    History,
    HttpLoad,
    KafkaLoad,
    poison_messages,
    send_bad_http,
    send_poison,
)
from chaos.supervisor import ROLES, Supervisor
from chaos.workload import SENDER, Plan, make_plan, wire
from consumers.topics import Topics, ensure_topics
from domain import commands as cmd
from saksflyt import kafka_wiring
from saksflyt.access.tokens import ensure_dev_key
from saksflyt.bootstrap import bootstrap, projection_store
from saksflyt.notices.policy import domain_of, message_id_for
from saksflyt.privacy.keyring import FileKeyRing
from saksflyt.records import records_database
from saksflyt.settings import Settings
from schemas.kafka_layout import command_record
from schemas.mapping import event_id
from tests.smtp import SmtpServer

RECOVERY_LIMIT_S = 180.0


TOKEN_MINUTES = 240  # the longest a campaign runs, with room


@dataclass(frozen=True)
class Shape:
    """How big a campaign is."""

    name: str
    brokers: int  # 1 or 3
    applications: int  # the simulated month behind the Kafka load
    journeys: int  # HTTP journeys
    rate: float  # Kafka commands per second
    kills_per_role: int
    postgres_restarts: tuple[str, ...]
    broker_faults: bool
    churn_rounds: int
    outage_s: float  # how long SMTP is down, the disk full, a broker away
    poison_rounds: int
    settle_s: float = 180.0


FULL = Shape("full", 3, 2600, 240, 14.0, 3, ("fast", "immediate"), True, 8, 20.0, 2)
REDUCED = Shape("reduced", 1, 150, 24, 12.0, 1, ("immediate",), False, 2, 6.0, 1)


@dataclass
class Fault:
    kind: str
    target: str
    at_s: float  # since the load began
    recovery_s: float | None = None  # None: not recovered within RECOVERY_LIMIT_S
    note: str = ""


@dataclass
class Run:
    shape: Shape
    seed: int
    folder: Path
    faults: list[Fault] = field(default_factory=list)
    history: History = field(default_factory=History)
    started: float = 0.0
    notes: list[str] = field(default_factory=list)


class Campaign:
    def __init__(self, shape: Shape, seed: int, folder: Path, kafka: str | None = None) -> None:
        """``kafka``: use this single broker instead of starting a cluster (the reduced campaign
        in ``make test`` shares the suite's broker; topics get their own prefix)."""
        self.run = Run(shape, seed, folder)
        self.rng = random.Random(seed)
        self.shared_kafka = kafka
        self.cluster: KafkaCluster | None = None
        self.pg: Postgres | None = None
        self.smtp: SmtpServer | None = None
        self.supervisor: Supervisor | None = None
        self.disk: Path | None = None
        self.churned = 0

    # -- set-up ---------------------------------------------------------------------------------

    def setup(self) -> None:
        folder, shape = self.run.folder, self.run.shape
        (folder / "logs").mkdir(parents=True, exist_ok=True)
        self.plan: Plan = make_plan(self.run.seed, shape.applications, shape.journeys, folder)
        if self.shared_kafka:
            self.bootstrap = self.shared_kafka
        else:
            self.cluster = KafkaCluster(folder / "kafka", shape.brokers)
            self.cluster.start()
            self.bootstrap = self.cluster.bootstrap
        self.pg = Postgres(folder / "postgres")
        self.smtp = SmtpServer().start()
        self.topics = Topics(f"chaos{uuid.uuid4().hex[:8]}")
        replication = self.cluster.replication if self.cluster else 1
        ensure_topics(self.bootstrap, self.topics, replication, 2 if replication >= 3 else None)
        self.documents = self._document_store(folder / "documents")
        ring = folder / "keyring.json"
        FileKeyRing.create(ring)
        dev_key = ensure_dev_key(folder / "dev-signing-key.pem")
        self.env = {
            **os.environ,
            "SAKSFLYT_EVENT_STORE": "postgres",
            "SAKSFLYT_POSTGRES_URL": self.pg.url,
            "SAKSFLYT_PROJECTION_STORE": "postgres",
            "SAKSFLYT_KAFKA": self.bootstrap,
            "SAKSFLYT_TOPIC_PREFIX": self.topics.prefix,
            "SAKSFLYT_KEY_RING": str(ring),
            "SAKSFLYT_DOCUMENT_DIR": str(self.documents),
            "SAKSFLYT_AUTH_DEV_KEY": str(dev_key),
            # the campaign's two tokens live through a whole run; its load is one address
            "SAKSFLYT_AUTH_MAX_TOKEN_MINUTES": str(TOKEN_MINUTES),
            "SAKSFLYT_RATE_LIMIT_PER_ADDRESS": "100000000/minute",
            "SAKSFLYT_RATE_LIMIT_PER_CALLER": "100000000/minute",
            "SAKSFLYT_SMTP_HOST": "127.0.0.1",
            "SAKSFLYT_SMTP_PORT": str(self.smtp.port),
            "SAKSFLYT_SMTP_SECURITY": "none",
            "SAKSFLYT_SMTP_TIMEOUT_SECONDS": "5",
            "SAKSFLYT_NOTICES_FROM": SENDER,
            # the simulated month's occasions are up to a month old: letters for all of them
            "SAKSFLYT_NOTICES_MAX_AGE_HOURS": str(60 * 24),
            "SAKSFLYT_IDEMPOTENCY_STALE_SECONDS": "15",
            "SAKSFLYT_MUNICIPALITY_SETTINGS": str(self.plan.municipality_settings),
        }
        self.settings = Settings(
            event_store="postgres",
            postgres_url=self.pg.url,
            projection_store="postgres",
            key_ring=ring,
            auth_dev_key=dev_key,
            auth_max_token_minutes=TOKEN_MINUTES,
            kafka=self.bootstrap,
            topic_prefix=self.topics.prefix,
            document_dir=self.documents,
            municipality_settings=self.plan.municipality_settings,
        )
        bootstrap(self.settings).close()  # the tables, before several processes start at once
        projection_store(self.settings).db.close()
        records_database(self.settings).close()
        supervisor = self.supervisor = Supervisor(self.env, folder / "logs")
        for role in ROLES:
            supervisor.add(role)
        supervisor.start()
        for name in list(supervisor.members):
            wait_for(name, functools.partial(supervisor.ready, name), 120)

    def _document_store(self, path: Path) -> Path:
        """A small file system of its own when we may mount one (root): it can be filled."""
        path.mkdir(parents=True, exist_ok=True)
        if os.geteuid() != 0:
            self.run.notes.append("full disk not injected: mounting a small tmpfs needs root")
            return path
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "chaos", str(path)], check=True)
        self.disk = path
        return path

    # -- the schedule ---------------------------------------------------------------------------

    def schedule(self) -> list[tuple[str, str]]:
        shape = self.run.shape
        faults = [("kill -9", f"{role}#1") for role in ROLES for _ in range(shape.kills_per_role)]
        faults += [("PostgreSQL restart", mode) for mode in shape.postgres_restarts]
        faults += [("SMTP down", "smtp"), ("consumer group churn", "intake, projector")]
        faults += [("poison", "commands topic and API")] * shape.poison_rounds
        if self.disk is not None:
            faults.append(("full disk", "attachment store"))
        self.rng.shuffle(faults)
        if shape.broker_faults and self.cluster is not None:
            first, second = self.rng.sample([n.node_id for n in self.cluster.nodes], 2)
            third = len(faults) // 3
            faults.insert(third, ("broker kill -9", str(first)))
            faults.insert(2 * third, ("broker kill -9", str(second)))
            faults.insert(len(faults) // 2, ("leader change", "controlled shutdown"))
        return faults

    # -- the campaign ---------------------------------------------------------------------------

    def execute(self) -> checker.Report:
        shape, run = self.run.shape, self.run
        assert self.supervisor is not None and self.smtp is not None
        faults = self.schedule()
        duration = len(self.plan.kafka) / shape.rate
        spacing = duration / (len(faults) + 1)
        kafka_load = KafkaLoad(
            self.bootstrap, self.topics.commands, self.plan, shape.rate, run.history
        )
        base = f"http://127.0.0.1:{self.supervisor.port('api#1')}"
        http_load = HttpLoad(base, self.plan, self.settings, run.history)
        run.started = time.monotonic()
        kafka_load.start()
        http_load.start(pace=max(0.0, duration * 3 / max(1, shape.journeys) - 0.3))
        probes = iter(self.plan.probes)
        for n, (kind, target) in enumerate(faults, start=1):
            due = run.started + (n + self.rng.uniform(-0.4, 0.4)) * spacing  # a random moment
            time.sleep(max(0.0, due - time.monotonic()))
            fault = Fault(kind, target, round(time.monotonic() - run.started, 1))
            print(f"  {fault.at_s:6.1f} s  {kind}: {target}", flush=True)
            self._inject(fault, next(probes))
            run.faults.append(fault)
        for unused in probes:  # never sent: nothing is expected of them
            del self.plan.expected[unused.case_id]
        kafka_load.join(timeout=duration + 600)
        http_load.join(timeout=600)
        kafka_load.stop.set()
        http_load.stop.set()
        print("  load sent; waiting for the system to settle", flush=True)
        report = checker.check(self, settle_s=shape.settle_s)
        return report

    def _inject(self, fault: Fault, probe: cmd.SubmitNewApplication) -> None:
        assert self.supervisor is not None and self.smtp is not None and self.pg is not None
        begun = time.monotonic()
        self._send_probe(probe)
        ready: list[str] = []
        shape = self.run.shape
        if fault.kind == "kill -9":
            self.supervisor.kill(fault.target)
            time.sleep(0.2)
            ready.append(fault.target)
        elif fault.kind == "PostgreSQL restart":
            fault.note = f"away {self.pg.restart(fault.target):.1f} s"
        elif fault.kind == "SMTP down":
            self.smtp.stop()
            time.sleep(shape.outage_s)
            self.smtp.start()
        elif fault.kind == "full disk":
            self._fill_disk(shape.outage_s)
        elif fault.kind == "consumer group churn":
            self._churn(shape.churn_rounds)
        elif fault.kind == "poison":
            poison = poison_messages(self.rng, self.plan)
            send_poison(self.bootstrap, self.topics.commands, poison, self.run.history)
            base = f"http://127.0.0.1:{self.supervisor.port('api#1')}"
            send_bad_http(base, self.settings, self.run.history, self.rng)
        elif fault.kind == "broker kill -9":
            assert self.cluster is not None
            self.cluster.kill_node(int(fault.target))
            time.sleep(shape.outage_s)
            self.cluster.start_node(int(fault.target))
            wait_for("replicas in sync", self._replicated, RECOVERY_LIMIT_S)
        elif fault.kind == "leader change":
            assert self.cluster is not None
            leaders = list(self.cluster.leaders(self.topics.events).values())
            busiest = max(set(leaders), key=leaders.count)
            fault.target = f"controlled shutdown of broker {busiest}, then preferred leaders"
            self.cluster.kill_node(busiest, signal.SIGTERM)
            time.sleep(shape.outage_s / 2)
            self.cluster.start_node(busiest)
            wait_for("replicas in sync", self._replicated, RECOVERY_LIMIT_S)
            self.cluster.elect_preferred_leaders(self.topics.events)
        supervisor = self.supervisor
        try:
            wait_for(
                "recovery",
                lambda: all(supervisor.ready(n) for n in ready) and self._probe_through(probe),
                RECOVERY_LIMIT_S,
            )
            fault.recovery_s = round(time.monotonic() - begun, 2)
        except TimeoutError:
            fault.note += " not recovered"

    def _replicated(self) -> bool:
        assert self.cluster is not None
        return self.cluster.fully_replicated(
            [self.topics.events, self.topics.commands, "__consumer_offsets"]
        )

    def _fill_disk(self, seconds: float) -> None:
        assert self.disk is not None
        ballast = self.disk / "ballast"
        with ballast.open("wb") as out:
            try:
                while True:
                    out.write(bytes(1 << 20))
                    out.flush()
            except OSError as full:
                if full.errno != errno.ENOSPC:
                    raise
        time.sleep(seconds)
        ballast.unlink()

    def _churn(self, rounds: int) -> None:
        """Intake and projector members join, then leave (SIGTERM) or die (SIGKILL)."""
        assert self.supervisor is not None
        for _ in range(rounds):
            self.churned += 1
            joined = [
                self.supervisor.add(role, n=100 + self.churned, restart=False).name
                for role in ("intake", "projector")
            ]
            time.sleep(self.rng.uniform(2.0, 5.0))
            for name in joined:
                if self.rng.random() < 0.5:
                    self.supervisor.leave(name)
                else:
                    self.supervisor.kill(name)
                    time.sleep(0.3)
                    self.supervisor.leave(name)

    # -- probes ---------------------------------------------------------------------------------

    def _send_probe(self, probe: cmd.SubmitNewApplication) -> None:
        producer = kafka_wiring.producer(self.bootstrap, "chaos-probe")
        message = command_record(*wire(probe), CODEC)
        try:
            for _ in range(10):  # a broker may be away: the probe waits for it like any sender
                try:
                    producer.send(
                        self.topics.commands,
                        key=message.key,
                        value=message.value,
                        headers=message.headers,
                    ).get(timeout=60)
                except Exception:
                    time.sleep(1)
                    continue
                with self.run.history.lock:
                    self.run.history.kafka_sent[probe.command_id] += 1
                return
        finally:
            producer.close()

    def _probe_through(self, probe: cmd.SubmitNewApplication) -> bool:
        assert self.smtp is not None and self.pg is not None
        try:
            with psycopg.connect(self.pg.url, connect_timeout=2) as conn:
                row = conn.execute(
                    "SELECT 1 FROM case_overview WHERE case_id = %s", (str(probe.case_id),)
                ).fetchone()
        except psycopg.Error:
            return False
        receipt = message_id_for(event_id(probe.case_id, 2), "kvittering", domain_of(SENDER))
        return row is not None and receipt in self.smtp.inbox.by_message_id()

    # -- tear-down ------------------------------------------------------------------------------

    def teardown(self) -> None:
        """Stop everything it started; each step runs even when one before it fails."""
        with contextlib.ExitStack() as steps:  # callbacks run last-registered first
            steps.callback(shutil.rmtree, self.run.folder / "simulation", ignore_errors=True)
            steps.callback(shutil.rmtree, self.run.folder / "reference", ignore_errors=True)
            if self.disk is not None:
                steps.callback(subprocess.run, ["umount", "-l", str(self.disk)], check=False)
            for service in (self.pg, self.cluster, self.smtp, self.supervisor):
                if service is not None:
                    steps.callback(service.stop)


def write_json(run: Run, report: checker.Report, path: Path) -> None:
    path.write_text(
        json.dumps(
            {
                "seed": run.seed,
                "shape": asdict(run.shape),
                "finished": datetime.now(UTC).isoformat(timespec="seconds"),
                "cores": os.cpu_count(),
                "faults": [asdict(f) for f in run.faults],
                "report": asdict(report),
                "notes": run.notes,
            },
            indent=2,
            default=str,
        )
    )
