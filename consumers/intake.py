"""Command intake: ``saksflyt.commands`` -> domain commands -> the event store.

- Idempotent by command id: a command that already changed a case, or was already refused, is
  recognised and changes nothing (the id is recorded in the same transaction as the events).
- A command the rules refuse is announced on ``saksflyt.commands.rejected`` with the reason and
  the rule; never silently dropped.
- Bytes that are not a command raise, so the consumer runtime sends them to the dead-letter topic.
Commands are keyed by case id, so one case's commands arrive, and are applied, in order.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from kafka import KafkaProducer

from consumers.logcontext import correlation
from consumers.telemetry import NO_TELEMETRY, Telemetry
from domain.casework import Casework
from domain.commands import Command, execute
from domain.errors import ConcurrentUpdate, DomainError, InvalidTransition
from schemas.codec import AvroCodec, UndecodableMessage
from schemas.kafka_layout import KafkaRecord, cloudevent_headers
from schemas.mapping import COMMAND_TYPES, InvalidCommand, command_from_record

log = logging.getLogger(__name__)
ACK_TIMEOUT_S = 30


class NotACommand(UndecodableMessage):
    """A well-formed message of a type that is not a command (e.g. an event on the command topic)."""


@dataclass
class IntakeStats:
    accepted: int = 0
    rejected: int = 0
    duplicate: int = 0


def _rule_name(error: Exception) -> str:
    """``IncompleteForm`` -> ``incomplete-form``: a stable word for the kind of refusal."""
    return re.sub(r"(?<!^)(?=[A-Z])", "-", type(error).__name__).lower()


class CommandIntake:
    def __init__(
        self,
        app: Casework,
        producer: KafkaProducer,
        rejected_topic: str,
        codec: AvroCodec | None = None,
        telemetry: Telemetry = NO_TELEMETRY,
    ) -> None:
        self.app, self.producer, self.rejected_topic = app, producer, rejected_topic
        self.telemetry = telemetry
        self.codec = codec or AvroCodec()
        self.stats = IntakeStats()

    def __call__(self, record: Any) -> None:
        """Handle one Kafka record from the command topic."""
        decoded = self.codec.decode(record.value)
        if decoded.name not in COMMAND_TYPES:
            raise NotACommand(f"{decoded.name} is not a command")
        fields = decoded.record
        with correlation(command_id=fields["command_id"], case_id=fields.get("case_id")):
            if self.app.has_processed(fields["command_id"]):
                self._count(decoded.name, "duplicate")
                return
            try:
                command = command_from_record(decoded.name, fields)
            except InvalidCommand as error:
                self._reject(fields, decoded.name, error)
                self.app.mark_processed(fields["command_id"])
                return
            self._apply(command)

    def _count(self, command_type: str, outcome: str, rule: str | None = None) -> None:
        setattr(self.stats, outcome, getattr(self.stats, outcome) + 1)
        self.telemetry.command(command_type, outcome)
        log.info("command %s", outcome, extra={"command": command_type, "rule": rule})

    def _apply(self, command: Command) -> None:
        command_type = type(command).__name__
        try:
            with self.app.command(command.command_id):
                execute(command, self.app)
        except ConcurrentUpdate:
            if self.app.has_processed(command.command_id):
                self._count(command_type, "duplicate")  # a twin of this command won the race
                return
            raise  # someone else changed the case: transient, the runtime retries
        except DomainError as error:
            self._reject(vars(command), command_type, error)
            self.app.mark_processed(command.command_id)
            return
        self._count(command_type, "accepted")

    def _reject(self, fields: dict[str, Any], command_type: str, error: Exception) -> None:
        """Announce the refusal. The reason goes on the topic, not in the log: it may quote input."""
        rule = error.rule if isinstance(error, InvalidTransition) else _rule_name(error)
        record = {
            "command_id": UUID(str(fields["command_id"])),
            "case_id": UUID(str(fields["case_id"])) if fields.get("case_id") else None,
            "command_type": command_type,
            "reason": str(error),
            "rule": rule,
            "rejected_at": datetime.now(UTC),
        }
        message = self._rejection_record(record)
        self.producer.send(
            self.rejected_topic, key=message.key, value=message.value, headers=message.headers
        ).get(timeout=ACK_TIMEOUT_S)
        self._count(command_type, "rejected", rule)

    def _rejection_record(self, record: dict[str, Any]) -> KafkaRecord:
        subject = record["case_id"] or record["command_id"]
        return KafkaRecord(
            key=str(subject).encode(),
            value=self.codec.encode("CommandRejected", record),
            headers=cloudevent_headers(
                record["command_id"],
                "no.saksflyt.command.rejected.v1",
                "/saksflyt/intake",
                subject,
                record["rejected_at"],
            ),
        )
