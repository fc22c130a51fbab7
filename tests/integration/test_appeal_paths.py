"""The klage track end to end, over HTTP (a real SQLite store, the read models behind it) and over
Kafka commands (a real broker, the intake, the rejected topic): repealed, changed, dismissed as
late, posted in time, sent more than a year on, and an appeal body outside the catalogue's."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from consumers.topics import Topics
from domain import commands as cmd
from domain.appeal import AppealStage, DismissalGround
from domain.lifecycle import AppealResult, Outcome, Status
from domain.values import Decision
from saksflyt import kafka_wiring
from saksflyt.bootstrap import bootstrap
from saksflyt.demo import synthetic
from tests.builders import REASONS
from tests.clock import FakeClock
from tests.kafka_helpers import CODEC, intake_runner, read_topic, send_commands, wait_for
from tests.stores import sqlite_settings
from tests.tokens import client as api_client

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
SERVICE = "sosialhjelp"  # decided by the NAV office, appealed to Statsforvalteren
REFUSED = {
    "outcome": "refused",
    "legal_basis": "sosialtjenesteloven § 18",
    "case_officer": "s",
    "facts": "the household's income is above the guideline",
    "considerations": "no special reasons to grant more",
}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def client(tmp_path: Path, clock: FakeClock) -> Iterator[TestClient]:
    with api_client(sqlite_settings(tmp_path), clock=clock) as test_client:
        yield test_client


def _decided(client: TestClient) -> str:
    """Submitted 2 March, refused the same day: the klagefrist runs to 23 March."""
    form = synthetic.complete_form(random.Random(7), SERVICE, "0301")
    made = client.post(
        "/applications", json={"service": SERVICE, "kommunenummer": "0301", "form": form}
    )
    assert made.status_code == 201, made.text
    case_id = str(made.json()["case_id"])
    assert client.post(f"/applications/{case_id}/decision", json=REFUSED).status_code == 200
    return case_id


def _post(client: TestClient, case_id: str, step: str, body: dict[str, Any]) -> Any:
    return client.post(f"/applications/{case_id}/{step}", json=body)


def _row(client: TestClient, case_id: str) -> dict[str, Any]:
    rows = [r for r in client.get("/overview").json() if r["case_id"] == case_id]
    assert len(rows) == 1
    return rows[0]


def _forwarded(client: TestClient, clock: FakeClock) -> str:
    case_id = _decided(client)
    clock.at(10)
    assert _post(client, case_id, "appeal", {"received_on": "2026-03-12"}).status_code == 200
    clock.at(12)
    assert _post(client, case_id, "appeal-review", {}).status_code == 200
    return case_id


def test_repealed_over_http_goes_back_for_a_new_decision(
    client: TestClient, clock: FakeClock
) -> None:
    case_id = _forwarded(client, clock)
    clock.at(30)  # 1 April
    answer = _post(client, case_id, "appeal-result", {"result": "repealed"})
    assert answer.status_code == 200 and answer.json()["status"] == "submitted", answer.text
    row = _row(client, case_id)
    assert (row["status"], row["appeal_status"], row["outcome"]) == ("submitted", "repealed", None)
    assert row["decision_deadline"] == "2026-04-22"  # 21 days from the day it came back
    watched = {(w["kind"], w["due"]) for w in client.get("/deadlines").json()}
    assert ("decision", "2026-04-22") in watched
    clock.at(31)
    shred = _post(client, case_id, "shred", {"override_reason": "feil sak"})
    assert shred.status_code == 409, shred.text  # not closed: a decision is owed
    clock.at(35)
    granted = {**REFUSED, "outcome": "granted"}
    assert _post(client, case_id, "decision", granted).status_code == 200
    row = _row(client, case_id)
    assert (row["status"], row["outcome"]) == ("decided", "granted")
    letters = client.get(f"/applications/{case_id}/messages", headers={"Access-Purpose": "test"})
    assert letters.status_code == 200, letters.text
    assert "klagevedtak" in {m["kind"] for m in letters.json()}


def test_reversed_over_http_makes_the_appeal_bodys_outcome_the_cases(
    client: TestClient, clock: FakeClock
) -> None:
    case_id = _forwarded(client, clock)
    clock.at(30)
    bare = _post(client, case_id, "appeal-result", {"result": "reversed"})
    assert bare.status_code == 409 and bare.json()["rule"] == "appeal-result-decision"
    changed = {**REFUSED, "outcome": "granted", "case_officer": "Statsforvalteren"}
    answer = _post(client, case_id, "appeal-result", {"result": "reversed", "decision": changed})
    assert answer.status_code == 200, answer.text
    row = _row(client, case_id)
    assert (row["status"], row["appeal_status"], row["outcome"]) == (
        "decided",
        "reversed",
        "granted",
    )
    again = _post(client, case_id, "appeal", {"received_on": "2026-04-01"})
    assert again.status_code == 409 and again.json()["rule"] == "appeal-decided"


def test_a_late_appeal_is_dismissed_over_http_and_one_posted_in_time_is_not_late(
    client: TestClient, clock: FakeClock
) -> None:
    late = _decided(client)
    clock.at(25)  # 27 March: after the klagefrist (23 March)
    assert _post(client, late, "appeal", {"received_on": "2026-03-27"}).status_code == 200
    dismissed = _post(client, late, "appeal-dismissal", {"ground": "late", "by": "deciding-body"})
    assert dismissed.status_code == 200, dismissed.text
    row = _row(client, late)
    assert (row["status"], row["appeal_status"]) == ("decided", "dismissed")
    assert row["appeal_deadline"] == "2026-04-17"  # the dismissal's own klagefrist
    clock.at(0)
    posted = _decided(client)
    clock.at(25)
    body = {"received_on": "2026-03-27", "sent_on": "2026-03-23"}  # posted on the last day
    assert _post(client, posted, "appeal", body).status_code == 200
    refused = _post(client, posted, "appeal-dismissal", {"ground": "late", "by": "deciding-body"})
    assert refused.status_code == 409 and refused.json()["rule"] == "appeal-in-time"
    wrong = _post(client, posted, "appeal-dismissal", {"ground": "sent-late", "by": "x"})
    assert wrong.status_code == 422


def test_an_appeal_more_than_a_year_on_or_to_another_body_is_refused_over_http(
    client: TestClient, clock: FakeClock
) -> None:
    old = _decided(client)
    clock.at(370)
    assert _post(client, old, "appeal", {"received_on": "2027-03-07"}).status_code == 200
    forward = _post(client, old, "appeal-review", {})
    assert forward.status_code == 409 and forward.json()["rule"] == "appeal-must-be-dismissed"
    body = {"ground": "over-a-year", "by": "deciding-body"}
    assert _post(client, old, "appeal-dismissal", body).status_code == 200
    clock.at(0)
    other = _decided(client)
    clock.at(10)
    assert _post(client, other, "appeal", {"received_on": "2026-03-12"}).status_code == 200
    wrong = _post(client, other, "appeal-review", {"appeal_body": "Kommunal klagenemnd"})
    assert wrong.status_code == 409 and wrong.json()["rule"] == "appeal-body-not-competent"
    assert "Statsforvalteren" in wrong.json()["detail"]


def test_the_appeal_body_dismisses_over_http_and_that_is_final(
    client: TestClient, clock: FakeClock
) -> None:
    case_id = _forwarded(client, clock)
    early = _post(client, case_id, "appeal-dismissal", {"ground": "defect", "by": "deciding-body"})
    assert early.status_code == 409 and early.json()["rule"] == "appeal-not-here"
    clock.at(40)
    body = {"ground": "no-standing", "by": "appeal-body"}
    assert _post(client, case_id, "appeal-dismissal", body).status_code == 200
    row = _row(client, case_id)
    assert (row["status"], row["appeal_status"]) == ("decided", "dismissed")
    again = _post(client, case_id, "appeal", {"received_on": "2026-04-11"})
    assert again.status_code == 409 and again.json()["rule"] == "appeal-decided"


def test_the_catalogue_names_who_decides_and_who_hears_the_appeal(client: TestClient) -> None:
    care = client.get("/services/pleie-omsorg").json()
    assert care["appeal_body"] == {
        "name": "Statsforvalteren",
        "law": "pasient- og brukerrettighetsloven § 7-2",
    }
    assert client.get("/services/sosialhjelp").json()["deciding_body"] == "NAV-kontoret"
    assert client.get("/services/horingssvar").json()["appeal_body"] is None


# ----- the same through Kafka commands ------------------------------------------------------


def _ids(case_id: UUID, day: float) -> dict[str, Any]:
    at = T0 + timedelta(days=day)
    return {"command_id": uuid4(), "case_id": case_id, "issued_at": at, "received_at": at}


def _kafka_case(case_id: UUID, rng: random.Random, day: float = 0) -> list[cmd.Command]:
    """Submitted and refused ``day`` days after T0 (Kafka takes no time later than arrival)."""
    form = synthetic.complete_form(rng, SERVICE, "0301")
    refused = Decision(Outcome.REFUSED, "sosialtjenesteloven § 18", "sb-1", **REASONS)
    return [
        cmd.SubmitNewApplication(
            **_ids(case_id, day), service=SERVICE, kommunenummer="0301", form=form
        ),
        cmd.Decide(**_ids(case_id, day + 0.1), decision=refused),
    ]


def test_the_appeal_track_through_kafka_commands(
    tmp_path: Path, kafka_bootstrap: str, topics: Topics
) -> None:
    """Repealed then decided again, changed by the appeal body, dismissed as late though posted
    (refused: in time), and one sent to a body that does not hear it: refused with its rule on
    the rejected topic."""
    app = bootstrap(sqlite_settings(tmp_path))
    rng = random.Random(3)
    repealed, changed, posted, old, final = uuid4(), uuid4(), uuid4(), uuid4(), uuid4()
    granted = Decision(Outcome.GRANTED, "sosialtjenesteloven § 18", "Statsforvalteren")
    commands: list[cmd.Command] = [
        *_kafka_case(repealed, rng),
        cmd.ReceiveAppeal(**_ids(repealed, 10), received_on=date(2026, 3, 12)),
        cmd.ReviewAppeal(**_ids(repealed, 11), appeal_body="Kommunal klagenemnd"),  # refused
        cmd.ReviewAppeal(**_ids(repealed, 12)),
        cmd.RecordAppealResult(**_ids(repealed, 30), result=AppealResult.REPEALED),
        cmd.Decide(**_ids(repealed, 35), decision=granted),
        *_kafka_case(changed, rng),
        cmd.ReceiveAppeal(**_ids(changed, 10), received_on=date(2026, 3, 12)),
        cmd.ReviewAppeal(**_ids(changed, 12)),
        cmd.RecordAppealResult(**_ids(changed, 30), result=AppealResult.REVERSED, decision=granted),
        *_kafka_case(posted, rng),
        cmd.ReceiveAppeal(
            **_ids(posted, 25), received_on=date(2026, 3, 27), sent_on=date(2026, 3, 23)
        ),
        cmd.DismissAppeal(
            **_ids(posted, 26), ground=DismissalGround.LATE, by=AppealStage.DECIDING_BODY
        ),  # refused: posted in time (fvl § 30)
        cmd.DismissAppeal(
            **_ids(posted, 27), ground=DismissalGround.DEFECT, by=AppealStage.DECIDING_BODY
        ),
        *_kafka_case(old, rng, day=-400),  # decided in January 2025
        cmd.ReceiveAppeal(**_ids(old, 0), received_on=date(2026, 3, 2)),  # over a year on
        cmd.ReviewAppeal(**_ids(old, 1)),  # refused: only dismissed (fvl § 31)
        cmd.DismissAppeal(
            **_ids(old, 2), ground=DismissalGround.OVER_A_YEAR, by=AppealStage.DECIDING_BODY
        ),
        *_kafka_case(final, rng),  # dismissed by the appeal body: final
        cmd.ReceiveAppeal(**_ids(final, 10), received_on=date(2026, 3, 12)),
        cmd.ReviewAppeal(**_ids(final, 12)),
        cmd.DismissAppeal(
            **_ids(final, 40), ground=DismissalGround.NO_STANDING, by=AppealStage.APPEAL_BODY
        ),
    ]
    producer = kafka_wiring.producer(kafka_bootstrap)
    send_commands(producer, topics.commands, commands)
    intake, runner = intake_runner(app, kafka_bootstrap, topics, f"appeal-{uuid4().hex[:6]}")
    stop = threading.Event()
    wait_for(
        lambda: (
            runner.poll_once(stop) >= 0
            and intake.stats.accepted + intake.stats.rejected == len(commands)
        ),
        what="every appeal command handled",
    )
    runner.consumer.close()
    assert intake.stats.rejected == 3
    case = app.get_case(repealed)
    assert case.status is Status.DECIDED and case.decision and case.superseded
    assert case.decision["outcome"] == "granted" and case.appeal_status == "repealed"
    assert app.get_case(changed).decision["outcome"] == "granted"  # type: ignore[index]
    assert app.get_case(changed).final
    assert app.get_case(posted).appeal_status == "dismissed"
    rejected = read_topic(kafka_bootstrap, topics.rejected, lambda r: len(r) >= 3)
    rules = {
        (CODEC.decode(r.value).record["command_type"], CODEC.decode(r.value).record["rule"])
        for r in rejected
    }
    assert rules == {
        ("ReviewAppeal", "appeal-body-not-competent"),
        ("DismissAppeal", "appeal-in-time"),
        ("ReviewAppeal", "appeal-must-be-dismissed"),
    }
    assert app.get_case(old).appeal_status == "dismissed" and not app.get_case(old).final
    assert app.get_case(final).appeal_status == "dismissed" and app.get_case(final).final
    producer.close()
    app.close()
