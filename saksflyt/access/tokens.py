"""Bearer tokens: JWTs checked with PyJWT against the issuers the municipality trusts.

Each trusted issuer (``saksflyt.access.issuers``) has its own audience, keys and claim mapping:
ID-porten, Maskinporten and Entra ID with keys found by OpenID Connect discovery, and a local
issuer (``SAKSFLYT_AUTH_ISSUER``) whose keys are a JWKS file, a PEM public key and — for
development only — the public half of a local signing key (``saksflyt token`` mints with it). A
token names its issuer (``iss``), which picks all of that. ``exp`` and ``iat`` are required and
numbers, a token lives no longer than its issuer allows, clock skew is bounded, and only the
asymmetric algorithms configured are accepted: ``alg=none`` and shared-secret (HS*) tokens never.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from saksflyt.access.issuers import (
    Fetching,
    IssuerConfig,
    KeysUnavailable,
    RemoteKeys,
    load_issuers,
    mapped_claims,
)
from saksflyt.access.policy import BadClaims, Principal
from saksflyt.access.revocations import Revocations
from saksflyt.settings import Settings

DEV_KID = "saksflyt-dev"
DEV_ALGORITHM = "ES256"
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud"]
TIME_CLAIMS = ("exp", "iat", "nbf")
HEADER_STRINGS = ("alg", "kid", "typ")
VERIFIED_KEPT = 10_000  # checked tokens kept (a client sends its token with every request)

__all__ = ["InvalidToken", "KeysUnavailable", "NotConfigured", "TokenVerifier"]


class InvalidToken(Exception):
    """Why a token was not accepted: ``code`` for machines, the message for people."""

    def __init__(self, code: str, detail: str) -> None:
        self.code, self.detail = code, detail
        super().__init__(detail)


class NotConfigured(Exception):
    """No key to check tokens with: the API will not start without one."""


@dataclass(frozen=True)
class TrustedKey:
    key: Any  # a cryptography public key
    kid: str | None  # from a JWKS: tokens naming a kid are checked with that key only


@dataclass
class Issuer:
    """One issuer whose tokens are accepted: its settings and where its keys come from."""

    name: str
    config: IssuerConfig
    max_lifetime_s: int
    keys: list[TrustedKey] = field(default_factory=list)  # held locally
    remote: RemoteKeys | None = None  # fetched from the issuer

    def candidates(self, header: dict[str, Any]) -> list[TrustedKey]:
        """The keys the token's header points at: its ``kid``'s, else every key of its kind."""
        kid, alg = header.get("kid"), header["alg"]
        if self.remote is not None:
            found = [TrustedKey(k.key, k.key_id) for k in self.remote.keys(kid)]
        else:
            found = self.keys
        fitting = [k for k in found if _fits(k.key, alg)]
        named = [k for k in fitting if k.kid is not None and k.kid == kid]
        return named or fitting


class TokenVerifier:
    def __init__(
        self, issuers: list[Issuer], leeway_s: int, revocations: Revocations | None = None
    ) -> None:
        if not issuers:
            raise NotConfigured(
                "no key to check bearer tokens with: set SAKSFLYT_AUTH_ISSUERS, SAKSFLYT_AUTH_JWKS "
                "or SAKSFLYT_AUTH_PUBLIC_KEY (or SAKSFLYT_AUTH_DEV_KEY for development)"
            )
        self.issuers = {i.config.issuer: i for i in issuers}
        self.leeway_s, self.revocations = leeway_s, revocations
        # tokens whose signature and claims were checked: (issuer, header, claims, key)
        self._verified: dict[str, tuple[Issuer, dict[str, Any], dict[str, Any], Any]] = {}

    @classmethod
    def from_settings(
        cls, settings: Settings, revocations: Revocations | None = None
    ) -> TokenVerifier:
        issuers = [] if (local := _local_issuer(settings)) is None else [local]
        if settings.auth_issuers is not None:
            fetching = Fetching(
                settings.auth_jwks_cache_seconds,
                settings.auth_jwks_cooldown_seconds,
                settings.auth_fetch_timeout_seconds,
            )
            for name, config in load_issuers(settings.auth_issuers).items():
                minutes = config.max_token_minutes or settings.auth_max_token_minutes
                remote = RemoteKeys(config, fetching)
                issuers.append(Issuer(name, config, minutes * 60, remote=remote))
        if len({i.config.issuer for i in issuers}) != len(issuers):
            raise NotConfigured("an issuer in SAKSFLYT_AUTH_ISSUERS is also SAKSFLYT_AUTH_ISSUER")
        return cls(issuers, settings.auth_leeway_seconds, revocations)

    @property
    def fetches_keys(self) -> bool:
        """Whether checking a token may wait on an issuer's key server."""
        return any(i.remote is not None for i in self.issuers.values())

    def key_status(self) -> dict[str, str]:
        """Each fetching issuer's keys, for /readyz."""
        return {i.name: i.remote.status() for i in self.issuers.values() if i.remote is not None}

    def warm(self) -> dict[str, str]:
        """Fetch every issuer's keys now (at start); the issuers that failed, and why."""
        failed = {}
        for issuer in self.issuers.values():
            try:
                if issuer.remote is not None:
                    issuer.remote.keys(None)
            except KeysUnavailable as error:
                failed[issuer.name] = str(error)
        return failed

    def principal(self, token: str) -> Principal:
        """The caller the token names, or ``InvalidToken`` saying why not (``KeysUnavailable``
        when its issuer's keys cannot be fetched now)."""
        issuer, claims = self._claims(token)
        try:
            who = Principal.from_claims(mapped_claims(issuer.config, claims))
        except (BadClaims, ValueError) as error:
            raise InvalidToken("token-claims-invalid", str(error)) from None
        token_id = claims.get("jti") if isinstance(claims.get("jti"), str) else None
        if self.revocations and self.revocations.refused(who.subject, token_id, claims["iat"]):
            raise InvalidToken("token-revoked", "the token has been revoked")
        return who

    def _claims(self, token: str) -> tuple[Issuer, dict[str, Any]]:
        """The token's issuer and checked claims. A token checked before is not checked again
        while the key that signed it is still among its issuer's keys (a rotation or refetch
        drops it) and it has not expired; revocation is asked every time (``principal``)."""
        known = self._verified.get(token)
        if known is not None:
            checked, checked_header, claims, key = known
            if any(k.key is key for k in checked.candidates(checked_header)):
                if claims["exp"] > time.time() - self.leeway_s:
                    return checked, claims
                raise InvalidToken("token-expired", "the token has expired")
            self._verified.pop(token, None)
        header = _header(token)
        issuer = self.issuers.get(_unverified_issuer(token))
        if issuer is None:
            raise InvalidToken("token-issuer", "the token comes from an issuer not trusted")
        if header.get("alg") not in issuer.config.algorithms:
            raise InvalidToken(
                "token-algorithm-refused", f"tokens signed with {header.get('alg')} are refused"
            )
        candidates = issuer.candidates(header)
        signed = self._signed(issuer, token, candidates)
        # a key published again under the same kid: fetch once more (within the cooldown)
        if signed is None and candidates and issuer.remote and issuer.remote.refetch():
            signed = self._signed(issuer, token, issuer.candidates(header))
        if signed is None:
            raise InvalidToken("token-signature-invalid", "the token's signature does not verify")
        claims = self._bounded(issuer, signed[0])
        if len(self._verified) >= VERIFIED_KEPT:
            self._verified.clear()
        self._verified[token] = (issuer, header, claims, signed[1])
        return issuer, claims

    def _signed(
        self, issuer: Issuer, token: str, candidates: list[TrustedKey]
    ) -> tuple[dict[str, Any], Any] | None:
        """The claims and the key, if one of ``candidates`` made the signature; else None."""
        for trusted in candidates:
            try:
                return self._decode(issuer, token, trusted.key), trusted.key
            except jwt.InvalidSignatureError:
                continue
        return None

    def _bounded(self, issuer: Issuer, claims: dict[str, Any]) -> dict[str, Any]:
        """Times are numbers (PyJWT takes "exp": "9999999999" as one), and a token lives no
        longer than the settings allow: a token that never expires is refused."""
        for name in TIME_CLAIMS:
            value = claims.get(name)
            if name in claims and (isinstance(value, bool) or not isinstance(value, int | float)):
                raise InvalidToken("token-claims-invalid", f"{name} must be a number of seconds")
        lifetime = claims["exp"] - claims["iat"]
        if lifetime > issuer.max_lifetime_s:
            raise InvalidToken(
                "token-lifetime-too-long",
                f"the token lives {lifetime / 60:.0f} minutes; at most {issuer.max_lifetime_s // 60}",
            )
        return claims

    def _decode(self, issuer: Issuer, token: str, key: Any) -> dict[str, Any]:
        try:
            return jwt.decode(
                token,
                key,
                algorithms=issuer.config.algorithms,
                audience=issuer.config.audience,
                issuer=issuer.config.issuer,
                leeway=self.leeway_s,
                options={"require": [*REQUIRED_CLAIMS, issuer.config.subject_claim]},
            )
        except (jwt.InvalidSignatureError, jwt.InvalidKeyError) as error:
            raise jwt.InvalidSignatureError(str(error)) from error
        except jwt.ExpiredSignatureError:
            raise InvalidToken("token-expired", "the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise InvalidToken("token-not-yet-valid", "the token is not valid yet") from None
        except jwt.InvalidAudienceError:
            raise InvalidToken(
                "token-audience", "the token is meant for another audience"
            ) from None
        except jwt.InvalidIssuerError:
            raise InvalidToken(
                "token-issuer", "the token comes from an issuer not trusted"
            ) from None
        except jwt.MissingRequiredClaimError as error:
            raise InvalidToken("token-claims-invalid", str(error)) from None
        except jwt.InvalidAlgorithmError:
            raise InvalidToken(
                "token-algorithm-refused", "the token's algorithm is refused"
            ) from None
        except jwt.PyJWTError:
            raise InvalidToken("token-malformed", "the bearer token cannot be read") from None


def _header(token: str) -> dict[str, Any]:
    """The token's header, checked before any key is tried: a ``kid`` that is no string, or a
    ``crit`` extension (none is understood here, RFC 7515 § 4.1.11), is a refusal, not a 500."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise InvalidToken("token-malformed", "the bearer token is not a JWT") from None
    for name in HEADER_STRINGS:
        if name in header and not isinstance(header[name], str):
            raise InvalidToken("token-header-invalid", f"the token's {name} must be a string")
    if "crit" in header:
        raise InvalidToken(
            "token-header-invalid", "the token names critical extensions this API does not know"
        )
    return header


def longest_token(settings: Settings) -> timedelta:
    """The longest any trusted issuer's token may live: how long a revocation must be kept."""
    minutes = [settings.auth_max_token_minutes]
    if settings.auth_issuers is not None:
        issuers = load_issuers(settings.auth_issuers).values()
        minutes += [c.max_token_minutes for c in issuers if c.max_token_minutes]
    return timedelta(minutes=max(minutes))


def _unverified_issuer(token: str) -> str:
    """The ``iss`` the token claims, read before its signature to pick the issuer's keys."""
    try:
        claimed = jwt.decode(token, options={"verify_signature": False}).get("iss")
    except jwt.PyJWTError:
        raise InvalidToken("token-malformed", "the bearer token cannot be read") from None
    if not isinstance(claimed, str):
        raise InvalidToken("token-issuer", "the token names no issuer")
    return claimed


def _local_issuer(settings: Settings) -> Issuer | None:
    """SAKSFLYT_AUTH_ISSUER with the keys held here (a JWKS file, a PEM key, the dev key)."""
    keys: list[TrustedKey] = []
    if settings.auth_jwks is not None:
        keyset = jwt.PyJWKSet.from_json(settings.auth_jwks.read_text(encoding="utf-8"))
        keys += [TrustedKey(k.key, k.key_id) for k in keyset.keys if k.public_key_use != "enc"]
    if settings.auth_public_key is not None:
        pem = settings.auth_public_key.read_bytes()
        keys.append(TrustedKey(serialization.load_pem_public_key(pem), None))
    if settings.auth_dev_key is not None:
        key = dev_key(ensure_dev_key(settings.auth_dev_key))  # made on first use
        keys.append(TrustedKey(key.public_key(), DEV_KID))
    if not keys:
        return None
    algorithms = list(settings.auth_algorithms)
    if settings.auth_dev_key is not None and DEV_ALGORITHM not in algorithms:
        algorithms.append(DEV_ALGORITHM)
    config = IssuerConfig(
        issuer=settings.auth_issuer,
        audience=settings.auth_audience,
        algorithms=algorithms,
        person_claim="pid",  # saksflyt's own claims: an applicant's token carries pid
    )
    return Issuer("local", config, settings.auth_max_token_minutes * 60, keys)


def _fits(key: Any, algorithm: str) -> bool:
    """Whether ``key`` is of the kind ``algorithm`` signs with (RSA, EC or Edwards curve)."""
    kinds = {"RS": rsa.RSAPublicKey, "PS": rsa.RSAPublicKey, "ES": ec.EllipticCurvePublicKey}
    kind = kinds.get(algorithm[:2], (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey))
    return isinstance(key, kind)


# ----- development key ------------------------------------------------------------------------


def ensure_dev_key(path: Path) -> Path:
    """Make a local development signing key (EC P-256, mode 0600) unless one is there."""
    if not path.exists():
        write_private_key(path, ec.generate_private_key(ec.SECP256R1()))
    return path


def write_private_key(path: Path, key: Any) -> None:
    """A new private key file as PEM (PKCS #8), readable by its owner only (mode 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)


def dev_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise NotConfigured(f"{path} is not an EC private key (make one with saksflyt token)")
    return key


def mint(settings: Settings, who: Principal, now: datetime, lifetime: timedelta) -> str:
    """A token for ``who`` signed with the development key (never a production key)."""
    if settings.auth_dev_key is None:
        raise NotConfigured("minting needs a development key: set SAKSFLYT_AUTH_DEV_KEY")
    longest = timedelta(minutes=settings.auth_max_token_minutes)
    if not timedelta(0) < lifetime <= longest:
        raise ValueError(
            f"a token lives 1 to {settings.auth_max_token_minutes} minutes "
            "(SAKSFLYT_AUTH_MAX_TOKEN_MINUTES)"
        )
    key = dev_key(ensure_dev_key(settings.auth_dev_key))
    claims = {
        **who.claims(),
        "iss": settings.auth_issuer,
        "aud": settings.auth_audience,
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "jti": str(uuid4()),  # saksflyt revoke --token-id names it
        "exp": int((now + lifetime).timestamp()),
    }
    return jwt.encode(claims, key, algorithm=DEV_ALGORITHM, headers={"kid": DEV_KID})


def jwks_of_dev_key(path: Path) -> str:
    """The development key's public half as a JWKS (to hand to another service that trusts it)."""
    public = jwt.algorithms.ECAlgorithm.to_jwk(dev_key(path).public_key(), as_dict=True)
    return json.dumps({"keys": [{**public, "kid": DEV_KID, "alg": DEV_ALGORITHM, "use": "sig"}]})
