"""1,000 submissions on PostgreSQL; ``saksflyt notices run`` killed with SIGKILL while it sends,
and started again: every case ends with exactly one recorded receipt, the SMTP server (aiosmtpd,
started here) holds at least one copy of it, and any second copy carries the same Message-ID (the
receiver can drop it) — at most one per kill: the window between the server's "250" and the
record's commit. Half the kills come at a random moment, half right after the server accepted a
message (inside that window, on purpose)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID, uuid4

import pytest

from saksflyt.bootstrap import bootstrap, projection_database, projection_store
from saksflyt.demo import synthetic
from saksflyt.notices.process import POSITION
from saksflyt.settings import Settings
from tests.send import file_application
from tests.smtp import SmtpServer, free_port
from tests.stores import postgres_settings

pytestmark = pytest.mark.slow  # not in make test-fast

CASES = 1000
KILLS = 12


def _submit(settings: Settings, rng: random.Random) -> list[UUID]:
    app = bootstrap(settings)
    cases = []
    for _ in range(CASES):
        form = synthetic.complete_form(rng, "sosialhjelp", "0301")
        form["soker"]["epost"] = f"{uuid4()}@example.org"  # one address per case
        cases.append(file_application(app, form, datetime.now(UTC)))
    app.close()
    return cases


def _env(settings: Settings, smtp: SmtpServer) -> dict[str, str]:
    assert settings.postgres_url and settings.postgres_schema
    return {
        **os.environ,
        "SAKSFLYT_EVENT_STORE": "postgres",
        "SAKSFLYT_POSTGRES_URL": settings.postgres_url,
        "SAKSFLYT_POSTGRES_SCHEMA": settings.postgres_schema,
        "SAKSFLYT_KEY_RING": str(settings.key_ring),
        "SAKSFLYT_SMTP_HOST": "127.0.0.1",
        "SAKSFLYT_SMTP_PORT": str(smtp.port),
        "SAKSFLYT_SMTP_SECURITY": "none",
        "SAKSFLYT_NOTICES_FROM": "postmottak@oslo.kommune.example",
    }


def _wait_ready(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError("saksflyt notices run never became ready")


def test_killed_mid_send_and_restarted_each_case_gets_one_receipt(
    postgres_url: str, postgres_schema: str, tmp_path: Path
) -> None:
    settings = postgres_settings(postgres_url, postgres_schema, tmp_path)
    rng = random.Random(20261130)
    cases = _submit(settings, rng)
    projection_store(settings).db.close()
    db = projection_database(settings, autocommit=True)
    db.execute(  # from the first event on (a first start would begin at the log's head)
        "INSERT INTO projection_position (source, position) VALUES (?, 0)", (POSITION,)
    )
    db.close()
    smtp = SmtpServer().start()
    command = [sys.executable, "-m", "saksflyt", "notices", "run"]
    try:
        kills = 0
        for n in range(KILLS):
            before = len(smtp.inbox.messages)
            process = subprocess.Popen(command, env=_env(settings, smtp))
            if n % 2:  # right after the server accepted a random few more
                target, deadline = before + rng.randint(1, 120), time.monotonic() + 20
                while len(smtp.inbox.messages) < target and time.monotonic() < deadline:
                    time.sleep(0.001)
            else:  # at a random moment of its life
                time.sleep(rng.uniform(0.5, 3.0))
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
            kills += 1
        port = free_port()  # the last run finishes, and is stopped once it is ready
        env = {**_env(settings, smtp), "SAKSFLYT_METRICS_PORT": str(port)}
        process = subprocess.Popen(command, env=env)
        _wait_ready(port)
        deadline = time.monotonic() + 120
        while len(smtp.inbox.by_message_id()) < CASES and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # let the last record commit
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        smtp.stop()
    app = bootstrap(settings)
    received = smtp.inbox.by_message_id()
    recorded = Counter()
    for case_id in cases:
        receipts = app.get_case(case_id).receipts
        assert len(receipts) == 1, case_id  # exactly one recorded
        recorded[receipts[0]["message_id"]] += 1
    app.close()
    assert set(received) == set(recorded) and len(recorded) == CASES  # each sent, none lost
    duplicates = sum(n - 1 for n in received.values())
    print(f"{kills} kills, {duplicates} receipts sent twice (with the same Message-ID)")
    assert duplicates <= kills
