"""The paths the law asks for, each walked once by a named case in the demo.

The simulated month is too short for an appeal to come back from Statsforvalteren, and a random
month may miss a nødhjelp on a Friday night. These scripted cases start in the spring of the
demo's year and run to their end, through the same ``Casework`` as every other case, so the
demo shows each rule at work and says what happened:

- nødhjelp sent on the Friday evening before 17 May, decided that night (sosialtjenesteloven § 18)
- a refusal changed by the appeal body (endret, fvl § 34), and one repealed and decided anew
- an appeal sent after the klagefrist, dismissed by the office (fvl §§ 31, 33)
- a grensejustering: no permit first, 16 weeks from the complete request (matrikkelforskriften
  § 18), the matrikkelføring ends it
- a skjenkebevilling with serving hours inside § 4-4, heard by politiet and sosialtjenesten,
  granted until 30 September the year after the next kommunestyre takes office (§ 1-6)
- a garage too large for søknad uten ansvarsrett, refused (SAK10 § 3-1), then one that fits
- a driver's parking permit that ends with the driving licence
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from domain import commands as cmd
from domain.appeal import AppealStage, DismissalGround
from domain.casework import Casework
from domain.lifecycle import OSLO, AppealResult, Outcome
from domain.values import Decision, Neighbour
from saksflyt.demo import synthetic
from saksflyt.demo.simulation import CaseScript, Clock
from saksflyt.http.documents import DocumentStore
from saksflyt.notices.policy import NoticePolicy

KOMMUNE = "0301"
FACTS = "Opplysningene i søknaden og vedleggene viser at vilkårene ikke er oppfylt."
WEIGHED = "Kommunen har lagt vekt på regelverkets vilkår og praksis i like saker."


def _at(month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=OSLO)


@dataclass(frozen=True)
class Shown:
    """One scenario: what it shows, under which rule, and what the case says happened."""

    name: str
    law: str
    happened: str


class Scripted(CaseScript):
    """A case whose steps are written out, at given times."""

    def __init__(
        self,
        app: Casework,
        code: str,
        documents: DocumentStore | None,
        notices: NoticePolicy | None,
        start: datetime,
    ) -> None:
        super().__init__(app, random.Random(7), app.catalogue.service(code, KOMMUNE), KOMMUNE)
        self.documents, self.notices, self.clock = documents, notices, Clock(start)

    def at(self, moment: datetime) -> datetime:
        assert self.clock is not None
        self.clock.now = moment
        return moment

    def step(self, command_type: type[cmd.Command], moment: datetime, **fields: Any) -> None:
        self._do(command_type, self.at(moment), **fields)

    def filed(self, moment: datetime, **fields: Any) -> dict[str, Any]:
        """Drafted, attachments added, submitted (in one step where no draft is kept)."""
        form = synthetic.complete_form(self.rng, self.service.code, KOMMUNE) | fields
        where = {"service": self.service.code, "kommunenummer": KOMMUNE}
        if not self.service.drafts:
            self.step(cmd.SubmitNewApplication, moment, **where, form=form)
            return form
        self.step(cmd.StartApplication, moment, **where, form=_project(form))
        for kind in sorted(self.service.required_attachments):
            self._attach(kind, self.at(moment))
        if self.service.neighbour_notice:
            neighbour = Neighbour(f"{KOMMUNE}-8/1", "Nabo Nabosen", "Nabovegen 1, 0150 Oslo")
            notice = {"neighbours": [neighbour.matrikkelnummer], "parties": [neighbour]}
            self.step(cmd.SendNeighbourNotice, moment, **notice)
            consent = {"neighbour": neighbour.matrikkelnummer}
            self.step(cmd.RecordNeighbourConsent, moment + timedelta(hours=2), **consent)
            moment += timedelta(hours=3)
        self.step(cmd.SubmitApplication, moment, form=form)
        return form

    def decided(self, moment: datetime, outcome: Outcome) -> None:
        """The office's vedtak; a refusal with its reasons (fvl § 25)."""
        decision = Decision(outcome, self.service.legal_basis[0], "Kari Saksbehandler")
        if outcome is not Outcome.GRANTED:
            decision = replace(decision, facts=FACTS, considerations=WEIGHED)
        self.step(cmd.Decide, moment, decision=decision)

    def appealed(self, decided: datetime, sent: datetime, received: datetime) -> date:
        """Delivered the day it was made (unless a letter said so first), then appealed: sent
        and received on the given days. Returns the klagefrist."""
        if not self.case().delivered:  # the notices policy records it when its letter goes
            delivered = {"delivered_on": decided.date()}
            self.step(cmd.RecordDecisionDelivery, decided + timedelta(hours=1), **delivered)
        deadline: date = self.case().appeal_deadline
        self.step(cmd.ReceiveAppeal, received, received_on=received.date(), sent_on=sent.date())
        return deadline

    def case(self) -> Any:
        return self.app.get_case(self.case_id)


def _project(form: dict[str, Any]) -> dict[str, Any]:
    keys = ("tiltakshaver", "matrikkelnummer", "tiltakstype", "adresse", "soker")
    return {k: form[k] for k in keys if k in form} or dict(list(form.items())[:1])


def _nodhjelp(s: Scripted) -> Shown:
    friday = _at(5, 15, 21, 0)
    s.filed(friday, nodhjelp=True)
    due = s.case().decision_deadline
    s.decided(_at(5, 15, 23, 30), Outcome.GRANTED)
    return Shown(
        "Nødhjelp on the Friday evening before 17 May",
        "sosialtjenesteloven § 18",
        f"sent Friday 21:00, due {due} (the same day, no roll to Monday), granted 23:30",
    )


def _reversed(s: Scripted) -> Shown:
    s.filed(_at(4, 6))
    s.decided(_at(4, 13), Outcome.REFUSED)
    s.appealed(_at(4, 13), _at(4, 20), _at(4, 21))
    s.step(cmd.ReviewAppeal, _at(4, 28))  # upheld by the office: to the appeal body
    changed = Decision(Outcome.GRANTED, "sosialtjenesteloven § 18", "Statsforvalteren")
    s.step(cmd.RecordAppealResult, _at(6, 10), result=AppealResult.REVERSED, decision=changed)
    outcome = (s.case().decision or {}).get("outcome")
    return Shown(
        "A refusal changed by the appeal body (endret)",
        "fvl § 34, sosialtjenesteloven § 48",
        f"refused 13 April, appealed 20 April, sent on, changed 10 June: now {outcome}",
    )


def _repealed(s: Scripted) -> Shown:
    s.filed(_at(4, 7))
    s.decided(_at(4, 14), Outcome.REFUSED)
    s.appealed(_at(4, 14), _at(4, 24), _at(4, 27))
    s.step(cmd.ReviewAppeal, _at(5, 4))
    s.step(cmd.RecordAppealResult, _at(6, 1), result=AppealResult.REPEALED)
    due = s.case().decision_deadline
    s.decided(_at(6, 9), Outcome.GRANTED)
    return Shown(
        "A decision repealed (opphevet) and decided anew",
        "fvl § 34",
        f"repealed 1 June, a new clock due {due}, granted 9 June (appealable again)",
    )


def _late_appeal(s: Scripted) -> Shown:
    s.filed(_at(3, 2))
    s.decided(_at(3, 16), Outcome.REFUSED)
    deadline = s.appealed(_at(3, 16), _at(5, 4), _at(5, 5))
    ground = {"ground": DismissalGround.LATE, "by": AppealStage.DECIDING_BODY}
    s.step(cmd.DismissAppeal, _at(5, 11), **ground)
    return Shown(
        "An appeal sent after the klagefrist, dismissed (avvist)",
        "fvl §§ 29-31, 33",
        f"klagefrist {deadline}; sent 4 May, dismissed 11 May with its own letter",
    )


def _grensejustering(s: Scripted) -> Shown:
    s.filed(_at(3, 2), formal="grensejustering")
    due = s.case().decision_deadline
    s.decided(_at(5, 20), Outcome.GRANTED)
    follows = "a survey follows" if s.case().survey else "no permit first, no survey after"
    return Shown(
        "A grensejustering",
        "matrikkelforskriften § 18, matrikkellova § 46",
        f"16 weeks from the complete request: due {due}; matrikkelført 20 May; {follows}",
    )


def _licence(s: Scripted) -> Shown:
    form = s.filed(_at(2, 2), alkoholgrupper=[1, 2], skjenketid_fra="12:00", skjenketid_til="01:00")
    for party in s.service.consultations:
        s.step(cmd.RequestConsultation, _at(2, 3), party=party)
    for party in s.service.consultations:
        s.step(cmd.RecordConsultationAnswer, _at(3, 2), party=party, objection=False)
    s.decided(_at(3, 20), Outcome.GRANTED)
    until = (s.case().decision or {}).get("valid_until")
    hours = f"{form['skjenketid_fra']}-{form['skjenketid_til']}"
    return Shown(
        "A skjenkebevilling with serving hours",
        "alkoholloven §§ 1-6, 1-7, 4-4",
        f"groups 1 and 2, {hours}; heard by politiet and sosialtjenesten; granted until {until}",
    )


def _oversized(s: Scripted) -> Shown:
    limit = (s.service.area_limits_m2 or {})["garasje"]
    big = synthetic.complete_form(s.rng, s.service.code, KOMMUNE) | {
        "tiltakstype": "garasje",
        "bruksareal_m2": limit * 3,
    }
    s.step(
        cmd.StartApplication,
        _at(3, 9),
        service=s.service.code,
        kommunenummer=KOMMUNE,
        form=_project(big),
    )
    for kind in sorted(s.service.required_attachments):
        s._attach(kind, s.at(_at(3, 9)))
    neighbour = Neighbour(f"{KOMMUNE}-8/2", "Nabo Nabosen", "Nabovegen 2, 0150 Oslo")
    s.step(
        cmd.SendNeighbourNotice,
        _at(3, 9),
        neighbours=[neighbour.matrikkelnummer],
        parties=[neighbour],
    )
    s.step(cmd.RecordNeighbourConsent, _at(3, 10), neighbour=neighbour.matrikkelnummer)
    refused = s._send(cmd.SubmitApplication, s.at(_at(3, 11)), form=big)
    code = getattr(refused.refusal, "code", None)
    s.step(cmd.SubmitApplication, _at(3, 12), form=big | {"bruksareal_m2": limit - 10})
    s.decided(_at(3, 20), Outcome.GRANTED)
    return Shown(
        "A garage too large for søknad uten ansvarsrett",
        "pbl § 20-4, SAK10 § 3-1",
        f"{limit * 3:g} m² refused ({code}); {limit - 10:g} m² sent the next day and granted",
    )


def _parking(s: Scripted) -> Shown:
    s.filed(_at(3, 2), gjelder="forer", forerkort_gyldig_til="2028-05-31")
    s.decided(_at(3, 16), Outcome.GRANTED)
    until = (s.case().decision or {}).get("valid_until")
    return Shown(
        "A driver's parking permit",
        "forskrift om parkeringstillatelse for forflytningshemmede",
        f"granted for five years at most, but until {until}: the driving licence ends then; "
        "the case is kept while the permit is in force",
    )


SCENARIOS: tuple[tuple[str, Callable[[Scripted], Shown]], ...] = (
    ("sosialhjelp", _nodhjelp),
    ("sosialhjelp", _reversed),
    ("avfallsbeholder", _repealed),
    ("ledsagerbevis", _late_appeal),
    ("kartforretning", _grensejustering),
    ("skjenkebevilling", _licence),
    ("melding-om-tiltak", _oversized),
    ("parkering-forflytningshemmet", _parking),
)


def run_scenarios(
    app: Casework, documents: DocumentStore | None = None, notices: NoticePolicy | None = None
) -> list[tuple[Shown, Any]]:
    """Each scenario once; returns what it showed and its case id."""
    shown = []
    for code, scenario in SCENARIOS:
        script = Scripted(app, code, documents, notices, _at(1, 5))
        shown.append((scenario(script), script.case_id))
    return shown
