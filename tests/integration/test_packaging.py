"""The Dockerfile and the compose file, read without Docker: they parse, copy what exists,
and every saksflyt service runs a command the CLI knows, with settings saksflyt has, scraped
by Prometheus on the port it serves metrics on."""

from __future__ import annotations

import argparse
import re
import tomllib
from pathlib import Path
from typing import Any

import yaml
from dockerfile_parse import DockerfileParser

from saksflyt.cli import build_parser
from saksflyt.settings import Settings

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "compose"
SAKSFLYT_SERVICES = {
    "keys",
    "topics",
    "intake",
    "relay",
    "projector",
    "api",
    "notices",
    "retention",
}
HEALTH = "HEALTHCHECK_URL"  # not a setting: what the image's health check asks


def _compose() -> dict[str, Any]:
    return yaml.safe_load((COMPOSE / "docker-compose.yml").read_text(encoding="utf-8"))


def test_the_dockerfile_builds_the_package_and_runs_the_cli() -> None:
    docker = DockerfileParser(path=str(REPO / "Dockerfile"))
    assert docker.baseimage.startswith("python:3.11")
    steps = [(i["instruction"], i["value"]) for i in docker.structure]
    copied = [value.split()[:-1] for kind, value in steps if kind == "COPY"]
    for sources in copied:
        for source in sources:
            assert (REPO / source).exists(), source
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    installs = " ".join(value for kind, value in steps if kind == "RUN")
    for extra in re.findall(r"'\.\[(\w+)\]'", installs):
        assert extra in extras, extra
    assert ("ENTRYPOINT", '["saksflyt"]') in steps
    ignored = (REPO / ".dockerignore").read_text().split()
    assert ".venv" in ignored and "var" in ignored


def test_every_saksflyt_service_runs_a_known_command_with_known_settings() -> None:
    services = _compose()["services"]
    assert SAKSFLYT_SERVICES | {"kafka", "postgres", "prometheus", "grafana"} <= set(services)
    parser = build_parser()
    for name in SAKSFLYT_SERVICES:
        service = services[name]
        assert service["build"]["dockerfile"] == "Dockerfile"
        assert (COMPOSE / service["build"]["context"] / "Dockerfile").is_file()
        args = parser.parse_args(service["command"])  # exits (fails the test) if unknown
        assert isinstance(args, argparse.Namespace) and callable(args.handler), name
        for variable in set(service["environment"]) - {HEALTH}:
            field = variable.removeprefix("SAKSFLYT_").lower()
            assert variable.startswith("SAKSFLYT_") and field in Settings.model_fields, variable


def test_prometheus_scrapes_each_process_where_it_serves_metrics() -> None:
    services = _compose()["services"]
    served = {}
    for name in SAKSFLYT_SERVICES:
        command = services[name]["command"]
        if "--metrics-port" in command:
            served[name] = int(command[command.index("--metrics-port") + 1])
        elif command[0] == "serve":
            served[name] = int(command[command.index("--port") + 1])
    config = yaml.safe_load((COMPOSE / "prometheus" / "prometheus.yml").read_text())
    targets = {
        t for job in config["scrape_configs"] for c in job["static_configs"] for t in c["targets"]
    }
    assert targets == {f"{name}:{port}" for name, port in served.items()}
    for volume in ("prometheus", "grafana/provisioning"):
        assert (COMPOSE / volume).is_dir()


def test_the_image_exposes_every_port_the_services_serve_and_its_health_check_asks_them() -> None:
    """Each long-running service's health check asks its own /readyz on the port it serves."""
    docker = DockerfileParser(path=str(REPO / "Dockerfile"))
    steps = [(i["instruction"], i["value"]) for i in docker.structure]
    exposed = {int(p) for kind, value in steps if kind == "EXPOSE" for p in value.split()}
    (check,) = [value for kind, value in steps if kind == "HEALTHCHECK"]
    assert HEALTH in check and "urlopen" in check
    services = _compose()["services"]
    for name in SAKSFLYT_SERVICES:
        service, command = services[name], services[name]["command"]
        flag = "--metrics-port" if "--metrics-port" in command else "--port"
        if flag not in command:
            assert services[name]["restart"] == "no", name  # a one-shot: nothing to ask
            continue
        port = int(command[command.index(flag) + 1])
        assert port in exposed, name
        assert service["environment"][HEALTH] == f"http://127.0.0.1:{port}/readyz", name
