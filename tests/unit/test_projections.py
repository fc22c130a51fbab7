"""Read models as pure decisions: (row before, event) -> (row after, row changes). No I/O."""

from __future__ import annotations

import json
import random
from datetime import date, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from domain.identifiers import synthetic_fodselsnummer
from domain.lifecycle import OSLO
from projections.batch import FoldedChanges
from projections.changes import DeleteWhere, Increment, Upsert
from projections.overview import Row, next_overview, open_deadlines
from projections.projector import project
from schemas.mapping import PublicEvent

T0 = datetime(2026, 3, 2, 9, tzinfo=OSLO)
DAY = timedelta(days=1)
CASE = uuid4()


def event(name: str, version: int, at: datetime, **fields: Any) -> PublicEvent:
    record = {
        "event_id": uuid4(),
        "case_id": CASE,
        "case_version": version,
        "occurred_at": at,
        "service": "melding-om-tiltak",
        "kommunenummer": "0301",
        **fields,
    }
    return PublicEvent(name, f"no.saksflyt.application.{name}.v1", record)


def submitted(fnr: str = "01010112345") -> list[PublicEvent]:
    form = json.dumps({"tiltakshaver": {"fodselsnummer": fnr, "navn": "X"}})
    return [
        event("ApplicationCreated", 1, T0),
        event(
            "ApplicationSubmitted",
            2,
            T0,
            form_json=form,
            decision_days=21,
            objection_decision_days=84,
            applicant_ref="a1b2c3d4e5f6a7b8c9d0",
            decision_due=date(2026, 3, 23),  # as the domain sets them
            preliminary_reply_due=date(2026, 4, 7),
            deemed_granted_on=date(2026, 3, 24),
        ),
    ]


def replay(events: list[PublicEvent]) -> Row:
    row: Row | None = None
    for e in events:
        row = next_overview(row, e)
    assert row is not None
    return row


def test_submission_starts_the_three_week_clock_and_the_preliminary_reply_clock() -> None:
    row = replay(submitted())
    assert (row["status"], row["decision_deadline"]) == ("submitted", date(2026, 3, 23))
    assert row["preliminary_reply_due"] == date(2026, 4, 7)  # 2 April is Skjærtorsdag
    assert row["version"] == 2


def test_missing_documents_stop_the_clock_and_resuming_lengthens_it() -> None:
    waiting = replay(
        [*submitted(), event("MissingDocumentsRequested", 3, T0 + DAY, kinds=["x"], reason="r")]
    )
    assert (waiting["status"], waiting["decision_deadline"]) == ("awaiting-documents", None)
    assert waiting["deemed_granted_on"] is None
    resumed = next_overview(
        waiting,
        event(
            "ProcessingResumed",
            4,
            T0 + 6 * DAY,
            decision_due=date(2026, 3, 30),
            deemed_granted_on=date(2026, 3, 31),
        ),
    )
    assert resumed["paused_days"] == 5
    assert resumed["decision_deadline"] == date(2026, 3, 30)  # the event's, not recomputed
    assert resumed["deemed_granted_on"] == date(2026, 3, 31)


def test_an_objection_keeps_three_weeks_but_no_grant_by_law() -> None:
    """pbl § 21-7 tredje ledd: still three weeks, but an overrun grants nothing."""
    row = replay(
        [
            *submitted(),
            event(
                "NeighbourNoticeSent",
                3,
                T0,
                neighbours=["a", "b"],
                comment_deadline=date(2026, 3, 16),
            ),
            event("NeighbourCommentReceived", 4, T0 + DAY, neighbour="a", objection=True),
        ]
    )
    assert row["decision_deadline"] == date(2026, 3, 23)
    assert row["deemed_granted_on"] is None
    assert (row["neighbours_notified"], row["neighbour_objections"]) == (2, 1)


def test_a_building_case_on_three_weeks_is_granted_by_law_the_day_after_its_deadline() -> None:
    """pbl § 21-7 tredje ledd: the deadline watch shows the day; the event makes it so."""
    row = replay(submitted())
    assert (row["decision_deadline"], row["deemed_granted_on"]) == (
        date(2026, 3, 23),
        date(2026, 3, 24),
    )
    assert ("permit-deemed-granted", date(2026, 3, 24)) in open_deadlines(row)
    granted = next_overview(
        row,
        event(
            "PermitDeemedGranted",
            3,
            T0 + 22 * DAY,
            decision_deadline=date(2026, 3, 23),
            appeal_deadline=date(2026, 4, 15),
        ),
    )
    assert (granted["status"], granted["outcome"], granted["decided_past_deadline"]) == (
        "decided",
        "granted",
        True,
    )
    assert granted["deemed_granted_on"] == date(2026, 3, 24)
    assert "permit-deemed-granted" not in dict(open_deadlines(granted))
    decision = {"outcome": "granted", "legal_basis": "pbl", "case_officer": "sb"}
    decided = next_overview(
        row, event("DecisionMade", 3, T0 + 5 * DAY, **decision, appeal_deadline=date(2026, 4, 1))
    )
    assert decided["deemed_granted_on"] is None


@pytest.mark.parametrize(("decided_after", "late"), [(20, False), (22, True)])
def test_a_decision_after_the_deadline_is_late(decided_after: int, late: bool) -> None:
    row = replay(
        [
            *submitted(),
            event(
                "DecisionMade",
                3,
                T0 + decided_after * DAY,
                outcome="granted",
                legal_basis="pbl",
                case_officer="sb",
                appeal_deadline=date(2026, 4, 20),
            ),
        ]
    )
    assert row["decided_past_deadline"] is late
    assert row["decision_deadline"] == date(2026, 3, 23)  # frozen at the decision


def test_the_applicant_is_the_events_pseudonym_never_the_number() -> None:
    fnr = synthetic_fodselsnummer(random.Random(1), date(1980, 5, 17))
    row = replay(submitted(fnr))
    assert row["applicant_ref"] == "a1b2c3d4e5f6a7b8c9d0"
    assert fnr not in json.dumps(row, default=str)


@pytest.mark.parametrize(
    ("status", "expected_kinds"),
    [
        ("submitted", {"decision", "preliminary-reply", "neighbour-comments"}),
        ("decided", {"appeal"}),
        ("withdrawn", set()),
        ("draft", {"neighbour-comments"}),
    ],
)
def test_open_deadlines_depend_on_the_status(status: str, expected_kinds: set[str]) -> None:
    row = {
        "status": status,
        "decision_deadline": date(2026, 3, 23),
        "preliminary_reply_due": date(2026, 4, 7),
        "neighbour_deadline": date(2026, 3, 16),
        "appeal_deadline": date(2026, 4, 20),
        "deemed_granted_on": None,
    }
    assert {kind for kind, _ in open_deadlines(row)} == expected_kinds


def test_a_decision_changes_every_read_model_it_touches() -> None:
    before = replay(submitted())
    decision = event(
        "DecisionMade",
        3,
        T0 + 5 * DAY,
        outcome="partly-granted",
        legal_basis="pbl",
        case_officer="sb",
        appeal_deadline=date(2026, 3, 30),
    )
    after, changes = project(before, decision)
    assert after["status"] == "decided"
    by_table = {(type(c).__name__, c.table): c for c in changes}
    stats = by_table[("Increment", "service_stats")]
    assert isinstance(stats, Increment)
    assert stats.counts == {"decided_partly_granted": 1, "decided_past_deadline": 0}
    assert stats.key == {
        "day": date(2026, 3, 7),
        "service": "melding-om-tiltak",
        "kommunenummer": "0301",
    }
    times = by_table[("Upsert", "decision_times")]
    assert isinstance(times, Upsert) and times.values["days"] == 5.0
    watch = [c for c in changes if c.table == "deadline_watch"]
    assert isinstance(watch[0], DeleteWhere)
    assert [c.values["kind"] for c in watch[1:] if isinstance(c, Upsert)] == ["appeal"]


def test_the_same_row_and_event_give_the_same_changes() -> None:
    before = replay(submitted())
    withdrawn = event("ApplicationWithdrawn", 3, T0 + DAY, reason="r")
    assert project(before, withdrawn) == project(before, withdrawn)


def test_a_batch_writes_each_row_once_and_forgets_rows_a_later_delete_wipes() -> None:
    folded = FoldedChanges()
    watch = ("case_id", "kind")
    folded.add(DeleteWhere("deadline_watch", {"case_id": "c"}))
    folded.add(Upsert("deadline_watch", watch, {"case_id": "c", "kind": "decision"}))
    folded.add(Increment("service_stats", {"day": 1}, {"submitted": 1}))
    folded.add(DeleteWhere("deadline_watch", {"case_id": "c"}))
    folded.add(Upsert("deadline_watch", watch, {"case_id": "c", "kind": "appeal"}))
    folded.add(Increment("service_stats", {"day": 1}, {"submitted": 2, "withdrawn": 1}))
    assert folded.in_order() == [
        DeleteWhere("deadline_watch", {"case_id": "c"}),
        Upsert("deadline_watch", watch, {"case_id": "c", "kind": "appeal"}),
        Increment("service_stats", {"day": 1}, {"submitted": 3, "withdrawn": 1}),
    ]


def test_a_permit_granted_by_law_counts_as_a_late_granted_decision() -> None:
    grant = event(
        "PermitDeemedGranted",
        3,
        T0 + 22 * DAY,
        decision_deadline=date(2026, 3, 23),
        appeal_deadline=date(2026, 4, 14),
    )
    _, changes = project(replay(submitted()), grant)
    counted = [c for c in changes if isinstance(c, Increment) and c.table == "service_stats"]
    assert counted and counted[0].counts == {"decided_granted": 1, "decided_past_deadline": 1}


def test_the_deadline_watch_shows_consultations_until_the_last_answer() -> None:
    """Alkoholloven § 1-7: the statements are awaited before the decision."""
    asked = [
        event("ConsultationRequested", 3, T0, party="politiet", answer_by=date(2026, 3, 30)),
        event("ConsultationRequested", 4, T0, party="sosialtjenesten", answer_by=date(2026, 4, 6)),
    ]
    row = replay([*submitted(), *asked])
    assert (row["consultations_pending"], row["consultation_due"]) == (2, date(2026, 4, 6))
    assert ("consultation", date(2026, 4, 6)) in open_deadlines(row)
    answer = {"objection": False, "late": False}
    row = next_overview(row, event("ConsultationAnswered", 5, T0, party="politiet", **answer))
    assert row["consultations_pending"] == 1
    row = next_overview(
        row, event("ConsultationAnswered", 6, T0, party="sosialtjenesten", **answer)
    )
    assert (row["consultations_pending"], row["consultation_due"]) == (0, None)
    assert "consultation" not in dict(open_deadlines(row))


def noticed() -> list[PublicEvent]:
    """A submitted building case whose two neighbours have been notified."""
    notice = event(
        "NeighbourNoticeSent",
        3,
        T0,
        neighbours=["n1", "n2"],
        comment_deadline=date(2026, 3, 16),
    )
    return [*submitted(), notice]


def test_an_event_that_leaves_the_deadlines_and_the_notice_as_they_were_writes_neither() -> None:
    """A receipt or an attachment changes no deadline: its row in the overview is all it writes."""
    before = replay(noticed())
    for name in ("ReceiptSent", "AttachmentAdded"):
        _, changes = project(before, event(name, 4, T0 + DAY))
        assert {c.table for c in changes} == {"case_overview"}, name


def test_a_neighbours_consent_rewrites_the_notice_but_not_the_deadlines() -> None:
    before = replay(noticed())
    _, changes = project(before, event("NeighbourConsentReceived", 4, T0 + DAY, party=0))
    notice = [c for c in changes if c.table == "neighbour_notices"]
    assert [c.values["consents"] for c in notice if isinstance(c, Upsert)] == [1]
    assert not [c for c in changes if c.table == "deadline_watch"]


def _written(tables: dict[str, dict[tuple[Any, ...], dict[str, Any]]], changes: list[Any]) -> None:
    """Row changes carried out on tables kept as dicts (what the writer does in SQL)."""
    for change in changes:
        rows = tables.setdefault(change.table, {})
        if isinstance(change, DeleteWhere):
            for key in [k for k, row in rows.items() if row.items() >= change.where.items()]:
                del rows[key]
        elif isinstance(change, Upsert):
            rows[tuple(change.values[k] for k in change.key)] = dict(change.values)


@pytest.mark.parametrize("decided", [False, True])
@pytest.mark.parametrize("seed", range(4))
def test_rows_written_only_on_change_end_as_if_every_event_rewrote_them(
    seed: int, decided: bool
) -> None:
    """However the events are cut into batches, the deadline and notice rows are those the
    case's last row calls for: skipping unchanged rows loses nothing (a later consultation moves
    a due date and nothing else; the decision replaces every deadline)."""
    asked = {"party": "politiet", "answer_by": date(2026, 3, 30)}
    history = [
        *noticed(),
        event("ReceiptSent", 4, T0),
        event("AttachmentAdded", 5, T0 + DAY),
        event("NeighbourConsentReceived", 6, T0 + DAY, party=0),
        event("MissingDocumentsRequested", 7, T0 + 2 * DAY),
        event("AttachmentAdded", 8, T0 + 3 * DAY),
        event("ProcessingResumed", 9, T0 + 4 * DAY, decision_due=date(2026, 3, 25)),
        event("NeighbourCommentReceived", 10, T0 + 5 * DAY, party=1, objection=False),
        event("ConsultationRequested", 11, T0 + 5 * DAY, **asked),
        event(
            "ConsultationRequested", 12, T0 + 6 * DAY, **{**asked, "answer_by": date(2026, 4, 6)}
        ),
        event("ReceiptSent", 13, T0 + 6 * DAY),
    ]
    if decided:
        decision = {"outcome": "granted", "legal_basis": "pbl", "case_officer": "sb"}
        history += [
            event("DecisionMade", 14, T0 + 7 * DAY, **decision, appeal_deadline=date(2026, 4, 1)),
            event("ReceiptSent", 15, T0 + 7 * DAY),
        ]
    cuts = sorted(random.Random(seed).sample(range(1, len(history)), 3))
    tables: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = {}
    row: Row | None = None
    for start, end in zip([0, *cuts], [*cuts, len(history)], strict=True):
        folded = FoldedChanges()
        for e in history[start:end]:
            row, changes = project(row, e)
            for change in changes:
                folded.add(change)
        _written(tables, folded.in_order())
    assert row is not None
    expected_watch = {(row["case_id"], kind): due for kind, due in open_deadlines(row)}
    assert expected_watch
    assert {k: r["due"] for k, r in tables["deadline_watch"].items()} == expected_watch
    assert all(r["status"] == row["status"] for r in tables["deadline_watch"].values())
    (notice,) = tables["neighbour_notices"].values()
    assert (notice["status"], notice["consents"], notice["comments"]) == (row["status"], 1, 1)
