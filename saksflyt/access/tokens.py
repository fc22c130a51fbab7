"""Bearer tokens: JWTs checked with PyJWT against the keys the municipality trusts.

Keys come from a JWKS file (what ID-porten, Maskinporten and Entra ID publish), a PEM public key,
and — for development only — the public half of a local signing key (``saksflyt token`` mints with
it). Issuer and audience must match, ``exp`` is required, clock skew is bounded, and only the
asymmetric algorithms configured are accepted: ``alg=none`` and shared-secret (HS*) tokens never.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from saksflyt.access.policy import BadClaims, Principal
from saksflyt.settings import Settings

DEV_KID = "saksflyt-dev"
DEV_ALGORITHM = "ES256"
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub"]
TIME_CLAIMS = ("exp", "iat", "nbf")
HEADER_STRINGS = ("alg", "kid", "typ")


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


class TokenVerifier:
    def __init__(
        self,
        keys: list[TrustedKey],
        issuer: str,
        audience: str,
        algorithms: list[str],
        leeway_s: int,
        max_lifetime_s: int = 3600,
    ) -> None:
        if not keys:
            raise NotConfigured(
                "no key to check bearer tokens with: set SAKSFLYT_AUTH_JWKS or "
                "SAKSFLYT_AUTH_PUBLIC_KEY (or SAKSFLYT_AUTH_DEV_KEY for development)"
            )
        self.keys, self.issuer, self.audience = keys, issuer, audience
        self.algorithms, self.leeway_s = algorithms, leeway_s
        self.max_lifetime_s = max_lifetime_s

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenVerifier:
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
        algorithms = list(settings.auth_algorithms)
        if settings.auth_dev_key is not None and DEV_ALGORITHM not in algorithms:
            algorithms.append(DEV_ALGORITHM)
        return cls(
            keys,
            settings.auth_issuer,
            settings.auth_audience,
            algorithms,
            settings.auth_leeway_seconds,
            settings.auth_max_token_minutes * 60,
        )

    def principal(self, token: str) -> Principal:
        """The caller the token names, or ``InvalidToken`` saying why not."""
        claims = self._claims(token)
        try:
            return Principal.from_claims(claims)
        except BadClaims as error:
            raise InvalidToken("token-claims-invalid", str(error)) from None

    def _claims(self, token: str) -> dict[str, Any]:
        header = _header(token)
        if header.get("alg") not in self.algorithms:
            raise InvalidToken(
                "token-algorithm-refused", f"tokens signed with {header.get('alg')} are refused"
            )
        fitting = [k for k in self.keys if _fits(k.key, header["alg"])]
        named = [k for k in fitting if k.kid is not None and k.kid == header.get("kid")]
        for trusted in named or fitting:
            try:
                return self._bounded(self._decode(token, trusted.key))
            except jwt.InvalidSignatureError:
                continue
        raise InvalidToken("token-signature-invalid", "the token's signature does not verify")

    def _bounded(self, claims: dict[str, Any]) -> dict[str, Any]:
        """Times are numbers (PyJWT takes "exp": "9999999999" as one), and a token lives no
        longer than the settings allow: a token that never expires is refused."""
        for name in TIME_CLAIMS:
            value = claims.get(name)
            if name in claims and (isinstance(value, bool) or not isinstance(value, int | float)):
                raise InvalidToken("token-claims-invalid", f"{name} must be a number of seconds")
        lifetime = claims["exp"] - claims["iat"]
        if lifetime > self.max_lifetime_s:
            raise InvalidToken(
                "token-lifetime-too-long",
                f"the token lives {lifetime / 60:.0f} minutes; at most {self.max_lifetime_s // 60}",
            )
        return claims

    def _decode(self, token: str, key: Any) -> dict[str, Any]:
        try:
            return jwt.decode(
                token,
                key,
                algorithms=self.algorithms,
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway_s,
                options={"require": REQUIRED_CLAIMS},
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
        "exp": int((now + lifetime).timestamp()),
    }
    return jwt.encode(claims, key, algorithm=DEV_ALGORITHM, headers={"kid": DEV_KID})


def jwks_of_dev_key(path: Path) -> str:
    """The development key's public half as a JWKS (to hand to another service that trusts it)."""
    public = jwt.algorithms.ECAlgorithm.to_jwk(dev_key(path).public_key(), as_dict=True)
    return json.dumps({"keys": [{**public, "kid": DEV_KID, "alg": DEV_ALGORITHM, "use": "sig"}]})
