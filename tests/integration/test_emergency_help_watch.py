"""Nødhjelp (sosialtjenesteloven § 18) is assessed the same day: a request still undecided when
its day has ended is on the deadline watch as ``emergency-help``, counted by its own gauge,
which pages the NAV office (compose/prometheus/alerts.yml, SaksflytEmergencyHelpWaiting)."""

from __future__ import annotations

import random
from datetime import datetime

from domain import commands as cmd
from domain.lifecycle import OSLO, Outcome
from domain.values import Decision
from projections import queries
from saksflyt.archive import retention
from saksflyt.bootstrap import bootstrap, projection_store
from saksflyt.demo import synthetic
from saksflyt.ops.metrics import EMERGENCY_PAST_DAY, refresh_case_gauges
from saksflyt.settings import Settings
from tests.send import file_application, send

FRIDAY_EVENING = datetime(2026, 3, 6, 21, 30, tzinfo=OSLO)


def _waiting() -> float:
    return EMERGENCY_PAST_DAY.labels("sosialhjelp", "0301")._value.get()


def test_emergency_help_undecided_after_its_day_is_watched_and_counted(
    store_settings: Settings,
) -> None:
    app, store = bootstrap(store_settings), projection_store(store_settings)
    try:
        form = synthetic.complete_form(random.Random(3), "sosialhjelp", "0301")
        urgent = file_application(app, form | {"nodhjelp": True}, FRIDAY_EVENING)
        ordinary = file_application(app, form | {"nodhjelp": False}, FRIDAY_EVENING)
        retention.catch_up(app, store)
        watch = {
            (row["case_id"], row["kind"]): row["due"]
            for row in queries.deadlines(store.db, queries.Filters(limit=100))
        }
        assert watch[(str(urgent), "emergency-help")] == FRIDAY_EVENING.date()  # no roll-over
        assert (str(ordinary), "decision") in watch
        refresh_case_gauges(store.db, FRIDAY_EVENING.date())
        assert _waiting() == 0  # its day is not over yet
        saturday = FRIDAY_EVENING.date().replace(day=7)
        refresh_case_gauges(store.db, saturday)
        assert _waiting() == 1  # past its day: the office is paged
        decision = Decision(Outcome.GRANTED, "sosialtjenesteloven § 18", "veileder-1")
        send(app, cmd.Decide, urgent, datetime(2026, 3, 7, 1, tzinfo=OSLO), decision=decision)
        retention.catch_up(app, store)
        refresh_case_gauges(store.db, saturday)
        assert _waiting() == 0
    finally:
        store.db.close()
        app.close()
