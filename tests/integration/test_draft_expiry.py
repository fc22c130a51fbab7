"""Abandoned drafts: untouched for the expiry period, withdrawn and shredded with their personal
data (the case's key destroyed), once each; a draft saved lately is left alone, and a run that
finds nothing changes nothing (GDPR art. 5 (1) e: kept no longer than needed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain import commands as cmd
from domain.lifecycle import Status
from saksflyt.archive import drafts, retention
from saksflyt.bootstrap import bootstrap, projection_store
from saksflyt.settings import Settings
from tests.send import send, start

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
NAME = {"soker": {"navn": "Kari Nordmann", "fodselsnummer": "01017000027"}}


def test_drafts_untouched_for_ninety_days_are_expired_and_erased(store_settings: Settings) -> None:
    app, store = bootstrap(store_settings), projection_store(store_settings)
    try:
        old = start(app, "avfallsbeholder", T0, form=NAME)
        recent = start(app, "avfallsbeholder", T0, form=NAME)
        send(app, cmd.SaveDraft, recent, T0 + timedelta(days=80), form={"adresse": "Gata 1"})
        submitted = start(app, "avfallsbeholder", T0, form=NAME)
        send(app, cmd.Withdraw, submitted, T0 + timedelta(days=1), reason="flytter")
        retention.catch_up(app, store)
        as_of = T0 + timedelta(days=100)
        found = list(drafts.stale(store, as_of, 90))
        assert found == [old]  # not the one saved on day 80, not the withdrawn one
        assert drafts.expire(app, found, as_of, 90) == {"expired": 1}
        assert drafts.expire(app, found, as_of, 90) == {"no longer a draft": 1}  # a second run
        case = app.get_case(old)
        assert case.status is Status.SHREDDED and "Kari" not in str(case.form)
        assert app.get_case(recent).status is Status.DRAFT
        assert "Kari" in str(app.get_case(recent).form)
        retention.catch_up(app, store)
        assert list(drafts.stale(store, as_of, 90)) == []
    finally:
        store.db.close()
        app.close()
