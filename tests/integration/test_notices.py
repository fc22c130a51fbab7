"""The notices policy against a real SMTP server (aiosmtpd on 127.0.0.1, started here): one
receipt per submission with what the applicant needs to know; redelivery sends nothing twice; an
outage delays but loses nothing; a refused address is recorded as failed and printed instead; a
message put off is tried again; formal letters carry a PDF/A; old occasions are left alone."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from consumers.delivery import InProcessDelivery
from domain import commands as cmd
from domain.casework import Casework
from domain.forms import contact_email
from domain.lifecycle import Outcome
from domain.values import Attachment, Decision, Neighbour
from saksflyt.access.policy import Role
from saksflyt.archive.numbers import Numbers
from saksflyt.bootstrap import bootstrap
from saksflyt.demo import synthetic
from saksflyt.http.app import create_app
from saksflyt.notices.channels import SmtpChannel, SmtpSettings
from saksflyt.notices.policy import NoticePolicy, PrintQueue
from saksflyt.records import records_database
from saksflyt.settings import Settings
from tests.pdfa import Preflight
from tests.send import project
from tests.smtp import SmtpServer
from tests.stores import sqlite_settings
from tests.tokens import headers

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


class Setup:
    def __init__(self, settings: Settings, smtp: SmtpServer, clock: dict[str, datetime]) -> None:
        self.settings, self.smtp, self.clock = settings, smtp, clock
        self.app: Casework = bootstrap(settings)
        self.db = records_database(settings)  # the print queue
        self.channel = SmtpChannel(SmtpSettings("127.0.0.1", smtp.port, "none", timeout_s=2))
        self.stop = threading.Event()
        self.policy = NoticePolicy(
            self.app,
            self.channel,
            PrintQueue(self.db),
            settings.notices_from,
            clock=lambda: clock["now"],
            stop=self.stop,
            numbers=Numbers(self.db),
        )
        self.rng = random.Random(7)

    def submit(self, service: str = "avfallsbeholder", email: str | None = "") -> UUID:
        case_id = uuid4()
        form = synthetic.complete_form(self.rng, service, "0301")
        if email is None:
            form["soker"].pop("epost", None)
        elif email:
            form["soker"]["epost"] = email
        at, where = self.clock["now"], {"service": service, "kommunenummer": "0301"}
        commands: list[cmd.Command] = [
            cmd.SubmitNewApplication(
                command_id=uuid4(), case_id=case_id, received_at=at, form=form, **where
            )
        ]
        if service != "sosialhjelp":  # the others keep a draft first
            commands = [
                cmd.StartApplication(
                    command_id=uuid4(), case_id=case_id, received_at=at, form={}, **where
                ),
                cmd.SubmitApplication(
                    command_id=uuid4(), case_id=case_id, received_at=at, form=form
                ),
            ]
        for command in commands:
            assert self.app.handle(command).refusal is None
        return case_id

    def deliver(self, position: int = 0) -> int:
        delivery = InProcessDelivery(self.app, [self.policy], position=position)
        delivery.deliver()
        return delivery.position

    def close(self) -> None:
        self.channel.close()
        self.app.close()
        self.db.close()


@pytest.fixture
def setup(tmp_path: Path, smtp: SmtpServer) -> Iterator[Setup]:
    made = Setup(sqlite_settings(tmp_path), smtp, {"now": NOW})
    yield made
    made.close()


def test_every_submission_gets_one_receipt_with_what_to_expect(setup: Setup) -> None:
    cases = [setup.submit() for _ in range(20)]
    setup.clock["now"] = NOW + timedelta(minutes=1)
    setup.deliver()
    setup.deliver()  # redelivered from the start: nothing goes twice
    assert len(setup.smtp.inbox.messages) == 20
    assert set(setup.smtp.inbox.by_message_id().values()) == {1}
    for case_id in cases:
        case = setup.app.get_case(case_id)
        (message,) = setup.smtp.inbox.to(contact_email(case.form) or "")
        body = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert (
            message["Subject"]
            == "Kvittering for mottatt søknad – Bestilling og endring av avfallsbeholder"
        )
        assert "2. mars 2026" in body  # received
        assert "16. mars 2026" in body  # expected decision: 14 days (avfallsbeholder)
        assert "Hva skjer nå" in body
        reference = Numbers(setup.db).existing(
            case_id
        )  # given at the receipt, kept for the archive
        assert reference and f"Saksnummeret er {reference}." in body
        assert message["Auto-Submitted"] == "auto-generated"
        assert [r["message_id"] for r in case.receipts] == [message["Message-ID"]]
    assert setup.policy.tally.sent == 20 and setup.policy.tally.duplicate == 20


@pytest.mark.slow
def test_an_outage_delays_but_loses_nothing(setup: Setup, smtp: SmtpServer) -> None:
    cases = [setup.submit() for _ in range(10)]
    smtp.stop()
    worker = threading.Thread(target=_deliver_until_done, args=(setup, len(cases)))
    worker.start()
    threading.Event().wait(2.0)  # the server is down for a while
    assert smtp.inbox.messages == []
    smtp.start()
    worker.join(timeout=60)
    assert not worker.is_alive()
    assert len(smtp.inbox.messages) == 10
    assert all(setup.app.get_case(c).receipts for c in cases)


def _deliver_until_done(setup: Setup, expected: int) -> None:
    """The in-process loop of ``saksflyt notices run``: retry while the channel is down."""
    from saksflyt.notices.process import Positioned, _in_process

    positioned = Positioned(setup.policy, setup.db)
    positioned.flush(0)
    stop = setup.stop

    def watch() -> None:
        while len(setup.smtp.inbox.messages) < expected and not stop.wait(0.05):
            pass
        stop.set()

    threading.Thread(target=watch, daemon=True).start()
    _in_process(setup.app, positioned, stop, idle_s=0.05)


def test_a_refused_address_is_recorded_as_failed_and_printed_instead(
    setup: Setup, smtp: SmtpServer
) -> None:
    smtp.inbox.refuse.add("finnes.ikke@example.org")
    case_id = setup.submit(email="finnes.ikke@example.org")
    setup.deliver()
    setup.deliver()
    history = [type(e).__name__ for e in setup.app.history(case_id)]
    assert history.count("MessageFailed") == 1 and "ReceiptSent" not in history
    failed = next(e for e in setup.app.history(case_id) if type(e).__name__ == "MessageFailed")
    assert failed.kind == "kvittering" and failed.reason.startswith("550")  # type: ignore[attr-defined]
    assert failed.attempts == 1  # type: ignore[attr-defined]  # never retried
    waiting = PrintQueue(setup.db).waiting()
    assert [(r["case_id"], r["kind"]) for r in waiting] == [(str(case_id), "kvittering")]
    assert setup.policy.tally.failed == 1 and setup.policy.tally.printed == 1


def test_a_message_put_off_is_tried_again(setup: Setup, smtp: SmtpServer) -> None:
    smtp.inbox.defer["treg@example.org"] = 1  # 451 once
    case_id = setup.submit(email="treg@example.org")
    setup.deliver()
    assert len(smtp.inbox.to("treg@example.org")) == 1
    assert setup.policy.tally.retried == 1 and setup.app.get_case(case_id).receipts


def test_without_e_mail_the_letter_goes_to_the_print_queue(setup: Setup, smtp: SmtpServer) -> None:
    case_id = setup.submit(email=None)
    setup.deliver()
    assert smtp.inbox.messages == []
    sent = [e for e in setup.app.history(case_id) if type(e).__name__ == "MessageSent"]
    assert [(e.kind, e.channel) for e in sent] == [("kvittering", "print")]  # type: ignore[attr-defined]
    from saksflyt.notices.process import print_waiting

    written = print_waiting(setup.settings, setup.settings.document_dir / "post", None, NOW)
    assert len(written) == 1 and written[0].read_bytes().startswith(b"%PDF-1.4")
    assert PrintQueue(setup.db).waiting() == []


def test_formal_letters_carry_a_pdfa_and_the_appeal_deadline(
    setup: Setup, preflight: Preflight, tmp_path: Path
) -> None:
    case_id = setup.submit("sosialhjelp")
    position = setup.deliver()
    steps: list[tuple[type[cmd.Command], dict[str, object]]] = [
        (cmd.RequestMissingDocuments, {"kinds": ["lonnsslipp"], "reason": "Lønnsslipp mangler"}),
        (cmd.ResumeProcessing, {}),
        (cmd.SendPreliminaryReply, {"reason": "Mange saker", "expected_by": date(2026, 4, 1)}),
        (cmd.Decide, {"decision": Decision(Outcome.GRANTED, "sosialtjenesteloven § 18", "kari")}),
    ]
    for n, (step, fields) in enumerate(steps, start=1):
        at = NOW + timedelta(days=n)
        setup.clock["now"] = at
        command = step(command_id=uuid4(), case_id=case_id, received_at=at, **fields)
        assert setup.app.handle(command).refusal is None, step
        position = setup.deliver(position)
    letters = {str(m["Subject"]).split(" – ")[0]: m for m in setup.smtp.inbox.messages}
    assert set(letters) == {
        "Kvittering for mottatt søknad",
        "Vi mangler dokumenter",
        "Foreløpig svar",
        "Vedtak",
    }
    decision = letters["Vedtak"].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    appeal = setup.app.get_case(case_id).decision["appeal_deadline"]  # type: ignore[index]
    assert "innvilget" in decision and f"{appeal.day}. " in decision and "klage" in decision
    pdfs = []
    for name in ("Vi mangler dokumenter", "Foreløpig svar", "Vedtak"):
        (attachment,) = list(letters[name].iter_attachments())
        pdfs.append(tmp_path / f"{len(pdfs)}.pdf")
        pdfs[-1].write_bytes(attachment.get_content())
    assert preflight.errors(pdfs, tmp_path) == {p.name: [] for p in pdfs}
    kinds = [e.kind for e in setup.app.history(case_id) if type(e).__name__ == "MessageSent"]  # type: ignore[attr-defined]
    assert kinds == ["mangelbrev", "forelopig-svar", "vedtak"]
    decided = setup.app.get_case(
        case_id
    )  # in the mailbox that day: the appeal period runs (fvl § 29)
    assert decided.decision and decided.decision["delivered_on"] == date(2026, 3, 6)


def test_old_occasions_are_not_acted_on(setup: Setup) -> None:
    setup.submit()
    setup.clock["now"] = NOW + timedelta(days=4)  # past the 72 hours
    setup.deliver()
    assert setup.smtp.inbox.messages == [] and setup.policy.tally.stale == 1


def test_a_building_case_in_the_lawful_order_with_a_letter_to_each_neighbour(
    setup: Setup, smtp: SmtpServer
) -> None:
    """pbl § 21-3: neighbours and gjenboere are notified first, each gets a letter by post (and
    its record), the application goes in after the two weeks, and then the receipt follows."""
    case_id, at = uuid4(), setup.clock["now"]
    where = {"service": "melding-om-tiltak", "kommunenummer": "0301"}
    form = synthetic.complete_form(setup.rng, "melding-om-tiltak", "0301")
    start = cmd.StartApplication(
        command_id=uuid4(), case_id=case_id, received_at=at, form=project(form), **where
    )
    assert setup.app.handle(start).refusal is None
    for n, kind in enumerate(("situasjonsplan", "tegninger")):
        attachment = Attachment(uuid4(), kind, "application/pdf", 9, f"{n}" * 64, kind)
        add = cmd.AddAttachment(
            command_id=uuid4(), case_id=case_id, received_at=at, attachment=attachment
        )
        assert setup.app.handle(add).refusal is None
    parties = [
        Neighbour("0301-7/1", "Kari Nabo", "Nabovegen 1, 0150 Oslo", "nabo"),
        Neighbour("0301-7/9", "Ola Gjenboer", "Nabovegen 2, 0150 Oslo", "gjenboer"),
    ]
    notice = cmd.SendNeighbourNotice(
        command_id=uuid4(),
        case_id=case_id,
        received_at=at,
        neighbours=[p.matrikkelnummer for p in parties],
        parties=parties,
    )
    assert setup.app.handle(notice).refusal is None
    position = setup.deliver()
    setup.deliver()  # again: no second letter
    waiting = PrintQueue(setup.db).waiting()
    assert sorted((r["kind"], r["party"]) for r in waiting) == [
        ("nabovarsel", 0),
        ("nabovarsel", 1),
    ]
    records = [e for e in setup.app.history(case_id) if type(e).__name__ == "MessageSent"]
    assert [(e.kind, e.channel) for e in records] == [("nabovarsel", "print")] * 2  # type: ignore[attr-defined]
    early = cmd.SubmitApplication(
        command_id=uuid4(), case_id=case_id, received_at=at + timedelta(days=3), form=form
    )
    assert setup.app.handle(early).code == "neighbour-period-running"
    later = at + timedelta(days=15)  # the two weeks ended on 16 March
    setup.clock["now"] = later
    submit = cmd.SubmitApplication(
        command_id=uuid4(), case_id=case_id, received_at=later, form=form
    )
    assert setup.app.handle(submit).refusal is None
    setup.deliver(position)
    assert len(smtp.inbox.to(contact_email(form) or "")) == 1  # the receipt, after submission
    from saksflyt.notices.process import print_waiting

    written = print_waiting(setup.settings, setup.settings.document_dir / "post", "0301", NOW)
    assert len(written) == 2


def test_the_applicant_reads_the_receipt_back_as_sent(setup: Setup) -> None:
    case_id = setup.submit()
    setup.deliver()
    fnr = setup.app.get_case(case_id).form["soker"]["fodselsnummer"]
    mine = headers(setup.settings, roles={Role.APPLICANT}, kommuner=set(), person=fnr)
    with TestClient(create_app(setup.settings)) as api:
        answer = api.get(f"/applications/{case_id}/messages", headers=mine)
    assert answer.status_code == 200, answer.text
    (receipt,) = answer.json()
    assert (receipt["kind"], receipt["outcome"], receipt["channel"]) == (
        "kvittering",
        "sent",
        "email",
    )
    assert receipt["message_id"] == setup.smtp.inbox.messages[0]["Message-ID"]
