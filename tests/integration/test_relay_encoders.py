"""The relay's encoder processes (``ProcessEncoding``, what ``saksflyt relay`` runs by default):
the records they make are the relay's own thread's, byte for byte; ranges of notification ids
that a rolled-back transaction left empty are passed over, not waited on; an encoder that dies
stops the relay before its position moves, and the next relay publishes what is left."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent

from consumers.public_events import PublicEvents
from consumers.relay import ProcessEncoding, Relay, ThreadEncoding
from consumers.topics import Topics
from saksflyt.bootstrap import bootstrap, open_casework
from saksflyt.settings import Settings
from schemas.codec import AvroCodec
from tests.kafka_helpers import T0, read_topic, relay_for, wait_for
from tests.send import start
from tests.stores import postgres_settings, sqlite_settings


def _stored(settings: Settings, cases: int) -> int:
    app = bootstrap(settings)
    try:
        for _ in range(cases):
            start(app, "avfallsbeholder", T0)
        return app.recorder.max_notification_id() or 0
    finally:
        app.close()


def _relay(settings: Settings, kafka_bootstrap: str, topics: Topics, **kwargs: Any) -> Relay:
    """A relay with two encoder processes, as ``saksflyt relay`` runs."""
    encoding = ProcessEncoding(open_casework, settings, processes=2)
    return relay_for(
        bootstrap(settings), settings, kafka_bootstrap, topics, encoding=encoding, **kwargs
    )


def _relay_process(
    settings: Settings, kafka_bootstrap: str, topics: Topics, log: Path, **popen: Any
) -> subprocess.Popen[bytes]:
    """``saksflyt relay`` on the store, in a process of its own."""
    env = {
        **os.environ,
        "SAKSFLYT_KAFKA": kafka_bootstrap,
        "SAKSFLYT_TOPIC_PREFIX": topics.prefix,
        "SAKSFLYT_SQLITE_PATH": str(settings.sqlite_path),
        "SAKSFLYT_KEY_RING": str(settings.key_ring),
    }
    command = [sys.executable, "-m", "saksflyt", "relay"]
    return subprocess.Popen(command, env=env, stderr=log.open("w"), **popen)


def _event_ids(records: list[Any]) -> Counter[bytes]:
    return Counter(dict(record.headers)["ce_id"] for record in records)


def _each_published_once(kafka_bootstrap: str, topics: Topics, events: int) -> None:
    records = read_topic(kafka_bootstrap, topics.events, lambda r: len(r) >= events)
    assert len(_event_ids(records)) == len(records) == events


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_encoder_processes_make_the_records_the_relays_own_thread_makes(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if kind == "sqlite":
        settings = sqlite_settings(tmp_path)
    else:
        url, schema = (request.getfixturevalue(f) for f in ("postgres_url", "postgres_schema"))
        settings = postgres_settings(url, schema, tmp_path)
    head = _stored(settings, 30)
    ranges = [(first, min(first + 6, head)) for first in range(1, head + 1, 7)]
    app = bootstrap(settings)
    encoding = ProcessEncoding(open_casework, settings, processes=2)
    try:
        by_processes = list(encoding.batches(ranges))
        on_thread = list(ThreadEncoding(PublicEvents(app, AvroCodec())).batches(ranges))
    finally:
        encoding.close()
        app.close()
    assert [last for last, _ in by_processes] == [last for _, last in ranges]
    assert sum(len(records) for _, records in by_processes) == head
    assert by_processes == on_thread  # keys, values and headers, in the same order


def test_ranges_a_rolled_back_transaction_left_empty_are_passed_over(
    postgres_url: str, postgres_schema: str, kafka_bootstrap: str, topics: Topics, tmp_path: Path
) -> None:
    settings = postgres_settings(postgres_url, postgres_schema, tmp_path)
    _stored(settings, 10)
    app = bootstrap(settings)
    taken = app.recorder.select_events(app.recorder.select_notifications(1, 1)[0].originator_id)
    refused = [StoredEvent(uuid4(), 1, taken[0].topic, taken[0].state) for _ in range(25)]
    with pytest.raises(IntegrityError):  # the last one is already stored: all of them roll back
        app.recorder.insert_events([*refused, taken[0]])
    app.close()
    head = _stored(settings, 10)
    events = len(bootstrap(settings).recorder.select_notifications(1, 100_000))
    assert head - events >= 25  # ids taken and never used, in a row: whole batches of ten
    relay = _relay(settings, kafka_bootstrap, topics, batch_size=10)
    try:
        assert relay.position.acquire(threading.Event())
        assert relay.catch_up() == events
        assert relay.position.load() == head
        relay.position.release()
    finally:
        relay.close()
    _each_published_once(kafka_bootstrap, topics, events)


def test_an_encoder_that_dies_stops_the_relay_and_the_next_one_publishes_the_rest(
    kafka_bootstrap: str, topics: Topics, tmp_path: Path
) -> None:
    settings = sqlite_settings(tmp_path)
    head = _stored(settings, 300)  # many batches: the pool is found broken before they are done
    saved: list[int] = []

    def kill_an_encoder(position: int) -> None:
        saved.append(position)
        if len(saved) == 1:
            encoder = multiprocessing.active_children()[0]
            assert encoder.pid is not None
            os.kill(encoder.pid, signal.SIGKILL)

    first = _relay(settings, kafka_bootstrap, topics, batch_size=10, before_save=kill_an_encoder)
    stop = threading.Event()
    assert first.position.acquire(stop)
    try:
        with pytest.raises(BrokenProcessPool):
            first.catch_up()
        stopped_at = first.position.load()
        assert stopped_at == saved[-1] < head  # only acknowledged batches moved it
    finally:
        first.position.release()
        first.close()
    second = _relay(settings, kafka_bootstrap, topics)
    try:
        assert second.position.acquire(stop)
        assert second.catch_up() == head - stopped_at
        second.position.release()
    finally:
        second.close()
    records = read_topic(kafka_bootstrap, topics.events, lambda r: len(_event_ids(r)) >= head)
    assert len(_event_ids(records)) == head  # every event out, a batch perhaps twice


def test_a_stopped_relay_calls_off_the_ranges_handed_out_and_goes_on_later(
    kafka_bootstrap: str, topics: Topics, tmp_path: Path
) -> None:
    settings = sqlite_settings(tmp_path)
    head = _stored(settings, 60)
    stop = threading.Event()
    relay: Relay = _relay(
        settings, kafka_bootstrap, topics, batch_size=10, before_save=lambda position: stop.set()
    )
    try:
        assert relay.position.acquire(threading.Event())
        first = relay.catch_up(stop)
        assert 0 < first < head and relay.position.load() < head
        relay.before_save = None
        assert first + relay.catch_up() == head
        assert relay.position.load() == head
        relay.position.release()
    finally:
        relay.close()
    assert not multiprocessing.active_children()  # the encoders are gone once it is closed
    _each_published_once(kafka_bootstrap, topics, head)


def test_encoders_leave_when_the_relay_is_killed(
    kafka_bootstrap: str, topics: Topics, tmp_path: Path
) -> None:
    """Nothing closes the encoders of a relay killed with SIGKILL: they must see it is gone."""
    settings = sqlite_settings(tmp_path)
    head = _stored(settings, 20)
    relay = _relay_process(settings, kafka_bootstrap, topics, tmp_path / "relay.log")
    try:
        read_topic(kafka_bootstrap, topics.events, lambda r: len(r) >= head, timeout_s=60)
        children = Path(f"/proc/{relay.pid}/task/{relay.pid}/children").read_text().split()
        assert children  # an encoder (and multiprocessing's resource tracker)
    finally:
        relay.kill()
        relay.wait(10)
    started = time.monotonic()
    wait_for(
        lambda: not any(Path(f"/proc/{pid}").exists() for pid in children),
        timeout_s=10,
        what="the killed relay's encoders to leave",
    )
    assert time.monotonic() - started < 5


def test_a_stop_sent_to_the_relays_whole_process_group_ends_it_quietly(
    kafka_bootstrap: str, topics: Topics, tmp_path: Path
) -> None:
    """A service manager stops every process of the group at once: the encoders may end before
    the relay has closed them, and the relay must still stop as asked (exit 0), not fail."""
    settings = sqlite_settings(tmp_path)
    head = _stored(settings, 20)
    log = tmp_path / "relay.log"
    relay = _relay_process(settings, kafka_bootstrap, topics, log, start_new_session=True)
    try:
        read_topic(kafka_bootstrap, topics.events, lambda r: len(r) >= head, timeout_s=60)
        children = Path(f"/proc/{relay.pid}/task/{relay.pid}/children").read_text().split()
        os.killpg(relay.pid, signal.SIGTERM)
        assert relay.wait(30) == 0, log.read_text()
    finally:
        if relay.poll() is None:
            relay.kill()
    assert "Traceback" not in log.read_text()
    wait_for(
        lambda: not any(Path(f"/proc/{pid}").exists() for pid in children),
        timeout_s=10,
        what="the encoders to end with the relay",
    )
