"""Send one command through ``Casework.handle`` in a test, the way HTTP and Kafka do."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from domain import commands as cmd
from domain.casework import Casework


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
