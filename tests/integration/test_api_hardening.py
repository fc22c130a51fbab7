"""No request can poison a store: a regression test for each way one did (tried as an attacker
would), on the embedded default. Each answers 4xx with problem details, stores nothing it should
not, and leaves the store usable: read models, a restart and a rebuild all still work."""

from __future__ import annotations

import asyncio
import hashlib
import io
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pikepdf
import pytest
from fastapi.testclient import TestClient

from domain.application import Application
from saksflyt.bootstrap import bootstrap, projection_store
from saksflyt.cli import main
from saksflyt.demo import synthetic
from saksflyt.settings import Settings
from tests.api_helpers import (
    HTML,
    MZ,
    PDF,
    PNG,
    draft,
    new,
    png,
    problem,
    still_usable,
    stored_events,
    synthetic_form,
    upload,
)
from tests.clock import FakeClock
from tests.stores import sqlite_settings
from tests.tokens import client as api_client

T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)


# ----- business time: the server's clock is the record --------------------------------------


@pytest.mark.parametrize("at", ["9999-12-01T00:00:00+00:00", "0001-01-01T00:30:00+01:00"])
def test_a_client_time_is_not_the_record(
    client: TestClient, settings: Settings, clock: FakeClock, at: str
) -> None:
    problem(new(client, at=at), 422, "invalid-request")
    body = {"service": "avfallsbeholder", "kommunenummer": "0301", "at": at}
    problem(client.post("/drafts", json=body), 422, "invalid-request")
    assert stored_events(settings) == 0
    still_usable(settings, clock)


@pytest.mark.parametrize(
    ("signed", "rule"),
    [(timedelta(days=40), "signed-in-the-future"), (-timedelta(days=90), "signed-too-long-ago")],
)
def test_when_the_applicant_signed_is_bounded_and_refused_whole(
    client: TestClient, settings: Settings, signed: timedelta, rule: str
) -> None:
    problem(new(client, signed_at=(T0 + signed).isoformat()), 422, rule)
    assert stored_events(settings) == 0
    accepted = new(client, signed_at=(T0 - timedelta(days=2)).isoformat())
    assert accepted.status_code == 201, accepted.text


def test_a_shred_cannot_skip_the_appeal_period(client: TestClient, clock: FakeClock) -> None:
    case_id = new(client).json()["case_id"]
    decision = {"outcome": "granted", "legal_basis": "forurensningsloven § 30", "case_officer": "s"}
    assert client.post(f"/applications/{case_id}/decision", json=decision).status_code == 200
    problem(client.post(f"/applications/{case_id}/shred", json={}), 409, "appeal-period-running")
    clock.at(30)
    assert client.post(f"/applications/{case_id}/shred", json={}).status_code == 200


def test_concurrent_uploads_to_one_case_are_not_blamed_for_the_server_clock(
    client: TestClient,
) -> None:
    case_id = draft(client, "ledsagerbevis")
    with ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(
                lambda i: upload(
                    client, case_id, "foto", synthetic.pdf(f"upload {i}"), "application/pdf"
                ),
                range(24),
            )
        )
    assert [a.status_code for a in answers] == [201] * 24, [
        a.text for a in answers if a.status_code != 201
    ]
    assert len(client.get(f"/applications/{case_id}").json()["attachments"]) == 24


# ----- limits before work ---------------------------------------------------------------------


def test_a_huge_json_body_is_413_before_it_is_read(client: TestClient) -> None:
    huge = b'{"form": {"x": "' + b"a" * (50 * 1024 * 1024) + b'"}}'
    response = client.post("/drafts", content=huge, headers={"content-type": "application/json"})
    problem(response, 413, "body-too-large")


def test_a_streamed_body_is_cut_off_at_the_limit(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"service": "avfallsbeholder", "kommunenummer": "0301", "form": {"x": "'
        for _ in range(400):
            yield b"a" * 1024
        yield b'"}}'

    response = client.post(
        "/drafts", content=chunks(), headers={"content-type": "application/json"}
    )
    problem(response, 413, "body-too-large")


def test_a_huge_upload_to_an_unknown_case_keeps_nothing(
    client: TestClient, settings: Settings
) -> None:
    response = upload(
        client, str(uuid4()), "foto", PDF + b"x" * (5 * 1024 * 1024), "application/pdf"
    )
    problem(response, 413, "body-too-large")
    assert not any(settings.document_dir.rglob("*")) if settings.document_dir.exists() else True


@pytest.mark.parametrize(
    ("content", "declared", "rule"),
    [
        (MZ, "application/pdf", "media-type-not-accepted"),
        (HTML, "image/png", "media-type-not-accepted"),
        (PNG, "application/pdf", "media-type-mismatch"),
    ],
    ids=["executable-as-pdf", "html-as-png", "png-as-pdf"],
)
def test_uploads_are_judged_by_their_bytes(
    client: TestClient, settings: Settings, content: bytes, declared: str, rule: str
) -> None:
    case_id = draft(client)
    problem(upload(client, case_id, "foto", content, declared), 415, rule)
    assert [p for p in settings.document_dir.rglob("*") if p.is_file()] == []
    assert upload(client, case_id, "foto", PNG, "image/png").status_code == 201


def _pdf_with(mark: str) -> bytes:
    """A parseable PDF carrying active content of one kind (what an attacker uploads)."""
    pdf = pikepdf.open(io.BytesIO(PDF))
    if mark == "javascript":
        action = pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert(1)"))
        pdf.Root.OpenAction = pdf.make_indirect(action)
    elif mark == "launch":
        action = pikepdf.Dictionary(S=pikepdf.Name.Launch, F=pikepdf.String("cmd.exe"))
        pdf.Root.OpenAction = pdf.make_indirect(action)
    else:
        attached = pikepdf.AttachedFileSpec(pdf, b"MZ\x90\x00", filename="x.exe")
        pdf.attachments["x.exe"] = attached
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("content", "declared", "rule"),
    [
        (PDF + MZ, "application/pdf", "attachment-not-a-plain-pdf"),
        (_pdf_with("javascript"), "application/pdf", "attachment-active-content"),
        (_pdf_with("launch"), "application/pdf", "attachment-active-content"),
        (_pdf_with("embedded"), "application/pdf", "attachment-active-content"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + HTML, "image/jpeg", "attachment-unreadable"),
        (PNG + HTML, "image/png", "attachment-not-a-plain-image"),
        (b"%PDF-1.7\n% no body\n%%EOF\n", "application/pdf", "attachment-unreadable"),
    ],
    ids=["pdf+executable", "pdf-javascript", "pdf-launch", "pdf-embedded-file",
         "jpeg-header+script", "png+script", "pdf-header-only"],
)  # fmt: skip
def test_uploads_are_read_whole_by_a_parser(
    client: TestClient, settings: Settings, content: bytes, declared: str, rule: str
) -> None:
    """Judged by what they are, not by their first bytes: each of these was accepted before."""
    case_id = draft(client)
    problem(upload(client, case_id, "foto", content, declared), 422, rule)
    assert [p for p in settings.document_dir.rglob("*") if p.is_file()] == []


def test_a_case_takes_so_many_attachments_and_bytes(tmp_path: Path) -> None:
    """200 attachments on one case were accepted: a case takes 30 by default (a setting), and
    so many bytes in all."""
    settings = sqlite_settings(tmp_path, max_attachments_per_case=3, max_case_attachment_bytes=5000)
    with api_client(settings) as client:
        case_id = draft(client)
        for n in range(3):
            assert upload(client, case_id, "foto", png(n), "image/png").status_code == 201
        problem(upload(client, case_id, "foto", png(9), "image/png"), 409, "too-many-attachments")
        other = draft(client)
        big = synthetic.pdf("x" * 1500)
        assert upload(client, other, "foto", big, "application/pdf").status_code == 201
        assert upload(client, other, "foto", big, "application/pdf").status_code == 201
        problem(upload(client, other, "foto", big, "application/pdf"), 413, "attachment-too-large")


def test_a_failed_application_leaves_no_case_and_a_refused_upload_no_file(
    client: TestClient, settings: Settings
) -> None:
    incomplete = {"service": "avfallsbeholder", "kommunenummer": "0301", "form": {"adresse": "x"}}
    problem(client.post("/applications", json=incomplete), 422, "incomplete-form")
    assert stored_events(settings) == 0 and client.get("/overview").json() == []
    case_id = draft(client, "ledsagerbevis")
    problem(upload(client, case_id, "tegninger", PDF, "application/pdf"), 409)
    assert [p for p in settings.document_dir.rglob("*") if p.is_file()] == []


def test_the_sweep_removes_what_a_crash_left(
    client: TestClient,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    case_id = draft(client)
    assert upload(client, case_id, "foto", PDF, "application/pdf").status_code == 201
    stray = settings.document_dir / case_id / "incoming-left-by-a-crash"
    stray.write_bytes(b"half an upload")
    orphan = settings.document_dir / case_id / ("0" * 64)
    orphan.write_bytes(b"no event refers to this")
    monkeypatch.setenv("SAKSFLYT_SQLITE_PATH", str(settings.sqlite_path))
    monkeypatch.setenv("SAKSFLYT_DOCUMENT_DIR", str(settings.document_dir))
    monkeypatch.setenv("SAKSFLYT_KEY_RING", str(settings.key_ring))
    assert main(["documents", "sweep", "--older-than-hours", "0"]) == 0
    assert "removed 1 half-finished uploads and 1 files" in capsys.readouterr().out
    assert not stray.exists() and not orphan.exists()
    kept = [p for p in settings.document_dir.rglob("*") if p.is_file()]
    assert [p.name for p in kept] == [hashlib.sha256(PDF).hexdigest()]
    assert PDF not in kept[0].read_bytes(), "attachments are sealed with the case's key"


# ----- 500s that were -------------------------------------------------------------------------


def test_as_of_without_a_time_zone_is_422(client: TestClient) -> None:
    case_id = draft(client)
    response = client.get(f"/applications/{case_id}", params={"as_of": "2026-11-02T10:00:00"})
    problem(response, 422, "invalid-request")


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_422(client: TestClient, settings: Settings, number: str) -> None:
    raw = '{"service": "avfallsbeholder", "kommunenummer": "0301", "form": {"x": NUM}}'.replace(
        "NUM", number
    )
    response = client.post("/drafts", content=raw, headers={"content-type": "application/json"})
    problem(response, 422, "number-not-finite")
    raw = '{"service": NUM, "kommunenummer": "0301"}'.replace("NUM", number)
    response = client.post("/drafts", content=raw, headers={"content-type": "application/json"})
    problem(response, 422, "invalid-request")
    assert stored_events(settings) == 0


def test_a_lone_surrogate_is_422(client: TestClient, settings: Settings) -> None:
    headers = {"content-type": "application/json"}
    in_form = (
        '{"service": "avfallsbeholder", "kommunenummer": "0301", "form": {"adresse": "\\ud800"}}'
    )
    problem(client.post("/drafts", content=in_form, headers=headers), 422, "text-not-unicode")
    as_key = '{"service": "avfallsbeholder", "kommunenummer": "0301", "form": {"\\ud800": 1}}'
    problem(client.post("/drafts", content=as_key, headers=headers), 422, "text-not-unicode")
    in_field = '{"service": "\\ud800", "kommunenummer": "0301"}'
    assert client.post("/drafts", content=in_field, headers=headers).status_code == 422
    case_id = draft(client)
    reason = '{"reason": "\\udfff"}'
    path = f"/applications/{case_id}/withdrawal"
    assert client.post(path, content=reason, headers=headers).status_code == 422
    assert stored_events(settings) == 1


def test_identity_numbers_in_other_digits_are_refused(client: TestClient) -> None:
    form = synthetic_form("ledsagerbevis")
    form["soker"]["fodselsnummer"] = form["soker"]["fodselsnummer"].translate(
        str.maketrans("0123456789", "０１２３４５６７８９")
    )
    response = client.post(
        "/drafts", json={"service": "ledsagerbevis", "kommunenummer": "0301", "form": form}
    )
    body = problem(response, 422, "incomplete-form")
    assert any("digits 0-9" in p for p in body["problems"])


# ----- what an older version stored ------------------------------------------------------------


def test_an_event_no_projection_can_take_is_quarantined_and_the_rest_goes_on(
    settings: Settings, clock: FakeClock
) -> None:
    """As stored before times were bounded: submitted in the last hour of year 9999."""
    late = datetime(9999, 12, 31, 23, 30, tzinfo=UTC)
    app = bootstrap(settings)
    case = Application(service="avfallsbeholder", kommunenummer="0301", at=late, id=uuid4())
    # recorded as that version did: no clocks in the event (the domain now sets them, and no
    # command can carry such a time any more: domain.timing bounds it)
    case._submitted(form=synthetic_form(), at=late, decision_days=14, objection_decision_days=None)
    app.save(case)
    app.close()
    with api_client(settings, clock=clock) as client:  # starts all the same
        assert new(client).status_code == 201
        assert len(client.get("/overview").json()) == 1  # the new case; the old one set aside
    store = projection_store(settings)
    quarantined = store.db.rows("SELECT * FROM projection_dead_letters")
    store.db.close()
    assert sorted((q["case_id"], q["event"], q["reason"]) for q in quarantined) == [
        (str(case.id), "ApplicationCreated", "OverflowError"),
        (str(case.id), "ApplicationSubmitted", "OverflowError"),
    ]
    still_usable(settings, clock, set_aside=2)


def test_a_request_without_a_token_costs_its_headers_only(tmp_path: Path) -> None:
    """The token is checked before the body is read: a 9 MiB upload with no token is answered
    401 while its body has not been read at all (a body that would raise if read)."""
    settings = sqlite_settings(tmp_path)
    with api_client(settings) as client:
        case_id = draft(client)
        app = client.app
    read: list[int] = []

    async def body() -> dict[str, object]:
        read.append(1)
        raise AssertionError("the body was read before the caller was known")

    async def run() -> list[dict[str, object]]:
        sent: list[dict[str, object]] = []

        async def send(message: dict[str, object]) -> None:
            sent.append(message)

        scope = {
            "type": "http", "method": "POST", "path": f"/applications/{case_id}/attachments",
            "headers": [(b"content-type", b"multipart/form-data; boundary=x"),
                        (b"content-length", str(9 * 1024 * 1024).encode())],
            "query_string": b"", "client": ("192.0.2.7", 4000), "server": ("t", 80),
            "scheme": "http", "root_path": "", "http_version": "1.1",
        }  # fmt: skip
        await app(scope, body, send)  # type: ignore[arg-type]
        return sent

    sent = asyncio.run(run())
    assert sent[0]["status"] == 401 and read == []


def test_too_many_requests_are_refused_with_retry_after(tmp_path: Path) -> None:
    """Per address and per caller: 800 requests in two seconds were all served before."""
    settings = sqlite_settings(
        tmp_path, rate_limit_per_address="1000/minute", rate_limit_per_caller="5/minute"
    )
    with api_client(settings) as client:
        answers = [client.post("/drafts", json={"service": "ledsagerbevis", "kommunenummer": "0301"})
                   for _ in range(7)]  # fmt: skip
        assert [a.status_code for a in answers] == [201] * 5 + [429] * 2
        last = answers[-1]
        assert last.json()["rule"] == "rate-limited" and 1 <= int(last.headers["Retry-After"]) <= 60
        assert client.get("/healthz").status_code == 200  # never limited
    tight = sqlite_settings(tmp_path / "b", rate_limit_per_address="3/minute")
    with api_client(tight) as client:
        codes = [client.get("/overview").status_code for _ in range(5)]
    assert codes == [200] * 3 + [429] * 2
