"""Command intake: ``saksflyt.commands`` -> domain commands -> ``Casework.handle``.

- Idempotent by command id (``handle`` records it with the events, or with the refusal).
- A command the rules refuse is announced on ``saksflyt.commands.rejected`` with its rule code and
  message; never silently dropped. A resent refused command is a duplicate, not announced twice.
- Bytes that are not a command raise, so the consumer runtime sends them to the dead-letter topic.
- Group commit: each record is read and buffered; ``flush`` (the runner calls it after each poll,
  before committing offsets) hands the poll's commands to ``Casework.handle_batch``, which commits
  them together. A poll's size bounds a batch (``max_poll_records``) and so does its latency (a
  poll returns as soon as records are there). A command that fails for good is dead-lettered and
  the others go on; a transient failure is raised for the runner to retry what is left.
Commands are keyed by case id, so one case's commands arrive, and are applied, in order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from kafka import KafkaProducer

from consumers.errors import is_transient
from consumers.logcontext import correlation
from domain.casework import UNREADABLE, Casework
from domain.commands import Command, Handled, Verdict
from domain.group_commit import BatchInterrupted
from schemas.codec import AvroCodec, UndecodableMessage
from schemas.kafka_layout import KafkaRecord, cloudevent_headers
from schemas.mapping import COMMAND_NAMES, COMMAND_TYPES, InvalidCommand, command_from_record

log = logging.getLogger(__name__)
ACK_TIMEOUT_S = 30


class NotACommand(UndecodableMessage):
    """A well-formed message of a type that is not a command (e.g. an event on the command topic)."""


@dataclass
class IntakeStats:
    accepted: int = 0
    rejected: int = 0
    duplicate: int = 0


class CommandIntake:
    def __init__(
        self,
        app: Casework,
        producer: KafkaProducer,
        rejected_topic: str,
        codec: AvroCodec | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        unseal: Callable[[str, dict[str, Any]], dict[str, Any]] | None = None,
        classify_transient: Callable[[BaseException], bool] = is_transient,
    ) -> None:
        self.app, self.producer, self.rejected_topic = app, producer, rejected_topic
        self.clock = clock  # stamps when each command was received
        self.unseal = unseal  # opens personal fields a sender sealed to the municipality
        self.is_transient = classify_transient
        self.codec = codec or AvroCodec()
        self.stats = IntakeStats()
        self._pending: list[tuple[Any, Command]] = []  # read, not yet handled

    def __call__(self, record: Any) -> None:
        """Read one Kafka record from the command topic; its command waits for ``flush``."""
        decoded = self.codec.decode(record.value)
        if decoded.name not in COMMAND_TYPES:
            raise NotACommand(f"{decoded.name} is not a command")
        fields = decoded.record
        with correlation(command_id=fields["command_id"], case_id=fields.get("case_id")):
            try:
                plain = self.unseal(decoded.name, fields) if self.unseal else fields
                command = command_from_record(decoded.name, plain, self.clock())
            except InvalidCommand as error:
                self._refuse_invalid(decoded.name, fields, error)
                return
        self._pending.append((record, command))

    def flush(self) -> list[tuple[Any, BaseException]]:
        """Handle the buffered commands with group commit. Returns the records whose command
        failed for good (to be dead-lettered); raises a transient failure, keeping what is left."""
        failed: list[tuple[Any, BaseException]] = []
        while self._pending:
            commands = [command for _, command in self._pending]
            try:
                self._settle(self.app.handle_batch(commands, announce=self._announce_refusal))
            except BatchInterrupted as stopped:
                self._settle(stopped.handled)
                error = stopped.__cause__ or stopped
                if self.is_transient(error):
                    raise error from None
                failed.append((self._pending.pop(0)[0], error))
            except Exception as error:
                if self.is_transient(error):
                    raise
                log.warning("group commit failed, handling one by one: %s", type(error).__name__)
                failed += self._one_by_one()
        return failed

    def _one_by_one(self) -> list[tuple[Any, BaseException]]:
        """The buffered commands each alone, so one that breaks a group's commit fails alone."""
        failed: list[tuple[Any, BaseException]] = []
        while self._pending:
            command = self._pending[0][1]
            try:
                self._settle([self.app.handle(command, announce=self._announce_refusal)])
            except Exception as error:
                if self.is_transient(error):
                    raise
                failed.append((self._pending.pop(0)[0], error))
        return failed

    def _settle(self, outcomes: list[Handled]) -> None:
        """The first ``len(outcomes)`` buffered commands are handled: count them, let them go."""
        for handled in outcomes:
            command = handled.command
            with correlation(command_id=command.command_id, case_id=command.case_id):
                self._tally(COMMAND_NAMES[type(command)], handled.verdict, handled.code)
        del self._pending[: len(outcomes)]

    def _refuse_invalid(self, name: str, fields: dict[str, Any], error: InvalidCommand) -> None:
        """Decodable but not a valid command: announced like a refusal, recorded once."""
        verdict = self.app.refuse_unreadable(
            UUID(str(fields["command_id"])),
            name,
            announce=lambda: self._announce(name, fields, UNREADABLE, str(error)),
        )
        self._tally(name, verdict, UNREADABLE)

    def _announce_refusal(self, handled: Handled) -> None:
        assert handled.refusal is not None
        command = handled.command
        fields = {"command_id": command.command_id, "case_id": command.case_id}
        name = COMMAND_NAMES[type(command)]
        self._announce(name, fields, handled.refusal.code, str(handled.refusal))

    def _tally(self, command_type: str, verdict: Verdict, code: str | None) -> None:
        setattr(self.stats, verdict.value, getattr(self.stats, verdict.value) + 1)
        log.info("command %s", verdict, extra={"command": command_type, "rule": code})

    def _announce(self, command_type: str, fields: dict[str, Any], code: str, reason: str) -> None:
        """Put the refusal on the rejected topic. The reason is not logged: it may quote input."""
        record = {
            "command_id": UUID(str(fields["command_id"])),
            "case_id": UUID(str(fields["case_id"])) if fields.get("case_id") else None,
            "command_type": command_type,
            "reason": reason,
            "rule": code,
            "rejected_at": datetime.now(UTC),
        }
        message = self._rejection_record(record)
        self.producer.send(
            self.rejected_topic, key=message.key, value=message.value, headers=message.headers
        ).get(timeout=ACK_TIMEOUT_S)

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
                self.codec.registry.latest("CommandRejected"),
            ),
        )
