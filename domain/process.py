"""The process definition's table of steps: which step may be taken in which status, by whom,
where it leads and under which law. The aggregate's guards read their allowed statuses from here;
the control flow of each service's process (``domain.flow``, published as BPMN 2.0 and SVG by
``saksflyt.catalogue``) is built from the same table with the clocks of ``domain.timers``, and the
event log names its activities by these labels (``domain.activities``), so a changed rule changes
the case, the diagram and the log alike (docs/process-mining.md).

A step may appear more than once when it leads to different places (an attachment that completes
the requested documents takes the case back to processing) or applies to some services only.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from domain.lifecycle import AWAITING_DECISION, UNDECIDED, Status
from domain.services import Service


class Actor(enum.StrEnum):
    APPLICANT = "søker"
    CASE_OFFICER = "saksbehandler"
    NEIGHBOUR = "nabo"
    APPEAL_BODY = "klageinstans"
    CONSULTEE = "høringsinstans"  # a body heard before the decision (politiet, sosialtjenesten)
    SAKSFLYT = "saksflyt"  # done by the system on its own: receipts, expiry


class Applies(enum.StrEnum):
    """Which services a step belongs to, by what the catalogue says of them."""

    ALWAYS = "always"
    NEIGHBOUR_NOTICE = "neighbour-notice"  # byggesak: nabovarsel before submission (pbl § 21-3)
    DECIDED = "individual-decision"  # an enkeltvedtak is made (fvl § 2)
    DEEMED = "deemed-granted"  # granted by law when the clock runs out (pbl § 21-7)
    SURVEYED = "survey"  # a survey follows the permit (kartforretning, matrikkelforskriften § 18)
    CONTACT = "contact-requests"  # «kontakt meg» before an application (pleie-omsorg)
    CONSULTED = "consultations"  # other bodies are heard before the decision (alkoholloven § 1-7)
    REGISTERED = "registered-only"  # høringssvar: registered and acknowledged, never decided

    def to(self, service: Service) -> bool:
        if self is Applies.NEIGHBOUR_NOTICE:
            return service.neighbour_notice
        if self is Applies.DECIDED:
            return service.individual_decision
        if self is Applies.DEEMED:
            return service.deemed_granted
        if self is Applies.CONTACT:
            return service.contact_requests
        if self is Applies.SURVEYED:
            return service.survey_days is not None
        if self is Applies.CONSULTED:
            return bool(service.consultations or service.optional_consultations)
        if self is Applies.REGISTERED:
            return not service.individual_decision
        return True


@dataclass(frozen=True)
class Step:
    name: str  # as the guards and refusals name it
    label_nb: str  # as the process model shows it
    actor: Actor
    sources: tuple[Status, ...]
    target: Status | None = None  # None: the case stays in its status
    applies: Applies = Applies.ALWAYS
    law: str = ""


CLOSED = (Status.DECIDED, Status.WITHDRAWN)
A, C, N = Actor.APPLICANT, Actor.CASE_OFFICER, Actor.NEIGHBOUR

STEPS: tuple[Step, ...] = (
    Step("start", "Starte søknad", A, (), Status.DRAFT),
    Step(
        "request contact",
        "Kontakt meg",
        A,
        (),
        Status.DRAFT,
        applies=Applies.CONTACT,
    ),
    Step(
        "take up contact",
        "Ringe opp og starte søknaden",
        C,
        (Status.DRAFT,),
        applies=Applies.CONTACT,
    ),
    Step("save draft", "Mellomlagre", A, (Status.DRAFT,)),
    Step("add attachment", "Legge ved vedlegg", A, UNDECIDED),
    Step(
        "add attachment",
        "Ettersende det som manglet",
        A,
        (Status.AWAITING_DOCUMENTS,),
        Status.SUBMITTED,
    ),
    Step(
        "send neighbour notice",
        "Sende nabovarsel",
        A,
        (Status.DRAFT,),
        applies=Applies.NEIGHBOUR_NOTICE,
        law="pbl § 21-3",
    ),
    Step(
        "record neighbour comment",
        "Merknad fra nabo",
        N,
        UNDECIDED,
        applies=Applies.NEIGHBOUR_NOTICE,
        law="pbl § 21-3",
    ),
    Step(
        "record neighbour comment",
        "Innvending fra nabo",
        N,
        UNDECIDED,
        applies=Applies.NEIGHBOUR_NOTICE,
        law="pbl § 21-3",
    ),
    Step(
        "record neighbour consent",
        "Samtykke fra nabo",
        N,
        UNDECIDED,
        applies=Applies.NEIGHBOUR_NOTICE,
        law="pbl § 21-3",
    ),
    Step("submit", "Sende inn", A, (Status.DRAFT,), Status.SUBMITTED),
    Step(
        "expire draft",
        "Utløpt utkast slettes",
        Actor.SAKSFLYT,
        (Status.DRAFT,),
        Status.SHREDDED,
        law="GDPR art. 5 (1) e",
    ),
    Step("withdraw", "Trekke søknaden", A, UNDECIDED, Status.WITHDRAWN),
    Step(  # the receipt answers the submission, whatever the case has come to since
        "send receipt",
        "Sende kvittering",
        Actor.SAKSFLYT,
        (
            Status.SUBMITTED,
            Status.AWAITING_DOCUMENTS,
            Status.DECIDED,
            Status.APPEALED,
            Status.WITHDRAWN,
            Status.ARCHIVED,
        ),
    ),
    Step("record message", "Registrere brev", Actor.SAKSFLYT, tuple(Status)),
    Step(
        "request missing documents",
        "Be om manglende dokumenter",
        C,
        (Status.SUBMITTED,),
        Status.AWAITING_DOCUMENTS,
        applies=Applies.DECIDED,
        law="fvl § 17",
    ),
    Step("resume processing", "Behandle videre", C, (Status.AWAITING_DOCUMENTS,), Status.SUBMITTED),
    Step(
        "request consultation",
        "Be om uttalelse",
        C,
        AWAITING_DECISION,
        applies=Applies.CONSULTED,
        law="alkoholloven § 1-7",
    ),
    Step(
        "record consultation answer",
        "Uttalelse mottatt",
        Actor.CONSULTEE,
        AWAITING_DECISION,
        applies=Applies.CONSULTED,
        law="alkoholloven § 1-7",
    ),
    Step(
        "send preliminary reply",
        "Sende foreløpig svar",
        C,
        (Status.SUBMITTED, Status.AWAITING_DOCUMENTS),
        applies=Applies.DECIDED,
        law="fvl § 11 a",
    ),
    Step(
        "decide",
        "Fatte vedtak",
        C,
        (Status.SUBMITTED,),
        Status.DECIDED,
        applies=Applies.DECIDED,
        law="fvl §§ 24-27",
    ),
    Step(
        "deem permit granted",
        "Tillatelse regnes som gitt",
        Actor.SAKSFLYT,
        (Status.SUBMITTED,),
        Status.DECIDED,
        applies=Applies.DEEMED,
        law="pbl § 21-7 tredje ledd",
    ),
    Step(
        "record decision delivery",
        "Vedtaket er mottatt",
        C,
        (Status.DECIDED,),
        applies=Applies.DECIDED,
        law="fvl § 29",
    ),
    Step(
        "record survey",
        "Oppmålingsforretning holdt",
        C,
        (Status.DECIDED, Status.APPEALED),
        applies=Applies.SURVEYED,
        law="matrikkelforskriften § 18",
    ),
    Step(
        "receive appeal",
        "Motta klage",
        C,
        (Status.DECIDED,),
        Status.APPEALED,
        applies=Applies.DECIDED,
        law="fvl § 32",
    ),
    Step(
        "review appeal",
        "Omgjøre vedtaket",
        C,
        (Status.APPEALED,),
        Status.DECIDED,
        applies=Applies.DECIDED,
        law="fvl § 33",
    ),
    Step(
        "review appeal",
        "Sende klagen til klageinstansen",
        C,
        (Status.APPEALED,),
        applies=Applies.DECIDED,
        law="fvl § 33",
    ),
    Step(
        "dismiss appeal",
        "Avvise klagen",
        C,
        (Status.APPEALED,),
        Status.DECIDED,
        applies=Applies.DECIDED,
        law="fvl § 33 annet ledd",
    ),
    Step(
        "record appeal result",
        "Klageinstansen stadfester vedtaket",
        Actor.APPEAL_BODY,
        (Status.APPEALED,),
        Status.DECIDED,
        applies=Applies.DECIDED,
        law="fvl § 34",
    ),
    Step(
        "record appeal result",
        "Klageinstansen endrer vedtaket",
        Actor.APPEAL_BODY,
        (Status.APPEALED,),
        Status.DECIDED,
        applies=Applies.DECIDED,
        law="fvl § 34",
    ),
    Step(
        "record appeal result",
        "Klageinstansen opphever vedtaket",
        Actor.APPEAL_BODY,
        (Status.APPEALED,),
        Status.SUBMITTED,
        applies=Applies.DECIDED,
        law="fvl § 34",
    ),
    Step(
        "dismiss appeal",
        "Klageinstansen avviser klagen",
        Actor.APPEAL_BODY,
        (Status.APPEALED,),
        Status.DECIDED,
        applies=Applies.DECIDED,
        law="fvl § 34 første ledd",
    ),
    Step("archive", "Arkivere", C, CLOSED, Status.ARCHIVED),
    Step(
        "archive",
        "Arkivere",
        C,
        (Status.SUBMITTED,),
        Status.ARCHIVED,
        applies=Applies.REGISTERED,
    ),
    Step("shred", "Kassere", C, CLOSED, Status.SHREDDED),
    Step(
        "shred",
        "Kassere",
        C,
        (Status.SUBMITTED,),
        Status.SHREDDED,
        applies=Applies.REGISTERED,
    ),
)


def steps_for(service: Service | None) -> list[Step]:
    """The steps of one service's process (every step when ``service`` is None)."""
    return [s for s in STEPS if service is None or s.applies.to(service)]


def allowed(step: str, service: Service | None = None) -> tuple[Status, ...]:
    """The statuses ``step`` may be taken in, in the order of ``Status``; a step that opens the
    case (no source) works on the new case, a draft."""
    entries = [s for s in steps_for(service) if s.name == step]
    sources = {status for s in entries for status in s.sources}
    if any(not s.sources for s in entries):
        sources.add(Status.DRAFT)
    return tuple(status for status in Status if status in sources)


def reachable(steps: Iterable[Step]) -> list[Status]:
    """The statuses a case of these steps can come to, from the start, in the order of ``Status``."""
    steps = list(steps)
    seen: set[Status] = set()
    frontier = [s.target for s in steps if not s.sources and s.target]
    while frontier:
        status = frontier.pop()
        if status not in seen:
            seen.add(status)
            frontier += [s.target for s in steps if status in s.sources and s.target]
    return [status for status in Status if status in seen]
