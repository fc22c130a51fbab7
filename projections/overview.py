"""``case_overview``: one row per case, as a pure function of the previous row and the next event.

The row holds what case officers and analysts ask about: service, municipality, status, the times
that matter, the current decision deadline (counting pauses), the day a building case is granted by
law if still undecided (pbl § 21-7), the neighbour notice, the appeal, and a pseudonymous applicant
reference — never an identity number or a name. Every deadline is the one the domain recorded in
the event that set it: the read side reads rules, it never applies them again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from domain.lifecycle import AWAITING_DECISION, UNDECIDED, AppealResult, Outcome, Status, local_date
from schemas.mapping import PublicEvent

Row = dict[str, Any]
OVERVIEW_COLUMNS = (
    "case_id",
    "version",
    "service",
    "kommunenummer",
    "status",
    "applicant_ref",
    "created_at",
    "submitted_at",
    "decided_at",
    "closed_at",
    "outcome",
    "decision_days",
    "objection_decision_days",
    "paused_days",
    "paused_since",
    "decision_deadline",
    "decided_past_deadline",
    "preliminary_reply_due",
    "preliminary_reply_sent",
    "appeal_deadline",
    "neighbours_notified",
    "neighbour_deadline",
    "neighbour_consents",
    "neighbour_objections",
    "neighbour_comments",
    "last_event_at",
    "appeal_status",
    "appeal_received_on",
    "appeal_review_due",
    "deemed_granted_on",
    "consultations_pending",
    "consultation_due",
    "survey_due",
    "surveyed_on",
    "contact_status",
)


def new_row(event: PublicEvent) -> Row:
    r = event.record
    row: Row = dict.fromkeys(OVERVIEW_COLUMNS)
    row.update(
        case_id=str(r["case_id"]),
        service=r["service"],
        kommunenummer=r["kommunenummer"],
        status=Status.DRAFT.value,
        created_at=r["occurred_at"],
        paused_days=0,
        decided_past_deadline=False,
        preliminary_reply_sent=False,
        neighbours_notified=0,
        neighbour_consents=0,
        neighbour_objections=0,
        neighbour_comments=0,
        consultations_pending=0,
    )
    return row


def _on_submitted(row: Row, r: dict[str, Any]) -> None:
    """The clocks as the domain set them (null in events stored before it recorded them)."""
    row.update(
        status=Status.SUBMITTED.value,
        submitted_at=r["occurred_at"],
        decision_days=r["decision_days"],
        objection_decision_days=r["objection_decision_days"],
        applicant_ref=r.get("applicant_ref"),
        decision_deadline=r.get("decision_due"),
        preliminary_reply_due=r.get("preliminary_reply_due"),
        deemed_granted_on=r.get("deemed_granted_on"),
    )


def _on_missing(row: Row, r: dict[str, Any]) -> None:
    """The decision clock stands: no deadline until it runs again."""
    row.update(
        status=Status.AWAITING_DOCUMENTS.value,
        paused_since=local_date(r["occurred_at"]),
        decision_deadline=None,
        deemed_granted_on=None,
    )


def _on_resumed(row: Row, r: dict[str, Any]) -> None:
    paused = (local_date(r["occurred_at"]) - row["paused_since"]).days
    row.update(
        status=Status.SUBMITTED.value,
        paused_since=None,
        paused_days=row["paused_days"] + paused,
        decision_deadline=r.get("decision_due"),
        deemed_granted_on=r.get("deemed_granted_on"),
    )


def _on_notice(row: Row, r: dict[str, Any]) -> None:
    row.update(neighbours_notified=len(r["neighbours"]), neighbour_deadline=r["comment_deadline"])


def _on_comment(row: Row, r: dict[str, Any]) -> None:
    column = "neighbour_objections" if r["objection"] else "neighbour_comments"
    row[column] += 1
    if row["status"] == Status.SUBMITTED.value:  # an objection ends the grant by law
        row["deemed_granted_on"] = r.get("deemed_granted_on")


def _on_consent(row: Row, r: dict[str, Any]) -> None:
    row["neighbour_consents"] += 1


def _on_consultation(row: Row, r: dict[str, Any]) -> None:
    due = row["consultation_due"]
    row.update(
        consultations_pending=(row["consultations_pending"] or 0) + 1,
        consultation_due=r["answer_by"] if due is None else max(due, r["answer_by"]),
    )


def _on_consultation_answer(row: Row, r: dict[str, Any]) -> None:
    """The others' latest answer-by, as the domain recorded it (before v2: the latest asked)."""
    pending = (row["consultations_pending"] or 1) - 1
    due = r.get("consultation_due") or (row["consultation_due"] if pending else None)
    row.update(consultations_pending=pending, consultation_due=due)


def _on_survey_due(row: Row, r: dict[str, Any]) -> None:
    row.update(survey_due=r["survey_due"], surveyed_on=None)


def _on_surveyed(row: Row, r: dict[str, Any]) -> None:
    row.update(survey_due=None, surveyed_on=r["held_on"])


def _on_contact(row: Row, r: dict[str, Any]) -> None:
    row["contact_status"] = "requested"


def _on_contact_taken_up(row: Row, r: dict[str, Any]) -> None:
    row["contact_status"] = "taken-up"


def _on_reply(row: Row, r: dict[str, Any]) -> None:
    row.update(preliminary_reply_sent=True, preliminary_reply_due=None)


def _on_decision(row: Row, r: dict[str, Any]) -> None:
    due = row["decision_deadline"]
    row.update(
        status=Status.DECIDED.value,
        decided_at=r["occurred_at"],
        outcome=r["outcome"],
        appeal_deadline=r["appeal_deadline"],
        preliminary_reply_due=None,
        decided_past_deadline=due is not None and local_date(r["occurred_at"]) > due,
        deemed_granted_on=None,  # decided by someone: not granted by law
    )


def _on_withdrawn(row: Row, r: dict[str, Any]) -> None:
    row.update(
        status=Status.WITHDRAWN.value,
        closed_at=r["occurred_at"],
        preliminary_reply_due=None,
        deemed_granted_on=None,
    )


def _on_archived(row: Row, r: dict[str, Any]) -> None:
    row.update(status=Status.ARCHIVED.value, closed_at=row["closed_at"] or r["occurred_at"])


def _on_shredded(row: Row, r: dict[str, Any]) -> None:
    row.update(status=Status.SHREDDED.value, closed_at=row["closed_at"] or r["occurred_at"])


def _on_delivered(row: Row, r: dict[str, Any]) -> None:
    row.update(appeal_deadline=r["appeal_deadline"])  # fvl § 29: from delivery


def _on_appeal(row: Row, r: dict[str, Any]) -> None:
    row.update(
        status=Status.APPEALED.value,
        appeal_status="received",
        appeal_received_on=r["received_on"],
        appeal_review_due=r["review_due"],
    )


def _on_forwarded(row: Row, r: dict[str, Any]) -> None:
    row.update(appeal_status="forwarded", appeal_review_due=None)  # reviewed: sent on


def _on_reviewed(row: Row, r: dict[str, Any]) -> None:
    row.update(appeal_status="reversed", appeal_review_due=None)  # the new vedtak follows


def _on_deemed_granted(row: Row, r: dict[str, Any]) -> None:
    """pbl § 21-7 tredje ledd: granted by law, the deadline having run out."""
    row.update(
        status=Status.DECIDED.value,
        decided_at=r["occurred_at"],
        outcome=Outcome.GRANTED.value,
        appeal_deadline=r["appeal_deadline"],
        preliminary_reply_due=None,
        decided_past_deadline=True,
        deemed_granted_on=local_date(r["occurred_at"]),
    )


def _on_appeal_decided(row: Row, r: dict[str, Any]) -> None:
    """fvl § 34: upheld or reversed is final (closable from the next day; a reversal's outcome
    is the case's); repealed sends the case back to processing on a new clock."""
    if r["result"] == AppealResult.REPEALED.value:
        row.update(
            status=Status.SUBMITTED.value,
            appeal_status=r["result"],
            decided_at=None,
            outcome=None,
            appeal_deadline=None,
            decided_past_deadline=False,
            decision_deadline=r.get("decision_due"),
            preliminary_reply_due=r.get("preliminary_reply_due"),
            deemed_granted_on=None,
        )
        return
    changed = r.get("outcome")  # the appeal body's outcome: no longer the law's grant
    row.update(
        status=Status.DECIDED.value,
        appeal_status=r["result"],
        appeal_deadline=local_date(r["occurred_at"]),
        outcome=changed or row["outcome"],
        deemed_granted_on=None if changed else row["deemed_granted_on"],
    )


def _on_appeal_dismissed(row: Row, r: dict[str, Any]) -> None:
    """Avvist: a dismissal by the deciding body may itself be appealed (its own klagefrist);
    one by the appeal body is final."""
    row.update(
        status=Status.DECIDED.value,
        appeal_status="dismissed",
        appeal_review_due=None,
        appeal_deadline=r["appeal_deadline"] or local_date(r["occurred_at"]),
    )


def _nothing(row: Row, r: dict[str, Any]) -> None:
    return None


ON_EVENT: dict[str, Callable[[Row, dict[str, Any]], None]] = {
    "ApplicationCreated": _nothing,
    "DraftSaved": _nothing,
    "ContactRequested": _on_contact,
    "ContactTakenUp": _on_contact_taken_up,
    "AttachmentAdded": _nothing,
    "ReceiptSent": _nothing,
    "MessageSent": _nothing,
    "MessageFailed": _nothing,
    "ApplicationSubmitted": _on_submitted,
    "MissingDocumentsRequested": _on_missing,
    "ProcessingResumed": _on_resumed,
    "NeighbourNoticeSent": _on_notice,
    "NeighbourCommentReceived": _on_comment,
    "NeighbourConsentReceived": _on_consent,
    "ConsultationRequested": _on_consultation,
    "ConsultationAnswered": _on_consultation_answer,
    "PreliminaryReplySent": _on_reply,
    "SurveyClockStarted": _on_survey_due,
    "SurveyCompleted": _on_surveyed,
    "DecisionMade": _on_decision,
    "PermitDeemedGranted": _on_deemed_granted,
    "DecisionDelivered": _on_delivered,
    "AppealReceived": _on_appeal,
    "AppealForwarded": _on_forwarded,
    "AppealReviewed": _on_reviewed,
    "AppealDismissed": _on_appeal_dismissed,
    "AppealDecided": _on_appeal_decided,
    "ApplicationWithdrawn": _on_withdrawn,
    "ApplicationArchived": _on_archived,
    "ApplicationShredded": _on_shredded,
}


def next_overview(row: Row | None, event: PublicEvent) -> Row:
    """The case's row after ``event``. Pure: the same row and event give the same answer."""
    new = dict(row) if row is not None else new_row(event)
    ON_EVENT[event.name](new, event.record)
    new.update(version=event.record["case_version"], last_event_at=event.record["occurred_at"])
    return new


AWAITING = tuple(s.value for s in AWAITING_DECISION)
WATCHED = {  # column -> deadline kind, for the statuses in which it is still to be met
    "decision_deadline": ("decision", AWAITING),
    "preliminary_reply_due": ("preliminary-reply", AWAITING),
    "neighbour_deadline": ("neighbour-comments", tuple(s.value for s in UNDECIDED)),
    "appeal_deadline": ("appeal", (Status.DECIDED.value,)),
    "appeal_review_due": ("appeal-review", (Status.APPEALED.value,)),
    "deemed_granted_on": ("permit-deemed-granted", (Status.SUBMITTED.value,)),
    "consultation_due": ("consultation", AWAITING),
    "survey_due": ("survey", (Status.DECIDED.value, Status.APPEALED.value)),
}


SAME_DAY_DECISION = "emergency-help"  # the decision clock of nødhjelp: its own alert


def open_deadlines(row: Row) -> list[tuple[str, date]]:
    """The deadlines a case still has to meet, for ``deadline_watch``. A decision due the day it
    was asked for (nødhjelp, sosialtjenesteloven § 18) is watched as ``emergency-help``."""
    return [
        (_kind(row, column, kind), row[column])
        for column, (kind, statuses) in WATCHED.items()
        if row["status"] in statuses and row.get(column) is not None
    ]


def _kind(row: Row, column: str, kind: str) -> str:
    same_day = column == "decision_deadline" and row.get("decision_days") == 0
    return SAME_DAY_DECISION if same_day else kind
