"""``saksflyt demo``: a synthetic month of applications driven through their whole lifecycle.

Applications arrive in the month up to 20 November 2026 (the simulation's "today") in a few
municipalities with a realistic mix (many waste bins and building notices, few liquor licences).
Each case runs a short script: drafts, attachments,
neighbour notices and objections, missing documents, preliminary replies, decisions, withdrawals,
and finally archiving or shredding when its service's retention says so. Times are business times,
so a "month" runs in seconds.
"""

from __future__ import annotations

import io
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from hashlib import sha256
from typing import Any
from uuid import UUID, uuid4

from domain import commands as cmd
from domain.appeal import AppealStage, DismissalGround
from domain.casework import Casework
from domain.deadlines import SAME_DAY, last_working_day_before, next_working_day
from domain.lifecycle import OSLO, AppealResult, Outcome, ReceiptChannel, local_date
from domain.services import Service
from domain.values import Attachment, Decision, Neighbour
from saksflyt.demo import synthetic
from saksflyt.http.documents import DocumentStore
from saksflyt.notices.policy import NoticePolicy, Trigger
from schemas.mapping import event_id

# the commands whose event occasions a letter, and that event
LETTER_AFTER: dict[type[cmd.Command], str] = {
    cmd.SendNeighbourNotice: "NeighbourNoticeSent",
    cmd.SubmitApplication: "Submitted",
    cmd.SubmitNewApplication: "Submitted",
    cmd.RequestMissingDocuments: "MissingDocumentsRequested",
    cmd.SendPreliminaryReply: "PreliminaryReplySent",
    cmd.Decide: "DecisionMade",
    cmd.DismissAppeal: "AppealDismissed",
    cmd.RecordAppealResult: "AppealDecided",
}
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

    def __init__(self, start: datetime, horizon: datetime = HORIZON) -> None:
        self.now, self.horizon = start, horizon

    def _move(self, moment: datetime) -> datetime:
        if moment > self.horizon:
            raise PastHorizon
        self.now = moment
        return moment

    def later(self, **delta: float) -> datetime:
        return self._move(self.now + timedelta(**delta))

    def office_time(self, moment: datetime) -> datetime:
        """When a step meant for ``moment`` is taken: a working day's office hours, no earlier
        than ``moment`` nor the clock (the clock stays where it is)."""
        moment = max(moment, self.now)
        day = next_working_day(local_date(moment))
        return max(moment, datetime(day.year, day.month, day.day, 10, tzinfo=OSLO))

    def working_day_at_or_after(self, moment: datetime) -> datetime:
        """Move to the office time for ``moment``."""
        return self._move(self.office_time(moment))


def run_demo(
    app: Casework,
    applications: int,
    seed: int = 2026,
    on_case: Callable[[], None] | None = None,
    municipalities: tuple[str, ...] = MUNICIPALITIES,
    documents: DocumentStore | None = None,
    notices: NoticePolicy | None = None,
    days: int = 30,
    horizon: datetime = HORIZON,
) -> DemoResult:
    """``documents``: keep a small synthetic PDF per attachment there (sealed, as an upload
    would be); without it attachments are recorded with no bytes behind them. ``notices``: the
    policy sends each case's letters a minute after their occasion (in business time); without
    it the script records a receipt itself, as a form portal that sends its own would.
    ``days``: the applications arrive over that many days up to the simulation's "today" (a
    month by default, the last one of a year for ``days=365``). ``horizon``: the simulation's
    "today", where every case stops; a later one lets cases run to their end."""
    rng = random.Random(seed)
    result = DemoResult()
    started = time.perf_counter()
    services, weights = zip(*SERVICE_MIX.items(), strict=True)
    for _ in range(applications):
        service = rng.choices(services, weights)[0]
        kommunenummer = rng.choice(municipalities)
        first = MONTH_START - timedelta(days=days - 30)  # the last ``days`` before "today"
        start = first + timedelta(minutes=rng.randint(0, days * 24 * 60))
        case = CaseScript(
            app, rng, app.catalogue.service(service, kommunenummer), kommunenummer, documents
        )
        case.notices = notices
        result.case_ids.append(case.run(Clock(start, horizon)))
        result.refused_steps += case.refused
        if on_case:
            on_case()
    result.seconds = time.perf_counter() - started
    return result


def simulated_commands(app: Casework, applications: int, seed: int = 2026) -> list[cmd.Command]:
    """The commands a simulated month sends (handled by ``app`` as they go, which they need: each
    step looks at the case), in the order they would arrive: by time, each case's own in order.
    For load tests and benchmarks, which send them again elsewhere."""
    sent: list[cmd.Command] = []
    handle = app.handle

    def recorded(command: cmd.Command, announce: Any = None) -> cmd.Handled:
        sent.append(command)
        return handle(command, announce)

    app.handle = recorded  # type: ignore[method-assign]
    try:
        run_demo(app, applications, seed)
    finally:
        del app.handle
    return sorted(sent, key=lambda c: c.received_at)  # stable: a case's own keep their order


class CaseScript:
    """One applicant's case, from first draft to archive or shredder."""

    def __init__(
        self,
        app: Casework,
        rng: random.Random,
        service: Service,
        kommunenummer: str,
        documents: DocumentStore | None = None,
    ):
        self.app, self.rng, self.service, self.kommunenummer = app, rng, service, kommunenummer
        self.documents = documents
        self.case_id = uuid4()
        self.refused = 0
        self.notices: NoticePolicy | None = None
        self.clock: Clock | None = None
        self.objected = False  # a neighbour objected

    def _send(self, command_type: type[cmd.Command], at: datetime, **fields: Any) -> cmd.Handled:
        """One command through ``Casework.handle``, received at the simulation's clock."""
        command = command_type(command_id=uuid4(), case_id=self.case_id, received_at=at, **fields)
        handled = self.app.handle(command)
        occasion = LETTER_AFTER.get(command_type)
        if self.notices and occasion and handled.version and self.clock:
            version = handled.version
            trigger = Trigger(self.case_id, version, event_id(self.case_id, version), occasion, at)
            self.notices.act(trigger, self.clock.later(minutes=1))
        return handled

    def _try(self, command_type: type[cmd.Command], at: datetime, **fields: Any) -> bool:
        return self._send(command_type, at, **fields).verdict is cmd.Verdict.ACCEPTED

    def _do(self, command_type: type[cmd.Command], at: datetime, **fields: Any) -> None:
        """A step the script knows to be allowed: a refusal here is a bug in the demo."""
        handled = self._send(command_type, at, **fields)
        if handled.refusal is not None:
            raise handled.refusal

    def run(self, clock: Clock) -> UUID:
        self.clock = clock
        form = synthetic.complete_form(self.rng, self.service.code, self.kommunenummer)
        first_half = dict(list(form.items())[: max(1, len(form) // 2)])
        if self.service.neighbour_notice:  # what the nabovarsel says comes first (pbl § 21-3)
            first_half |= {k: form[k] for k in ("tiltakshaver", "matrikkelnummer", "tiltakstype")}
        where = {"service": self.service.code, "kommunenummer": self.kommunenummer}
        if not self.service.drafts:  # sosialhjelp: sent in one step, no draft stored
            self._do(cmd.SubmitNewApplication, clock.now, **where, form=form)
        elif self.service.contact_requests and self.rng.random() < 0.2:
            contact = {
                "navn": form["soker"]["navn"],
                "telefon": f"9{self.rng.randrange(10**7):07d}",
            }
            self._do(cmd.RequestContact, clock.now, **where, contact=contact)
        else:
            self._do(cmd.StartApplication, clock.now, **where, form=first_half)
        try:
            self._lifecycle(clock, form)
            self._retention(clock)
        except PastHorizon:
            pass  # the rest of this case lies in the simulation's future
        return self.case_id

    def _lifecycle(self, clock: Clock, form: dict[str, Any]) -> None:
        if self.app.get_case(self.case_id).contact is not None:  # «kontakt meg»: called back
            self._do(cmd.TakeUpContact, clock.later(days=self.rng.uniform(0.2, 3)))
        if self.service.drafts:
            if self.rng.random() < 0.05:
                self._do(cmd.Withdraw, clock.later(days=3), reason="Søknaden ble ikke sendt inn")
                return
            heard = self._prepare(clock)
            at = clock.later(hours=self.rng.uniform(0.2, 6))
            if heard is not None:  # pbl § 21-3: after the comment period, unless all consented
                at = clock.working_day_at_or_after(max(at, heard))
                if self.objected:
                    form = {
                        **form,
                        "kommentar_til_merknader": "Tiltaket er justert etter merknaden.",
                    }
            self._oversized_first(at, form)
            self._do(cmd.SubmitApplication, at, form=self._planned(form, at))
        if self.notices is None:
            receipt_id = f"kvittering-{self.case_id}"
            self._do(
                cmd.SendReceipt,
                clock.later(minutes=1),
                channel=ReceiptChannel.EMAIL,
                message_id=receipt_id,
            )
        self._process(clock)

    def _oversized_first(self, at: datetime, form: dict[str, Any]) -> None:
        """Now and then a building is first sent in too large for this track (SAK10 § 3-1): the
        rules refuse it, and the applicant sends the one that fits."""
        limits = self.service.area_limits_m2 or {}
        limit = limits.get(str(form.get("tiltakstype")))
        if limit is None or self.rng.random() >= 0.05:
            return
        if not self._try(cmd.SubmitApplication, at, form={**form, "bruksareal_m2": limit * 3}):
            self.refused += 1

    def _planned(self, form: dict[str, Any], at: datetime) -> dict[str, Any]:
        """A gravemelding plans its work a few days to a month after it is sent; one
        skjenkebevilling in four is for one occasion, a weekend some months ahead."""
        if self.service.serving_hours and self.rng.random() < 0.25:
            party = local_date(at) + timedelta(days=self.rng.randint(150, 240))
            return form | {
                "bevillingstype": "enkelt-anledning",
                "gyldig_fra": str(party),
                "gyldig_til": str(party + timedelta(days=1)),
            }
        if self.service.decision_before != "periode_fra":
            return form
        start = local_date(at) + timedelta(days=self.rng.randint(3, 30))
        while last_working_day_before(start) < local_date(at):  # Easter: a working day between
            start += timedelta(days=7)
        length = date.fromisoformat(form["periode_til"]) - date.fromisoformat(form["periode_fra"])
        return {**form, "periode_fra": str(start), "periode_til": str(start + length)}

    def _attach(self, kind: str, at: datetime) -> None:
        digest = sha256(f"{self.case_id}/{kind}".encode()).hexdigest()
        size = self.rng.randint(20_000, 4_000_000)  # drawn either way: the same run, same seed
        reference = f"vedlegg/{self.case_id}/{kind}.pdf"
        attachment = Attachment(uuid4(), kind, "application/pdf", size, digest, reference)
        if self.documents is not None:
            content = synthetic.pdf(f"{kind} (a synthetic attachment)")
            upload = self.documents.receive(
                self.case_id, io.BytesIO(content), "application/pdf", len(content)
            )
            self.documents.keep(upload)
            attachment = Attachment(
                attachment.attachment_id,
                kind,
                upload.media_type,
                upload.size,
                upload.sha256,
                upload.storage_ref,
            )
        self._do(cmd.AddAttachment, at, attachment=attachment)

    def _prepare(self, clock: Clock) -> datetime | None:
        """Attachments, and for a building case the nabovarsel: the earliest moment it may be
        submitted (None when it has no neighbour notice)."""
        for kind in sorted(self.service.required_attachments):
            self._attach(kind, clock.later(minutes=self.rng.uniform(1, 90)))
        if self.service.neighbour_notice:
            return self._neighbour_notice(clock)
        return None

    def _neighbour_notice(self, clock: Clock) -> datetime:
        properties = sorted(
            {
                synthetic.matrikkel(self.rng, self.kommunenummer)
                for _ in range(self.rng.randint(1, 4))
            }
        )
        parties = [
            Neighbour(
                p,
                synthetic.person(self.rng)["navn"],
                synthetic.address(self.rng),
                "gjenboer" if self.rng.random() < 0.3 else "nabo",
            )
            for p in properties
        ]
        noticed = clock.later(hours=1)
        self._do(cmd.SendNeighbourNotice, noticed, neighbours=properties, parties=parties)
        consents = 0
        for neighbour in properties:
            roll = self.rng.random()
            at = clock.later(days=self.rng.uniform(0.2, 3))
            if roll < 0.7:
                self._do(cmd.RecordNeighbourConsent, at, neighbour=neighbour)
                consents += 1
            elif roll < 0.85:
                self._do(cmd.RecordNeighbourComment, at, neighbour=neighbour, objection=True)
                self.objected = True
        if consents == len(properties):
            return clock.now
        deadline = self.app.get_case(self.case_id).neighbour_deadline  # as the case set it
        assert deadline is not None
        period_over = deadline + timedelta(days=1)
        return datetime(period_over.year, period_over.month, period_over.day, 9, tzinfo=OSLO)

    def _process(self, clock: Clock) -> None:
        if not self.service.individual_decision:
            return  # a høringssvar is registered and acknowledged: nothing is decided
        submitted = clock.now
        if self.app.get_case(self.case_id).decision_days == SAME_DAY:  # nødhjelp: today
            decision = Decision(Outcome.GRANTED, self.service.legal_basis[0], "saksbehandler-1")
            self._do(cmd.Decide, clock.later(hours=self.rng.uniform(0.5, 3)), decision=decision)
            return
        if self.service.allowed_attachments and self.rng.random() < 0.12:
            kinds = [self.rng.choice(sorted(self.service.allowed_attachments))]
            at = clock.later(days=self.rng.uniform(1, 4))
            self._do(cmd.RequestMissingDocuments, at, kinds=kinds, reason="Mangler dokumentasjon")
            self._attach(kinds[0], clock.later(days=self.rng.uniform(2, 12)))
        days = self.service.decision_days or 30
        target = submitted + timedelta(days=days * self.rng.triangular(0.2, 1.3, 0.6))
        target = self._consult(clock, target)
        reply_due = self.app.get_case(self.case_id).preliminary_reply_due  # fvl § 11 a
        if reply_due is not None and local_date(target) > reply_due:
            reply_at = submitted + timedelta(days=self.rng.uniform(14, 25))
            reply_at = clock.later(seconds=max(3600.0, (reply_at - clock.now).total_seconds()))
            expected_by = local_date(max(target, reply_at)) + timedelta(days=7)
            reason = "Saken krever høring av andre etater"
            self._do(cmd.SendPreliminaryReply, reply_at, reason=reason, expected_by=expected_by)
        if self.rng.random() < 0.04:
            self._do(cmd.Withdraw, clock.later(days=2), reason="Søkeren trakk søknaden")
            return
        self._decide(clock, target)

    def _consult(self, clock: Clock, target: datetime) -> datetime:
        """Alkoholloven § 1-7: the police and social services are asked for their statements
        first; most answer within the four weeks, some late, some not at all."""
        bodies = list(self.service.consultations)
        if not bodies:
            return target
        if self.rng.random() < 0.3:
            bodies += self.service.optional_consultations
        asked = clock.later(days=self.rng.uniform(1, 5))
        for party in bodies:
            self._do(cmd.RequestConsultation, asked, party=party)
        answers = sorted((self.rng.uniform(3, 40), party) for party in bodies)
        for days, party in answers:
            if self.rng.random() < 0.9:
                answer = clock.later(
                    seconds=max(60.0, (asked - clock.now).total_seconds() + days * 86400)
                )
                objection = self.rng.random() < 0.1
                self._do(cmd.RecordConsultationAnswer, answer, party=party, objection=objection)
        latest = max(c["answer_by"] for c in self.app.get_case(self.case_id).consultations)
        after = latest + timedelta(days=1)  # an unanswered body has had its time by then
        return max(target, clock.now, datetime(after.year, after.month, after.day, 9, tzinfo=OSLO))

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
        if self._granted_by_law(clock, target):
            return
        at = clock.working_day_at_or_after(target)
        outcome = self.rng.choices(list(Outcome), weights=(80, 8, 12))[0]
        self._do(cmd.Decide, at, decision=self._vedtak(outcome, at))
        if outcome is not Outcome.GRANTED and self.rng.random() < 0.3:
            self._appeal(clock)
        if self.app.get_case(self.case_id).survey is not None:
            held = clock.working_day_at_or_after(clock.later(days=self.rng.uniform(14, 120)))
            self._do(cmd.RecordSurvey, held, held_on=local_date(held))

    def _appeal(self, clock: Clock) -> None:
        """A klage (fvl § 29). A few come from someone who is no party, or are sent after the
        klagefrist: the office dismisses them (fvl §§ 28, 31, 33). Of the rest the office
        reverses one in five itself (fvl § 33); the others go to the service's appeal body,
        which upholds, changes (its outcome is the case's) or repeals — then the office decides
        again (fvl § 34)."""
        roll = self.rng.random()
        deadline = self.app.get_case(self.case_id).appeal_deadline
        assert deadline is not None
        if 0.05 <= roll < 0.12:  # sent a few days after the klagefrist ran out
            late = deadline + timedelta(days=self.rng.randint(1, 10))
            at = clock.working_day_at_or_after(
                datetime(late.year, late.month, late.day, tzinfo=OSLO)
            )
        else:
            at = clock.later(days=self.rng.uniform(3, 18))
        self._do(cmd.ReceiveAppeal, at, received_on=local_date(at), party=roll >= 0.05)
        review = clock.working_day_at_or_after(clock.later(days=self.rng.uniform(10, 35)))
        if roll < 0.12:
            ground = DismissalGround.NO_STANDING if roll < 0.05 else DismissalGround.LATE
            self._do(cmd.DismissAppeal, review, ground=ground, by=AppealStage.DECIDING_BODY)
            return
        if self.rng.random() < 0.2:
            decision = Decision(Outcome.GRANTED, self.service.legal_basis[0], "saksbehandler-1")
            self._do(cmd.ReviewAppeal, review, decision=decision)
            return
        self._do(cmd.ReviewAppeal, review)
        result = self.rng.choices(list(AppealResult), weights=(70, 15, 15))[0]
        answer = clock.working_day_at_or_after(clock.later(days=self.rng.uniform(30, 90)))
        changed = Decision(Outcome.GRANTED, self.service.legal_basis[0], "klageinstansen")
        if result is AppealResult.REVERSED:
            self._do(cmd.RecordAppealResult, answer, result=result, decision=changed)
            return
        self._do(cmd.RecordAppealResult, answer, result=result)
        if result is AppealResult.REPEALED:  # decided again, on the new clock
            again = clock.working_day_at_or_after(clock.later(days=self.rng.uniform(7, 20)))
            outcome = self.rng.choices(list(Outcome), weights=(60, 20, 20))[0]
            self._do(cmd.Decide, again, decision=self._vedtak(outcome, again))

    def _vedtak(self, outcome: Outcome, at: datetime) -> Decision:
        """The office's decision; a refusal or partial grant with its reasons (fvl § 25). A
        licence for an occasion that is over by then is refused."""
        ends = self.app.get_case(self.case_id).form.get("gyldig_til")
        if ends and local_date(at) >= date.fromisoformat(str(ends)):
            outcome = Outcome.REFUSED
        basis = self.service.legal_basis[0]
        if outcome is Outcome.GRANTED:
            return Decision(outcome, basis, "saksbehandler-1")
        facts = "Søknaden og vedleggene viser at vilkårene ikke er oppfylt i sin helhet."
        weighed = "Kommunen har lagt vekt på vilkårene i regelverket og praksis i like saker."
        return Decision(outcome, basis, "saksbehandler-1", facts, weighed)

    def _granted_by_law(self, clock: Clock, target: datetime) -> bool:
        """pbl § 21-7 tredje ledd: a building case still undecided the day the case says the law
        grants it is granted by law (none where a neighbour objected)."""
        day = self.app.get_case(self.case_id).deemed_granted_on(self.service)
        if day is None:
            return False
        if clock.office_time(target) < datetime(day.year, day.month, day.day, tzinfo=OSLO):
            return False  # the officer decides before the day begins
        moment = datetime(day.year, day.month, day.day, 6, tzinfo=OSLO)  # the nightly clocks run
        at = clock.later(seconds=max(60.0, (moment - clock.now).total_seconds()))
        return self._try(cmd.DeemPermitGranted, at)

    def _try_early_decision(self, clock: Clock) -> bool:
        """A hasty officer: refused while the neighbour period runs unless all consented."""
        decision = Decision(Outcome.GRANTED, self.service.legal_basis[0], "saksbehandler-2")
        if self._try(cmd.Decide, clock.later(hours=2), decision=decision):
            return True
        self.refused += 1
        return False

    def _retention(self, clock: Clock) -> None:
        case = self.app.get_case(self.case_id)
        due = case.retention_due(self.app.service_of(case))
        if due is None:
            return
        at = clock.working_day_at_or_after(datetime(due.year, due.month, due.day, 12, tzinfo=OSLO))
        reference = f"{self.kommunenummer}-{at.year}/{str(self.case_id)[:8]}"
        self._do(cmd.ApplyRetention, at, archive_reference=reference)
