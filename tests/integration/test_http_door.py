"""The HTTP door under concurrency: a command commits and answers, the read models follow
beside it; requests run on a bounded number of threads.

In-process delivery runs on a thread of its own, not inside each command request under a lock:
a command is answered while the read models are still behind, a read of them waits until they
show every event committed before it arrived, and ``wait_for=case:version`` asks for one case's
version in either mode.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path
from typing import Any

from anyio import to_thread
from fastapi.testclient import TestClient

from consumers.delivery import CatchUp
from projections.database import Database
from saksflyt.settings import Settings
from tests.api_helpers import new, problem
from tests.clock import FakeClock
from tests.tokens import client as api_client
from tests.tokens import headers


def _stall_delivery(client: TestClient) -> threading.Event:
    """The delivery thread's next pass waits until the returned event is set."""
    catch_up = client.app.state.services.catch_up  # type: ignore[attr-defined]
    go_on = threading.Event()
    delivery = catch_up.delivery
    original = delivery.deliver

    def stalled() -> int:
        go_on.wait(30)
        return int(original())

    delivery.deliver = stalled
    return go_on


def test_a_command_is_answered_while_the_read_models_are_behind(
    store_settings: Settings, clock: FakeClock
) -> None:
    settings = store_settings.model_copy(update={"read_wait_seconds": 0.3})
    with api_client(settings, clock=clock) as client:
        go_on = _stall_delivery(client)
        answers = [new(client) for _ in range(5)]  # answered with the read models stalled
        assert [a.status_code for a in answers] == [201] * 5, answers[0].text
        behind = problem(client.get("/overview"), 503, "read-models-behind")
        assert "behind" in behind["detail"]
        go_on.set()
        rows = client.get("/overview").json()  # waits for the delivery: every case is there
        assert {r["case_id"] for r in rows} == {a.json()["case_id"] for a in answers}


def test_a_read_shows_every_command_answered_before_it(
    store_settings: Settings, clock: FakeClock
) -> None:
    with api_client(store_settings, clock=clock) as client:

        def submit_then_read(_: int) -> tuple[str, set[str]]:
            case_id = new(client).json()["case_id"]
            rows = client.get("/overview", params={"limit": 1000}).json()
            return case_id, {r["case_id"] for r in rows}

        with ThreadPoolExecutor(8) as pool:
            seen = list(pool.map(submit_then_read, range(40)))
        assert all(case_id in shown for case_id, shown in seen)


def test_wait_for_a_version_the_read_models_do_not_show_is_425(
    settings: Settings, clock: FakeClock
) -> None:
    with api_client(settings, clock=clock) as client:
        answer: dict[str, Any] = new(client).json()
        shown = f"{answer['case_id']}:{answer['version']}"
        assert client.get("/overview", params={"wait_for": shown}).status_code == 200
        ahead = f"{answer['case_id']}:{answer['version'] + 1}"
        early = client.get("/stats", params={"wait_for": ahead})
        problem(early, 425, "version-not-yet-shown")
        assert early.headers["Retry-After"] == "1"
        unknown = "00000000-0000-4000-8000-000000000000:1"
        problem(client.get("/deadlines", params={"wait_for": unknown}), 425)
        problem(client.get("/neighbours", params={"wait_for": "nonsense:1"}), 422)


def test_a_failing_delivery_is_tried_again_and_says_why_meanwhile(
    settings: Settings, clock: FakeClock
) -> None:
    settings = settings.model_copy(update={"read_wait_seconds": 0.3})
    with api_client(settings, clock=clock) as client:
        catch_up = client.app.state.services.catch_up  # type: ignore[attr-defined]
        catch_up.idle_s = 0.05
        delivery = catch_up.delivery
        original = delivery.deliver
        failing = threading.Event()
        failing.set()

        def flaky() -> int:
            if failing.is_set():
                raise OSError("read models unreachable")
            return int(original())

        delivery.deliver = flaky
        case_id = new(client).json()["case_id"]
        assert "OSError" in problem(client.get("/overview"), 503, "read-models-behind")["detail"]
        failing.clear()
        assert [r["case_id"] for r in client.get("/overview").json()] == [case_id]
        assert catch_up.failure is None


def test_each_thread_reads_sqlite_on_its_own_connection(tmp_path: Path) -> None:
    """On one shared connection a statement joins the read transaction another thread's
    unfinished statement holds, and sees that older snapshot (the read above missed a case
    committed before it). Each thread has its own; a setting reaches every one of them."""
    db = Database.sqlite(tmp_path / "x.db")
    db.execute("CREATE TABLE t (n INTEGER)")
    db.execute("INSERT INTO t VALUES (1), (2)")
    db.setting("PRAGMA cache_size = -4321")
    reader = db.conn.execute("SELECT n FROM t")
    reader.fetchone()  # unfinished: its read transaction stays open on this thread's connection
    with closing(sqlite3.connect(tmp_path / "x.db")) as other:  # another writer commits
        other.execute("INSERT INTO t VALUES (3)")
        other.commit()

    def look(_: int) -> tuple[int, int]:
        return (
            len(db.rows("SELECT n FROM t")),
            db.rows("PRAGMA cache_size")[0]["cache_size"],
        )

    with ThreadPoolExecutor(2) as pool:
        assert set(pool.map(look, range(4))) == {(3, -4321)}
    assert db.conn is db.conn  # the same one within a thread
    reader.close()
    db.close()


def test_requests_past_the_thread_limit_wait_their_turn(
    settings: Settings, clock: FakeClock
) -> None:
    """``SAKSFLYT_REQUEST_THREADS``: at most that many requests run at once (anyio's own
    default, 40, let 32 clients contend for the GIL and the database)."""
    limited = settings.model_copy(update={"request_threads": 3})
    with api_client(limited, clock=clock) as client:

        async def tokens() -> float:
            return to_thread.current_default_thread_limiter().total_tokens

        assert client.portal.call(tokens) == 3  # type: ignore[union-attr]
        running, most = 0, 0
        guard = threading.Lock()
        original = client.app.state.services.app.handle  # type: ignore[attr-defined]

        def counted(command: Any) -> Any:
            nonlocal running, most
            with guard:
                running += 1
                most = max(most, running)
            try:
                time.sleep(0.02)
                return original(command)
            finally:
                with guard:
                    running -= 1

        client.app.state.services.app.handle = counted  # type: ignore[attr-defined]
        with ThreadPoolExecutor(12) as pool:
            answers = list(pool.map(lambda _: new(client).status_code, range(24)))
        assert answers == [201] * 24
        assert most == 3


def test_stopping_delivers_what_was_committed_during_the_last_pass() -> None:
    """A pass under way when the API stops may have begun before the last commits: stopping
    delivers once more, so a restart (or a test reading the read models) finds them there."""

    class Passes:
        position = 0

        def __init__(self) -> None:
            self.in_pass, self.go_on, self.calls = threading.Event(), threading.Event(), 0

        def deliver(self) -> int:
            self.calls += 1
            if self.calls == 1:
                self.in_pass.set()
                self.go_on.wait(5)
            return 0

    passes = Passes()
    catch_up = CatchUp(passes, idle_s=0.01).start()  # type: ignore[arg-type]
    assert passes.in_pass.wait(5)  # the thread is mid-pass
    closing = threading.Thread(target=catch_up.close)
    closing.start()
    time.sleep(0.05)
    passes.go_on.set()
    closing.join(5)
    assert passes.calls == 2  # the pass under way, then the one after stopping


def test_an_export_starts_from_read_models_that_show_every_earlier_command(
    settings: Settings, clock: FakeClock, shared_dir: Path
) -> None:
    """The export job picks its cases from the read models: it is started only once they show
    what was committed before the request (a case archived a moment ago belongs in it)."""
    exporting = settings.model_copy(
        update={"noark5_schemas": shared_dir / "noark5", "read_wait_seconds": 0.3}
    )
    with api_client(exporting, clock=clock) as client:
        go_on = _stall_delivery(client)
        assert new(client).status_code == 201
        started = client.post("/exports/noark5", json={"municipality": "0301"})
        problem(started, 503, "read-models-behind")
        go_on.set()
        assert client.post("/exports/noark5", json={"municipality": "0301"}).status_code == 202


def test_wait_for_tells_nothing_of_another_municipalitys_case(
    settings: Settings, clock: FakeClock
) -> None:
    """A case outside the caller's municipalities is never shown: 425 as for a case that does
    not exist, so ``wait_for`` is no way to learn that a case of another municipality exists."""
    with api_client(settings, clock=clock) as client:
        answer = new(client).json()  # a case in 0301
        shown = {"wait_for": f"{answer['case_id']}:{answer['version']}"}
        ours = client.get("/overview", params=shown, headers=headers(settings, kommuner={"0301"}))
        assert ours.status_code == 200
        theirs = headers(settings, kommuner={"4601"})
        problem(client.get("/overview", params=shown, headers=theirs), 425, "version-not-yet-shown")
