"""What the fault campaign (``make chaos``) found, each pinned by a test on the real services:

- a health probe's read on the projector's own connection left an implicit transaction open, and
  every later write only nested in it (savepoints): read models that looked written were lost
  when PostgreSQL restarted;
- a consumer that stopped on an error committed the offsets of a batch that never reached the
  store;
- a read-model connection PostgreSQL dropped (a restart) stayed broken for good;
- a full attachment store answered 500 and left a partial file behind.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from uuid import uuid4

import psycopg
import pytest
from kafka import TopicPartition

from consumers.dead_letters import DeadLetters
from consumers.runner import ConsumerRunner
from consumers.topics import Topics
from projections.database import Database
from projections.store import ProjectionWriter
from saksflyt import kafka_wiring
from saksflyt.bootstrap import bootstrap, event_store_database, projection_store
from saksflyt.demo import synthetic
from saksflyt.demo.simulation import run_demo
from saksflyt.http.documents import DocumentStore
from saksflyt.http.problems import ApiProblem
from saksflyt.settings import Settings
from tests.stores import postgres_settings, sqlite_settings
from tests.tokens import client as api_client


def _events(tmp_path: Path, applications: int = 5) -> list[Any]:
    from consumers.public_events import PublicEvents
    from schemas.codec import AvroCodec

    app = bootstrap(sqlite_settings(tmp_path / "source"))
    run_demo(app, applications, seed=5)
    events = [e for _, e in PublicEvents(app, AvroCodec()).after(0, 10_000)]
    app.close()
    return events


def _cases_seen_by_another_connection(settings: Settings) -> int:
    assert settings.postgres_url
    with psycopg.connect(settings.postgres_url, autocommit=True) as other:
        other.execute(f'SET search_path = "{settings.postgres_schema}"')
        row = other.execute("SELECT count(*) FROM case_overview").fetchone()
    return int(row[0]) if row else 0


@pytest.mark.parametrize("autocommit", [True, False])
def test_a_read_outside_a_transaction_leaves_later_writes_uncommitted_only_without_autocommit(
    tmp_path: Path, postgres_url: str, postgres_schema: str, autocommit: bool
) -> None:
    settings = postgres_settings(postgres_url, postgres_schema, tmp_path)
    projection_store(settings).db.close()  # migrated
    store = projection_store(settings)
    store.db = Database.postgres(postgres_url, postgres_schema, autocommit=autocommit)
    store.db.rows("SELECT * FROM projection_status")  # what /readyz used to do on this connection
    writer = ProjectionWriter(store)
    events = _events(tmp_path)
    for event in events:
        writer(event)
    writer.flush()
    cases = len({e.case_id for e in events})
    # the writer sees its own rows either way; only a committed write is there for anyone else
    assert _cases_seen_by_another_connection(settings) == (cases if autocommit else 0)
    store.db.close()


def test_the_projector_probed_for_readiness_commits_what_it_writes(
    tmp_path: Path, postgres_url: str, postgres_schema: str
) -> None:
    """The default read-model connection is in autocommit: a probe's read ends at once."""
    settings = postgres_settings(postgres_url, postgres_schema, tmp_path)
    store = projection_store(settings)
    store.db.rows("SELECT * FROM projection_status")
    writer = ProjectionWriter(store)
    events = _events(tmp_path)
    for event in events:
        writer(event)
    writer.flush()
    assert _cases_seen_by_another_connection(settings) == len({e.case_id for e in events})
    store.db.close()


def test_an_event_fed_in_process_equals_the_same_event_read_from_kafka(tmp_path: Path) -> None:
    """A rebuild reads the event store in-process; live projectors read Kafka. Times differed
    below the millisecond the Avro contract carries, so rebuilt read models differed."""
    from consumers.public_events import from_kafka_record, to_kafka_record
    from schemas.codec import AvroCodec

    codec = AvroCodec()

    class Consumed:  # what a consumer gets: the value and headers of the record
        def __init__(self, record: Any) -> None:
            self.value, self.headers = record.value, record.headers

    for event in _events(tmp_path, applications=30):
        read = from_kafka_record(Consumed(to_kafka_record(event, codec)), codec)
        assert read.record == event.record, event.name


def test_a_read_model_connection_dropped_by_the_server_is_replaced(
    postgres_url: str, postgres_schema: str
) -> None:
    db = Database.postgres(postgres_url, postgres_schema)
    pid = db.rows("SELECT pg_backend_pid() AS pid")[0]["pid"]
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    with pytest.raises(psycopg.OperationalError):
        db.rows("SELECT 1 AS one")  # the statement that finds it dropped fails
    assert db.rows("SELECT 1 AS one") == [{"one": 1}]  # the next one runs on a new connection
    db.close()


def test_a_new_cases_data_key_commits_durably_before_its_events(
    tmp_path: Path, postgres_url: str, postgres_schema: str
) -> None:
    """Committed asynchronously, a key was lost when PostgreSQL restarted before the events'
    commit; the retried events were sealed with the key this process still held, and no other
    process could open them (AES-GCM: InvalidTag)."""
    settings = postgres_settings(postgres_url, postgres_schema, tmp_path)
    db = event_store_database(settings)
    assert db.rows("SHOW synchronous_commit") == [{"synchronous_commit": "on"}]
    db.close()


@pytest.fixture
def own_database(postgres_url: str) -> Iterator[str]:
    """A database of the test's own, for a test that drops every connection to its database:
    the tests beside it (another worker's) keep theirs. Its URL."""
    name = f"t_{uuid4().hex[:12]}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield urlsplit(postgres_url)._replace(path=f"/{name}").geturl()
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def test_the_api_answers_503_when_the_database_dropped_its_connections(
    tmp_path: Path, own_database: str
) -> None:
    """After a PostgreSQL restart the first requests met dropped connections: a 500 then; a 503
    with Retry-After now, and the request after it is served."""
    from fastapi.testclient import TestClient

    from saksflyt.http.app import create_app
    from tests.api_helpers import new
    from tests.tokens import headers

    settings = postgres_settings(own_database, "public", tmp_path)
    app = create_app(settings)
    with TestClient(app, headers=headers(settings), raise_server_exceptions=False) as api:
        assert new(api).status_code == 201
        with psycopg.connect(own_database, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        answers = [new(api) for _ in range(12)]  # one per dead pooled connection, at most
    refused = [a for a in answers if a.status_code != 201]
    assert refused and all(a.status_code == 503 for a in refused), [a.text for a in answers]
    assert refused[0].headers["Retry-After"] == "1"
    assert refused[0].json()["rule"] == "temporarily-unavailable"
    assert answers[-1].status_code == 201


def test_a_consumer_stopped_by_an_error_does_not_commit_the_batch_it_did_not_store(
    kafka_bootstrap: str, topics: Topics
) -> None:
    producer = kafka_wiring.producer(kafka_bootstrap)
    for n in range(3):
        producer.send(topics.events, key=b"k", value=f"record {n}".encode())
    producer.flush()

    class NeverStored:
        def __call__(self, record: Any) -> None:
            pass  # buffered, as the intake and the projector do

        def flush(self) -> None:
            raise RuntimeError("the store refused the batch")  # not transient

    group = "stopped-by-error"
    runner = ConsumerRunner(
        kafka_wiring.consumer(kafka_bootstrap, group),
        [topics.events],
        NeverStored(),
        DeadLetters(producer, topics.events_dlq, group),
    )
    with pytest.raises(RuntimeError):
        runner.run(threading.Event())
    check = kafka_wiring.consumer(kafka_bootstrap, group)
    committed = [check.committed(TopicPartition(topics.events, p)) for p in range(6)]
    check.close()
    producer.close()
    assert committed == [None] * 6  # the next owner reads all three again


@pytest.mark.skipif(os.geteuid() != 0 and not os.environ.get("CI"), reason="mounting needs root")
def test_a_full_attachment_store_answers_507_and_leaves_no_partial_file(tmp_path: Path) -> None:
    folder = tmp_path / "documents"
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "full", str(folder)], check=True)
    try:
        (folder / "ballast").write_bytes(bytes(1024 * 1024 - 64 * 1024))

        class Plain:
            def seal_bytes(self, case_id: Any, plain: bytes) -> bytes:
                return plain

            def open_bytes(self, case_id: Any, sealed: bytes) -> bytes:
                return sealed

        store = DocumentStore(folder, Plain())
        from io import BytesIO
        from uuid import uuid4

        pdf = synthetic.pdf("x" * 60) + b"\n" * (200 * 1024)  # a real PDF, padded to 200 KiB
        with pytest.raises(ApiProblem) as refused:
            store.receive(uuid4(), BytesIO(pdf), "application/pdf", 10 * 1024 * 1024)
        assert refused.value.status == 507 and refused.value.headers == {"Retry-After": "30"}
        assert not list(folder.glob("*/incoming-*"))  # nothing half-written left
        (folder / "ballast").unlink()
        kept = store.receive(uuid4(), BytesIO(pdf), "application/pdf", 10 * 1024 * 1024)
        assert kept.path.read_bytes() == pdf
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_topics_ensure_sets_the_replication_settings_asks_for(kafka_bootstrap: str) -> None:
    """On a cluster `topics ensure` made one copy per partition whatever the brokers allowed."""
    from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

    from saksflyt.processes import ensure

    prefix = f"t{uuid4().hex[:10]}"
    settings = Settings(kafka=kafka_bootstrap, topic_prefix=prefix, topic_min_insync_replicas=1)
    assert f"{prefix}.events" in ensure(settings)
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        (topic,) = admin.describe_topics([f"{prefix}.events"])
        found = admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, f"{prefix}.events")]
        )["topic"][f"{prefix}.events"]
    finally:
        admin.close()
    assert {len(p["replica_nodes"]) for p in topic["partitions"]} == {1}  # one broker here
    assert found["min.insync.replicas"]["value"] == "1"
    assert found["min.insync.replicas"]["config_source"] == "DYNAMIC_TOPIC_CONFIG"  # ours


CRASHING_MEMBER = """
import sys, time
from saksflyt import kafka_wiring
from saksflyt.settings import Settings
settings = Settings(kafka_group_instance_id="member-1", kafka_session_timeout_ms=60000)
consumer = kafka_wiring.consumer(sys.argv[1], sys.argv[2], member=kafka_wiring.membership(settings))
consumer.subscribe([sys.argv[3]])
while not consumer.assignment():
    consumer.poll(timeout_ms=200)
print("assigned", flush=True)
time.sleep(600)
"""


def test_a_restarted_member_with_its_instance_id_gets_its_partitions_back_at_once(
    kafka_bootstrap: str, topics: Topics
) -> None:
    """Killed, a consumer's partitions waited out its session before the restarted process got
    them. Under the same static instance id it takes them over while that session still runs."""
    import sys
    import time

    group = f"static-{uuid4().hex[:8]}"
    member = subprocess.Popen(
        [sys.executable, "-c", CRASHING_MEMBER, kafka_bootstrap, group, topics.events],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert member.stdout is not None and member.stdout.readline().strip() == "assigned"
    member.kill()  # no leave, no goodbye: its session (60 s) keeps running on the broker
    member.wait()
    settings = Settings(kafka_group_instance_id="member-1", kafka_session_timeout_ms=60000)
    again = kafka_wiring.consumer(kafka_bootstrap, group, member=kafka_wiring.membership(settings))
    again.subscribe([topics.events])
    begun = time.monotonic()
    while not again.assignment() and time.monotonic() - begun < 45:
        again.poll(timeout_ms=200)
    assert len(again.assignment()) == 6  # well inside the dead one's 60 s session
    again.close()


def test_the_read_models_commit_durably_where_their_writers_open_them(
    tmp_path: Path, postgres_url: str, postgres_schema: str
) -> None:
    """Committed asynchronously, a batch of read-model rows lost to PostgreSQL's immediate
    restart was never applied again: the projector had committed the batch's Kafka offsets once
    its transaction returned (the fault campaign found a case's last event missing)."""
    settings = postgres_settings(postgres_url, postgres_schema, tmp_path)
    store = projection_store(settings)  # as saksflyt project and the demo open it
    assert store.db.rows("SHOW synchronous_commit") == [{"synchronous_commit": "on"}]
    store.db.close()
    with api_client(settings) as client:  # saksflyt serve's in-process delivery
        writer = client.app.state.services.writer_store  # type: ignore[attr-defined]
        assert writer.db.rows("SHOW synchronous_commit") == [{"synchronous_commit": "on"}]
