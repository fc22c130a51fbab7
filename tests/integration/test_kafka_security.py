"""Every Kafka client speaks SASL SCRAM-SHA-512 when configured to, against the test broker's
SCRAM listener (``compose/kafka.sh`` makes user ``saksflyt``); a wrong password gets nowhere."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from kafka import TopicPartition
from kafka.errors import KafkaError

from consumers.topics import TOPIC_SPECS, Topics
from domain import commands as cmd
from saksflyt import kafka_wiring, processes
from saksflyt.bootstrap import bootstrap
from saksflyt.settings import Settings
from tests import needs
from tests.api_helpers import synthetic_form
from tests.send import send
from tests.stores import sqlite_settings

pytestmark = pytest.mark.kafka  # its SCRAM listener: not in make test-fast


@pytest.fixture
def scram(tmp_path: Path) -> Settings:
    listener = needs.env("SAKSFLYT_TEST_KAFKA_SASL", "Apache Kafka's SCRAM listener")
    password = needs.env("SAKSFLYT_TEST_KAFKA_SASL_PASSWORD", "the SCRAM user's password")
    return sqlite_settings(
        tmp_path,
        kafka=listener,
        topic_prefix=f"scram{uuid.uuid4().hex[:8]}",
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_sasl_username="saksflyt",
        kafka_sasl_password=password,
    )


def test_topics_relay_and_reader_over_scram(scram: Settings) -> None:
    assert len(processes.ensure(scram)) == len(TOPIC_SPECS)  # the admin client
    app = bootstrap(scram)
    case = uuid.uuid4()
    form = synthetic_form()
    at = datetime(2026, 11, 2, 9, tzinfo=UTC)
    new = {"service": "avfallsbeholder", "kommunenummer": "0301", "form": form}
    send(app, cmd.SubmitNewApplication, case, at, **new)
    stored = app.recorder.max_notification_id()
    app.close()
    assert processes.run_relay(scram, threading.Event(), once=True) == stored  # the producer
    assert scram.kafka is not None
    reader = kafka_wiring.reader(scram.kafka, security=kafka_wiring.security(scram))
    topic = Topics(scram.topic_prefix).events
    partitions = [TopicPartition(topic, p) for p in reader.partitions_for_topic(topic) or []]
    reader.assign(partitions)
    reader.seek_to_beginning(*partitions)
    records, deadline = [], time.monotonic() + 60
    while len(records) < (stored or 0) and time.monotonic() < deadline:
        for batch in reader.poll(timeout_ms=200).values():
            records.extend(batch)
    reader.close()
    assert {r.key for r in records} == {str(case).encode()}


def test_a_wrong_password_is_refused(scram: Settings) -> None:
    wrong = scram.model_copy(update={"kafka_sasl_password": "not-the-password"})
    assert wrong.kafka is not None
    options = {**kafka_wiring.security(wrong), "bootstrap_timeout_ms": 3000}
    with pytest.raises(KafkaError):
        kafka_wiring.producer(wrong.kafka, security=options).close()


def test_sasl_without_credentials_is_a_clear_configuration_error(tmp_path: Path) -> None:
    settings = sqlite_settings(tmp_path, kafka_security_protocol="SASL_SSL")
    with pytest.raises(ValueError, match="SAKSFLYT_KAFKA_SASL_USERNAME"):
        kafka_wiring.security(settings)
    tls = sqlite_settings(
        tmp_path, kafka_security_protocol="SSL", kafka_ssl_cafile=tmp_path / "ca.pem"
    )
    assert kafka_wiring.security(tls) == {
        "security_protocol": "SSL",
        "ssl_check_hostname": True,
        "ssl_cafile": str(tmp_path / "ca.pem"),
    }
