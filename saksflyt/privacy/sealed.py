"""Sealed input: a backend service encrypts personal fields to the municipality's public key.

Format of one sealed value (a text field of a command, or each item of a list of texts)::

    sealed1.<key id>.<base64url(ephemeral X25519 public key (32) | nonce (12) | AES-GCM ciphertext)>

The sender makes an ephemeral X25519 key pair, agrees a secret with the municipality's public
key (``saksflyt keys public --municipality NNNN`` prints its id and base64 value), derives a
256-bit key with HKDF-SHA256 (no salt; info = ``saksflyt sealed v1`` + the ephemeral public key
+ the recipient's public key), and encrypts the UTF-8 text with AES-256-GCM under a random 96-bit
nonce, with the key id as associated data. Any language with X25519, HKDF and AES-GCM can do it;
``seal`` below is the reference. The intake opens sealed values before anything else sees them.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from saksflyt.privacy.keyring import KeyStore
from schemas.mapping import InvalidCommand
from schemas.registry import Registry

PREFIX = "sealed1."
INFO = b"saksflyt sealed v1"


def _key(shared: bytes, ephemeral: bytes, recipient: bytes) -> bytes:
    kdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=INFO + ephemeral + recipient)
    return kdf.derive(shared)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def seal(key_id: str, recipient_public: bytes, text: str) -> str:
    """Seal ``text`` to a municipality's public key (what a sending service does)."""
    ephemeral = X25519PrivateKey.generate()
    ephemeral_public = ephemeral.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient_public))
    nonce = secrets.token_bytes(12)
    key = _key(shared, ephemeral_public, recipient_public)
    body = AESGCM(key).encrypt(nonce, text.encode("utf-8"), key_id.encode())
    return f"{PREFIX}{key_id}.{_b64(ephemeral_public + nonce + body)}"


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def unseal(private: X25519PrivateKey, sealed: str) -> str:
    """Open a sealed value with the municipality's private key (what the intake does)."""
    key_id, _, encoded = sealed.removeprefix(PREFIX).rpartition(".")
    raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    ephemeral_public, nonce, body = raw[:32], raw[32:44], raw[44:]
    recipient = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    shared = private.exchange(X25519PublicKey.from_public_bytes(ephemeral_public))
    key = _key(shared, ephemeral_public, recipient)
    return AESGCM(key).decrypt(nonce, body, key_id.encode()).decode("utf-8")


def key_id_of(sealed: str) -> str:
    return sealed.removeprefix(PREFIX).rpartition(".")[0]


class Unsealer:
    """Opens the sealed personal fields of a command record (those its schema marks ``pii``).

    With ``require_sealed``, a plain value in such a field refuses the command: only services that
    seal may send personal data.
    """

    def __init__(self, keys: KeyStore, registry: Registry, require_sealed: bool = False) -> None:
        self.keys, self.registry, self.require_sealed = keys, registry, require_sealed

    def __call__(self, name: str, record: dict[str, Any]) -> dict[str, Any]:
        personal = [f["name"] for f in self.registry.latest(name).raw["fields"] if "pii" in f]
        opened = dict(record)
        for field_name in personal:
            value = record.get(field_name)
            if isinstance(value, list):
                opened[field_name] = [self._open(field_name, item) for item in value]
            elif value is not None:
                opened[field_name] = self._open(field_name, value)
        return opened

    def _open(self, field_name: str, value: Any) -> Any:
        if not is_sealed(value):
            if self.require_sealed:
                raise InvalidCommand(f"{field_name} must be sealed (see docs/privacy.md)")
            return value
        try:
            return unseal(self.keys.sealing_private_key(key_id_of(value)), value)
        except (KeyError, ValueError, InvalidTag):
            raise InvalidCommand(f"{field_name} is sealed to a key we cannot open") from None


def dead_letter_sealer(keys: KeyStore) -> Callable[[bytes], bytes]:
    """Dead letters of the command topic may hold plain personal data: sealed before they go."""
    key_id, key = keys.dead_letter_key()

    def protect(value: bytes) -> bytes:
        nonce = secrets.token_bytes(12)
        body = AESGCM(key).encrypt(nonce, value, key_id.encode())
        return b"dlq1." + key_id.encode() + b"." + nonce + body

    return protect
