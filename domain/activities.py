"""What each event of a case's history is, as a step of its process: the activity (the step's
label in the process definition, the name of its task in the published BPMN) and the role that
took it. The event log for process mining and the BPMN use these names, so a log can be replayed
against the model.

Not every event is a step: the case's creation is the process's start; the start of the survey
clock is a clock, not a step; the notices process's records of letters delivered or failed
(``MessageSent``, ``MessageFailed``) belong to the letters' own track (the letter itself is a
message flow of the step that occasioned it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from domain.process import STEPS, Actor

A, C, N, S = Actor.APPLICANT, Actor.CASE_OFFICER, Actor.NEIGHBOUR, Actor.SAKSFLYT


@dataclass(frozen=True)
class Activity:
    label: str  # the step's label_nb: the task's name in the BPMN
    actor: Actor


Record = Mapping[str, Any]
Choose = Callable[[Record], Activity]

NOT_STEPS = frozenset({"ApplicationCreated", "SurveyClockStarted", "MessageSent", "MessageFailed"})


def _one(label: str, actor: Actor) -> Choose:
    activity = Activity(label, actor)
    return lambda record: activity


def _comment(record: Record) -> Activity:
    label = "Innvending fra nabo" if record.get("objection") else "Merknad fra nabo"
    return Activity(label, N)


def _dismissed(record: Record) -> Activity:
    if record.get("by") == "appeal-body":
        return Activity("Klageinstansen avviser klagen", Actor.APPEAL_BODY)
    return Activity("Avvise klagen", C)


APPEAL_RESULTS = {
    "upheld": "Klageinstansen stadfester vedtaket",
    "reversed": "Klageinstansen endrer vedtaket",
    "repealed": "Klageinstansen opphever vedtaket",
}


def _answer(record: Record) -> Activity:
    return Activity(APPEAL_RESULTS[str(record["result"])], Actor.APPEAL_BODY)


# public event name -> the step it records
ACTIVITIES: dict[str, Choose] = {
    "DraftSaved": _one("Mellomlagre", A),
    "ContactRequested": _one("Kontakt meg", A),
    "ContactTakenUp": _one("Ringe opp og starte søknaden", C),
    "AttachmentAdded": _one("Legge ved vedlegg", A),
    "NeighbourNoticeSent": _one("Sende nabovarsel", A),
    "NeighbourCommentReceived": _comment,
    "NeighbourConsentReceived": _one("Samtykke fra nabo", N),
    "ApplicationSubmitted": _one("Sende inn", A),
    "ReceiptSent": _one("Sende kvittering", S),
    "MissingDocumentsRequested": _one("Be om manglende dokumenter", C),
    "ProcessingResumed": _one("Behandle videre", C),
    "ConsultationRequested": _one("Be om uttalelse", C),
    "ConsultationAnswered": _one("Uttalelse mottatt", Actor.CONSULTEE),
    "PreliminaryReplySent": _one("Sende foreløpig svar", C),
    "DecisionMade": _one("Fatte vedtak", C),
    "PermitDeemedGranted": _one("Tillatelse regnes som gitt", S),
    "DecisionDelivered": _one("Vedtaket er mottatt", C),
    "SurveyCompleted": _one("Oppmålingsforretning holdt", C),
    "AppealReceived": _one("Motta klage", C),
    "AppealForwarded": _one("Sende klagen til klageinstansen", C),
    "AppealReviewed": _one("Omgjøre vedtaket", C),
    "AppealDismissed": _dismissed,
    "AppealDecided": _answer,
    "ApplicationWithdrawn": _one("Trekke søknaden", A),
    "ApplicationArchived": _one("Arkivere", C),
    "ApplicationShredded": _one("Kassere", C),
}


def activity(name: str, record: Record) -> Activity | None:
    """The step a public event records (None: the event is no step; see the module's note)."""
    if name in NOT_STEPS:
        return None
    return ACTIVITIES[name](record)


def step_labels() -> frozenset[str]:
    """Every step label of the process table: each activity must be one of them."""
    return frozenset(step.label_nb for step in STEPS)
