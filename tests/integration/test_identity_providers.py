"""Real identity providers: ID-porten, Maskinporten and Entra ID as a real OpenID Connect server.

The API finds each issuer's keys by discovery and fetches them (PyJWKClient); each issuer has its
own audience and role mapping. ``make test`` starts NAV's mock-oauth2-server (``compose/oidc.sh``)
on 127.0.0.1; a key rotation runs on a server of the test's own while the API keeps serving.
"""

from __future__ import annotations

import json
import random
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from saksflyt.demo import synthetic
from saksflyt.http.app import create_app
from tests import needs
from tests.oidc import (
    AUDIENCE,
    PORTAL_SCOPE,
    STAFF_AUDIENCE,
    issued,
    issuers_file,
    own_server,
    published_keys,
)
from tests.stores import sqlite_settings

OWN, OTHER = "0301", "4601"
SUBSTANTIAL = "idporten-loa-substantial"


@pytest.fixture(scope="module")
def oidc() -> str:
    return needs.env("SAKSFLYT_TEST_OIDC", "the OpenID Connect server")


@pytest.fixture(scope="module")
def api(oidc: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    folder = tmp_path_factory.mktemp("oidc")
    settings = sqlite_settings(folder, auth_issuers=issuers_file(folder, oidc))
    with TestClient(create_app(settings)) as client:
        yield client


def bearer(token: str, purpose: bool = True) -> dict[str, str]:
    said = {"Authorization": f"Bearer {token}"}
    return {**said, "Access-Purpose": "saksbehandling"} if purpose else said


def application(kommune: str = OWN, seed: int = 3) -> dict[str, Any]:
    form = synthetic.complete_form(random.Random(seed), "avfallsbeholder", kommune)
    return {"service": "avfallsbeholder", "kommunenummer": kommune, "form": form}


def portal(oidc: str, scope: str = PORTAL_SCOPE) -> dict[str, str]:
    token = issued(oidc, "maskinporten", client_id="skjemaportal", scope=scope, aud=AUDIENCE)
    return bearer(token, purpose=False)


def staff(oidc: str, role: str, aud: str = STAFF_AUDIENCE, **more: str) -> dict[str, str]:
    return bearer(issued(oidc, "entra", sub="kari", role=role, aud=aud, name="Kari Test", **more))


def test_a_form_portal_files_through_maskinporten_for_its_municipality_only(
    api: TestClient, oidc: str
) -> None:
    """A Maskinporten scope mapped to ``service``: it files for 0301, the municipality the issuer
    is trusted for, not for 4601; a scope not mapped grants nothing."""
    filed = api.post("/applications", json=application(), headers=portal(oidc))
    assert filed.status_code == 201, filed.text
    elsewhere = api.post("/applications", json=application(OTHER), headers=portal(oidc))
    assert (elsewhere.status_code, elsewhere.json()["rule"]) == (403, "outside-scope")
    unmapped = portal(oidc, scope="oslo:saksflyt.les")
    refused = api.post("/applications", json=application(), headers=unmapped)
    assert (refused.status_code, refused.json()["rule"]) == (403, "role-not-permitted")


def test_staff_from_entra_id_act_within_their_app_roles(api: TestClient, oidc: str) -> None:
    """Entra ID app roles: a saksbehandler reads the case, an analyst may not; a token that
    names a municipality beyond the issuer's own gains nothing from it."""
    case_id = api.post("/applications", json=application(), headers=portal(oidc)).json()["case_id"]
    read = api.get(f"/applications/{case_id}", headers=staff(oidc, "Saksflyt.Saksbehandler"))
    assert read.status_code == 200, read.text
    analyst = staff(oidc, "Saksflyt.Analytiker")
    assert api.get(f"/applications/{case_id}", headers=analyst).status_code == 403
    assert api.get("/overview", headers=analyst).status_code == 200
    unknown_role = api.get("/overview", headers=staff(oidc, "Saksflyt.Admin"))
    assert unknown_role.status_code == 403


def test_an_applicant_through_id_porten_reads_their_own_letters_at_a_sufficient_level(
    api: TestClient, oidc: str
) -> None:
    body = application(seed=11)
    case_id = api.post("/applications", json=body, headers=portal(oidc)).json()["case_id"]
    pid = body["form"]["soker"]["fodselsnummer"]

    def login(person: str, acr: str = SUBSTANTIAL) -> dict[str, str]:
        token = issued(oidc, "idporten", sub="pairwise-1", pid=person, acr=acr, aud=AUDIENCE)
        return bearer(token, purpose=False)

    own = api.get(f"/applications/{case_id}/messages", headers=login(pid))
    assert own.status_code == 200, own.text
    someone = application(seed=12)["form"]["soker"]["fodselsnummer"]
    other = api.get(f"/applications/{case_id}/messages", headers=login(someone))
    assert (other.status_code, other.json()["rule"]) == (403, "not-your-case")
    low = api.get(f"/applications/{case_id}/messages", headers=login(pid, "idporten-loa-low"))
    assert (low.status_code, low.json()["rule"]) == (401, "token-claims-invalid")
    assert "acr" in low.json()["detail"]


def test_wrong_audience_and_untrusted_issuers_are_401(api: TestClient, oidc: str) -> None:
    """An Entra ID token for another API, and a token from an issuer of the same server that the
    municipality does not trust (its keys are genuine, its ``iss`` is not listed)."""
    other_api = api.get("/overview", headers=staff(oidc, "Saksflyt.Analytiker", aud="api://x"))
    assert other_api.json()["rule"] == "token-audience"
    stranger = issued(oidc, "fremmed", sub="x", aud=STAFF_AUDIENCE)
    refused = api.get("/overview", headers=bearer(stranger))
    assert (refused.status_code, refused.json()["rule"]) == (401, "token-issuer")


def test_an_unreachable_or_lying_issuer_is_a_503_with_retry_after_and_said_in_readyz(
    oidc: str, tmp_path: Path
) -> None:
    """Keys that cannot be fetched: the token may be genuine, so not a 401 but 503 with
    Retry-After; /readyz stays 200 (one provider down is not this replica's fault) and names it.
    A discovery document naming another issuer is not followed."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]  # nothing listens there after the block
    for n, change in enumerate(
        (
            {"entra_issuer": f"http://127.0.0.1:{closed}/entra"},
            {"entra_discovery": f"{oidc}/idporten/.well-known/openid-configuration"},
        )
    ):
        folder = tmp_path / str(n)
        folder.mkdir()
        settings = sqlite_settings(folder, auth_issuers=issuers_file(folder, oidc, **change))
        token = issued(oidc, "entra", sub="kari", role="Saksflyt.Saksbehandler", aud=STAFF_AUDIENCE)
        forged = jwt.encode(
            {**jwt.decode(token, options={"verify_signature": False}), **_issuer(change, oidc)},
            rsa.generate_private_key(65537, 2048),
            "RS256",
            headers={"kid": "entra"},
        )
        with TestClient(create_app(settings)) as client:
            answer = client.post("/applications", json=application(), headers=bearer(forged))
            assert answer.status_code == 503, answer.text
            assert answer.json()["rule"] == "identity-provider-unreachable"
            assert int(answer.headers["Retry-After"]) >= 1
            ready = client.get("/readyz")
            assert ready.status_code == 200
            assert "discovery failed" in ready.json()["identity_providers"]["entra"]


def _issuer(change: dict[str, str], oidc: str) -> dict[str, str]:
    return {"iss": change.get("entra_issuer", f"{oidc}/entra")}


@pytest.mark.slow
def test_a_key_rotation_while_the_api_runs(tmp_path: Path) -> None:
    """The issuer starts signing with a new key under the same ``kid`` (the server restarted with
    another key): the API's cached key fails, it fetches the key set again, the new token is
    served; the old key's tokens are refused from then on."""
    needs.env("SAKSFLYT_TEST_OIDC", "the OpenID Connect server")  # its jars are fetched
    first, second = (rsa.generate_private_key(65537, 2048) for _ in range(2))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    settings = sqlite_settings(
        tmp_path, auth_issuers=issuers_file(tmp_path, base), auth_jwks_cooldown_seconds=0.5
    )
    with TestClient(create_app(settings)) as client:
        with own_server(tmp_path, port, jwt.algorithms.RSAAlgorithm.to_jwk(first)):
            before = staff(base, "Saksflyt.Analytiker")
            assert client.get("/overview", headers=before).status_code == 200
            assert _modulus(published_keys(base, "entra")) == first.public_key().public_numbers().n
        with own_server(tmp_path, port, jwt.algorithms.RSAAlgorithm.to_jwk(second)):
            assert _modulus(published_keys(base, "entra")) == second.public_key().public_numbers().n
            time.sleep(0.6)  # past the cooldown since the last fetch
            after = staff(base, "Saksflyt.Analytiker")
            served = client.get("/overview", headers=after)
            assert served.status_code == 200, served.text
            old = client.get("/overview", headers=before)
            assert (old.status_code, old.json()["rule"]) == (401, "token-signature-invalid")


def _modulus(keys: list[dict[str, Any]]) -> int:
    (key,) = keys
    return int(jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(key)).public_numbers().n)


def test_forged_tokens_do_not_turn_into_a_flood_of_key_fetches(tmp_path: Path) -> None:
    """Fifty tokens naming unknown kids and fifty with a known kid and a bad signature: the key
    set is fetched at start and then at most once per cooldown, not once per token."""
    signer = rsa.generate_private_key(65537, 2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(signer.public_key()))
    fetches = []

    class Keys(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            fetches.append(self.path)
            body = json.dumps({"keys": [{**public, "kid": "k1", "use": "sig"}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Keys)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    (tmp_path / "issuers.toml").write_text(
        f'[issuers.test]\nissuer = "{base}"\naudience = "{AUDIENCE}"\n'
        f'jwks_uri = "{base}/jwks"\nkommuner = ["0301"]\nroles = ["analyst"]\n',
        encoding="utf-8",
    )
    settings = sqlite_settings(tmp_path, auth_issuers=tmp_path / "issuers.toml")
    now = int(time.time())
    claims = {"iss": base, "aud": AUDIENCE, "sub": "a", "iat": now, "exp": now + 60}
    stranger = rsa.generate_private_key(65537, 2048)
    try:
        with TestClient(create_app(settings)) as client:
            good = jwt.encode(claims, signer, "RS256", headers={"kid": "k1"})
            assert client.get("/overview", headers=bearer(good)).status_code == 200
            for n in range(50):
                for kid in (f"unknown-{n}", "k1"):
                    forged = jwt.encode(claims, stranger, "RS256", headers={"kid": kid})
                    answer = client.get("/overview", headers=bearer(forged))
                    assert answer.json()["rule"] == "token-signature-invalid"
    finally:
        server.shutdown()
    assert 1 <= len(fetches) <= 3, fetches  # start, and a fetch per cooldown (30 s) at most


def test_the_issuers_file_is_checked_when_loaded(tmp_path: Path) -> None:
    """Mistakes in the issuers file stop the API at start with the issuer's name."""
    path = tmp_path / "issuers.toml"
    for text, said in (
        ('[issuers.x]\nissuer = "a"\naudience = "b"\nalgorithms = ["HS256"]\n', "issuer x"),
        ('[issuers.x]\nissuer = "a"\naudience = "b"\ndiscovery = "http://idp.example/"\n', "https"),
        ('[issuers.x]\nissuer = "a"\naudience = "b"\nroles = ["admin"]\n', "issuer x"),
        ('[issuers.x]\nissuer = "a"\naudience = "b"\nkommuner = ["301"]\n', "kommunenummer"),
    ):
        path.write_text(text, encoding="utf-8")
        with pytest.raises(ValueError, match=said):
            create_app(sqlite_settings(tmp_path, auth_issuers=path))
