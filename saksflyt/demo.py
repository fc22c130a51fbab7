"""``saksflyt demo``: a synthetic month of applications driven through their whole lifecycle.

Applications arrive in the month up to 20 November 2026 (the simulation's "today") in a few
municipalities with a realistic mix (many waste bins and building notices, few liquor licences).
Each case runs a short script: drafts, attachments,
neighbour notices and objections, missing documents, preliminary replies, decisions, withdrawals,
and finally archiving or shredding when its service's retention says so. Times are business times,
so a "month" runs in seconds.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from hashlib import sha256
from typing import Any
from uuid import UUID

from domain.casework import Casework
from domain.deadlines import next_working_day
from domain.errors import DomainError
from domain.lifecycle import OSLO, Outcome, ReceiptChannel, local_date
from domain.services import Service
from saksflyt import synthetic

MUNICIPALITIES = ("0301", "4601", "5001", "5501")  # Oslo, Bergen, Trondheim, Tromsø
SERVICE_MIX = {
    "avfallsbeholder": 30,
    "melding-om-tiltak": 20,
    "gravemelding": 10,
    "horingssvar": 8,
    "pleie-omsorg": 8,
    "parkering-forflytningshemmet": 7,
    "ledsagerbevis": 6,
    "sosialhjelp": 6,
    "kartforretning": 3,
    "skjenkebevilling": 2,
}
MONTH_START = datetime(2026, 10, 21, 8, 0, tzinfo=OSLO)
HORIZON = datetime(2026, 11, 20, 16, 0, tzinfo=OSLO)  # "today" in the simulation


@dataclass
class DemoResult:
    case_ids: list[UUID] = field(default_factory=list)
    refused_steps: int = 0
    seconds: float = 0.0


class PastHorizon(Exception):
    """The case's next step would happen after the simulation's "today": it waits there."""


class Clock:
    """Business time for one case: only ever moves forward, and never past the horizon."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def _move(self, moment: datetime) -> datetime:
        if moment > HORIZON:
            raise PastHorizon
        self.now = moment
        return moment

    def later(self, **delta: float) -> datetime:
        return self._move(self.now + timedelta(**delta))

    def working_day_at_or_after(self, moment: datetime) -> datetime:
        """A working day's office hours, no earlier than ``moment`` nor the clock."""
        moment = max(moment, self.now)
        day = next_working_day(local_date(moment))
        return self._move(max(moment, datetime(day.year, day.month, day.day, 10, tzinfo=OSLO)))


def run_demo(
    app: Casework,
    applications: int,
    seed: int = 2026,
    on_case: Callable[[], None] | None = None,
) -> DemoResult:
    rng = random.Random(seed)
    result = DemoResult()
    started = time.perf_counter()
    services, weights = zip(*SERVICE_MIX.items(), strict=True)
    for _ in range(applications):
        service = rng.choices(services, weights)[0]
        kommunenummer = rng.choice(MUNICIPALITIES)
        start = MONTH_START + timedelta(minutes=rng.randint(0, 30 * 24 * 60))
        case = CaseScript(app, rng, app.catalogue.service(service, kommunenummer), kommunenummer)
        result.case_ids.append(case.run(Clock(start)))
        result.refused_steps += case.refused
        if on_case:
            on_case()
    result.seconds = time.perf_counter() - started
    return result


class CaseScript:
    """One applicant's case, from first draft to archive or shredder."""

    def __init__(self, app: Casework, rng: random.Random, service: Service, kommunenummer: str):
        self.app, self.rng, self.service, self.kommunenummer = app, rng, service, kommunenummer
        self.refused = 0

    def run(self, clock: Clock) -> UUID:
        form = synthetic.complete_form(self.rng, self.service.code, self.kommunenummer)
        first_half = dict(list(form.items())[: max(1, len(form) // 2)])
        self.case_id = self.app.start_application(
            self.service.code, self.kommunenummer, clock.now, form=first_half
        )
        try:
            self._lifecycle(clock, form)
            self._retention(clock)
        except PastHorizon:
            pass  # the rest of this case lies in the simulation's future
        return self.case_id

    def _lifecycle(self, clock: Clock, form: dict[str, Any]) -> None:
        if self.rng.random() < 0.05:
            self.app.withdraw(self.case_id, "Søknaden ble ikke sendt inn", clock.later(days=3))
            return
        self._prepare(clock)
        self.app.submit_application(self.case_id, clock.later(hours=self.rng.uniform(0.2, 6)), form)
        receipt_id = f"kvittering-{self.case_id}"
        self.app.send_receipt(
            self.case_id, ReceiptChannel.EMAIL, receipt_id, clock.later(minutes=1)
        )
        self._process(clock)

    def _attach(self, kind: str, at: datetime) -> None:
        digest = sha256(f"{self.case_id}/{kind}".encode()).hexdigest()
        self.app.add_attachment(
            self.case_id,
            kind,
            "application/pdf",
            self.rng.randint(20_000, 4_000_000),
            digest,
            f"vedlegg/{self.case_id}/{kind}.pdf",
            at,
        )

    def _prepare(self, clock: Clock) -> None:
        for kind in sorted(self.service.required_attachments):
            self._attach(kind, clock.later(minutes=self.rng.uniform(1, 90)))
        if self.service.neighbour_notice:
            self._neighbour_notice(clock)

    def _neighbour_notice(self, clock: Clock) -> None:
        neighbours = sorted(
            {
                synthetic.matrikkel(self.rng, self.kommunenummer)
                for _ in range(self.rng.randint(1, 4))
            }
        )
        self.app.send_neighbour_notice(self.case_id, neighbours, clock.later(hours=1))
        for neighbour in neighbours:
            roll = self.rng.random()
            at = clock.later(days=self.rng.uniform(0.2, 3))
            if roll < 0.7:
                self.app.record_neighbour_consent(self.case_id, neighbour, at)
            elif roll < 0.85:
                self.app.record_neighbour_comment(self.case_id, neighbour, True, at)

    def _process(self, clock: Clock) -> None:
        submitted = clock.now
        if self.service.allowed_attachments and self.rng.random() < 0.12:
            kinds = [self.rng.choice(sorted(self.service.allowed_attachments))]
            self.app.request_missing_documents(
                self.case_id,
                kinds,
                "Mangler dokumentasjon",
                clock.later(days=self.rng.uniform(1, 4)),
            )
            self._attach(kinds[0], clock.later(days=self.rng.uniform(2, 12)))
        days = self.service.decision_days or 30
        target = submitted + timedelta(days=days * self.rng.triangular(0.2, 1.3, 0.6))
        if target - submitted > timedelta(days=28):
            reply_at = clock.later(days=self.rng.uniform(14, 25))
            expected_by = local_date(max(target, reply_at)) + timedelta(days=7)
            reason = "Saken krever høring av andre etater"
            self.app.send_preliminary_reply(self.case_id, reason, expected_by, reply_at)
        if self.rng.random() < 0.04:
            self.app.withdraw(self.case_id, "Søkeren trakk søknaden", clock.later(days=2))
            return
        self._decide(clock, target)

    def _decide(self, clock: Clock, target: datetime) -> None:
        hasty = self.service.neighbour_notice and self.rng.random() < 0.1
        if hasty and self._try_early_decision(clock):
            return
        case = self.app.get_case(self.case_id)
        if case.neighbour_deadline and not case.all_neighbours_consented:
            earliest = case.neighbour_deadline + timedelta(days=1)
            target = max(
                target, datetime(earliest.year, earliest.month, earliest.day, 9, tzinfo=OSLO)
            )
        at = clock.working_day_at_or_after(target)
        outcome = self.rng.choices(list(Outcome), weights=(80, 8, 12))[0]
        self.app.decide(self.case_id, outcome, self.service.legal_basis[0], "saksbehandler-1", at)

    def _try_early_decision(self, clock: Clock) -> bool:
        """A hasty officer: refused while the neighbour period runs unless all consented."""
        try:
            self.app.decide(
                self.case_id,
                Outcome.GRANTED,
                self.service.legal_basis[0],
                "saksbehandler-2",
                clock.later(hours=2),
            )
        except DomainError:
            self.refused += 1
            return False
        return True

    def _retention(self, clock: Clock) -> None:
        case = self.app.get_case(self.case_id)
        due = case.retention_due(self.service.retention.after_days)
        if due is None:
            return
        at = clock.working_day_at_or_after(datetime(due.year, due.month, due.day, 12, tzinfo=OSLO))
        reference = f"{self.kommunenummer}-{at.year}/{str(self.case_id)[:8]}"
        self.app.apply_retention(self.case_id, at, reference)
