"""Which event occasions which letter, and what the letter says: one table for the archive (every
letter in a case's history) and the notices policy (the letters that go to the applicant).

``letter_for(event, about)`` renders the letter of one domain event of a case; ``OUTGOING`` names
the events whose letter is sent to the applicant.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from domain.appeal import DISMISSAL_LAW, DismissalGround
from domain.deadlines import documents_respond_by
from domain.errors import InvalidIdentifier
from domain.lifecycle import local_date
from domain.places import Matrikkelnummer
from domain.services import Service
from saksflyt.letters.render import Letter, render

INCOMING, OUTGOING_DOCUMENT = "Inngående dokument", "Utgående dokument"
APPEAL_LAW = {28: "pasient- og brukerrettighetsloven § 7-5"}  # else fvl § 29 (three weeks)


@dataclass(frozen=True)
class About:
    """The case a letter belongs to, as far as letters need it (personal data open)."""

    service: Service
    case: Any  # the Application aggregate: its form, attachments and times
    reference: str | None = None  # saksnummer, once the case has one
    language: str = "nb"  # the municipality's maalform: nb | nn


@dataclass(frozen=True)
class Occasion:
    kind: str  # the letter's template: kvittering, vedtak, ...
    direction: str  # Inngående | Utgående dokument (Noark 5 journalposttype)
    context: Callable[[Any, About], dict[str, Any]]


def _submitted(event: Any, about: About) -> dict[str, Any]:
    return {"received": event.at, "form": about.case.form, "uploads": about.case.attachments}


def _receipt(event: Any, about: About) -> dict[str, Any]:
    """The decision due at submission, as the case recorded it."""
    return {
        "received": about.case.submitted_at or event.at,
        "sent": event.at,
        "expected_by": about.case.submitted_decision_due,
    }


def _missing(event: Any, about: About) -> dict[str, Any]:
    respond_by = getattr(event, "respond_by", None) or documents_respond_by(local_date(event.at))
    return {"kinds": event.kinds, "reason": event.reason, "respond_by": respond_by}


def _preliminary(event: Any, about: About) -> dict[str, Any]:
    return {"reason": event.reason, "expected_by": event.expected_by}


def _notice(event: Any, about: About) -> dict[str, Any]:
    """What the neighbours must be told (pbl § 21-3; compare blankett 5154): what is planned,
    on which property, who the tiltakshaver is and where comments go."""
    form = about.case.form
    owner = form.get("tiltakshaver") or {}
    return {
        "sent": event.at,
        "neighbours": event.neighbours,
        "comment_deadline": event.comment_deadline,
        "tiltak": form.get("tiltakstype"),
        "areal": form.get("bruksareal_m2"),
        "eiendom": _property(form.get("matrikkelnummer")),
        "adresse": form.get("adresse"),
        "tiltakshaver": owner.get("navn"),
        "svar_til": owner.get("epost"),
    }


def _property(value: Any) -> str | None:
    """gnr/bnr as a letter names a property (None where the form has none yet)."""
    try:
        place = Matrikkelnummer.parse(str(value))
    except InvalidIdentifier:
        return None
    return f"gnr. {place.gnr}, bnr. {place.bnr} i kommune {place.kommune.value}"


def _answer(event: Any, about: About) -> dict[str, Any]:
    return {
        "received": event.at,
        "neighbour": event.neighbour,
        "consent": type(event).__name__ == "NeighbourConsentReceived",
        "objection": getattr(event, "objection", False),
    }


def _bodies(about: About) -> dict[str, Any]:
    """Who decides and who hears an appeal, as the catalogue names them (fvl § 27 third para.)."""
    service = about.service
    return {
        "deciding_body": service.deciding_body,
        "appeal_body": service.appeal_body,
        "appeal_body_law": service.appeal_body_law,
        "appeal_weeks": service.appeal_days // 7,
    }


def _decision(event: Any, about: About) -> dict[str, Any]:
    return {
        "decided": event.at,
        "outcome": str(event.outcome),
        "legal_basis": event.legal_basis,
        "case_officer": event.case_officer,
        "appeal_deadline": event.appeal_deadline,  # if it reached the party that day
        "appeal_law": APPEAL_LAW.get(about.service.appeal_days, "forvaltningsloven § 29"),
        "facts": getattr(event, "facts", None),  # the reasons (fvl § 25); none before v2
        "considerations": getattr(event, "considerations", None),
        "valid_until": getattr(event, "valid_until", None),
        **_bodies(about),
    }


GROUNDS = {  # why an appeal was dismissed, as the letter says it (bokmål, nynorsk)
    DismissalGround.LATE: (
        "klagen kom etter klagefristen, og det er ikke grunn til å ta den opp likevel",
        "klaga kom etter klagefristen, og det er ikkje grunn til å ta ho opp likevel",
    ),
    DismissalGround.NO_STANDING: (
        "du ikke er part i saken og ikke har rettslig klageinteresse",
        "du ikkje er part i saka og ikkje har rettsleg klageinteresse",
    ),
    DismissalGround.OVER_A_YEAR: (
        "det var gått mer enn ett år siden vedtaket da klagen ble sendt",
        "det var gått meir enn eitt år sidan vedtaket då klaga vart send",
    ),
    DismissalGround.DEFECT: (
        "klagen mangler det loven krever, og mangelen er ikke rettet",
        "klaga manglar det lova krev, og mangelen er ikkje retta",
    ),
}


def _dismissal(event: Any, about: About) -> dict[str, Any]:
    ground = DismissalGround(event.ground)
    nb, nn = GROUNDS[ground]
    return {
        "dismissed": event.at,
        "by": event.by,
        "ground_text": nb,
        "ground_text_nn": nn,
        "ground_law": DISMISSAL_LAW[ground],
        "appeal_deadline": event.appeal_deadline,
        **_bodies(about),
    }


def _appeal_answer(event: Any, about: About) -> dict[str, Any]:
    return {
        "decided": event.at,
        "result": event.result,
        "outcome": getattr(event, "outcome", None),
        "legal_basis": getattr(event, "legal_basis", None),
        "decision_due": getattr(event, "decision_due", None),
        **_bodies(about),
    }


# domain event name -> the letter it occasions
OCCASIONS: dict[str, Occasion] = {
    "Submitted": Occasion("soknad", INCOMING, _submitted),
    "ReceiptSent": Occasion("kvittering", OUTGOING_DOCUMENT, _receipt),
    "MissingDocumentsRequested": Occasion("mangelbrev", OUTGOING_DOCUMENT, _missing),
    "PreliminaryReplySent": Occasion("forelopig-svar", OUTGOING_DOCUMENT, _preliminary),
    "NeighbourNoticeSent": Occasion("nabovarsel", OUTGOING_DOCUMENT, _notice),
    "NeighbourCommentReceived": Occasion("nabosvar", INCOMING, _answer),
    "NeighbourConsentReceived": Occasion("nabosvar", INCOMING, _answer),
    "DecisionMade": Occasion("vedtak", OUTGOING_DOCUMENT, _decision),
    "AppealDismissed": Occasion("avvisning", OUTGOING_DOCUMENT, _dismissal),
    "AppealDecided": Occasion("klagevedtak", OUTGOING_DOCUMENT, _appeal_answer),
}
# what the notices policy sends the applicant, by the event that occasions it; the receipt
# answers the submission (its own event, ReceiptSent, records that it went)
OUTGOING: dict[str, Occasion] = {
    "NeighbourNoticeSent": OCCASIONS["NeighbourNoticeSent"],  # to each party, by post
    "Submitted": Occasion("kvittering", OUTGOING_DOCUMENT, _receipt),
    "MissingDocumentsRequested": OCCASIONS["MissingDocumentsRequested"],
    "PreliminaryReplySent": OCCASIONS["PreliminaryReplySent"],
    "DecisionMade": OCCASIONS["DecisionMade"],
    "AppealDismissed": OCCASIONS["AppealDismissed"],
    "AppealDecided": OCCASIONS["AppealDecided"],
}


def about_case(app: Any, case: Any) -> About:
    """What letters need to know of a case in ``app`` (a Casework): its service as the
    municipality has it, its reference, the municipality's maalform."""
    kommunenummer = case.kommunenummer
    return About(
        app.service_of(case),
        case,
        case.archive_reference,
        app.catalogue.maalform(kommunenummer),
    )


def letter_for(occasion: Occasion, event: Any, about: About) -> Letter:
    context = {"service": about.service, "reference": about.reference}
    context |= occasion.context(event, about)
    return render(occasion.kind, about.service.code, local_date(event.at), context, about.language)
