"""Per-case data keys (envelope encryption) and erasure by destroying them (crypto-shredding).

Each case gets its own AES-256 data key the first time it is stored; the key is kept only wrapped
by its municipality's key-encryption key (``keyring``), in ``saksflyt_case_keys`` beside the
events. Personal values are sealed with it as ``pd1.<base64url(nonce | AES-GCM ciphertext)>``,
bound to the case and the field (associated data ``<case id>/<field>``); attachment bytes the same
way. Kassasjon records the request first (``erasure_requested``, before the Shredded event is
stored), then deletes the case's attachments and its wrapped key, then marks the erasure done in
``saksflyt_erasures`` — so a crash at any step is finished by the next start (``finish_pending``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from domain.personal import ErasureRequest
from projections.database import Database
from saksflyt.privacy.keyring import DEFAULT, KeyStore

log = logging.getLogger(__name__)
PREFIX = "pd1."
CACHE = 10_000
CACHE_SECONDS = 60.0  # an erasure by another process is felt here within this time


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _encrypt(key: bytes, plain: bytes, aad: bytes) -> bytes:
    nonce = secrets.token_bytes(12)
    return nonce + AESGCM(key).encrypt(nonce, plain, aad)


def _decrypt(key: bytes, sealed: bytes, aad: bytes) -> bytes:
    return AESGCM(key).decrypt(sealed[:12], sealed[12:], aad)


TABLES = (
    "CREATE TABLE IF NOT EXISTS saksflyt_case_keys (case_id TEXT PRIMARY KEY,"
    " kommunenummer TEXT NOT NULL, kek_id TEXT, wrapped TEXT, created_at TEXT NOT NULL,"
    " erase_requested_at TEXT, erased_at TEXT)",
    "CREATE TABLE IF NOT EXISTS saksflyt_erasures (case_id TEXT PRIMARY KEY, service TEXT,"
    " kommunenummer TEXT, reason TEXT, actor TEXT, requested_at TEXT NOT NULL, completed_at TEXT)",
)


class KeyVault:
    def __init__(
        self, keys: KeyStore, open_db: Callable[[], Database], documents: Path | None = None
    ) -> None:
        self.keys, self.documents = keys, documents
        self.db = open_db()
        self._lock = threading.RLock()
        self._cache: dict[UUID, tuple[float, bytes | None]] = {}
        if self.db.dialect == "sqlite":
            # what erase overwrites is zeroed on disk, whatever this SQLite build's default
            self.db.setting("PRAGMA secure_delete = ON")  # on each thread's connection
        with self._transaction():
            self.db.lock("saksflyt-case-keys")
            for statement in TABLES:
                self.db.execute(statement)

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        with self._lock, self.db.transaction():
            yield

    # ----- data keys ---------------------------------------------------------------------------

    def open_case(self, case_id: UUID, kommunenummer: str) -> None:
        """A new case: make its key in one statement (no look-up first; a twin may have won)."""
        with self._lock:
            self._open([(case_id, kommunenummer)])

    def open_cases(self, cases: Sequence[tuple[UUID, str]]) -> None:
        """Many new cases' keys in one statement (a group commit's new cases)."""
        with self._transaction():
            self._open(cases)

    def _open(self, cases: Sequence[tuple[UUID, str]]) -> None:
        fresh = [(case_id, knr) for case_id, knr in cases if self._cached(case_id) is None]
        made: dict[UUID, bytes] = {}
        for start in range(0, len(fresh), 1000):  # SQLite binds at most 32,766 values
            made |= self._create(fresh[start : start + 1000])
        for case_id, _ in fresh:
            key = made.get(case_id)
            self._remember(case_id, key if key is not None else self._stored_key(case_id))

    def _data_key(self, case_id: UUID) -> bytes | None:
        """The case's data key; made (wrapped) on first use; None once erased."""
        with self._lock:
            cached = self._cached(case_id)
            if cached is not None:
                return cached[0]
            key = self._stored_key(case_id)
            return self._remember(case_id, key)

    def _cached(self, case_id: UUID) -> tuple[bytes | None] | None:
        entry = self._cache.get(case_id)
        if entry is not None and time.monotonic() - entry[0] < CACHE_SECONDS:
            return (entry[1],)
        return None

    def _remember(self, case_id: UUID, key: bytes | None) -> bytes | None:
        if len(self._cache) >= CACHE:
            self._cache.clear()
        self._cache[case_id] = (time.monotonic(), key)
        return key

    def _stored_key(self, case_id: UUID) -> bytes | None:
        """The key as stored (made now, under the default KEK, for a case stored before keys)."""
        rows = self.db.rows(
            "SELECT kek_id, wrapped FROM saksflyt_case_keys WHERE case_id = ?", (str(case_id),)
        )
        if not rows:
            made = self._create([(case_id, DEFAULT)]).get(case_id)
            return made if made is not None else self._stored_key(case_id)
        row = rows[0]
        if row["wrapped"] is None:
            return None  # erased
        return self.keys.unwrap(row["kek_id"], _unb64(row["wrapped"]), case_id.bytes)

    def _create(self, cases: Sequence[tuple[UUID, str]]) -> dict[UUID, bytes]:
        """Store new wrapped keys in one statement; the keys stored (not where one was there)."""
        keys = {case_id: AESGCM.generate_key(256) for case_id, _ in cases}
        values: list[str] = []
        for case_id, kommunenummer in cases:
            kek_id, wrapped = self.keys.wrap(kommunenummer, keys[case_id], case_id.bytes)
            values += [str(case_id), kommunenummer, kek_id, _b64(wrapped), _now()]
        inserted = self.db.rows(
            "INSERT INTO saksflyt_case_keys (case_id, kommunenummer, kek_id, wrapped, created_at)"
            f" VALUES {', '.join(['(?, ?, ?, ?, ?)'] * len(cases))}"
            " ON CONFLICT (case_id) DO NOTHING RETURNING case_id",
            values,
        )
        return {UUID(row["case_id"]): keys[UUID(row["case_id"])] for row in inserted}

    # ----- sealing -----------------------------------------------------------------------------

    def is_sealed(self, value: str) -> bool:
        return value.startswith(PREFIX)

    def seal(self, case_id: UUID, name: str, plain: str) -> str:
        key = self._data_key(case_id)
        if key is None:
            raise PermissionError(f"case {case_id} is erased: nothing personal may be added")
        aad = f"{case_id}/{name}".encode()
        return PREFIX + _b64(_encrypt(key, plain.encode("utf-8"), aad))

    def open(self, case_id: UUID, name: str, sealed: str) -> str | None:
        key = self._data_key(case_id)
        if key is None:
            return None
        aad = f"{case_id}/{name}".encode()
        return _decrypt(key, _unb64(sealed.removeprefix(PREFIX)), aad).decode("utf-8")

    def seal_bytes(self, case_id: UUID, plain: bytes) -> bytes:
        key = self._data_key(case_id)
        if key is None:
            raise PermissionError(f"case {case_id} is erased")
        return _encrypt(key, plain, f"{case_id}/attachment".encode())

    def open_bytes(self, case_id: UUID, sealed: bytes) -> bytes | None:
        key = self._data_key(case_id)
        if key is None:
            return None
        try:
            return _decrypt(key, sealed, f"{case_id}/attachment".encode())
        except InvalidTag:
            return None

    def pseudonym(self, identifier: str) -> str:
        digest = hmac.new(self.keys.pseudonym_key(), identifier.encode(), hashlib.sha256)
        return digest.hexdigest()[:20]

    # ----- erasure -----------------------------------------------------------------------------

    def erasure_requested(self, request: ErasureRequest) -> None:
        with self._transaction():
            self.db.execute(
                "UPDATE saksflyt_case_keys SET erase_requested_at = ? WHERE case_id = ?",
                (_now(), str(request.case_id)),
            )
            self.db.execute(
                "INSERT INTO saksflyt_erasures (case_id, service, kommunenummer, reason, actor,"
                " requested_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (case_id) DO NOTHING",
                (
                    str(request.case_id),
                    request.service,
                    request.kommunenummer,
                    request.reason,
                    request.actor,
                    _now(),
                ),
            )

    def erase(self, case_id: UUID) -> None:
        """Attachments first, then the key, then the record: each step safe to repeat."""
        if self.documents is not None:
            shutil.rmtree(self.documents / str(case_id), ignore_errors=True)
        with self._transaction():
            self.db.execute(
                "UPDATE saksflyt_case_keys SET wrapped = NULL, kek_id = NULL, erased_at = ?"
                " WHERE case_id = ?",
                (_now(), str(case_id)),
            )
            self.db.execute(
                "UPDATE saksflyt_erasures SET completed_at = ? WHERE case_id = ?"
                " AND completed_at IS NULL",
                (_now(), str(case_id)),
            )
            self._cache[case_id] = (time.monotonic(), None)
        log.info("case erased", extra={"case_id": str(case_id)})

    def compact(self) -> None:
        """Leave no copy of an erased key in the store's files. On PostgreSQL an UPDATE leaves the
        old row version (with the wrapped key) as a dead tuple, and even a plain VACUUM only
        frees its space, leaving the bytes in the page: ``VACUUM FULL`` writes the table anew
        and drops the old file (the next checkpoint finishes it). On SQLite ``secure_delete``
        zeroed the bytes already; the WAL is checkpointed into the file and truncated. Run
        after erasures (``retention run`` and ``saksflyt erase`` do); the WAL of PostgreSQL
        and backups keep a key until recycled (docs/privacy.md)."""
        with self._lock:
            if self.db.dialect == "postgres":
                self.db.execute("VACUUM FULL saksflyt_case_keys")
            else:
                self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def pending(self) -> list[UUID]:
        rows = self.db.rows(
            "SELECT case_id FROM saksflyt_case_keys WHERE erase_requested_at IS NOT NULL"
            " AND erased_at IS NULL"
        )
        return [UUID(r["case_id"]) for r in rows]

    def finish_pending(self, is_shredded: Callable[[UUID], bool]) -> int:
        """Finish erasures a crash interrupted; forget requests whose Shredded was never stored."""
        finished = 0
        for case_id in self.pending():
            if is_shredded(case_id):
                self.erase(case_id)
                finished += 1
                continue
            with self._transaction():
                self.db.execute(
                    "UPDATE saksflyt_case_keys SET erase_requested_at = NULL WHERE case_id = ?",
                    (str(case_id),),
                )
                self.db.execute(
                    "DELETE FROM saksflyt_erasures WHERE case_id = ? AND completed_at IS NULL",
                    (str(case_id),),
                )
        return finished

    def erasures(self, case_id: UUID | None = None) -> list[dict[str, Any]]:
        where, params = ("WHERE case_id = ?", (str(case_id),)) if case_id else ("", ())
        return self.db.rows(
            f"SELECT * FROM saksflyt_erasures {where} ORDER BY requested_at, case_id", params
        )

    def is_erased(self, case_id: UUID) -> bool:
        return self._data_key(case_id) is None

    # ----- key rotation ------------------------------------------------------------------------

    def rewrap(self, current: Callable[[str], str]) -> int:
        """Rewrap every data key whose KEK is not its municipality's current one."""
        done = 0
        rows = self.db.rows(
            "SELECT case_id, kommunenummer, kek_id, wrapped FROM saksflyt_case_keys"
            " WHERE wrapped IS NOT NULL"
        )
        for row in rows:
            if row["kek_id"] == current(row["kommunenummer"]):
                continue
            case_id = UUID(row["case_id"])
            key = self.keys.unwrap(row["kek_id"], _unb64(row["wrapped"]), case_id.bytes)
            kek_id, wrapped = self.keys.wrap(row["kommunenummer"], key, case_id.bytes)
            with self._transaction():
                self.db.execute(
                    "UPDATE saksflyt_case_keys SET kek_id = ?, wrapped = ? WHERE case_id = ?",
                    (kek_id, _b64(wrapped), row["case_id"]),
                )
            done += 1
        return done

    def kek_ids_in_use(self) -> set[str]:
        rows = self.db.rows(
            "SELECT DISTINCT kek_id FROM saksflyt_case_keys WHERE kek_id IS NOT NULL"
        )
        return {r["kek_id"] for r in rows}

    def close(self) -> None:
        self.db.close()


def _now() -> str:
    return datetime.now(UTC).isoformat()
