"""The read side reads; it does not decide. Over a simulated year of every service, each case's
row in ``case_overview`` says what the aggregate says: its status, every deadline (decision,
preliminary reply, grant by law, klagefrist, the appeal's review, consultations, survey,
neighbours) and where its appeal stands — case by case, through the real writer on SQLite."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from consumers.delivery import InProcessDelivery
from domain.application import Application
from domain.services import Service
from projections.store import ProjectionWriter
from saksflyt.bootstrap import bootstrap, projection_store
from saksflyt.demo.simulation import run_demo
from tests.stores import sqlite_settings

pytestmark = pytest.mark.slow  # not in make test-fast

CASES = 1500


def expected(case: Application, service: Service) -> dict[str, Any]:
    """What the aggregate says of the columns the read model keeps."""
    survey = case.survey
    appeal = case.appeal
    return {
        "status": case.status.value,
        "outcome": case.decision["outcome"] if case.decision else None,
        "decision_deadline": case.decision_deadline,
        "decided_past_deadline": case.decided_past_deadline,
        "preliminary_reply_due": case.preliminary_reply_due,
        "deemed_granted_on": case.deemed_granted_on(service),
        "appeal_deadline": case.appeal_deadline,
        "appeal_status": case.appeal_status,
        "appeal_review_due": (
            appeal["review_due"] if appeal and case.appeal_status == "received" else None
        ),
        "neighbour_deadline": case.neighbour_deadline,
        "consultation_due": case.consultation_due,
        "survey_due": survey["due"] if survey and survey["held_on"] is None else None,
    }


def test_every_deadline_and_status_in_the_read_model_is_the_aggregates(tmp_path: Path) -> None:
    settings = sqlite_settings(tmp_path)
    app = bootstrap(settings)
    result = run_demo(app, CASES, seed=365, days=365)
    store = projection_store(settings)
    InProcessDelivery(app, [ProjectionWriter(store)]).deliver()
    rows = {
        row["case_id"]: row
        for row in store.db.rows("SELECT * FROM case_overview", table="case_overview")
    }
    seen: Counter[str] = Counter()
    differences = []
    for case_id in result.case_ids:
        case = app.get_case(case_id)
        want = expected(case, app.service_of(case))
        row = rows[str(case_id)]
        got = {column: row[column] for column in want}
        if got != want:
            differences.append((case.service, str(case_id), got, want))
        seen.update(k for k, v in want.items() if v not in (None, False))
        seen[f"appeal:{case.appeal_status}"] += 1
    assert not differences, differences[:3]
    # the year reached every kind of clock and every turn of an appeal
    for column in ("deemed_granted_on", "survey_due", "consultation_due", "appeal_review_due"):
        assert seen[column], column
    for turn in ("received", "forwarded", "upheld", "reversed", "repealed", "dismissed"):
        assert seen[f"appeal:{turn}"], turn
    store.db.close()
    app.close()
