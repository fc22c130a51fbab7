"""Drive an Application aggregate (in memory, no I/O) into a given state, for tests."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from hashlib import sha256
from typing import Any
from uuid import uuid4

from domain.application import Application
from domain.lifecycle import OSLO, Outcome
from domain.services import Catalogue, Service
from domain.values import Attachment, Decision, Neighbour
from saksflyt.demo import synthetic

CATALOGUE = Catalogue.default()
KOMMUNE = "0301"


# the reasons a refusal or a partial grant gives (fvl § 25)
REASONS = {"facts": "the facts of the case", "considerations": "the main considerations"}


def service(code: str) -> Service:
    return CATALOGUE.service(code, KOMMUNE)


def attach(case: Application, kind: str, at: datetime) -> None:
    digest = sha256(kind.encode()).hexdigest()
    attachment = Attachment(uuid4(), kind, "application/pdf", 1234, digest, f"vedlegg/{kind}")
    case.add_attachment(attachment, at, service(case.service))


def draft(code: str, at: datetime) -> Application:
    """A new draft; a building case's names what is planned, where and by whom (what its
    nabovarsel must say, pbl § 21-3)."""
    case = Application(service=code, kommunenummer=KOMMUNE, at=at, id=uuid4())
    if service(code).neighbour_notice:
        form = synthetic.complete_form(random.Random(1), code, KOMMUNE)
        case.save_draft(
            {k: form[k] for k in ("tiltakshaver", "matrikkelnummer", "tiltakstype")}, at
        )
    return case


def parties(*properties: str, rolle: str = "nabo") -> list[Neighbour]:
    """Synthetic neighbours: each property's owner, with an address (pbl § 21-3)."""
    return [
        Neighbour(p, f"Eier av {p}", f"Nabovegen {n}, 0150 Oslo", rolle)
        for n, p in enumerate(properties, start=1)
    ]


def prepared(code: str, at: datetime) -> Application:
    """A draft with its required attachments."""
    case = draft(code, at)
    for kind in sorted(service(code).required_attachments):
        attach(case, kind, at)
    return case


def submitted(
    code: str, at: datetime, rng: random.Random | None = None, **fields: Any
) -> Application:
    """Submitted with its required attachments (and the form's ``fields`` as given); a building
    case's one neighbour notified and consenting first (pbl § 21-3)."""
    case = prepared(code, at)
    if service(code).neighbour_notice:
        case.send_neighbour_notice(parties("0301-1/2"), at, service(code))
        case.record_neighbour_consent("0301-1/2", at)
    form = synthetic.complete_form(rng or random.Random(1), code, KOMMUNE) | fields
    case.submit(form, at, service(code))
    return case


def submit(case: Application, at: datetime, comments: str | None = None) -> Application:
    """Submit a prepared draft (with the applicant's comments on objections, if given)."""
    form = synthetic.complete_form(random.Random(1), case.service, KOMMUNE)
    if comments:
        form["kommentar_til_merknader"] = comments
    case.submit(form, at, service(case.service))
    return case


def decided(code: str, at: datetime, **fields: Any) -> Application:
    case = submitted(code, at, **fields)
    granted = Decision(Outcome.GRANTED, "lov § 1", "saksbehandler")
    case.decide(granted, at + timedelta(days=5), service(code))
    return case


# ----- cases in a given state, for the aggregate tests ----------------------------------------

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=OSLO)
DAY = timedelta(days=1)
BUILD = "melding-om-tiltak"


def notified(at: datetime) -> Application:
    """A building case's draft, two neighbours notified (not yet submitted)."""
    case = prepared(BUILD, at)
    case.send_neighbour_notice(parties("0301-1/2", "0301-1/3"), at, service(BUILD))
    return case


def awaiting(at: datetime) -> Application:
    case = submitted("sosialhjelp", at)
    case.request_missing_documents(["lonnsslipp"], "mangler lønnsslipp", at, service("sosialhjelp"))
    return case


def withdrawn(at: datetime) -> Application:
    case = submitted("avfallsbeholder", at)
    case.withdraw("trenger ikke", at)
    return case


def shredded(at: datetime) -> Application:
    case = withdrawn(at)
    case.shred(at + DAY, service(case.service))
    return case


def decide(case: Application, at: datetime) -> None:
    case.decide(Decision(Outcome.GRANTED, "lov § 1", "saksbehandler"), at, service(case.service))


def with_consent(case: Application, neighbour: str) -> Application:
    case.record_neighbour_consent(neighbour, T0)
    return case


def with_reply(case: Application) -> Application:
    case.send_preliminary_reply("høring hos politiet", date(2026, 6, 1), T0, service(case.service))
    return case
