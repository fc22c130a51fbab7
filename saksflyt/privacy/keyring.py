"""The key ring a municipality controls: key-encryption keys, sealing keys, the pseudonym key.

A JSON file (``saksflyt keys init``; mode 0600; never in the repository) holding, per
municipality, the AES-256 key-encryption keys (KEKs) that wrap each case's data key, and the
X25519 key pair backend services seal personal fields to; plus the HMAC key for pseudonymous
applicant references and a key for dead letters. Every key has an id, and ids travel with what
they protect, so ``rotate`` can add new KEKs and rewrap data keys without touching the data.

``KeyStore`` is the small interface the rest of saksflyt uses; a KMS (e.g. Vault transit) can
implement it later.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from domain.places import municipalities

DEFAULT = "*"  # for cases whose municipality is unknown (stored before data keys existed)


class KeyRingMissing(RuntimeError):
    """No key ring where the settings say; ``saksflyt keys init`` makes one."""


class KeyStore(Protocol):
    def wrap(self, kommunenummer: str, data_key: bytes, aad: bytes) -> tuple[str, bytes]: ...
    def unwrap(self, kek_id: str, wrapped: bytes, aad: bytes) -> bytes: ...
    def pseudonym_key(self) -> bytes: ...
    def dead_letter_key(self) -> tuple[str, bytes]: ...
    def sealing_private_key(self, key_id: str) -> X25519PrivateKey: ...
    def sealing_public_key(self, kommunenummer: str) -> tuple[str, bytes]: ...


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text)


@dataclass
class FileKeyRing:
    """The key ring as a file. Load with ``FileKeyRing.load(path)``; create with ``create``."""

    path: Path
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> FileKeyRing:
        if not path.is_file():
            raise KeyRingMissing(f"no key ring at {path}; create one with: saksflyt keys init")
        return cls(path, json.loads(path.read_text(encoding="utf-8")))

    @classmethod
    def create(cls, path: Path) -> FileKeyRing:
        """A new key ring: one KEK and one sealing key pair per municipality (and a default)."""
        if path.exists():
            raise FileExistsError(f"{path} exists; keys are never overwritten")
        ring = cls(path, {"version": 1, "keks": {}, "sealing": {}})
        for kommune in [DEFAULT, *municipalities()]:
            ring.data["keks"][kommune] = [_new_kek(kommune, 1)]
            ring.data["sealing"][kommune] = [_new_sealing_key(kommune, 1)]
        ring.data["pseudonym"] = {"id": "pseudonym-1", "key": _b64(secrets.token_bytes(32))}
        ring.data["dead_letters"] = {"id": "dead-letters-1", "key": _b64(AESGCM.generate_key(256))}
        ring.save()
        return ring

    def save(self) -> None:
        """Write atomically, readable by the owner only."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(self.data, out, indent=1)
        os.replace(partial, self.path)

    def _kek(self, kek_id: str) -> bytes:
        kommune = kek_id.rsplit("/", 1)[0]
        for kek in self.data["keks"].get(kommune, []):
            if kek["id"] == kek_id:
                return _unb64(kek["key"])
        raise KeyError(f"no key-encryption key {kek_id} in the key ring")

    def current_kek_id(self, kommunenummer: str) -> str:
        keks = self.data["keks"].get(kommunenummer) or self.data["keks"][DEFAULT]
        return str(keks[-1]["id"])

    def wrap(self, kommunenummer: str, data_key: bytes, aad: bytes) -> tuple[str, bytes]:
        kek_id = self.current_kek_id(kommunenummer)
        nonce = secrets.token_bytes(12)
        return kek_id, nonce + AESGCM(self._kek(kek_id)).encrypt(nonce, data_key, aad)

    def unwrap(self, kek_id: str, wrapped: bytes, aad: bytes) -> bytes:
        return AESGCM(self._kek(kek_id)).decrypt(wrapped[:12], wrapped[12:], aad)

    def rotate(self) -> list[str]:
        """A new KEK for every municipality; the old ones stay until data keys are rewrapped."""
        made = []
        for kommune, keks in self.data["keks"].items():
            keks.append(_new_kek(kommune, len(keks) + 1))
            made.append(keks[-1]["id"])
        self.save()
        return made

    def retire(self, keep: set[str]) -> int:
        """Drop every KEK not in ``keep`` (after rewrapping): old backups become unreadable."""
        dropped = 0
        for kommune, keks in self.data["keks"].items():
            kept = [k for k in keks if k["id"] in keep or k is keks[-1]]
            dropped += len(keks) - len(kept)
            self.data["keks"][kommune] = kept
        self.save()
        return dropped

    def pseudonym_key(self) -> bytes:
        return _unb64(self.data["pseudonym"]["key"])

    def dead_letter_key(self) -> tuple[str, bytes]:
        key = self.data["dead_letters"]
        return str(key["id"]), _unb64(key["key"])

    def sealing_private_key(self, key_id: str) -> X25519PrivateKey:
        kommune = key_id.rsplit("/", 1)[0]
        for key in self.data["sealing"].get(kommune, []):
            if key["id"] == key_id:
                return X25519PrivateKey.from_private_bytes(_unb64(key["private"]))
        raise KeyError(f"no sealing key {key_id} in the key ring")

    def sealing_public_key(self, kommunenummer: str) -> tuple[str, bytes]:
        keys = self.data["sealing"].get(kommunenummer) or self.data["sealing"][DEFAULT]
        private = self.sealing_private_key(keys[-1]["id"])
        raw = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return str(keys[-1]["id"]), raw


def _new_kek(kommune: str, version: int) -> dict[str, str]:
    return {
        "id": f"{kommune}/kek-{version}",
        "key": _b64(AESGCM.generate_key(256)),
        "created": datetime.now(UTC).isoformat(),
    }


def _new_sealing_key(kommune: str, version: int) -> dict[str, str]:
    private = X25519PrivateKey.generate()
    from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

    raw = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return {"id": f"{kommune}/seal-{version}", "private": _b64(raw)}
