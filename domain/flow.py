"""The control flow of one service's process, drawn from its definition: the tasks (each a step
of ``domain.process``, in the lane of the role that takes it), the gateways with the conditions
that choose between their ways out, the clocks as timer events (``domain.timers``), and the
letters and notices as messages to and from the parties outside the municipality. Only the steps
the service has are in it. ``saksflyt.catalogue.bpmn`` writes it as BPMN 2.0; the event log
(``saksflyt.eventlog``) names its activities the same, so a log replays against it.

The shape, for a service with every sub-process: the draft (mellomlagring and attachments, or
«kontakt meg» first), the nabovarsel with its comment period, submission and the receipt; the
processing loop (missing documents, extra attachments, consultations, late neighbour comments,
the foreløpig svar after a month), then the vedtak — or the grant by law when three weeks pass;
after the decision its delivery, the survey, and either an appeal or the klagefrist running out;
the appeal through the deciding body's review to the appeal body (upheld, changed, repealed back
into processing, or dismissed); and last archive or shred. A withdrawal leads there too.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from domain.lifecycle import Status
from domain.process import Actor, allowed, steps_for
from domain.retention import RetentionAction
from domain.services import Service
from domain.timers import TIMERS

A, C, N, S = Actor.APPLICANT, Actor.CASE_OFFICER, Actor.NEIGHBOUR, Actor.SAKSFLYT
K, B = Actor.CONSULTEE, Actor.APPEAL_BODY


@dataclass(frozen=True)
class Node:
    id: str
    kind: str  # start | end | task | xor | timer | boundary (a non-interrupting timer on a task)
    name: str
    actor: Actor  # the lane
    law: str = ""
    attached_to: str | None = None  # a boundary timer's task
    logged: bool = False  # a timer the event log reports running out


@dataclass(frozen=True)
class Flow:
    source: str
    target: str
    condition: str | None = None  # on a way out of a diverging gateway


@dataclass(frozen=True)
class Message:
    """A letter or notice between a task and a party outside (``party``: a pool's key)."""

    task: str
    party: str
    name: str
    outgoing: bool  # from the task to the party


@dataclass
class Chart:
    service: Service
    nodes: dict[str, Node] = field(default_factory=dict)
    flows: list[Flow] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    parties: dict[str, str] = field(default_factory=dict)  # key -> the pool's name

    def add(self, kind: str, name: str, actor: Actor, key: str, **extra: object) -> str:
        node_id = f"{kind}-{key}"
        assert node_id not in self.nodes, node_id
        self.nodes[node_id] = Node(node_id, kind, name, actor, **extra)  # type: ignore[arg-type]
        return node_id

    def link(self, source: str, target: str, condition: str | None = None) -> None:
        self.flows.append(Flow(source, target, condition))

    def chain(self, *ids: str) -> None:
        for source, target in itertools.pairwise(ids):
            self.link(source, target)


class _Builder:
    def __init__(self, service: Service) -> None:
        self.s, self.chart = service, Chart(service)
        self.steps = {(st.label_nb): st for st in steps_for(service)}
        self.timers = {t.name: t for t in TIMERS if t.applies.to(service)}
        self.count = 0

    def task(self, label: str, actor: Actor | None = None) -> str:
        """A task for the step of that label (each use its own task: a step may recur)."""
        step = self.steps[label]  # only the steps the service has
        self.count += 1
        return self.chart.add("task", label, actor or step.actor, f"{self.count}", law=step.law)

    def xor(self, name: str, actor: Actor, key: str) -> str:
        return self.chart.add("xor", name, actor, key)

    def timer(self, name: str, key: str) -> str:
        timer = self.timers[name]
        return self.chart.add("timer", timer.label_nb, S, key, law=timer.law, logged=timer.logged)

    def hub(self, name: str, actor: Actor, key: str) -> tuple[str, str]:
        """A converging gateway followed by a diverging one: a state the case waits in."""
        into, out = self.xor(name, actor, f"{key}-in"), self.xor(name, actor, f"{key}-out")
        self.chart.link(into, out)
        return into, out

    def may(self, label: str, status: Status) -> bool:
        """The step of that label may be taken in that status (the process table says)."""
        return label in self.steps and status in allowed(self.steps[label].name, self.s)

    def loop(self, out: str, into: str, label: str, condition: str, status: Status) -> str | None:
        """A step the case may take and stay where it is, when the table allows it there."""
        if not self.may(label, status):
            return None
        task = self.task(label)
        self.chart.link(out, task, condition)
        self.chart.link(task, into)
        return task

    def exit(self, out: str, target: str, label: str, condition: str, status: Status) -> None:
        """A way out to ``target`` (the gateway before a step), when the table allows the step."""
        if self.may(label, status):
            self.chart.link(out, target, condition)

    def send(self, task: str | None, party: str, name: str) -> None:
        if task is not None:
            self.chart.messages.append(Message(task, party, name, True))

    def receive(self, task: str | None, party: str, name: str) -> None:
        if task is not None:
            self.chart.messages.append(Message(task, party, name, False))


def chart(service: Service) -> Chart:
    """The service's process, from its definition."""
    b = _Builder(service)
    c, s = b.chart, service
    c.parties["applicant"] = "Søker"
    withdraw_in = b.xor("Trekkes søknaden?", A, "withdraw")
    withdrawn = b.task("Trekke søknaden")
    c.link(withdraw_in, withdrawn)
    close_in, close_out = b.hub("Bevares eller kasseres?", C, "close")
    c.link(withdrawn, close_in)
    _closing(b, close_out)
    submitted = _drafting(b, withdraw_in)
    received = b.xor("Registrert", S, "registered")
    receipt_choice = b.xor("E-post oppgitt?", S, "receipt")
    c.chain(submitted, receipt_choice)
    receipt = b.task("Sende kvittering")
    b.send(receipt, "applicant", "kvittering")
    c.link(receipt_choice, receipt, "ja: kvittering på e-post")
    c.link(receipt_choice, received, "nei: kvittering i posten")
    c.link(receipt, received)
    if not s.individual_decision:  # a høringssvar: registered and acknowledged, then closed
        c.link(received, close_in)
        return c
    _processing(b, received, withdraw_in, close_in)
    return c


def _drafting(b: _Builder, withdraw_in: str) -> str:
    """From the start to «Sende inn»; returns the submission task."""
    c, s = b.chart, b.s
    submit = b.task("Sende inn")
    if not s.drafts:  # sosialhjelp: sent in one step, nothing stored before
        start = c.add("start", "Søknad mottatt", A, "start")
        c.link(start, submit)
        return submit
    start = c.add("start", "Søknad påbegynt", A, "start")
    draft_in, draft_out = b.hub("Utkast", A, "draft")
    if s.contact_requests:
        ask = b.xor("Kontakt meg først?", A, "contact")
        c.link(start, ask)
        call, back = b.task("Kontakt meg"), b.task("Ringe opp og starte søknaden")
        c.link(ask, call, "ja: ringes opp")
        c.chain(call, back, draft_in)
        c.link(ask, draft_in, "nei")
    else:
        c.link(start, draft_in)
    b.loop(draft_out, draft_in, "Mellomlagre", "mellomlagrer", Status.DRAFT)
    b.loop(draft_out, draft_in, "Legge ved vedlegg", "legger ved", Status.DRAFT)
    b.exit(draft_out, withdraw_in, "Trekke søknaden", "trekker søknaden", Status.DRAFT)
    if not s.neighbour_notice:
        c.link(draft_out, submit, "ferdig utfylt")
        return submit
    notice = b.task("Sende nabovarsel")
    b.send(notice, "neighbours", "nabovarsel")
    c.link(draft_out, notice, "klar til nabovarsel")
    heard_in, heard_out = b.hub("Nabovarsel sendt", N, "neighbours")
    c.link(notice, heard_in)
    _neighbour_answers(b, heard_out, heard_in, Status.DRAFT)
    b.loop(heard_out, heard_in, "Legge ved vedlegg", "legger ved", Status.DRAFT)
    ready = b.xor("Klar til innsending", A, "submit")
    period = b.timer("neighbour-comments", "neighbours")
    c.link(heard_out, ready, "alle har samtykket")
    c.link(heard_out, period, "ikke alle har samtykket")
    c.chain(period, ready, submit)
    b.exit(heard_out, withdraw_in, "Trekke søknaden", "trekker søknaden", Status.DRAFT)
    return submit


def _neighbour_answers(b: _Builder, out: str, into: str, status: Status) -> None:
    c = b.chart
    c.parties["neighbours"] = "Naboer og gjenboere"
    for label, condition, letter in (
        ("Samtykke fra nabo", "samtykke", "samtykke"),
        ("Merknad fra nabo", "merknad", "merknad"),
        ("Innvending fra nabo", "innvending", "merknad med innvending"),
    ):
        b.receive(b.loop(out, into, label, condition, status), "neighbours", letter)


def _processing(b: _Builder, received: str, withdraw_in: str, close_in: str) -> None:
    """From registration to the vedtak (or the grant by law), and on to closing."""
    c, s = b.chart, b.s
    work_in, work_out = b.hub("Under behandling", C, "processing")
    c.link(received, work_in)
    ask = b.task("Be om manglende dokumenter")
    b.send(ask, "applicant", "mangelbrev")
    c.link(work_out, ask, "søknaden er ikke komplett")
    wait_in, wait_out = b.hub("Venter på dokumentasjon (fristen står)", A, "documents")
    c.link(ask, wait_in)
    b.loop(wait_out, wait_in, "Legge ved vedlegg", "ettersender", Status.AWAITING_DOCUMENTS)
    resume = b.task("Behandle videre")
    c.link(wait_out, resume, "komplett, eller behandles uten")
    c.link(resume, work_in)
    waiting, working = Status.AWAITING_DOCUMENTS, Status.SUBMITTED
    b.exit(wait_out, withdraw_in, "Trekke søknaden", "trekker søknaden", waiting)
    b.loop(work_out, work_in, "Legge ved vedlegg", "nye vedlegg", working)
    if s.consultations or s.optional_consultations:
        c.parties["consulted"] = "Høringsinstanser"
        asked = b.loop(work_out, work_in, "Be om uttalelse", "uttalelse trengs", working)
        b.send(asked, "consulted", "anmodning")
        answer = b.loop(work_out, work_in, "Uttalelse mottatt", "svar kommer", working)
        b.receive(answer, "consulted", "uttalelse")
    if s.neighbour_notice:
        _neighbour_answers(b, work_out, work_in, working)
    month = b.timer("preliminary-reply", "month")
    reply = b.task("Sende foreløpig svar")
    b.send(reply, "applicant", "foreløpig svar")
    c.link(work_out, month, "vedtak kommer ikke innen en måned")
    c.chain(month, reply, work_in)
    b.exit(work_out, withdraw_in, "Trekke søknaden", "trekker søknaden", working)
    decide_in = b.xor("Vedtak", C, "decide")
    c.link(work_out, decide_in, "saken er opplyst")
    decide = b.task("Fatte vedtak")
    b.send(decide, "applicant", "vedtak")
    c.link(decide_in, decide)
    if s.decision_days:
        kind = "lovfestet" if s.decision_days_statutory else "praksis"
        c.add(
            "boundary",
            f"Saksbehandlingsfrist {s.decision_days} dager ({kind})",
            S,
            "decision-clock",
            attached_to=decide,
        )
    decided_in, decided_out = b.hub("Vedtak fattet", C, "decided")
    c.link(decide, decided_in)
    if s.deemed_granted:
        overrun = b.timer("deemed-grant", "deemed")
        by_law = b.task("Tillatelse regnes som gitt")
        c.link(work_out, overrun, "ingen innvending, dispensasjon eller samtykke")
        c.chain(overrun, by_law, decided_in)
    _decided(b, decided_in, decided_out, decide_in, work_in, close_in)


def _decided(
    b: _Builder, decided_in: str, decided_out: str, decide_in: str, work_in: str, close_in: str
) -> None:
    c, s = b.chart, b.s
    decided = Status.DECIDED
    b.loop(decided_out, decided_in, "Vedtaket er mottatt", "vedtaket når parten", decided)
    final_in, final_out = b.hub("Vedtaket står", C, "final")
    if s.survey_days:
        held = "Oppmålingsforretning holdt"
        survey = b.loop(decided_out, decided_in, held, "oppmåling", decided)
        if survey is not None:
            clock = f"Oppmåling innen {s.survey_days} dager"
            c.add("boundary", clock, S, "survey", attached_to=survey)
        b.loop(final_out, final_in, held, "oppmåling", decided)
    appeal_in = b.xor("Klage", C, "appeal")
    c.link(decided_out, appeal_in, "klage kommer")
    period = b.timer("appeal", "appeal")
    c.link(decided_out, period, "ingen klage")
    c.link(period, final_in)
    c.link(final_out, appeal_in, "klage etter fristen")
    c.link(final_out, close_in, "saken avsluttes")
    _appeal(b, appeal_in, decided_in, decide_in, work_in, final_in)


def _appeal(
    b: _Builder, appeal_in: str, decided_in: str, decide_in: str, work_in: str, final_in: str
) -> None:
    c, s = b.chart, b.s
    assert s.appeal_body is not None
    c.parties["appeal-body"] = s.appeal_body
    receive = b.task("Motta klage")
    b.receive(receive, "applicant", "klage")
    c.link(appeal_in, receive)
    admissible = b.xor("Part, og sendt innen ett år?", C, "admissible")
    c.link(receive, admissible)
    dismiss_in = b.xor("Avvises", C, "dismiss")
    dismiss = b.task("Avvise klagen")
    b.send(dismiss, "applicant", "avvisning")
    c.link(admissible, dismiss_in, "nei (fvl §§ 28, 31)")
    c.chain(dismiss_in, dismiss, decided_in)
    review = b.xor("Underinstansens vurdering", C, "review")
    c.link(admissible, review, "ja")
    reverse = b.task("Omgjøre vedtaket")
    c.link(review, reverse, "klagen tas til følge")
    c.link(reverse, decide_in)
    c.link(review, dismiss_in, "for sent, og ikke særlige grunner")
    forward = b.task("Sende klagen til klageinstansen")
    b.send(forward, "appeal-body", "klagesaken")
    c.link(review, forward, "vedtaket opprettholdes")
    answer = b.xor("Klageinstansens avgjørelse", B, "answer")
    c.link(forward, answer)
    for label, condition, target in (
        ("Klageinstansen stadfester vedtaket", "stadfestet", final_in),
        ("Klageinstansen endrer vedtaket", "endret", final_in),
        ("Klageinstansen opphever vedtaket", "opphevet: nytt vedtak", work_in),
        ("Klageinstansen avviser klagen", "avvist", final_in),
    ):
        task = b.task(label)
        b.receive(task, "appeal-body", "klagevedtak")
        b.send(task, "applicant", "klagevedtak")
        c.link(answer, task, condition)
        c.link(task, target)


def _closing(b: _Builder, close_out: str) -> None:
    """Archive or shred, as the retention policy can say for the service (an archivist may go
    against it, with a reason, but that is no way of the process); a draft never sent is
    shredded whatever the policy keeps."""
    c, s = b.chart, b.s
    retention = s.retention
    either = bool(retention.keep or retention.born_on_days)
    ways = {retention.action, *(RetentionAction if either else ())}
    ways |= {RetentionAction.SHRED} if s.drafts else set()
    for action, label, end, condition in (
        (RetentionAction.ARCHIVE, "Arkivere", "Arkivert", "bevares"),
        (RetentionAction.SHRED, "Kassere", "Kassert", "kasseres"),
    ):
        if action in ways:
            task = b.task(label)
            c.link(close_out, task, condition)
            c.link(task, c.add("end", end, C, action.value))
