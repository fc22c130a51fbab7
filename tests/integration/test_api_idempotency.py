"""Idempotency keys are bound to their request: same request, same answer; another request with
the same key is refused; copies sent at once get one answer (regressions of the hardening batch)."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from domain.errors import ConcurrentUpdate
from saksflyt.http.idempotency import Answer, IdempotencyKeys
from saksflyt.http.problems import ApiProblem
from saksflyt.records import RecordsPool, records_database
from saksflyt.settings import Settings
from tests.api_helpers import (
    draft,
    problem,
    synthetic_form,
)

T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)


# ----- idempotency keys ------------------------------------------------------------------------


def test_a_key_is_bound_to_its_request(client: TestClient) -> None:
    key = {"Idempotency-Key": str(uuid4())}
    first = client.post(
        "/applications",
        json={"service": "avfallsbeholder", "kommunenummer": "0301", "form": synthetic_form()},
        headers=key,
    )
    assert first.status_code == 201
    other_body = {
        "service": "avfallsbeholder",
        "kommunenummer": "0301",
        "form": synthetic_form(seed=2),
    }
    problem(
        client.post("/applications", json=other_body, headers=key), 422, "idempotency-key-reused"
    )
    case_id = first.json()["case_id"]
    other_case = draft(client)
    reason = {"reason": "flytter"}
    key2 = {"Idempotency-Key": str(uuid4())}
    assert (
        client.post(f"/applications/{case_id}/withdrawal", json=reason, headers=key2).status_code
        == 200
    )
    problem(
        client.post(f"/applications/{other_case}/withdrawal", json=reason, headers=key2),
        422,
        "idempotency-key-reused",
    )
    assert client.get(f"/applications/{other_case}").json()["status"] == "draft"


def test_the_same_key_sent_at_once_many_times_gets_one_answer(client: TestClient) -> None:
    key = {"Idempotency-Key": str(uuid4())}
    body = {"service": "avfallsbeholder", "kommunenummer": "0301", "form": synthetic_form()}
    go = threading.Event()

    def send(_: int) -> Any:
        go.wait()
        return client.post("/applications", json=body, headers=key)

    with ThreadPoolExecutor(16) as pool:
        pending = [pool.submit(send, i) for i in range(200)]
        go.set()
        answers = [p.result() for p in pending]
    # a copy that meets the first still running is told so at once, not held in a thread
    busy = [a for a in answers if a.status_code == 409]
    assert all(a.json()["rule"] == "request-in-progress" for a in busy)
    assert all(a.headers["Retry-After"] == "1" for a in busy)
    done = [a for a in answers if a.status_code != 409]
    assert {a.status_code for a in done} == {201}, {a.text for a in done if a.status_code != 201}
    assert len({a.json()["case_id"] for a in done}) == 1
    assert sum(not a.json()["duplicate"] for a in done) == 1
    again = client.post("/applications", json=body, headers=key)  # the resend after Retry-After
    assert again.status_code == 201 and again.json()["duplicate"]
    assert again.json()["case_id"] == done[0].json()["case_id"]
    assert len(client.get("/overview").json()) == 1


def test_a_refusal_is_answered_the_same_when_resent(client: TestClient) -> None:
    case_id = draft(client, "avfallsbeholder")
    key = {"Idempotency-Key": str(uuid4())}
    decision = {"outcome": "granted", "legal_basis": "x", "case_officer": "y"}
    first = client.post(f"/applications/{case_id}/decision", json=decision, headers=key)
    again = client.post(f"/applications/{case_id}/decision", json=decision, headers=key)
    assert first.status_code == again.status_code == 409
    assert json.loads(first.text) == json.loads(again.text)


def test_a_lost_race_is_not_kept_as_the_keys_answer(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another writer wins every attempt (a conflict is retried, then given up): the answer is
    409 concurrent-update, but nothing was recorded, so the key keeps no answer — the resend
    runs again and is applied."""
    body = {"service": "avfallsbeholder", "kommunenummer": "0301", "form": synthetic_form()}
    case_id = client.post("/applications", json=body).json()["case_id"]
    app = client.app.state.services.app  # type: ignore[attr-defined]

    def always_beaten(*args: Any, **kwargs: Any) -> None:
        raise ConcurrentUpdate(UUID(case_id))

    key = {"Idempotency-Key": str(uuid4())}
    reason = {"reason": "flytter"}
    with monkeypatch.context() as race:
        race.setattr(app, "save", always_beaten)
        lost = client.post(f"/applications/{case_id}/withdrawal", json=reason, headers=key)
    problem(lost, 409, "concurrent-update")
    again = client.post(f"/applications/{case_id}/withdrawal", json=reason, headers=key)
    assert again.status_code == 200, again.text
    assert again.json()["duplicate"] is False


def test_a_refusal_whose_answer_was_lost_is_not_repeated_as_a_success(
    client: TestClient,
) -> None:
    """The API dies between refusing a command and keeping its answer (here: the kept answer
    is removed). The resend meets a command id already handled: it was refused then, so it is
    refused now (409), not answered 200 "duplicate" as if the decision had been made — a
    second case officer's decision the fault campaign saw answered 200 twice. A change whose
    answer was lost is still answered as a duplicate success."""
    body = {"service": "avfallsbeholder", "kommunenummer": "0301", "form": synthetic_form()}
    case_id = client.post("/applications", json=body).json()["case_id"]
    decision = {"outcome": "granted", "legal_basis": "x", "case_officer": "y"}
    first, second = ({"Idempotency-Key": str(uuid4())} for _ in range(2))
    assert client.post(f"/applications/{case_id}/decision", json=decision, headers=first).is_success
    refused = client.post(f"/applications/{case_id}/decision", json=decision, headers=second)
    assert refused.status_code == 409
    db = records_database(client.app.state.services.settings)  # type: ignore[attr-defined]
    for key in (first, second):  # both answers lost
        db.execute("DELETE FROM http_idempotency WHERE key = ?", (key["Idempotency-Key"],))
    db.close()
    again = client.post(f"/applications/{case_id}/decision", json=decision, headers=second)
    problem(again, 409, "refused-when-first-sent")
    won = client.post(f"/applications/{case_id}/decision", json=decision, headers=first)
    assert won.status_code == 200 and won.json()["duplicate"] is True


def test_a_claim_is_one_statement_on_a_borrowed_connection(store_settings: Settings) -> None:
    """The store itself, on both databases: claimed; busy (409 at once, Retry-After); another
    request (422); answered; a claim that died unanswered taken over after ``stale_s``."""
    pool = RecordsPool(store_settings)
    try:
        keys = IdempotencyKeys(pool.connection, stale_s=3600)
        key = uuid4()
        assert keys.claim(key, "first") is None
        with pytest.raises(ApiProblem) as busy:
            keys.claim(key, "first")
        assert (busy.value.status, busy.value.code) == (409, "request-in-progress")
        assert busy.value.headers == {"Retry-After": "1"}
        with pytest.raises(ApiProblem) as reused:
            keys.claim(key, "other")
        assert reused.value.status == 422
        keys.answer(key, 201, '{"case_id": "x"}')
        assert keys.claim(key, "first") == Answer(201, '{"case_id": "x"}')
        died = uuid4()
        assert keys.claim(died, "p") is None  # its request dies: no answer, no release
        assert IdempotencyKeys(pool.connection, stale_s=0).claim(died, "p") is None
        keys.release(died)
        assert keys.claim(died, "p") is None  # released: the resend runs
    finally:
        pool.close()
