"""The pipeline as separate processes: each one's /metrics says what it did, a real Prometheus
scrapes them, and the JSON logs carry correlation ids but no personal data."""

from __future__ import annotations

import json
import os
import random
import re
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from prometheus_client.parser import text_string_to_metric_families

from consumers.topics import Topics
from domain import commands as cmd
from domain.identifiers import synthetic_fodselsnummer
from domain.lifecycle import OSLO
from saksflyt import kafka_wiring
from saksflyt.demo import synthetic
from saksflyt.privacy.keyring import FileKeyRing
from tests import needs
from tests.kafka_helpers import send_commands, wait_for

CASES = 40
T0 = datetime(2026, 3, 2, 9, tzinfo=OSLO)
UUID_PATTERN = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a process's /metrics, parsed by the Prometheus text parser."""
    try:
        _, text = _get(f"http://127.0.0.1:{port}/metrics")
    except OSError:  # not listening yet
        return {}
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def total(samples: dict[tuple[str, Any], float], name: str, **labels: str) -> float:
    return sum(
        v
        for (n, ls), v in samples.items()
        if n == name and all(dict(ls).get(k) == val for k, val in labels.items())
    )


def _commands(rng: random.Random) -> list[cmd.Command]:
    out: list[cmd.Command] = []
    for _ in range(CASES):
        case_id = uuid4()
        form = synthetic.complete_form(rng, "avfallsbeholder", "0301")
        out += [
            cmd.StartApplication(
                command_id=uuid4(),
                case_id=case_id,
                issued_at=T0,
                received_at=T0,
                service="avfallsbeholder",
                kommunenummer="0301",
                form=form,
            ),
            cmd.SubmitApplication(
                command_id=uuid4(),
                case_id=case_id,
                issued_at=T0 + timedelta(hours=1),
                received_at=T0 + timedelta(hours=1),
            ),
            cmd.SubmitApplication(
                command_id=uuid4(),
                case_id=case_id,  # refused: submitted twice
                issued_at=T0 + timedelta(hours=2),
                received_at=T0 + timedelta(hours=2),
            ),
        ]
    return out


@pytest.fixture(scope="module")
def pipeline(
    kafka_bootstrap: str, postgres_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    import psycopg

    from consumers.topics import ensure_topics

    tmp = tmp_path_factory.mktemp("ops")
    schema = f"ops_{uuid4().hex[:8]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    topics = Topics(prefix=f"t{uuid4().hex[:10]}")
    ensure_topics(kafka_bootstrap, topics)
    env = {
        **os.environ,
        "SAKSFLYT_KAFKA": kafka_bootstrap,
        "SAKSFLYT_TOPIC_PREFIX": topics.prefix,
        "SAKSFLYT_EVENT_STORE": "postgres",
        "SAKSFLYT_POSTGRES_URL": postgres_url,
        "SAKSFLYT_POSTGRES_SCHEMA": schema,
        "SAKSFLYT_GAUGE_REFRESH_SECONDS": "1",
        "SAKSFLYT_KEY_RING": str(tmp / "keyring.json"),
    }
    FileKeyRing.create(tmp / "keyring.json")
    ports = {name: _free_port() for name in ("intake", "relay", "project")}
    processes = {
        name: subprocess.Popen(
            [sys.executable, "-m", "saksflyt", name, "--metrics-port", str(port)],
            env=env,
            stderr=(tmp / f"{name}.log").open("w"),
        )
        for name, port in ports.items()
    }
    rng = random.Random(8)
    commands = _commands(rng)
    bad_fnr = synthetic_fodselsnummer(rng, date(1980, 5, 17))[:10] + "0"  # a broken control digit
    bad = cmd.StartApplication(
        command_id=uuid4(),
        case_id=uuid4(),
        issued_at=T0,
        received_at=T0,
        service="avfallsbeholder",
        kommunenummer="0301",
        form={"soker": {"fodselsnummer": bad_fnr, "navn": "Ola Nordmann"}},
    )
    send_commands(kafka_wiring.producer(kafka_bootstrap), topics.commands, [*commands, bad])
    yield {
        "ports": ports,
        "processes": processes,
        "tmp": tmp,
        "commands": commands,
        "bad_fnr": bad_fnr,
        "topics": topics,
    }
    for process in processes.values():
        process.terminate()
    for process in processes.values():
        process.wait(30)


def _events_expected() -> int:
    return CASES * 3  # Created, DraftSaved, Submitted


def test_each_process_counts_the_work_it_did(pipeline: dict[str, Any]) -> None:
    ports = pipeline["ports"]
    wait_for(
        lambda: (
            total(scrape(ports["project"]), "saksflyt_events_projected_total", outcome="applied")
            >= _events_expected()
        ),
        what="projection",
    )
    intake = scrape(ports["intake"])
    assert total(intake, "saksflyt_commands_total", outcome="accepted") == CASES * 2
    assert total(intake, "saksflyt_commands_total", outcome="rejected") == CASES + 1
    assert (
        total(intake, "saksflyt_commands_total", command="SubmitApplication", outcome="rejected")
        == CASES
    )
    assert total(intake, "saksflyt_events_recorded_total", service="avfallsbeholder") == (
        _events_expected()
    )
    relay = scrape(ports["relay"])
    assert total(relay, "saksflyt_relay_published_total") == _events_expected()
    wait_for(
        lambda: total(scrape(ports["relay"]), "saksflyt_relay_backlog_events") == 0,
        what="relay backlog to reach 0",
    )
    projector = scrape(ports["project"])
    assert total(projector, "saksflyt_events_projected_total", outcome="applied") == (
        _events_expected()
    )
    group = {"group": "saksflyt-projections"}
    handled = total(projector, "saksflyt_messages_handled_total", **group)
    assert handled >= _events_expected()  # counted per message, reported once a poll
    assert 1 <= total(projector, "saksflyt_handler_seconds_count", **group) <= handled
    wait_for(
        lambda: (
            total(
                scrape(ports["project"]),
                "saksflyt_consumer_lag_messages",
                group="saksflyt-projections",
            )
            == 0
        ),
        what="projection lag back to 0",
    )
    wait_for(
        lambda: (
            total(
                scrape(ports["project"]),
                "saksflyt_open_cases",
                service="avfallsbeholder",
                kommunenummer="0301",
            )
            == CASES
        ),
        what="open-case gauge refresh",
    )
    for port in ports.values():
        text = _get(f"http://127.0.0.1:{port}/metrics")[1]
        assert not UUID_PATTERN.search(text), "a case or command id leaked into a label"


def test_health_and_readiness(pipeline: dict[str, Any]) -> None:
    for port in pipeline["ports"].values():
        assert _get(f"http://127.0.0.1:{port}/healthz") == (200, '{"status": "ok"}')
        status, body = _get(f"http://127.0.0.1:{port}/readyz")
        assert (status, json.loads(body)["ready"]) == (200, True), body


@pytest.mark.slow
def test_a_real_prometheus_scrapes_them(pipeline: dict[str, Any], tmp_path: Path) -> None:
    binary = needs.tool("prometheus")
    targets = ", ".join(f'"127.0.0.1:{p}"' for p in pipeline["ports"].values())
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s}\nscrape_configs:\n"
        f"  - job_name: saksflyt\n    static_configs: [{{targets: [{targets}]}}]\n"
    )
    port = _free_port()
    server = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    query = "sum(saksflyt_commands_total{outcome=%22accepted%22})"
    try:

        def answered() -> bool:
            try:
                status, body = _get(f"http://127.0.0.1:{port}/api/v1/query?query={query}")
            except OSError:
                return False
            result = json.loads(body)["data"]["result"] if status == 200 else []
            return bool(result) and float(result[0]["value"][1]) == CASES * 2

        wait_for(answered, timeout_s=90, what="Prometheus to scrape and answer")
    finally:
        server.terminate()
        server.wait(30)


def test_logs_are_json_with_correlation_ids_and_no_personal_data(pipeline: dict[str, Any]) -> None:
    wait_for(
        lambda: (
            total(scrape(pipeline["ports"]["intake"]), "saksflyt_commands_total") >= CASES * 3 + 1
        ),
        what="every command handled",
    )
    text = (pipeline["tmp"] / "intake.log").read_text()
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    rejected = [
        line
        for line in lines
        if line.get("outcome") == "rejected" or line["message"] == "command rejected"
    ]
    assert rejected and all("command_id" in line and "case_id" in line for line in rejected)
    assert any(line.get("rule") == "incomplete-form" for line in lines)  # the bad number
    people = {
        c.form["soker"]["fodselsnummer"]
        for c in pipeline["commands"]
        if isinstance(c, cmd.StartApplication)
    }
    for secret in (*people, pipeline["bad_fnr"], "17.05.1980", "Ola Nordmann"):
        assert secret not in text
