"""The notices policy: letters to the applicant when their case moves, exactly one per occasion.

An occasion is an event of the case: a submission (kvittering), a request for missing documents
(mangelbrev), a preliminary reply (foreløpig svar), a decision (vedtak). For each, the policy
renders the letter, sends it to the form's e-mail address (or, without one, puts it in the print
queue) and records what became of it on the case with a command whose id is derived from the
event's id — in the same transaction as the event store's record of that command id.

Exactly once, as far as the protocol allows:
- Kafka redelivers, or the process restarts: the command id is already recorded, nothing is sent.
- Killed between the SMTP server's "250 OK" and the record's commit: the letter is sent again on
  restart, with the same Message-ID (derived from the event id), so a receiving system can drop
  the copy. That window is one database commit long; the tests measure how often it is hit.
- The SMTP server cannot be reached: ``ChannelUnavailable`` (a ConnectionError) leaves the event
  unhandled; the consume loop waits and retries with backoff, nothing is recorded, nothing lost.
- The server puts one message off (4xx): a few attempts with backoff, then it is recorded as
  failed and the letter goes to the print queue. Refused for good (5xx): recorded as failed at
  once and printed instead, never retried.

Occasions older than ``notices_max_age_hours`` are not acted on (a replay of history, a new
consumer group reading from the start): they are counted as stale.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any
from uuid import UUID, uuid5

from domain import commands as cmd
from domain.casework import Casework
from domain.forms import contact_email
from domain.lifecycle import Status
from domain.places import municipality_title
from projections.database import Database
from saksflyt.archive.numbers import Numbers
from saksflyt.archive.records import saksaar
from saksflyt.letters.occasions import OUTGOING, About, about_case, letter_for
from saksflyt.letters.pdfa import pdfa
from saksflyt.letters.render import Letter
from saksflyt.notices.channels import Channel, Delivery, Outcome
from schemas.mapping import PublicEvent

log = logging.getLogger(__name__)

# public event name -> the domain event whose letter goes out
TRIGGERS = {
    "NeighbourNoticeSent": "NeighbourNoticeSent",
    "ApplicationSubmitted": "Submitted",
    "MissingDocumentsRequested": "MissingDocumentsRequested",
    "PreliminaryReplySent": "PreliminaryReplySent",
    "DecisionMade": "DecisionMade",
    "AppealDismissed": "AppealDismissed",
    "AppealDecided": "AppealDecided",
}
# formal letters: the PDF too
WITH_PDF = frozenset(
    {"mangelbrev", "forelopig-svar", "vedtak", "avvisning", "klagevedtak"}
)  # formal letters: the PDF too
RECORDS = UUID("5b0b7e8e-3f3c-4f0e-9a55-6f0d7c3c2a11")  # namespace of record command ids


def message_id_for(event_id: UUID, kind: str, domain: str) -> str:
    """The Message-ID of the letter ``kind`` that event ``event_id`` occasions: the same on every
    attempt, so a receiver can drop a copy."""
    return f"<{uuid5(event_id, kind)}@{domain}>"


def domain_of(sender: str) -> str:
    return sender.rpartition("@")[2] or "saksflyt.invalid"


class ChannelUnavailable(ConnectionError):
    """The channel cannot take any message now (e.g. the SMTP server is down): try again later."""


@dataclass(frozen=True)
class Trigger:
    """The event that occasions a letter, as much of it as the policy needs."""

    case_id: UUID
    version: int
    event_id: UUID
    name: str  # the domain event's name
    occurred_at: datetime

    @classmethod
    def from_public(cls, event: PublicEvent) -> Trigger | None:
        name = TRIGGERS.get(event.name)
        if name is None:
            return None
        r = event.record
        return cls(event.case_id, int(r["case_version"]), event.event_id, name, r["occurred_at"])


@dataclass
class Tally:
    sent: int = 0
    printed: int = 0
    failed: int = 0
    retried: int = 0
    stale: int = 0
    duplicate: int = 0
    unrecorded: int = 0


class NoticePolicy:
    """A handler of public events (Kafka or in-process); ``act`` does one occasion."""

    def __init__(
        self,
        app: Casework,
        channel: Channel,
        print_queue: PrintQueue,
        sender: str,
        clock: Callable[[], datetime],
        max_age: timedelta = timedelta(hours=72),
        max_attempts: int = 4,
        stop: threading.Event | None = None,
        counted: Callable[[str, str, str], None] = lambda kind, channel, outcome: None,
        numbers: Numbers | None = None,
    ) -> None:
        self.app, self.channel, self.print_queue = app, channel, print_queue
        self.sender, self.domain = sender, domain_of(sender)
        self.clock, self.max_age, self.max_attempts = clock, max_age, max_attempts
        self.stop = stop or threading.Event()
        self.counted = counted
        self.numbers = numbers  # gives a case without one its saksnummer at the receipt
        self.tally = Tally()

    def __call__(self, event: PublicEvent) -> None:
        trigger = Trigger.from_public(event)
        if trigger is not None:
            self.act(trigger, self.clock())

    def act(self, trigger: Trigger, now: datetime) -> None:
        occasion = OUTGOING[trigger.name]
        record_id = uuid5(RECORDS, str(trigger.event_id))
        if now - trigger.occurred_at > self.max_age:
            self._count(occasion.kind, "none", "stale")
            return
        if trigger.name == "NeighbourNoticeSent":
            self._notify_neighbours(trigger, now)
            return
        if self.app.has_processed(record_id):
            self._count(occasion.kind, "none", "duplicate")
            return
        case = self.app.get_case(trigger.case_id)
        if case.status is Status.SHREDDED:
            return  # kassert: no personal data left to write to
        event = self.app.event_at(case.id, trigger.version)
        about = about_case(self.app, case)
        if about.reference is None and self.numbers is not None:  # the saksnummer, from now on
            reference = self.numbers.case_reference(case.id, case.kommunenummer, saksaar(case))
            about = replace(about, reference=reference)
        letter = letter_for(occasion, event, about)
        message_id = message_id_for(trigger.event_id, occasion.kind, self.domain)
        address = contact_email(case.form)
        record = cmd.RecordMessage(
            command_id=record_id,
            case_id=case.id,
            received_at=now,
            kind=occasion.kind,
            channel="print",
            message_id=message_id,
            actor="saksflyt-notices",
        )
        if address is None:
            self._print(trigger, record, case.kommunenummer)
            return
        delivery, attempts = self._deliver(self._email(letter, about, address, message_id, now))
        if delivery.outcome is Outcome.SENT:
            self._record(record, channel="email", address=address, attempts=attempts)
            return
        # on paper instead, first: a restart before the failure is recorded prints it once
        self._print(trigger, record, case.kommunenummer, fallback=True)
        self._record(record, channel="email", failure=delivery.detail, attempts=attempts)

    def _notify_neighbours(self, trigger: Trigger, now: datetime) -> None:
        """Nabovarsel by post to each neighbour and gjenboer (they give no e-mail): one letter
        and one record per party, so each has its receipt (pbl § 21-3)."""
        case = self.app.get_case(trigger.case_id)
        for number, party in enumerate(case.neighbour_parties):
            key = f"{trigger.event_id}/{party['matrikkelnummer']}"
            record = cmd.RecordMessage(
                command_id=uuid5(RECORDS, key),
                case_id=case.id,
                received_at=now,
                kind="nabovarsel",
                channel="print",
                message_id=message_id_for(trigger.event_id, key, self.domain),
                actor="saksflyt-notices",
            )
            if self.app.has_processed(record.command_id):
                self._count("nabovarsel", "print", "duplicate")
                continue
            self.print_queue.add(record, trigger.version, case.kommunenummer, party=number)
            self._record(record)

    def _deliver(self, message: EmailMessage) -> tuple[Delivery, int]:
        """Send with a few attempts for a message put off; ChannelUnavailable if nothing goes."""
        wait = 0.5
        for attempt in range(1, self.max_attempts + 1):
            delivery = self.channel.send(message)
            if delivery.outcome is Outcome.UNREACHABLE:
                raise ChannelUnavailable(delivery.detail)
            if delivery.outcome is not Outcome.DEFERRED or attempt == self.max_attempts:
                return delivery, attempt
            self.tally.retried += 1
            if self.stop.wait(wait):
                raise ChannelUnavailable("stopping while a message was put off")
            wait *= 2
        raise AssertionError("unreachable")

    def _email(
        self, letter: Letter, about: About, address: str, message_id: str, now: datetime
    ) -> EmailMessage:
        kommune = municipality_title(about.case.kommunenummer)
        message = EmailMessage()
        message["From"] = f"{kommune} <{self.sender}>"
        message["To"] = address
        message["Subject"] = letter.title
        message["Message-ID"] = message_id
        message["Date"] = format_datetime(now)
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
        message.set_content(f"{letter.body}\n-- \n{kommune}\n")
        if letter.kind in WITH_PDF:
            document = pdfa(letter, kommune, now)
            message.add_attachment(
                document, maintype="application", subtype="pdf", filename=f"{letter.kind}.pdf"
            )
        return message

    def _print(
        self,
        trigger: Trigger,
        record: cmd.RecordMessage,
        kommunenummer: str,
        fallback: bool = False,
    ) -> None:
        """Into the print queue; a fallback is a second message, with its own id and record."""
        if fallback:
            record = replace(
                record,
                command_id=uuid5(record.command_id, "print"),
                message_id=record.message_id.replace("@", ".print@", 1),
            )
            if self.app.has_processed(record.command_id):
                return
        self.print_queue.add(record, trigger.version, kommunenummer)
        self._record(record, channel="print")

    def _record(self, record: cmd.RecordMessage, **outcome: Any) -> None:
        record = replace(record, **outcome)
        handled = self.app.handle(record)
        result = "failed" if record.failure else "sent"
        if handled.refusal is not None:
            # sent, but the case would not take the record (e.g. archived meanwhile)
            log.warning("letter not recorded on the case: %s", handled.refusal.code)
            result = "unrecorded"
        self._count(record.kind, record.channel, result)

    def _count(self, kind: str, channel: str, outcome: str) -> None:
        key = {"sent": "printed" if channel == "print" else "sent"}.get(outcome, outcome)
        setattr(self.tally, key, getattr(self.tally, key) + 1)
        self.counted(kind, channel, outcome)


class PrintQueue:
    """Letters to post, for people without e-mail: pointers only (case, event, kind); the letter
    is rendered when it is printed, so the queue holds no personal data."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def add(
        self, record: cmd.RecordMessage, version: int, kommunenummer: str, party: int = -1
    ) -> None:
        with self.db.transaction():
            self.db.execute(
                "INSERT INTO print_queue (message_id, case_id, event_version, kind, party, "
                "kommunenummer, queued_at, printed_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL) "
                "ON CONFLICT (message_id) DO NOTHING",
                (
                    record.message_id,
                    str(record.case_id),
                    version,
                    record.kind,
                    party,
                    kommunenummer,
                    record.received_at,
                ),
            )

    def waiting(self, kommunenummer: str | None = None) -> list[dict[str, Any]]:
        where, params = ("AND kommunenummer = ?", (kommunenummer,)) if kommunenummer else ("", ())
        return self.db.rows(
            f"SELECT * FROM print_queue WHERE printed_at IS NULL {where} "
            "ORDER BY queued_at, message_id",
            params,
        )

    def printed(self, message_id: str, at: datetime) -> None:
        with self.db.transaction():
            self.db.execute(
                "UPDATE print_queue SET printed_at = ? WHERE message_id = ?", (at, message_id)
            )
