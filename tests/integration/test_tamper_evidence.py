"""Each case's stored events form a hash chain; ``saksflyt verify`` recomputes it and names breaks."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest

from domain import commands as cmd
from domain.chain import MARK
from domain.errors import ConcurrentUpdate
from saksflyt.bootstrap import bootstrap
from saksflyt.cli import main
from tests.send import send, start
from tests.stores import demo_paths, postgres_settings, sqlite_settings

T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)


def need(text: str) -> dict[str, str]:
    """A draft's change: one field of the ledsagerbevis form."""
    return {"behov_for_ledsager": f"trenger følge ({text})"}


@pytest.fixture
def demo_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A demo store of 60 applications, with every path pointed into the test's folder."""
    demo_paths(tmp_path, monkeypatch)
    assert main(["demo", "--applications", "60"]) == 0
    return tmp_path / "events.db"


def flip(db: Path, offset_in_state: int) -> tuple[str, int]:
    """Flip one byte of one stored event; returns which (case, version)."""
    raw = sqlite3.connect(db)
    case, version, state = raw.execute(
        "SELECT originator_id, originator_version, state FROM stored_events "
        "WHERE originator_version = 2 LIMIT 1"
    ).fetchone()
    changed = bytearray(state)
    changed[offset_in_state] ^= 0x01
    raw.execute(
        "UPDATE stored_events SET state = ? WHERE originator_id = ? AND originator_version = ?",
        (bytes(changed), case, version),
    )
    raw.commit()
    raw.close()
    return str(UUID(str(case))), version


def test_verify_passes_on_a_demo_store(
    demo_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["verify"]) == 0
    out = capsys.readouterr().out
    assert " 0 breaks" in out and "0 stored before chaining" in out


@pytest.mark.parametrize("where", ["content", "link"])
def test_verify_names_a_flipped_byte(
    demo_store: Path, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    offset = len(MARK) + 32 + 10 if where == "content" else len(MARK) + 3
    case, version = flip(demo_store, offset)
    capsys.readouterr()
    assert main(["verify"]) == 1
    out = capsys.readouterr().out
    assert f"BROKEN case {case} version {version}: content or order does not match" in out
    assert main(["verify", "--case", case]) == 1


def test_the_chain_runs_on_across_snapshots_and_fresh_processes(tmp_path: Path) -> None:
    settings = sqlite_settings(tmp_path)
    app = bootstrap(settings)
    case = start(app, "ledsagerbevis", T0)
    for i in range(60):  # past the snapshot at 50
        send(app, cmd.SaveDraft, case, T0 + timedelta(minutes=i), form=need(str(i)))
    app.close()
    again = bootstrap(settings)  # knows no link yet: reads the last stored one
    send(again, cmd.SaveDraft, case, T0 + timedelta(hours=2), form=need("after"))
    found = again.verify(case)
    again.close()
    assert (found.events, found.breaks) == (62, [])


def test_two_writers_racing_on_postgresql_keep_one_unbroken_chain(
    tmp_path: Path, postgres_url: str, postgres_schema: str
) -> None:
    settings = postgres_settings(postgres_url, postgres_schema, tmp_path)
    apps = [bootstrap(settings), bootstrap(settings)]  # two processes, each its own links
    case = start(apps[0], "ledsagerbevis", T0)
    conflicts = []

    def write(app_index: int) -> None:
        for i in range(25):
            at = T0 + timedelta(minutes=i)
            try:
                send(apps[app_index], cmd.SaveDraft, case, at, form=need(f"{app_index}-{i}"))
            except ConcurrentUpdate:
                conflicts.append(app_index)

    threads = [threading.Thread(target=write, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    found = apps[0].verify(case)
    assert found.breaks == [] and found.events == 51 - len(conflicts)
    assert apps[1].verify().breaks == []  # the whole store, in notification order
    for app in apps:
        app.close()
