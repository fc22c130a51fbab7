"""The compose file, run as compose would run it but without Docker: each saksflyt service in the
order its ``depends_on`` gives, from a fresh (empty) volume, against the test PostgreSQL and
Kafka — the one-shots (key ring, topics) must finish, every other service must become ready
(its health check's ``/readyz``) and stay up."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any

import pytest
import yaml
from dockerfile_parse import DockerfileParser

pytestmark = pytest.mark.slow  # not in make test-fast

REPO = Path(__file__).resolve().parents[2]
SAKSFLYT = Path(sys.executable).with_name("saksflyt")
HEALTH = "HEALTHCHECK_URL"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _order(services: dict[str, Any]) -> list[str]:
    """The saksflyt services (those built from the Dockerfile) in the order compose starts them."""
    ours = {name for name, s in services.items() if "build" in s}
    graph = {
        name: {d for d in (services[name].get("depends_on") or {}) if d in ours} for name in ours
    }
    return list(TopologicalSorter(graph).static_order())


class Volume:
    """The container's view mapped onto this machine: /data, the service names, the ports."""

    def __init__(self, folder: Path, kafka: str, postgres_url: str, schema: str) -> None:
        self.folder, self.kafka, self.postgres_url, self.schema = (
            folder,
            kafka,
            postgres_url,
            schema,
        )
        self.ports: dict[str, int] = {}
        self.prefix = f"compose{uuid.uuid4().hex[:8]}"

    def port(self, container_port: str) -> str:
        return str(self.ports.setdefault(container_port, _free_port()))

    def value(self, text: str) -> str:
        text = text.replace("/data", str(self.folder)).replace("kafka:29092", self.kafka)
        text = text.replace(
            "postgresql://saksflyt:saksflyt@postgres:5432/saksflyt", self.postgres_url
        )
        for container_port in ("8000", "9101", "9102", "9103", "9104", "9105"):
            text = text.replace(
                f"127.0.0.1:{container_port}/", f"127.0.0.1:{self.port(container_port)}/"
            )
        return text

    def command(self, command: list[str]) -> list[str]:
        out = list(command)
        for flag in ("--metrics-port", "--port"):
            if flag in out:
                at = out.index(flag) + 1
                out[at] = self.port(out[at])
        if "--host" in out:
            out[out.index("--host") + 1] = "127.0.0.1"
        return out

    def environment(self, image: dict[str, str], service: dict[str, Any]) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SAKSFLYT_")}
        env |= {k: self.value(v) for k, v in image.items()}
        env |= {k: self.value(str(v)) for k, v in (service.get("environment") or {}).items()}
        env |= {
            "SAKSFLYT_POSTGRES_SCHEMA": self.schema,
            "SAKSFLYT_TOPIC_PREFIX": self.prefix,
            "SAKSFLYT_METRICS_HOST": "127.0.0.1",
        }
        return env


def _image_environment() -> dict[str, str]:
    docker = DockerfileParser(path=str(REPO / "Dockerfile"))
    return dict(docker.envs)


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def test_the_compose_services_start_in_order_from_a_fresh_volume(
    tmp_path: Path, kafka_bootstrap: str, postgres_url: str, postgres_schema: str
) -> None:
    compose = yaml.safe_load((REPO / "compose" / "docker-compose.yml").read_text(encoding="utf-8"))
    services = compose["services"]
    volume = Volume(tmp_path / "data", kafka_bootstrap, postgres_url, postgres_schema)
    volume.folder.mkdir()
    image = _image_environment()
    running: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name in _order(services):
            service = services[name]
            command = [str(SAKSFLYT), *volume.command(service["command"])]
            env = volume.environment(image, service)
            log = (tmp_path / f"{name}.log").open("wb")
            process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
            if service.get("restart") == "no":
                assert process.wait(timeout=120) == 0, _tail(tmp_path, name)
                continue
            running[name] = process
            url, deadline = env[HEALTH], time.monotonic() + 90
            while not _ready(url):
                assert process.poll() is None, f"{name} exited: {_tail(tmp_path, name)}"
                assert time.monotonic() < deadline, f"{name} not ready: {_tail(tmp_path, name)}"
                time.sleep(0.3)
        time.sleep(2)  # and they stay up
        for name, process in running.items():
            assert process.poll() is None, f"{name} exited: {_tail(tmp_path, name)}"
        assert (volume.folder / "keyring.json").exists()
        assert set(running) == {"intake", "relay", "projector", "api", "notices", "retention"}
    finally:
        for process in running.values():
            process.terminate()
        for process in running.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def _tail(folder: Path, name: str) -> str:
    return (folder / f"{name}.log").read_text(encoding="utf-8", errors="replace")[-2000:]
