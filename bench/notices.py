"""What the notices policy costs: receipts per second through the policy to a real SMTP server,
side by side with plain ``smtplib`` sending the same messages over one connection.

An aiosmtpd server runs as its own process on 127.0.0.1 (accepts and discards). N sosialhjelp
applications are submitted to a fresh store (SQLite, and PostgreSQL when
SAKSFLYT_TEST_POSTGRES_URL is set); then the policy sends their receipts in-process — load the
case, render the letter, send, record ``ReceiptSent`` with its command id — and plain
``smtplib`` sends the very same messages, already built.

    python bench/notices.py [--cases 2000]
"""

from __future__ import annotations

import argparse
import os
import random
import smtplib
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import psycopg

from consumers.delivery import InProcessDelivery
from domain import commands as cmd
from saksflyt.bootstrap import bootstrap, projection_store
from saksflyt.demo import synthetic
from saksflyt.notices.channels import Delivery, SmtpChannel, SmtpSettings
from saksflyt.notices.policy import NoticePolicy, PrintQueue
from saksflyt.privacy.keyring import FileKeyRing
from saksflyt.records import records_database
from saksflyt.settings import Settings

SERVER = """
import sys, time
from aiosmtpd.controller import Controller
class Discard:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"
controller = Controller(Discard(), hostname="127.0.0.1", port=int(sys.argv[1]))
controller.start()
print("ready", flush=True)
sys.stdin.read()
controller.stop()
"""


class Keeping(SmtpChannel):
    """The SMTP channel, keeping a copy of each message for the plain smtplib run."""

    def __init__(self, settings: SmtpSettings) -> None:
        super().__init__(settings)
        self.sent: list[EmailMessage] = []

    def send(self, message: EmailMessage) -> Delivery:
        self.sent.append(message)
        return super().send(message)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def submit(settings: Settings, cases: int) -> None:
    app = bootstrap(settings)
    rng = random.Random(1)
    for _ in range(cases):
        form = synthetic.complete_form(rng, "sosialhjelp", "0301")
        app.handle(
            cmd.SubmitNewApplication(
                command_id=uuid.uuid4(),
                case_id=uuid.uuid4(),
                received_at=datetime.now(UTC),
                service="sosialhjelp",
                kommunenummer="0301",
                form=form,
            )
        )
    app.close()


def through_policy(settings: Settings, port: int) -> tuple[float, list[EmailMessage]]:
    app = bootstrap(settings)
    projection_store(settings).db.close()
    db = records_database(settings)
    channel = Keeping(SmtpSettings("127.0.0.1", port, "none"))
    policy = NoticePolicy(
        app, channel, PrintQueue(db), "postmottak@kommune.example", lambda: datetime.now(UTC)
    )
    started = time.perf_counter()
    InProcessDelivery(app, [policy]).deliver()
    seconds = time.perf_counter() - started
    channel.close()
    app.close()
    db.close()
    return seconds, channel.sent


def plain(messages: list[EmailMessage], port: int) -> float:
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for message in messages:
            smtp.send_message(message)
    return time.perf_counter() - started


def run(name: str, settings: Settings, cases: int, port: int) -> None:
    submit(settings, cases)
    seconds, messages = through_policy(settings, port)
    assert len(messages) == cases, len(messages)
    bare = plain(messages, port)
    print(
        f"  {name:10} {cases:,} receipts: policy {cases / seconds:,.0f} msg/s "
        f"(load, render, send, record) | plain smtplib {cases / bare:,.0f} msg/s "
        f"| ratio {bare / seconds:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=2000)
    args = parser.parse_args()
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None and server.stdout.readline().strip() == "ready"
    print(f"Notices: receipts through the policy to SMTP, {os.cpu_count()} cores")
    try:
        with tempfile.TemporaryDirectory() as folder:
            base = Path(folder)
            sqlite = Settings(
                sqlite_path=base / "events.db",
                projection_sqlite_path=base / "projections.db",
                key_ring=base / "keyring.json",
            )
            run("SQLite", sqlite, args.cases, port)
            url = os.environ.get("SAKSFLYT_TEST_POSTGRES_URL")
            if url:
                schema = f"bench_notices_{uuid.uuid4().hex[:8]}"
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute(f'CREATE SCHEMA "{schema}"')
                ring = base / "pg-keyring.json"
                FileKeyRing.create(ring)
                postgres = Settings(
                    event_store="postgres", postgres_url=url, postgres_schema=schema, key_ring=ring
                )
                try:
                    run("PostgreSQL", postgres, args.cases, port)
                finally:
                    with psycopg.connect(url, autocommit=True) as conn:
                        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
