"""What a campaign sends, and what each case should look like afterwards.

Kafka: a simulated month's commands (all ten services, the demo's mix, those a backend would put
on Kafka), each case under a fresh id, with some commands sent twice (the same command id), some
cases' commands swapped out of order, and commands for cases that do not exist. HTTP: journeys of
a form portal and a case officer — submit, upload a PDF, decide — each request with an
Idempotency-Key; some cases decided by two case officers at once.

The expectation is a reference run: every case's commands, in the order they are sent, handled
one at a time by a fresh embedded store. Cases do not depend on one another, so each case's list
of events there is what the system under test must end up with, fault or no fault.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from domain import commands as cmd
from domain.commands import Verdict
from domain.errors import CaseNotFound
from domain.forms import contact_email
from domain.lifecycle import Outcome
from domain.services import default_services
from domain.values import Attachment, Decision
from saksflyt.bootstrap import bootstrap
from saksflyt.demo import synthetic
from saksflyt.demo.simulation import MUNICIPALITIES, simulated_commands
from saksflyt.http.commands import new_case_id
from saksflyt.settings import Settings
from schemas.mapping import COMMAND_NAMES, command_from_record, command_to_record

PDF = synthetic.pdf("a synthetic attachment for the fault campaign")
PDF_TYPE = "application/pdf"
PNG = synthetic.png()  # a real one: uploads are decoded
PROBES = 40
SENDER = "postmottak@kommune.example"  # the notices policy's From: its domain is in Message-IDs
HTTP_SERVICES = ("avfallsbeholder", "ledsagerbevis", "parkering-forflytningshemmet")
# event types the notices policy adds while the campaign runs: the letters it records (and a
# vedtak's delivery, when it went by e-mail)
SIDE_EFFECTS = frozenset({"ReceiptSent", "MessageSent", "MessageFailed", "DecisionDelivered"})


@dataclass(frozen=True)
class Request:
    """One HTTP request of a journey, and the domain command it becomes."""

    method: str
    path: str
    key: uuid.UUID  # its Idempotency-Key (the command id)
    command: cmd.Command
    json: dict[str, Any] | None = None
    upload: tuple[str, bytes, str] | None = None  # kind, bytes, media type
    contested: bool = False  # sent at the same time as the request before it


@dataclass
class Journey:
    """One case over HTTP: a form portal's requests, then a case officer's decision."""

    case_id: uuid.UUID
    service: str
    requests: list[Request]


def _journey(rng: random.Random, n: int) -> Journey:
    service = HTTP_SERVICES[n % len(HTTP_SERVICES)]
    kommune = MUNICIPALITIES[n % len(MUNICIPALITIES)]
    form = synthetic.complete_form(rng, service, kommune)

    def key() -> uuid.UUID:
        return uuid.UUID(int=rng.getrandbits(128), version=4)

    chosen = key()  # the client's id; the case's is derived from it in the municipality
    case_id = new_case_id(kommune, chosen)
    at: dict[str, Any] = {"case_id": case_id, "received_at": datetime.now(UTC), "actor": "chaos"}
    step = f"/applications/{case_id}/"
    requests: list[Request] = []
    if service == "avfallsbeholder":  # no attachments: start and submit in one request
        k = key()
        body = {"service": service, "kommunenummer": kommune, "form": form, "case_id": str(chosen)}
        made = cmd.SubmitNewApplication(
            command_id=k, **at, service=service, kommunenummer=kommune, form=form
        )
        requests.append(Request("POST", "/applications", k, made, json=body))
    else:  # a draft, its two attachments, then submitted
        k = key()
        body = {"service": service, "kommunenummer": kommune, "form": form, "case_id": str(chosen)}
        started = cmd.StartApplication(
            command_id=k, **at, service=service, kommunenummer=kommune, form=form
        )
        requests.append(Request("POST", "/drafts", k, started, json=body))
        for kind, content, media in (("foto", PNG, "image/png"), ("legeerklaering", PDF, PDF_TYPE)):
            k = key()
            sha = hashlib.sha256(content).hexdigest()
            attachment = Attachment(
                uuid.uuid5(k, "attachment"), kind, media, len(content), sha, f"{case_id}/{sha}"
            )
            added = cmd.AddAttachment(command_id=k, **at, attachment=attachment)
            requests.append(
                Request("POST", step + "attachments", k, added, upload=(kind, content, media))
            )
        k = key()
        submitted = cmd.SubmitApplication(command_id=k, **at, form={})
        requests.append(Request("POST", step + "submit", k, submitted, json={}))
    contested = rng.random() < 0.1  # two case officers decide at once
    for officer in ("saksbehandler-a", "saksbehandler-b")[: 2 if contested else 1]:
        k = key()
        basis = "forvaltningsloven § 11"
        body = {"outcome": "granted", "legal_basis": basis, "case_officer": officer}
        decision = Decision(Outcome.GRANTED, basis, officer)
        decided = cmd.Decide(command_id=k, **at, decision=decision)
        requests.append(
            Request("POST", step + "decision", k, decided, json=body, contested=officer[-1] == "b")
        )
    return Journey(case_id, service, requests)


@dataclass
class Plan:
    kafka: list[cmd.Command]  # in sending order; a duplicate is the same command again
    journeys: list[Journey]
    unknown_cases: set[uuid.UUID]
    probes: list[cmd.SubmitNewApplication] = field(default_factory=list)  # one per fault
    municipality_settings: Path | None = None
    expected: dict[uuid.UUID, list[str]] = field(default_factory=dict)  # case -> event types
    verdicts: dict[uuid.UUID, Verdict] = field(default_factory=dict)  # command id -> first verdict
    tweaks: Counter[str] = field(default_factory=Counter)

    @property
    def contested(self) -> set[uuid.UUID]:
        return {j.case_id for j in self.journeys if any(r.contested for r in j.requests)}


def sqlite(folder: Path, municipality_settings: Path | None = None) -> Settings:
    folder.mkdir(parents=True, exist_ok=True)
    return Settings(
        event_store="sqlite",
        sqlite_path=folder / "events.db",
        key_ring=folder / "ring.json",
        municipality_settings=municipality_settings,
    )


def make_plan(seed: int, applications: int, journeys: int, folder: Path) -> Plan:
    rng = random.Random(seed)
    app = bootstrap(sqlite(folder / "simulation"))
    try:
        month = [
            c
            for c in simulated_commands(app, applications, seed)
            if type(c) in COMMAND_NAMES and not isinstance(c, cmd.RecordMessage)
        ]
    finally:
        app.close()
    fresh: dict[uuid.UUID, uuid.UUID] = {}
    kafka = [
        replace(c, command_id=uuid.uuid4(), case_id=fresh.setdefault(c.case_id, uuid.uuid4()))
        for c in month
    ]
    plan = Plan(kafka=[], journeys=[], unknown_cases=set())
    plan.kafka = _tweak(kafka, rng, plan)
    plan.journeys = [_journey(rng, n) for n in range(journeys)]
    plan.probes = [_probe(rng) for _ in range(PROBES)]
    plan.tweaks["decided by two at once"] = len(plan.contested)
    plan.municipality_settings = quiet_retention(folder)
    _expect(plan, folder / "reference")
    return plan


def _tweak(commands: list[cmd.Command], rng: random.Random, plan: Plan) -> list[cmd.Command]:
    """Duplicates, a case's two commands swapped, commands for cases that do not exist."""
    by_case: dict[uuid.UUID, list[int]] = {}
    for n, c in enumerate(commands):
        by_case.setdefault(c.case_id, []).append(n)
    for positions in by_case.values():  # a sender's bug: two of a case's commands swapped
        if len(positions) >= 3 and rng.random() < 0.03:
            a, b = positions[1], positions[2]
            commands[a], commands[b] = commands[b], commands[a]
            plan.tweaks["cases with two commands swapped"] += 1
    out: list[cmd.Command] = []
    for c in commands:
        out.append(c)
        if rng.random() < 0.03:  # sent twice (a sender's retry): the same command id
            out.append(c)
            plan.tweaks["commands sent twice"] += 1
        if rng.random() < 0.005:  # a decision for a case that does not exist
            case_id = uuid.uuid4()
            plan.unknown_cases.add(case_id)
            decision = Decision(Outcome.GRANTED, "forvaltningsloven § 11", "saksbehandler")
            out.append(
                cmd.Decide(
                    command_id=uuid.uuid4(),
                    case_id=case_id,
                    received_at=c.received_at,
                    actor="chaos",
                    decision=decision,
                )
            )
            plan.tweaks["commands for cases that do not exist"] += 1
    return out


def _probe(rng: random.Random) -> cmd.SubmitNewApplication:
    """An application sent at a fault: through when it is in the read models and its receipt
    reached the SMTP server (its form has an e-mail address)."""
    while not contact_email(form := synthetic.complete_form(rng, "avfallsbeholder", "0301")):
        pass
    return cmd.SubmitNewApplication(
        command_id=uuid.UUID(int=rng.getrandbits(128), version=4),
        case_id=uuid.UUID(int=rng.getrandbits(128), version=4),
        received_at=datetime.now(UTC),
        actor="chaos",
        service="avfallsbeholder",
        kommunenummer="0301",
        form=form,
    )


def wire(command: cmd.Command, issued_at: datetime | None = None) -> tuple[str, dict[str, Any]]:
    """The command's Kafka record as a backend sends it: issued now, by its own clock (the
    simulated month's own times are weeks old; a portal that does not know when the applicant
    signed leaves it out)."""
    name, record = command_to_record(command, "chaos")
    record["issued_at"] = issued_at or datetime.now(UTC)
    if "signed_at" in record:
        record["signed_at"] = None
    return name, record


def as_received(command: cmd.Command) -> cmd.Command:
    """A command as the intake makes it from its Kafka record, sent and received now."""
    now = datetime.now(UTC)
    return command_from_record(*wire(command, now), now)


def quiet_retention(folder: Path) -> Path:
    """Municipal settings under which nothing falls due for archiving or shredding during a
    campaign: ``retention watch`` runs, is killed and restarts, and leaves the load's cases be
    (a registered case, archived the day it is submitted, would race the case's next command)."""
    lines = [
        f'[{kommune}.{code}]\nretention = {{ action = "archive", after_days = 36500 }}'
        for kommune in MUNICIPALITIES
        for code in default_services()
    ]
    path = folder / "kommuner.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _expect(plan: Plan, folder: Path) -> None:
    """The reference run: each command once more, alone and in order, on a fresh store."""
    app = bootstrap(sqlite(folder, plan.municipality_settings))
    try:
        http = [r.command for j in plan.journeys for r in j.requests]
        commands = [*(as_received(c) for c in [*plan.kafka, *plan.probes]), *http]
        for c in commands:
            handled = app.handle(c)
            plan.verdicts.setdefault(c.command_id, handled.verdict)
        cases = {c.case_id for c in commands} - plan.unknown_cases
        for case_id in cases:
            try:
                plan.expected[case_id] = [type(e).__name__ for e in app.history(case_id)]
            except CaseNotFound:  # none of its commands was taken
                plan.expected[case_id] = []
    finally:
        app.close()
