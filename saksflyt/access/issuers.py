"""Trusted identity providers: whose tokens count, their keys, and what their claims mean here.

Each issuer the municipality trusts is one table in the file named by ``SAKSFLYT_AUTH_ISSUERS``
(TOML; docs/security.md has the three Norway's public sector uses):

- ID-porten vouches for an innbygger: every token is an ``applicant``, the person is ``pid``,
  and only the levels of assurance named in ``acr`` are taken;
- Maskinporten vouches for a form portal or another system: OAuth scopes become roles
  (``role_claims.scope``), the caller is its ``client_id``, the municipalities are fixed;
- Entra ID vouches for staff: app roles (``role_claims.roles``) become roles.

Keys are found by OpenID Connect discovery (``<issuer>/.well-known/openid-configuration``, its
``issuer`` checked, its ``jwks_uri`` taken) and fetched with PyJWT's ``PyJWKClient``: cached for
``SAKSFLYT_AUTH_JWKS_CACHE_SECONDS``, fetched again on an unknown ``kid`` and — a key published
again under the same ``kid`` — on a signature that does not verify, never more often than
``SAKSFLYT_AUTH_JWKS_COOLDOWN_SECONDS``, so a flood of forged tokens cannot turn into a flood of
fetches. Discovery and keys come over HTTPS only (plain HTTP on the loopback address, for tests).
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import tomllib
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.error import URLError
from urllib.parse import urlsplit

import jwt
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from saksflyt.access.policy import Role
from saksflyt.settings import ASYMMETRIC_ALGORITHMS

LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
DISCOVERY_PATH = "/.well-known/openid-configuration"


class KeysUnavailable(Exception):
    """The issuer's keys cannot be fetched now: the token may be genuine, so this is a 503."""


class IssuerConfig(BaseModel):
    """One trusted issuer, as written in the issuers file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    issuer: str  # the exact ``iss`` its tokens carry
    audience: str  # the ``aud`` its tokens must name for this API
    discovery: str | None = None  # default: issuer + /.well-known/openid-configuration
    jwks_uri: str | None = None  # instead of discovery: the key set's address
    algorithms: list[str] = ["RS256", "PS256", "ES256"]
    max_token_minutes: int | None = Field(default=None, ge=1, le=24 * 60)
    subject_claim: str = "sub"  # the caller's stable name (Maskinporten: client_id)
    roles: list[Role] = []  # every token from it has these roles
    role_claims: dict[str, dict[str, Role]] = {}  # claim -> its value -> a role
    kommuner: list[str] | None = None  # the municipalities its callers act for
    person_claim: str | None = None  # the claim holding the fødselsnummer (ID-porten: pid)
    name_claim: str | None = "name"
    acr: list[str] | None = None  # the levels of assurance accepted (ID-porten's acr)

    @field_validator("discovery", "jwks_uri")
    @classmethod
    def _https(cls, url: str | None) -> str | None:
        if url is not None:
            require_https(url)
        return url

    @field_validator("algorithms")
    @classmethod
    def _asymmetric(cls, algorithms: list[str]) -> list[str]:
        if not algorithms or any(a not in ASYMMETRIC_ALGORITHMS for a in algorithms):
            raise ValueError(f"algorithms are some of {sorted(ASYMMETRIC_ALGORITHMS)}")
        return algorithms

    @field_validator("kommuner")
    @classmethod
    def _kommunenummer(cls, kommuner: list[str] | None) -> list[str] | None:
        if kommuner is not None and any(len(k) != 4 or not k.isdigit() for k in kommuner):
            raise ValueError("kommuner are four-digit kommunenummer")
        return kommuner

    @property
    def native(self) -> bool:
        """No mapping given: the token carries saksflyt's own claims (roles, kommuner, …)."""
        return not self.roles and not self.role_claims

    def discovery_url(self) -> str:
        return self.discovery or self.issuer.rstrip("/") + DISCOVERY_PATH


def require_https(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK):
        return
    raise ValueError(f"{url}: keys and discovery come over https only")


def load_issuers(path: Path) -> dict[str, IssuerConfig]:
    """The issuers file: ``[issuers.<name>]`` tables. A mistake is an error naming the issuer."""
    try:
        tables = tomllib.loads(path.read_text(encoding="utf-8")).get("issuers", {})
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ValueError(f"{path}: {error}") from None
    if not isinstance(tables, dict) or not tables:
        raise ValueError(f"{path}: no [issuers.<name>] table")
    found: dict[str, IssuerConfig] = {}
    for name, table in tables.items():
        try:
            found[name] = IssuerConfig.model_validate(table)
        except ValidationError as error:
            raise ValueError(f"{path}: issuer {name}: {error}") from None
    issuers = [c.issuer for c in found.values()]
    if len(set(issuers)) != len(issuers):
        raise ValueError(f"{path}: two issuers share one iss")
    return found


def mapped_claims(config: IssuerConfig, claims: Mapping[str, Any]) -> dict[str, Any]:
    """The token's claims in saksflyt's terms (``Principal.from_claims`` reads them).

    Roles come from the issuer's fixed ``roles`` and its ``role_claims`` (a list claim like Entra
    ID's ``roles``, or a space-separated one like OAuth's ``scope``); a value not mapped grants
    nothing. The municipalities are the issuer's: a token's own ``kommuner`` may narrow them,
    never widen them. The person is read only from the issuer named to carry one."""
    if config.acr is not None and claims.get("acr") not in config.acr:
        raise ValueError(f"acr must be one of {config.acr}")
    if config.native:
        out = {k: v for k, v in claims.items() if k != "pid" or config.person_claim == "pid"}
        out["kommuner"] = _kommuner(config, claims.get("kommuner"))
        return out
    out = {"sub": claims.get(config.subject_claim), "roles": _roles(config, claims)}
    out["kommuner"] = _kommuner(config, claims.get("kommuner"))
    if config.person_claim and config.person_claim in claims:
        out["pid"] = claims[config.person_claim]
    if config.name_claim and config.name_claim in claims:
        out["name"] = claims[config.name_claim]
    return out


def _roles(config: IssuerConfig, claims: Mapping[str, Any]) -> list[str]:
    roles = {str(role) for role in config.roles}
    for claim, values in config.role_claims.items():
        given = claims.get(claim, [])
        named = given.split() if isinstance(given, str) else given
        if not isinstance(named, list):
            raise ValueError(f"{claim} must be a list or a space-separated string")
        roles |= {str(values[v]) for v in named if isinstance(v, str) and v in values}
    return sorted(roles)


def _kommuner(config: IssuerConfig, given: Any) -> Any:
    if config.kommuner is None:
        return given if given is not None else []
    if given is None:
        return config.kommuner
    if not isinstance(given, list):
        return given  # Principal.from_claims says what is wrong with it
    return [k for k in given if k in config.kommuner]


# ----- keys fetched from the issuer -----------------------------------------------------------


@dataclass(frozen=True)
class Fetching:
    cache_seconds: float = 300.0
    cooldown_seconds: float = 30.0
    timeout_seconds: float = 5.0


class RemoteKeys:
    """An issuer's signing keys from its JWKS URL, found by discovery when first needed."""

    def __init__(self, config: IssuerConfig, fetching: Fetching) -> None:
        self.config, self.fetching = config, fetching
        self._client: jwt.PyJWKClient | None = None
        self._lock = threading.Lock()
        self._last_try = -float("inf")  # monotonic time of the last discovery or forced fetch
        self._failure: str | None = None

    def keys(self, kid: str | None) -> list[jwt.PyJWK]:
        """The keys a token naming ``kid`` may be signed with (all of them without a ``kid``)."""
        client = self._ready()
        try:
            if kid is None:
                return client.get_signing_keys()
            return [client.get_signing_key(kid)]
        except jwt.PyJWKClientConnectionError as error:
            raise KeysUnavailable(f"{self.config.issuer}: {error}") from None
        except jwt.PyJWKClientError:
            return []  # no such kid, even after a fetch: the signature is not ours

    def refetch(self) -> bool:
        """Fetch the key set again (a signature failed with a known ``kid``), unless fetched
        within the cooldown; whether new keys were fetched."""
        client = self._ready()
        with self._lock:
            if time.monotonic() - self._last_try < self.fetching.cooldown_seconds:
                return False
            self._last_try = time.monotonic()
        try:
            client.get_jwk_set(refresh=True)
        except jwt.PyJWKClientError as error:
            raise KeysUnavailable(f"{self.config.issuer}: {error}") from None
        return True

    def status(self) -> str:
        """For /readyz: whether keys were found, or why not."""
        if self._client is None:
            return self._failure or "not fetched yet"
        try:
            return f"{len(self._client.get_signing_keys())} signing keys"
        except jwt.PyJWKClientError as error:
            return f"unreachable: {error}"

    def _ready(self) -> jwt.PyJWKClient:
        with self._lock:
            if self._client is not None:
                return self._client
            if time.monotonic() - self._last_try < self.fetching.cooldown_seconds:
                raise KeysUnavailable(f"{self.config.issuer}: {self._failure}")
            self._last_try = time.monotonic()
            try:
                self._client = jwt.PyJWKClient(
                    self._jwks_uri(),
                    lifespan=self.fetching.cache_seconds,
                    timeout=self.fetching.timeout_seconds,
                    cooldown_duration=self.fetching.cooldown_seconds,
                )
            except (OSError, ValueError, jwt.PyJWKClientError) as error:
                self._failure = f"discovery failed: {error}"
                raise KeysUnavailable(f"{self.config.issuer}: {self._failure}") from None
            self._failure = None
            return self._client

    def _jwks_uri(self) -> str:
        if self.config.jwks_uri is not None:
            return self.config.jwks_uri
        found = _fetch_json(self.config.discovery_url(), self.fetching.timeout_seconds)
        if found.get("issuer") != self.config.issuer:  # OpenID Connect Discovery 1.0, § 4.3
            raise ValueError(f"the discovery document names issuer {found.get('issuer')!r}")
        uri = found.get("jwks_uri")
        if not isinstance(uri, str):
            raise ValueError("the discovery document has no jwks_uri")
        require_https(uri)
        return uri


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect could lead off https: the discovery URL must be the real one


def _fetch_json(url: str, timeout: float) -> dict[str, Any]:
    opener = urllib.request.build_opener(_NoRedirects())
    try:
        with opener.open(url, timeout=timeout) as response:
            document = json.load(response)
    except (URLError, TimeoutError, http.client.HTTPException, json.JSONDecodeError) as error:
        raise ValueError(f"{url}: {error}") from None
    if not isinstance(document, dict):
        raise ValueError(f"{url}: not a JSON object")
    return document
