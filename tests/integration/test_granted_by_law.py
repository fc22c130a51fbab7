"""pbl § 21-7 tredje ledd: a building case on its three weeks, with no objection, still undecided
the day after its deadline, is granted by law — an event, shown beforehand in the deadline watch,
recorded once by ``saksflyt clocks run``; a neighbour's objection (tredje ledd) means no grant."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from uuid import uuid4

from domain import commands as cmd
from domain.application import DEEMED_GRANTED
from domain.lifecycle import OSLO, Outcome, Status
from projections import queries
from saksflyt.archive import retention
from saksflyt.bootstrap import bootstrap, projection_store
from saksflyt.clocks import grant_by_law
from saksflyt.settings import Settings
from tests.send import submit_building_case

DAY = timedelta(days=1)


def test_an_undecided_building_case_is_granted_by_law_once(
    store_settings: Settings, rng: random.Random, t0: datetime
) -> None:
    app, store = bootstrap(store_settings), projection_store(store_settings)
    try:
        quiet, _ = submit_building_case(app, rng, t0)
        objected, _ = submit_building_case(app, rng, t0, objection=True)
        retention.catch_up(app, store)
        watch = {
            (row["case_id"], row["kind"]): row["due"]
            for row in queries.deadlines(store.db, queries.Filters(limit=100))
        }
        deadline = app.get_case(quiet).decision_deadline
        assert deadline is not None
        assert watch[(str(quiet), "permit-deemed-granted")] == deadline + DAY
        assert (str(objected), "permit-deemed-granted") not in watch
        assert queries.granted_by_law(store.db, deadline) == []  # the last day is the office's
        found = queries.granted_by_law(store.db, deadline + DAY)
        assert found == [quiet]
        at = datetime.combine(deadline + DAY, time(6), OSLO)
        assert grant_by_law(app, found, at) == {"granted by law": 1}
        assert grant_by_law(app, found, at) == {"refused": 1}  # a second run: decided now
        case = app.get_case(quiet)
        assert case.status is Status.DECIDED and case.decision is not None
        assert (case.decision["outcome"], case.decision["legal_basis"]) == (
            Outcome.GRANTED.value,
            DEEMED_GRANTED,
        )
        retention.catch_up(app, store)
        assert queries.granted_by_law(store.db, deadline + 10 * DAY) == []
        rows = queries.overview(store.db, queries.Filters(status="decided"))
        assert [(r["case_id"], r["deemed_granted_on"]) for r in rows] == [
            (str(quiet), deadline + DAY)
        ]
    finally:
        store.db.close()
        app.close()


def test_too_early_or_after_an_objection_is_refused_with_the_rule(
    store_settings: Settings, rng: random.Random, t0: datetime
) -> None:
    app = bootstrap(store_settings)
    try:
        quiet, _ = submit_building_case(app, rng, t0)
        objected, _ = submit_building_case(app, rng, t0, objection=True)
        for case_id, at, code in (
            (quiet, t0 + 2 * DAY, "decision-clock-running"),
            (objected, t0 + 60 * DAY, "neighbours-objected"),  # pbl § 21-7 tredje ledd
        ):
            grant = cmd.DeemPermitGranted(command_id=uuid4(), case_id=case_id, received_at=at)
            handled = app.handle(grant)
            assert handled.refusal is not None and handled.refusal.code == code
            assert app.get_case(case_id).status is Status.SUBMITTED
    finally:
        app.close()
