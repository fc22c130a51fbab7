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
SAKSFLYT_SERVICES = {"topics", "intake", "relay", "projector", "api", "notices", "retention"}


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
        for variable in service["environment"]:
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
