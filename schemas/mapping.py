"""The one place where stored domain events and public messages meet.

Stored events are the domain's own business; public messages are a contract with other systems.
This module maps domain events to public records and public command records to domain commands, so
a refactor of the domain never changes the wire (the round-trip tests fail first).
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

from domain import commands as cmd
from domain.appeal import AppealStage, DismissalGround
from domain.deadlines import decision_due_when_stored_without
from domain.lifecycle import AppealResult, Outcome
from domain.values import ATTACHMENT_FIELDS, Attachment, Decision, Neighbour
from schemas.registry import Registry

EVENT_ID_NAMESPACE = UUID("6f1c3c52-3b4e-4a8e-9d52-8a1f8b0c5e11")
CE_TYPE_PREFIX = "no.saksflyt.application."


@dataclass(frozen=True)
class PublicEvent:
    name: str  # message type, e.g. "ApplicationSubmitted"
    ce_type: str  # CloudEvents type, e.g. "no.saksflyt.application.submitted.v2"
    record: dict[str, Any]

    @property
    def case_id(self) -> UUID:
        return UUID(str(self.record["case_id"]))

    @property
    def event_id(self) -> UUID:
        return UUID(str(self.record["event_id"]))


def event_id(case_id: UUID, version: int) -> UUID:
    """Stable across relays and redeliveries: consumers drop duplicates by it."""
    return uuid5(EVENT_ID_NAMESPACE, f"{case_id}/{version}")


def _form_out(form: dict[str, Any] | list[Any] | str) -> str:
    """A form (or a list of parties) as JSON text; a sealed one (already text) as it is."""
    return form if isinstance(form, str) else json.dumps(form, ensure_ascii=False, sort_keys=True)


def _submitted_extra(state: dict[str, Any]) -> dict[str, Any]:
    """An application submitted before the domain recorded its due date (v5) gets the one the
    domain gives such an event."""
    if "decision_due" in state:
        return {}
    return {"decision_due": decision_due_when_stored_without(state["at"], state["decision_days"])}


# domain topic -> (public type, {public field: domain attribute}, extra fields computed from state)
Extra = Callable[[dict[str, Any]], dict[str, Any]]
EVENT_MAP: dict[str, tuple[str, dict[str, str], Extra | None]] = {
    "created": ("ApplicationCreated", {}, None),
    "draft-saved": ("DraftSaved", {"form_json": "form"}, None),
    "contact-requested": ("ContactRequested", {"contact_json": "contact"}, None),
    "contact-taken-up": ("ContactTakenUp", {}, None),
    "attachment-added": ("AttachmentAdded", {k: k for k in ATTACHMENT_FIELDS}, None),
    "submitted": (
        "ApplicationSubmitted",
        {
            "form_json": "form",
            "decision_days": "decision_days",
            "objection_decision_days": "objection_decision_days",
            "applicant_ref": "applicant_ref",
            "late": "late",
            "decision_due": "decision_due",
            "preliminary_reply_due": "preliminary_reply_due",
            "deemed_granted_on": "deemed_granted_on",
        },
        _submitted_extra,
    ),
    "receipt-sent": ("ReceiptSent", {k: k for k in ("channel", "address", "message_id")}, None),
    "message-sent": (
        "MessageSent",
        {k: k for k in ("kind", "channel", "message_id", "attempts")},
        None,
    ),
    "message-failed": (
        "MessageFailed",
        {k: k for k in ("kind", "channel", "message_id", "attempts", "reason")},
        None,
    ),
    "missing-documents-requested": (
        "MissingDocumentsRequested",
        {"kinds": "kinds", "reason": "reason", "respond_by": "respond_by"},
        None,
    ),
    "processing-resumed": (
        "ProcessingResumed",
        {"decision_due": "decision_due", "deemed_granted_on": "deemed_granted_on"},
        None,
    ),
    "neighbour-notice-sent": (
        "NeighbourNoticeSent",
        {
            "neighbours": "neighbours",
            "comment_deadline": "comment_deadline",
            "parties_json": "parties",
        },
        None,
    ),
    "neighbour-comment-received": (
        "NeighbourCommentReceived",
        {k: k for k in ("neighbour", "objection", "late", "deemed_granted_on")},
        None,
    ),
    "neighbour-consent-received": ("NeighbourConsentReceived", {"neighbour": "neighbour"}, None),
    "consultation-requested": (
        "ConsultationRequested",
        {"party": "party", "answer_by": "answer_by"},
        None,
    ),
    "consultation-answered": (
        "ConsultationAnswered",
        {k: k for k in ("party", "objection", "late", "consultation_due")},
        None,
    ),
    "preliminary-reply-sent": (
        "PreliminaryReplySent",
        {"reason": "reason", "expected_by": "expected_by"},
        None,
    ),
    "decision-made": (
        "DecisionMade",
        {
            k: k
            for k in (
                "outcome",
                "legal_basis",
                "case_officer",
                "appeal_deadline",
                "facts",
                "considerations",
                "valid_until",
            )
        },
        None,
    ),
    "survey-clock-started": ("SurveyClockStarted", {"survey_due": "survey_due"}, None),
    "survey-completed": ("SurveyCompleted", {"held_on": "held_on", "late": "late"}, None),
    "permit-deemed-granted": (
        "PermitDeemedGranted",
        {"decision_deadline": "decision_deadline", "appeal_deadline": "appeal_deadline"},
        None,
    ),
    "decision-delivered": (
        "DecisionDelivered",
        {"delivered_on": "delivered_on", "appeal_deadline": "appeal_deadline"},
        None,
    ),
    "appeal-received": (
        "AppealReceived",
        {
            k: k
            for k in ("received_on", "timely", "review_due", "sent_on", "within_a_year", "party")
        },
        None,
    ),
    "appeal-forwarded": ("AppealForwarded", {"appeal_body": "appeal_body"}, None),
    "appeal-reviewed": ("AppealReviewed", {"reversed": "reversed"}, None),
    "appeal-dismissed": (
        "AppealDismissed",
        {k: k for k in ("ground", "by", "appeal_deadline")},
        None,
    ),
    "appeal-decided": (
        "AppealDecided",
        {
            k: k
            for k in ("result", "outcome", "legal_basis", "decision_due", "preliminary_reply_due")
        },
        None,
    ),
    "withdrawn": ("ApplicationWithdrawn", {"reason": "reason"}, None),
    "archived": (
        "ApplicationArchived",
        {"archive_reference": "archive_reference", "override_reason": "override_reason"},
        None,
    ),
    "shredded": ("ApplicationShredded", {"override_reason": "override_reason"}, None),
}
PUBLIC_EVENT_NAMES = frozenset(name for name, _, _ in EVENT_MAP.values())
# what a stored event from before an attribute existed says, where the contract has no null
STORED_BEFORE = {"within_a_year": True, "party": True}


def _suffix(domain_event: object) -> str:
    return str(type(domain_event).TOPIC).removeprefix("saksflyt.application.")  # type: ignore[attr-defined]


def to_public_event(
    domain_event: object, service: str, kommunenummer: str, schema_version: int
) -> PublicEvent:
    """A stored domain event as the public record, in the shape of the given schema version."""
    suffix = _suffix(domain_event)
    name, field_map, extra = EVENT_MAP[suffix]
    state = vars(domain_event)
    case_id, version = state["originator_id"], state["originator_version"]
    record: dict[str, Any] = {
        "event_id": event_id(case_id, version),
        "case_id": case_id,
        "case_version": version,
        "occurred_at": state["at"],
        "service": service,
        "kommunenummer": kommunenummer,
    }
    for public, attribute in field_map.items():
        # an attribute newer than the stored event reads as its default, or None
        value = state.get(attribute, STORED_BEFORE.get(attribute))
        if public.endswith("_json") and value is not None:
            value = _form_out(value)
        record[public] = value
    if extra and schema_version > 1:
        record.update(extra(state))
    for key, value in record.items():
        if isinstance(value, datetime):
            record[key] = _to_millis(value)
    return PublicEvent(name, f"{CE_TYPE_PREFIX}{suffix}.v{schema_version}", record)


def _to_millis(value: Any) -> Any:
    """Times as the contract carries them (``timestamp-millis``): a consumer fed in-process (a
    rebuild from the event store) sees what one fed from Kafka sees. The fault campaign found
    read models rebuilt from the store a few hundred microseconds off the live ones."""
    if isinstance(value, datetime):
        return value.replace(microsecond=value.microsecond // 1000 * 1000)
    return value


def to_latest_public_event(
    domain_event: object, service: str, kommunenummer: str, registry: Registry
) -> PublicEvent:
    """The public record in the newest schema version of its type (what we write now)."""
    version = registry.latest(EVENT_MAP[_suffix(domain_event)][0]).version
    return to_public_event(domain_event, service, kommunenummer, version)


# ----- commands ---------------------------------------------------------------------------------


class InvalidCommand(ValueError):
    """A command record that decodes but cannot be a command (bad JSON form, unknown outcome …)."""


COMMAND_TYPES: dict[str, type[cmd.Command]] = {
    "StartApplication": cmd.StartApplication,
    "FileApplication": cmd.SubmitNewApplication,
    "SaveDraft": cmd.SaveDraft,
    "SubmitApplication": cmd.SubmitApplication,
    "AddAttachment": cmd.AddAttachment,
    "SendNeighbourNotice": cmd.SendNeighbourNotice,
    "RecordNeighbourComment": cmd.RecordNeighbourComment,
    "RecordNeighbourConsent": cmd.RecordNeighbourConsent,
    "RequestMissingDocuments": cmd.RequestMissingDocuments,
    "ResumeProcessing": cmd.ResumeProcessing,
    "SendPreliminaryReply": cmd.SendPreliminaryReply,
    "Decide": cmd.Decide,
    "ReceiveAppeal": cmd.ReceiveAppeal,
    "ReviewAppeal": cmd.ReviewAppeal,
    "DismissAppeal": cmd.DismissAppeal,
    "RecordAppealResult": cmd.RecordAppealResult,
    "Withdraw": cmd.Withdraw,
    "Archive": cmd.Archive,
    "Shred": cmd.Shred,
}
COMMAND_NAMES = {cls: name for name, cls in COMMAND_TYPES.items()}
RENAMED = {"form": "form_json"}


def _form_in(text: str | None) -> dict[str, Any]:
    if text is None:
        return {}
    try:
        form = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidCommand(f"form_json is not JSON: {error.msg}") from None
    if not isinstance(form, dict):
        raise InvalidCommand("form_json must be a JSON object")
    return form


WORDS: dict[str, type[Outcome | AppealResult | DismissalGround | AppealStage]] = {
    "outcome": Outcome,
    "result": AppealResult,
    "ground": DismissalGround,
    "by": AppealStage,
}


def _convert_in(name: str, value: Any) -> Any:
    if name == "form":
        return _form_in(value)
    if name == "parties":
        return [Neighbour(**party) for party in value or []]
    if name in WORDS:
        words = WORDS[name]
        try:
            return words(value)
        except ValueError:
            raise InvalidCommand(f"{name} must be one of {[w.value for w in words]}") from None
    if name.endswith("_id") and not isinstance(value, UUID):
        return UUID(str(value))
    return value


# Value objects travel flat on the wire: command field -> the class whose fields stand beside it.
GROUPS: dict[str, type[Attachment] | type[Decision]] = {
    "attachment": Attachment,
    "decision": Decision,
}


def _field_in(name: str, record: dict[str, Any], optional: bool) -> Any:
    """The value of one command field from the flat wire record (None where the wire has none;
    an ``optional`` group is None when none of its fields is given)."""
    group = GROUPS.get(name)
    if group is None:
        return _convert_in(name, record.get(RENAMED.get(name, name)))
    if optional and all(record.get(f.name) is None for f in fields(group)):
        return None
    return group(**{f.name: _convert_in(f.name, record.get(f.name)) for f in fields(group)})


def command_from_record(name: str, record: dict[str, Any], received_at: datetime) -> cmd.Command:
    """A decoded public command record as a domain command, received at ``received_at``.

    The record's ``issued_at`` is the sending service's own time (bounded by the domain).
    """
    try:
        command_type = COMMAND_TYPES[name]
    except KeyError:
        raise InvalidCommand(f"{name} is not a command") from None
    values = {f.name: _field_in(f.name, record, f.default is None) for f in fields(command_type)}
    return command_type(**{**values, "received_at": received_at, "actor": record["issued_by"]})


def _value_out(name: str, value: Any) -> Any:
    if name == "form":
        return _form_out(value)
    if name == "parties":
        return [party.as_record() for party in value]
    return value.value if isinstance(value, enum.Enum) else value


def command_to_record(command: cmd.Command, issued_by: str) -> tuple[str, dict[str, Any]]:
    """A domain command as the public record, for senders (tests, demo, HTTP API)."""
    record: dict[str, Any] = {"issued_by": issued_by}
    for f in fields(command):
        value = getattr(command, f.name)
        if f.name in ("received_at", "actor"):
            continue  # ours to stamp on arrival; the sender is issued_by
        if f.name == "issued_at":
            value = value or command.received_at
        if f.name in GROUPS:
            record.update(
                {
                    g.name: None if value is None else _value_out(g.name, getattr(value, g.name))
                    for g in fields(GROUPS[f.name])
                }
            )
        else:
            record[RENAMED.get(f.name, f.name)] = _value_out(f.name, value)
    return COMMAND_NAMES[type(command)], record
