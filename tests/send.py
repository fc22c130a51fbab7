"""Send one command through ``Casework.handle`` in a test, the way HTTP and Kafka do."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from domain import commands as cmd
from domain.casework import Casework
from domain.values import Attachment, Neighbour
from saksflyt.demo import synthetic

DAY = timedelta(days=1)


def send(
    app: Casework, command_type: type[cmd.Command], case_id: UUID, at: datetime, **fields: Any
) -> cmd.Handled:
    """Handle a command with a fresh id; raise the refusal if the rules refused it."""
    command = command_type(command_id=uuid4(), case_id=case_id, received_at=at, **fields)
    handled = app.handle(command)
    if handled.refusal is not None:
        raise handled.refusal
    return handled


def start(app: Casework, service: str, at: datetime, **fields: Any) -> UUID:
    """A new draft case in Oslo; returns its id."""
    case_id = uuid4()
    send(app, cmd.StartApplication, case_id, at, service=service, kommunenummer="0301", **fields)
    return case_id


def file_application(
    app: Casework, form: dict[str, Any], at: datetime, service: str = "sosialhjelp"
) -> UUID:
    """Start and submit in one step in Oslo (a service without drafts); returns the case id."""
    case_id = uuid4()
    send(
        app,
        cmd.SubmitNewApplication,
        case_id,
        at,
        service=service,
        kommunenummer="0301",
        form=form,
    )
    return case_id


NEIGHBOUR = Neighbour("0301-5/6", "Kari Nabo", "Nabovegen 6, 0150 Oslo")


def project(form: dict[str, Any]) -> dict[str, Any]:
    """A building draft's first save: what is planned, where and by whom — what its nabovarsel
    must say (pbl § 21-3)."""
    return {k: form[k] for k in ("adresse", "tiltakshaver", "matrikkelnummer", "tiltakstype")}


def building_draft(app: Casework, rng: random.Random, t0: datetime) -> tuple[UUID, dict]:
    form = synthetic.complete_form(rng, "melding-om-tiltak", "0301")
    case_id = start(app, "melding-om-tiltak", t0, form=project(form))
    for i, kind in enumerate(("situasjonsplan", "tegninger")):
        attachment = Attachment(uuid4(), kind, "application/pdf", 1000, f"{i}" * 64, kind)
        send(app, cmd.AddAttachment, case_id, t0, attachment=attachment)
    return case_id, form


def submit_building_case(
    app: Casework, rng: random.Random, t0: datetime, objection: bool = False
) -> tuple[UUID, dict]:
    """Neighbour notified first (pbl § 21-3); consenting (submitted an hour later), or objecting
    (submitted after the two weeks, with the applicant's comments)."""
    case_id, form = building_draft(app, rng, t0)
    notice = {"neighbours": [NEIGHBOUR.matrikkelnummer], "parties": [NEIGHBOUR]}
    send(app, cmd.SendNeighbourNotice, case_id, t0, **notice)
    if objection:
        comment = {"neighbour": NEIGHBOUR.matrikkelnummer, "objection": True}
        send(app, cmd.RecordNeighbourComment, case_id, t0 + 3 * DAY, **comment)
        form = {**form, "kommentar_til_merknader": "Tilbygget er flyttet en meter"}
        send(app, cmd.SubmitApplication, case_id, t0 + 15 * DAY, form=form)
    else:
        consent = {"neighbour": NEIGHBOUR.matrikkelnummer}
        send(app, cmd.RecordNeighbourConsent, case_id, t0 + timedelta(minutes=10), **consent)
        send(app, cmd.SubmitApplication, case_id, t0 + timedelta(hours=1), form=form)
    return case_id, form
