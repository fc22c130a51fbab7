"""Tokens from a real OpenID Connect server (NAV's mock-oauth2-server, ``compose/oidc.sh``).

Its issuers ``idporten``, ``maskinporten`` and ``entra`` give a token the claims named in
``compose/oidc/config.json``, filled from the token request's form fields (``pid``, ``scope``,
``role``, ``aud`` …): the tests ask for exactly the token they need, signed by the server's key.
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "compose" / "oidc.sh"
AUDIENCE = "https://saksflyt.test"
STAFF_AUDIENCE = "api://saksflyt"
PORTAL_SCOPE = "oslo:saksflyt.skjema"


def issued(base: str, issuer: str, **fields: str) -> str:
    """An access token from ``issuer`` (client credentials; ``fields`` fill its claims)."""
    form = {"grant_type": "client_credentials", "client_secret": "test", **fields}
    form.setdefault("client_id", "saksflyt-test")
    data = urllib.parse.urlencode(form).encode()
    with urllib.request.urlopen(f"{base}/{issuer}/token", data=data, timeout=10) as answer:
        return str(json.load(answer)["access_token"])


def published_keys(base: str, issuer: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{base}/{issuer}/jwks", timeout=10) as answer:
        return list(json.load(answer)["keys"])


def issuers_file(folder: Path, base: str, **changes: str) -> Path:
    """The three issuers as a municipality would trust them, at ``base``."""
    text = f"""
[issuers.idporten]
issuer = "{base}/idporten"
audience = "{AUDIENCE}"
roles = ["applicant"]
person_claim = "pid"
acr = ["idporten-loa-substantial", "idporten-loa-high"]

[issuers.maskinporten]
issuer = "{base}/maskinporten"
audience = "{AUDIENCE}"
subject_claim = "client_id"
kommuner = ["0301"]
role_claims.scope = {{ "{PORTAL_SCOPE}" = "service" }}

[issuers.entra]
issuer = "{changes.get("entra_issuer", f"{base}/entra")}"
audience = "{STAFF_AUDIENCE}"
kommuner = ["0301"]
role_claims.roles = {{ "Saksflyt.Saksbehandler" = "caseworker", "Saksflyt.Analytiker" = "analyst" }}
"""
    if "entra_discovery" in changes:
        text += f'discovery = "{changes["entra_discovery"]}"\n'
    path = folder / "issuers.toml"
    path.write_text(text, encoding="utf-8")
    return path


@contextmanager
def own_server(folder: Path, port: int, signing_key_jwk: str) -> Iterator[str]:
    """A server of this test's own on ``port``, signing with ``signing_key_jwk`` (its first
    issuer asked for a key gets it): stopped and started again with another key, it is a key
    rotation."""
    config = json.loads((REPO / "compose" / "oidc" / "config.json").read_text(encoding="utf-8"))
    config["tokenProvider"] = {
        "keyProvider": {"initialKeys": signing_key_jwk, "algorithm": "RS256"}
    }
    (folder / "oidc.json").write_text(json.dumps(config), encoding="utf-8")
    env = {
        **os.environ,
        "SAKSFLYT_SERVICES_DIR": str(folder),
        "SAKSFLYT_OIDC_CONFIG": str(folder / "oidc.json"),
        "SAKSFLYT_OIDC_PORT": str(port),
    }
    started = subprocess.run(
        [SCRIPT, "start"], env=env, capture_output=True, text=True, timeout=120, check=True
    )
    try:
        yield started.stdout.strip()
    finally:
        subprocess.run([SCRIPT, "stop"], env=env, capture_output=True, timeout=60, check=False)
