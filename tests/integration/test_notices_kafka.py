"""The notices policy fed from Kafka: events relayed to the events topic become receipts over a
real SMTP server, once each; a restart resumes from the group's committed offsets and sends
nothing again. (Redelivery of events already acted on: tests/integration/test_notices.py.)"""

from __future__ import annotations

import random
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from consumers.topics import Topics
from saksflyt.bootstrap import bootstrap
from saksflyt.demo import synthetic
from saksflyt.notices.process import run_notices
from saksflyt.processes import run_relay
from tests.send import file_application
from tests.smtp import SmtpServer
from tests.stores import sqlite_settings


@pytest.mark.slow
def test_receipts_from_the_events_topic_once_each(
    tmp_path: Path, kafka_bootstrap: str, topics: Topics
) -> None:
    smtp = SmtpServer().start()
    settings = sqlite_settings(
        tmp_path,
        kafka=kafka_bootstrap,
        topic_prefix=topics.prefix,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_security="none",
    )
    app = bootstrap(settings)
    rng, cases = random.Random(3), []
    for _ in range(5):
        form = synthetic.complete_form(rng, "sosialhjelp", "0301")
        cases.append(file_application(app, form, datetime.now(UTC)))
    assert run_relay(settings, threading.Event(), once=True) == 10  # created + submitted
    try:
        for _ in range(2):  # the second run is a restart
            stop = threading.Event()
            worker = threading.Thread(
                target=run_notices, args=(settings, stop), kwargs={"start": "earliest"}
            )
            worker.start()
            deadline = time.monotonic() + 60
            while not all(app.get_case(c).receipts for c in cases) and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(1.0)  # a second copy, if any, would arrive now
            stop.set()
            worker.join(timeout=60)
            assert not worker.is_alive()
    finally:
        smtp.stop()
    assert len(smtp.inbox.messages) == 5
    assert all(len(app.get_case(c).receipts) == 1 for c in cases)
    app.close()
