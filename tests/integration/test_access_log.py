"""The read-access log, scoped lists and the keys tokens are checked with."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from saksflyt.access import log
from saksflyt.access.policy import Role
from saksflyt.access.tokens import NotConfigured, ensure_dev_key, jwks_of_dev_key
from saksflyt.cli import main
from saksflyt.http.app import create_app
from saksflyt.records import records_database
from saksflyt.settings import Settings
from tests.api_helpers import new
from tests.stores import sqlite_settings
from tests.tokens import headers


def as_role(settings: Settings, role: Role, *kommuner: str, sub: str = "kari") -> dict[str, str]:
    return headers(settings, roles={role}, kommuner=set(kommuner or ("0301",)), sub=sub)


def test_every_full_case_read_is_logged_with_its_purpose_and_the_chain_verifies(
    client: TestClient,
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case = new(client).json()["case_id"]
    reader = as_role(settings, Role.CASEWORKER)
    assert client.get(f"/applications/{case}", headers=reader).status_code == 200
    personal = {"include_personal_data": True}
    sent = {**reader, "Access-Purpose": "klagebehandling"}
    assert client.get(f"/applications/{case}/events", params=personal, headers=sent).is_success
    unstated = {k: v for k, v in reader.items() if k != "Access-Purpose"}
    refused = TestClient(client.app).get(f"/applications/{case}", headers=unstated)
    assert refused.status_code == 422 and "Access-Purpose" in refused.text

    auditor = as_role(settings, Role.AUDITOR, sub="personvernombud")
    rows = client.get("/access-log", params={"case_id": case}, headers=auditor).json()
    assert [(r["subject"], r["action"], r["purpose"]) for r in rows] == [
        ("kari", "case", "saksbehandling"),
        ("kari", "history+personal", "klagebehandling"),
    ]
    other_auditor = as_role(settings, Role.AUDITOR, "4601")
    assert client.get("/access-log", headers=other_auditor).json() == []

    monkeypatch.setenv("SAKSFLYT_SQLITE_PATH", str(settings.sqlite_path))  # the log's store
    capsys.readouterr()
    assert main(["access-log", "--case", case, "--format", "json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert [r["purpose"] for r in printed] == ["saksbehandling", "klagebehandling"]
    db = records_database(settings)
    assert log.verify(db) == (2, [])
    db.close()


def test_a_changed_or_removed_log_row_is_detected(client: TestClient, settings: Settings) -> None:
    case = new(client).json()["case_id"]
    reader = as_role(settings, Role.CASEWORKER)
    for _ in range(3):
        client.get(f"/applications/{case}", headers=reader)
    raw = sqlite3.connect(settings.sqlite_path)  # the records: beside the events
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        raw.execute("UPDATE access_log SET subject = 'someone-else' WHERE seq = 2")
    # Someone with the rights to drop the guard still cannot hide the change:
    raw.execute("DROP TRIGGER access_log_no_update")
    raw.execute("UPDATE access_log SET subject = 'someone-else' WHERE seq = 2")
    raw.commit()
    db = records_database(settings)
    rows, breaks = log.verify(db)
    assert rows == 3 and [str(b) for b in breaks] == [
        "access log row 2: content does not match its hash"
    ]
    raw.execute("DROP TRIGGER access_log_no_delete")
    raw.execute("DELETE FROM access_log WHERE seq = 1")
    raw.commit()
    assert any("row 2: follows row 0" in str(b) for b in log.verify(db)[1])
    db.close()


def test_lists_keep_to_the_callers_municipalities_and_analysts_see_no_personal_data(
    client: TestClient, settings: Settings
) -> None:
    for kommune in ("0301", "4601", "4601"):
        assert new(client, kommunenummer=kommune).status_code == 201
    oslo_worker = as_role(settings, Role.CASEWORKER, "0301")
    rows = client.get("/overview", headers=oslo_worker).json()
    assert {r["kommunenummer"] for r in rows} == {"0301"} and "applicant_ref" in rows[0]
    stats = client.get("/stats", headers=oslo_worker).json()
    assert {r["kommunenummer"] for r in stats} == {"0301"}
    analyst = as_role(settings, Role.ANALYST, "0301", "4601")
    rows = client.get("/overview", headers=analyst).json()
    assert len(rows) == 3 and all("applicant_ref" not in r for r in rows)
    board = client.get("/dashboard", headers=as_role(settings, Role.ANALYST, "4601"))
    assert board.status_code == 200 and 'data-label="avfallsbeholder" data-value="2"' in board.text
    limited = headers(
        settings, roles={Role.CASEWORKER}, kommuner={"0301"}, services={"ledsagerbevis"}
    )
    assert client.get("/overview", headers=limited).json() == []


def test_tokens_from_a_jwks_file_or_a_pem_key(tmp_path: Path) -> None:
    dev = sqlite_settings(tmp_path)
    assert dev.auth_dev_key is not None
    jwks = tmp_path / "jwks.json"
    jwks.write_text(jwks_of_dev_key(ensure_dev_key(dev.auth_dev_key)))
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = tmp_path / "idp.pem"
    pem.write_bytes(
        rsa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    idp = "https://idporten.example/"
    settings = dev.model_copy(
        update={"auth_dev_key": None, "auth_jwks": jwks, "auth_public_key": pem, "auth_issuer": idp}
    )
    now = datetime.now(UTC)
    claims = {"sub": "ola", "scope": "saksflyt:analyst openid", "kommuner": ["0301"], "iss": idp,
              "aud": "saksflyt", "iat": int(now.timestamp()),
              "exp": int((now + timedelta(minutes=5)).timestamp())}  # fmt: skip
    by_rsa = jwt.encode(claims, rsa_key, "RS256")
    from saksflyt.access.tokens import dev_key

    by_jwks = jwt.encode(
        claims, dev_key(dev.auth_dev_key), "ES256", headers={"kid": "saksflyt-dev"}
    )
    with TestClient(create_app(settings)) as client:
        for signed in (by_rsa, by_jwks):
            answer = client.get("/stats", headers={"Authorization": f"Bearer {signed}"})
            assert answer.status_code == 200, answer.text
        dev_token = headers(dev)["Authorization"]  # right key, but the dev issuer: refused
        assert client.get("/stats", headers={"Authorization": dev_token}).status_code == 401


def test_the_api_will_not_start_without_a_key_and_refuses_shared_secrets(tmp_path: Path) -> None:
    with pytest.raises(NotConfigured, match="SAKSFLYT_AUTH_JWKS"):
        create_app(sqlite_settings(tmp_path, auth_dev_key=None))
    with pytest.raises(ValueError, match="refused token algorithms"):
        sqlite_settings(tmp_path, auth_algorithms=["HS256"])


def test_saksflyt_token_mints_only_with_a_development_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["token", "--role", "caseworker", "--kommune", "0301", "--sub", "kari"]
    monkeypatch.delenv("SAKSFLYT_AUTH_DEV_KEY", raising=False)
    assert main(args) == 3  # configuration: on stderr, nothing on stdout (docs/cli.md)
    said = capsys.readouterr()
    assert said.out == "" and "SAKSFLYT_AUTH_DEV_KEY" in said.err
    key = tmp_path / "dev.pem"
    monkeypatch.setenv("SAKSFLYT_AUTH_DEV_KEY", str(key))
    assert main(args) == 0
    claims = jwt.decode(capsys.readouterr().out.strip(), options={"verify_signature": False})
    assert (claims["sub"], claims["roles"], claims["kommuner"]) == (
        "kari",
        ["caseworker"],
        ["0301"],
    )
    assert key.stat().st_mode & 0o777 == 0o600
    assert json.loads(jwks_of_dev_key(key))["keys"][0]["kid"] == "saksflyt-dev"
