"""``saksflyt notices``: the notices policy as a long-running process (Kafka or in-process), and
the print queue's export."""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from consumers.dead_letters import DeadLetters
from consumers.delivery import InProcessDelivery
from consumers.public_events import KafkaEventHandler
from consumers.runner import ConsumerRunner
from consumers.topics import Topics
from domain.casework import Casework
from domain.forms import applicant_name
from domain.places import municipality_title
from projections.database import Database
from projections.store import ProjectionStore
from saksflyt import kafka_wiring
from saksflyt.archive.numbers import Numbers
from saksflyt.bootstrap import bootstrap
from saksflyt.letters.occasions import OUTGOING, about_case, letter_for
from saksflyt.letters.pdfa import pdfa
from saksflyt.notices.channels import Channel, MailboxChannel, SmtpChannel, SmtpSettings
from saksflyt.notices.policy import ChannelUnavailable, NoticePolicy, PrintQueue
from saksflyt.ops.health import Check
from saksflyt.ops.metrics import LETTERS, TELEMETRY
from saksflyt.processes import _kafka_check, ops_server
from saksflyt.records import records_database
from saksflyt.settings import Settings
from schemas.mapping import PublicEvent

log = logging.getLogger(__name__)
NOTICES_GROUP = "saksflyt-notices"
POSITION = "notices"  # its place in the event store's log, when it runs in-process


def channel_for(settings: Settings) -> Channel:
    if settings.notices_mailbox is not None:
        return MailboxChannel(settings.notices_mailbox)
    if settings.smtp_host:
        return SmtpChannel(
            SmtpSettings(
                settings.smtp_host,
                settings.smtp_port,
                settings.smtp_security,
                settings.smtp_user,
                settings.smtp_password,
                settings.smtp_timeout_seconds,
            )
        )
    raise ValueError("letters need SAKSFLYT_SMTP_HOST (or SAKSFLYT_NOTICES_MAILBOX, a local file)")


def policy_for(
    settings: Settings, app: Casework, db: Database, stop: threading.Event, channel: Channel
) -> NoticePolicy:
    return NoticePolicy(
        app,
        channel,
        PrintQueue(db),
        settings.notices_from,
        clock=lambda: datetime.now(UTC),
        max_age=timedelta(hours=settings.notices_max_age_hours),
        max_attempts=settings.notices_max_attempts,
        stop=stop,
        counted=lambda kind, channel, outcome: LETTERS.labels(kind, channel, outcome).inc(),
        numbers=Numbers(db),
    )


class Positioned:
    """The policy fed in-process: keeps its place in the log with the print queue (the records
    beside the event store, ``saksflyt.records``)."""

    def __init__(self, policy: NoticePolicy, db: Database) -> None:
        self.policy, self.positions = policy, ProjectionStore(db)

    def __call__(self, event: PublicEvent) -> None:
        self.policy(event)

    def position(self, head: int) -> int:
        kept = self.positions.kept_position(POSITION)
        if kept is not None:
            return kept
        self.flush(head)  # first start: from now on, never the history before it
        return head

    def flush(self, position: int | None = None) -> None:
        if position is not None:
            self.positions.keep_position(POSITION, position)


def run_notices(
    settings: Settings, stop: threading.Event, idle_s: float = 0.2, start: str = "latest"
) -> NoticePolicy:
    """Until ``stop``. On Kafka a new consumer group begins at ``start`` (``latest``: the events
    from now on; a group that has committed resumes where it was)."""
    channel = channel_for(settings)
    db = records_database(settings)
    app = bootstrap(settings)
    policy = policy_for(settings, app, db, stop, channel)
    checks: dict[str, Check] = {"event_store": app.recorder.max_notification_id}
    try:
        if settings.kafka:
            checks["kafka"] = _kafka_check(settings.kafka)
            with ops_server(settings, checks):
                _from_kafka(settings, policy, stop, start)
        else:
            with ops_server(settings, checks):
                _in_process(app, Positioned(policy, db), stop, idle_s)
    finally:
        channel.close()
        app.close()
        db.close()
    log.info("notices stopped: %s", policy.tally)
    return policy


def _from_kafka(
    settings: Settings, policy: NoticePolicy, stop: threading.Event, start: str
) -> None:
    assert settings.kafka is not None
    topics = Topics(settings.topic_prefix)
    security = kafka_wiring.security(settings)
    producer = kafka_wiring.producer(settings.kafka, "saksflyt-notices", security=security)
    consumer = kafka_wiring.consumer(
        settings.kafka,
        NOTICES_GROUP,
        "saksflyt-notices",
        security=security,
        start=start,
        member=kafka_wiring.membership(settings),
    )
    runner = ConsumerRunner(
        consumer,
        [topics.events],
        KafkaEventHandler([policy]),
        DeadLetters(producer, topics.events_dlq, NOTICES_GROUP),
        telemetry=TELEMETRY,
    )
    try:
        runner.run(stop)
    finally:
        producer.close()


def _in_process(app: Casework, policy: Positioned, stop: threading.Event, idle_s: float) -> None:
    delivery = InProcessDelivery(app, [policy], batch_size=100)
    delivery.position = policy.position(app.recorder.max_notification_id() or 0)
    backoff = 0.1
    while not stop.is_set():
        try:
            delivered = delivery.deliver()
            backoff = 0.1
        except ChannelUnavailable as error:
            log.warning("letters wait: the channel is unavailable (%s)", error)
            stop.wait(backoff)
            backoff = min(backoff * 2, 30.0)
            continue
        if delivered == 0:
            stop.wait(idle_s)


def address_lines(form: dict[str, Any]) -> list[str]:
    """To whom a printed letter goes: the applicant's name, and the address the form gives (a
    postal address from the population register is not looked up)."""
    lines = [applicant_name(form) or "Søkeren"]
    if isinstance(form.get("adresse"), str):
        lines.append(form["adresse"])
    return lines


def print_waiting(
    settings: Settings, out: Path, kommunenummer: str | None, now: datetime
) -> list[Path]:
    """The print queue's letters as PDF/A files in ``out``, each marked printed once written."""
    app = bootstrap(settings)
    db = records_database(settings)
    queue, numbers = PrintQueue(db), Numbers(db)
    written = []
    out.mkdir(parents=True, exist_ok=True)
    try:
        for row in queue.waiting(kommunenummer):
            case = app.get_case(UUID(row["case_id"]))
            event = app.event_at(case.id, int(row["event_version"]))
            occasion = OUTGOING[type(event).__name__]
            about = about_case(app, case)
            about = replace(about, reference=about.reference or numbers.existing(case.id))
            letter = letter_for(occasion, event, about)
            sender = municipality_title(case.kommunenummer)
            path = out / f"{row['message_id'].strip('<>').replace('@', '_')}.pdf"
            recipient = address_lines(case.form)
            if row["party"] is not None and int(row["party"]) >= 0:  # a nabovarsel's party
                party = case.neighbour_parties[int(row["party"])]
                recipient = [party["navn"], party["adresse"]]
            path.write_bytes(pdfa(letter, sender, now, recipient))
            queue.printed(row["message_id"], now)
            written.append(path)
    finally:
        app.close()
        db.close()
    return written
