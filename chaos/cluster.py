"""The services a campaign owns: a KRaft Kafka cluster of one or three nodes and a PostgreSQL
server, each on free ports of 127.0.0.1, in a folder of the campaign's, and able to be killed and
brought back. The Kafka jars are those ``compose/kafka.sh`` fetches; PostgreSQL is Debian's.
"""

from __future__ import annotations

import base64
import functools
import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg
from kafka.admin import KafkaAdminClient

COMPOSE = Path(__file__).resolve().parent.parent / "compose"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), 1).close()
        return True
    except OSError:
        return False


def wait_for(what: str, ready: Callable[[], bool], timeout_s: float = 90.0) -> float:
    """Poll ``ready()`` until true; the seconds it took."""
    begun = time.monotonic()
    while not ready():
        if time.monotonic() - begun > timeout_s:
            raise TimeoutError(f"{what} not ready after {timeout_s:.0f} s")
        time.sleep(0.2)
    return time.monotonic() - begun


@dataclass
class Node:
    node_id: int
    port: int
    controller_port: int
    folder: Path
    process: subprocess.Popen[bytes] | None = None


class KafkaCluster:
    """``size`` nodes, each broker and controller (KRaft). With three: every topic replicated
    three times, ``min.insync.replicas=2``, no unclean leader election."""

    def __init__(self, folder: Path, size: int) -> None:
        self.folder, self.size = folder, size
        self.libs = subprocess.run(
            [str(COMPOSE / "kafka.sh"), "jars"], check=True, capture_output=True, text=True
        ).stdout.strip()
        self.nodes = [
            Node(n, free_port(), free_port(), folder / f"kafka-{n}") for n in range(1, size + 1)
        ]
        self.cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")

    @property
    def bootstrap(self) -> str:
        return ",".join(f"127.0.0.1:{n.port}" for n in self.nodes)

    @property
    def replication(self) -> int:
        return min(self.size, 3)

    def _java(self, node: Node, main: str, *args: str) -> list[str]:
        return [
            "java",
            "-Xms128m",
            "-Xmx384m",
            f"-Dlog4j2.configurationFile={node.folder / 'log4j2.properties'}",
            "-cp",
            f"{self.libs}/*",
            main,
            *args,
        ]

    def _configure(self, node: Node) -> None:
        node.folder.mkdir(parents=True, exist_ok=True)
        voters = ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in self.nodes)
        insync = 2 if self.size >= 3 else 1
        (node.folder / "server.properties").write_text(
            f"""process.roles=broker,controller
node.id={node.node_id}
controller.quorum.voters={voters}
listeners=PLAINTEXT://127.0.0.1:{node.port},CONTROLLER://127.0.0.1:{node.controller_port}
advertised.listeners=PLAINTEXT://127.0.0.1:{node.port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs={node.folder / "data"}
auto.create.topics.enable=false
default.replication.factor={self.replication}
min.insync.replicas={insync}
unclean.leader.election.enable=false
offsets.topic.replication.factor={self.replication}
offsets.topic.num.partitions=6
transaction.state.log.replication.factor={self.replication}
transaction.state.log.min.isr={insync}
group.initial.rebalance.delay.ms=0
leader.imbalance.check.interval.seconds=10
num.network.threads=2
num.io.threads=2
background.threads=2
"""
        )
        (node.folder / "log4j2.properties").write_text(
            f"""rootLogger.level=WARN
rootLogger.appenderRef.file.ref=file
appender.file.type=File
appender.file.name=file
appender.file.fileName={node.folder / "server.log"}
appender.file.layout.type=PatternLayout
appender.file.layout.pattern=[%d] %p %m (%c)%n
"""
        )
        subprocess.run(
            self._java(
                node,
                "kafka.tools.StorageTool",
                "format",
                f"--cluster-id={self.cluster_id}",
                "-c",
                str(node.folder / "server.properties"),
                "--ignore-formatted",
            ),
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        for node in self.nodes:
            self._configure(node)
        for node in self.nodes:
            self.start_node(node.node_id, wait=False)
        for node in self.nodes:
            wait_for(f"Kafka node {node.node_id}", functools.partial(listening, node.port))
        wait_for("the Kafka cluster", self._all_brokers_registered)

    def node(self, node_id: int) -> Node:
        return self.nodes[node_id - 1]

    def start_node(self, node_id: int, wait: bool = True) -> None:
        node = self.node(node_id)
        out = (node.folder / "kafka.out").open("ab")
        node.process = subprocess.Popen(
            self._java(node, "kafka.Kafka", str(node.folder / "server.properties")),
            stdout=out,
            stderr=out,
        )
        if wait:
            wait_for(f"Kafka node {node_id}", lambda: listening(node.port))

    def kill_node(self, node_id: int, sig: int = signal.SIGKILL, timeout_s: float = 60) -> None:
        """SIGKILL: a crash. SIGTERM: a controlled shutdown (its leaderships move first)."""
        node = self.node(node_id)
        assert node.process is not None
        node.process.send_signal(sig)
        try:
            node.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            node.process.kill()
            node.process.wait()

    def _admin(self) -> KafkaAdminClient:
        return KafkaAdminClient(
            bootstrap_servers=self.bootstrap, client_id="chaos-admin", request_timeout_ms=10_000
        )

    def _all_brokers_registered(self) -> bool:
        try:
            admin = self._admin()
        except Exception:
            return False
        try:
            return len(admin.describe_cluster()["brokers"]) == self.size
        except Exception:
            return False
        finally:
            admin.close()

    def fully_replicated(self, topics: list[str]) -> bool:
        """Every partition of ``topics`` has all its replicas in sync again."""
        try:
            admin = self._admin()
        except Exception:
            return False
        try:
            for topic in admin.describe_topics(topics):
                for partition in topic["partitions"]:
                    if len(partition["isr_nodes"]) < len(partition["replica_nodes"]):
                        return False
            return True
        except Exception:
            return False
        finally:
            admin.close()

    def leaders(self, topic: str) -> dict[int, int]:
        """partition -> the node leading it."""
        admin = self._admin()
        try:
            (described,) = admin.describe_topics([topic])
            return {p["partition_index"]: p["leader_id"] for p in described["partitions"]}
        finally:
            admin.close()

    def elect_preferred_leaders(self, topic: str) -> None:
        admin = self._admin()
        try:
            partitions = {topic: list(self.leaders(topic))}
            admin.elect_leaders(0, partitions, raise_errors=False)  # 0: the preferred replica
        finally:
            admin.close()

    def stop(self) -> None:
        for node in self.nodes:
            if node.process is not None and node.process.poll() is None:
                node.process.terminate()
        for node in self.nodes:
            if node.process is not None:
                try:
                    node.process.wait(30)
                except subprocess.TimeoutExpired:
                    node.process.kill()
                    node.process.wait()


class Postgres:
    """A fresh PostgreSQL cluster (``compose/postgres.sh``), restartable in any shutdown mode."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "SAKSFLYT_SERVICES_DIR": str(folder)}
        self.env = env
        self.url = subprocess.run(
            [str(COMPOSE / "postgres.sh"), "start"],
            check=True,
            capture_output=True,
            text=True,
            env=env,
        ).stdout.strip()
        self.dir = Path((folder / "postgres.dir").read_text().strip())
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
        self.pg_ctl = str(bins[-1] / "pg_ctl")

    def _as_owner(self, *args: str) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--", *args]
        return list(args)

    def restart(self, mode: str) -> float:
        """Stop it in ``mode`` (fast: sessions ended, a checkpoint; immediate: as if the power
        went, crash recovery at start) and start it again; the seconds it was away."""
        begun = time.monotonic()
        data, log = str(self.dir / "data"), str(self.dir / "server.log")
        # restart starts it with the options it last ran with (postmaster.opts): the same port
        subprocess.run(
            self._as_owner(self.pg_ctl, "-D", data, "-l", log, "-m", mode, "-w", "restart"),
            check=True,
            capture_output=True,
        )
        wait_for("PostgreSQL", self.accepts)
        return time.monotonic() - begun

    def accepts(self) -> bool:
        try:
            psycopg.connect(self.url, connect_timeout=2).close()
            return True
        except psycopg.Error:
            return False

    def stop(self) -> None:
        subprocess.run(
            [str(COMPOSE / "postgres.sh"), "stop"], check=False, capture_output=True, env=self.env
        )
