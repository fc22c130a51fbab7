"""Revoked tokens: ``saksflyt revoke`` refuses a subject's tokens, or one token, before they
expire — in a running API, on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from pathlib import Path

import jwt
import pytest
from fastapi.testclient import TestClient

from saksflyt.access.policy import Role
from saksflyt.cli import main
from saksflyt.http.app import create_app
from tests.stores import export_settings, store_settings
from tests.tokens import headers


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_revoked_subject_and_a_revoked_token_are_refused_in_the_running_api(
    kind: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = store_settings(kind, tmp_path, request, auth_revocation_refresh_seconds=0)
    export_settings(settings, monkeypatch)
    analyst = {"roles": {Role.ANALYST}, "kommuner": {"0301"}}
    with TestClient(create_app(settings)) as client:
        kari, ada, ola = (headers(settings, sub=s, **analyst) for s in ("kari", "ada", "ola"))
        assert all(client.get("/overview", headers=h).status_code == 200 for h in (kari, ada, ola))
        assert main(["revoke", "--subject", "kari", "--reason", "mistet PC"]) == 0
        assert "revoked subject kari" in capsys.readouterr().out
        refused = client.get("/overview", headers=kari)
        assert (refused.status_code, refused.json()["rule"]) == (401, "token-revoked")
        assert client.get("/overview", headers=ada).status_code == 200  # others are untouched
        ola_id = jwt.decode(ola["Authorization"][7:], options={"verify_signature": False})["jti"]
        assert main(["revoke", "--token-id", ola_id, "--reason", "lekket i en logg"]) == 0
        assert client.get("/overview", headers=ola).json()["rule"] == "token-revoked"
        assert client.get("/overview", headers=headers(settings, sub="ola", **analyst)).is_success
        time.sleep(1.1)  # a token issued after the revocation's second is taken again
        assert client.get("/overview", headers=headers(settings, sub="kari", **analyst)).is_success


def test_revoke_names_one_thing_and_a_reason(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (
        ["revoke", "--reason", "mistet PC"],
        ["revoke", "--subject", "kari"],
        ["revoke", "--subject", "kari", "--token-id", "x", "--reason", "mistet PC"],
        ["revoke", "--subject", "kari", "--reason", "a\x1bb"],
    ):
        with pytest.raises(SystemExit) as exit:
            main(argv)
        assert exit.value.code == 2
    said = capsys.readouterr().err.splitlines()
    assert len(said) == 4 and all(line.startswith("saksflyt revoke: ") for line in said)
