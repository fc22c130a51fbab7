"""Signed checkpoints: tamper evidence that also catches deletion.

A hash chain proves order and content, not completeness: delete a case's newest events, a whole
case, or the newest access-log rows, and every chain that is left still verifies. A checkpoint
records, at one moment, every chain's head — each case's last version and its link, and the
access log's last row and hash — as the leaves of a Merkle tree (RFC 6962's hashing: a leaf is
``H(0x00 || leaf)``, a node ``H(0x01 || left || right)``), and signs the root, the counts and the
digest of the leaves with an Ed25519 key the database does not hold (``SAKSFLYT_CHECKPOINT_KEY``,
a file on the host that runs ``saksflyt checkpoint``; its public half is enough to verify).

Checkpoints are appended to ``checkpoints.jsonl`` in ``SAKSFLYT_CHECKPOINT_DIR`` with each one's
leaves beside it (``<n>.leaves.gz``): an append-only file the operator ships elsewhere (to a
WORM bucket, another host, syslog). ``saksflyt verify --checkpoints`` checks the newest one's
signature and leaves, then the store against it: every case it names still exists with at least
that many events and the same link at that version (nothing removed or reordered up to there),
and the access log still holds that row with that hash. What it names is what is gone. Events and
rows written after the checkpoint are covered by the next one: the window is the interval
(``saksflyt checkpoint --every SECONDS``; ``SAKSFLYT_CHECKPOINT_SECONDS``, 300, in docs).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from projections.database import Database
from saksflyt.access.tokens import write_private_key

LOG = "checkpoints.jsonl"


@dataclass(frozen=True)
class Checkpoint:
    number: int
    at: str  # ISO time, UTC
    cases: int
    events: int
    access_rows: int  # the access log's last seq
    access_head: str  # its hash
    root: str  # hex Merkle root over the leaves
    leaves_sha256: str  # of the gzip file of leaves
    key_id: str  # SHA-256 of the public key, hex, first 16
    signature: str = ""  # base64 Ed25519 over the record without it

    def signed_part(self) -> bytes:
        record = {k: v for k, v in asdict(self).items() if k != "signature"}
        return json.dumps(record, sort_keys=True, separators=(",", ":")).encode()


# ----- the key ------------------------------------------------------------------------------


def ensure_key(path: Path) -> Ed25519PrivateKey:
    """The checkpoint signing key (made on first use, mode 0600); never in the database."""
    if not path.exists():
        write_private_key(path, Ed25519PrivateKey.generate())
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return key


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


# ----- leaves and the tree -----------------------------------------------------------------------


def leaves(heads: dict[str, tuple[int, bytes]], access: tuple[int, str]) -> list[str]:
    """One line per chain head, in a fixed order: ``case <id> <version> <link>``, then the
    access log's ``access <seq> <hash>``."""
    lines = [
        f"case {case} {version} {link.hex()}" for case, (version, link) in sorted(heads.items())
    ]
    return [*lines, f"access {access[0]} {access[1]}"]


def merkle_root(items: Iterable[str]) -> bytes:
    level = [hashlib.sha256(b"\x00" + item.encode()).digest() for item in items]
    if not level:
        return hashlib.sha256(b"").digest()
    while len(level) > 1:
        paired = [
            hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest()
            for i in range(0, len(level) - 1, 2)
        ]
        level = paired + ([level[-1]] if len(level) % 2 else [])
    return level[0]


def access_head(db: Database) -> tuple[int, str]:
    rows = db.rows("SELECT seq, hash FROM access_log ORDER BY seq DESC LIMIT 1")
    return (int(rows[0]["seq"]), str(rows[0]["hash"])) if rows else (0, "")


# ----- making one -----------------------------------------------------------------------------


def make(
    folder: Path,
    key: Ed25519PrivateKey,
    heads: dict[str, tuple[int, bytes]],
    events: int,
    access: tuple[int, str],
    now: datetime,
) -> Checkpoint:
    """Sign and append a checkpoint of these heads; its leaves are written first."""
    folder.mkdir(parents=True, exist_ok=True)
    number = len(_lines(folder)) + 1
    items = leaves(heads, access)
    packed = gzip.compress("\n".join(items).encode(), mtime=0)
    (folder / f"{number}.leaves.gz").write_bytes(packed)
    unsigned = Checkpoint(
        number=number,
        at=now.isoformat(),
        cases=len(heads),
        events=events,
        access_rows=access[0],
        access_head=access[1],
        root=merkle_root(items).hex(),
        leaves_sha256=hashlib.sha256(packed).hexdigest(),
        key_id=key_id(key.public_key()),
    )
    signature = base64.b64encode(key.sign(unsigned.signed_part())).decode()
    checkpoint = Checkpoint(**{**asdict(unsigned), "signature": signature})
    with open(folder / LOG, "a", encoding="utf-8") as log:
        log.write(json.dumps(asdict(checkpoint), sort_keys=True) + "\n")
        log.flush()
        os.fsync(log.fileno())
    return checkpoint


def _lines(folder: Path) -> list[str]:
    path = folder / LOG
    return (
        [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        if (path.exists())
        else []
    )


# ----- checking against one -------------------------------------------------------------------


@dataclass
class Against:
    """What the newest checkpoint says must still be there: per case its version and link."""

    checkpoint: Checkpoint
    cases: dict[str, tuple[int, str]]
    access: tuple[int, str]


def latest(folder: Path, public: Ed25519PublicKey) -> Against | None:
    """The newest checkpoint, its signature and leaves checked; ``ValueError`` if forged."""
    lines = _lines(folder)
    if not lines:
        return None
    checkpoint = Checkpoint(**json.loads(lines[-1]))
    if not signed_by(checkpoint, public):
        raise ValueError(f"checkpoint {checkpoint.number}: the signature does not verify")
    packed = (folder / f"{checkpoint.number}.leaves.gz").read_bytes()
    if hashlib.sha256(packed).hexdigest() != checkpoint.leaves_sha256:
        raise ValueError(f"checkpoint {checkpoint.number}: its leaves file was changed")
    items = gzip.decompress(packed).decode().splitlines()
    if merkle_root(items).hex() != checkpoint.root:
        raise ValueError(f"checkpoint {checkpoint.number}: its leaves do not make its root")
    cases: dict[str, tuple[int, str]] = {}
    access = (0, "")
    for item in items:
        kind, first, second, *rest = item.split(" ")
        if kind == "case":
            cases[first] = (int(second), rest[0])
        else:
            access = (int(first), second)
    return Against(checkpoint, cases, access)


def signed_by(checkpoint: Checkpoint, public: Ed25519PublicKey) -> bool:
    try:
        public.verify(base64.b64decode(checkpoint.signature), checkpoint.signed_part())
    except Exception:  # InvalidSignature, or a signature that is not base64
        return False
    return True


def missing(
    against: Against,
    heads: dict[str, tuple[int, bytes]],
    links_at: dict[str, bytes],
    db: Database,
) -> list[str]:
    """What the store no longer holds of what the checkpoint recorded, in words."""
    gone: list[str] = []
    for case, (version, link) in sorted(against.cases.items()):
        now = heads.get(case)
        if now is None:
            gone.append(f"case {case}: all {version} events are gone")
        elif now[0] < version:
            gone.append(f"case {case}: events {now[0] + 1} to {version} are gone")
        elif links_at.get(case, b"").hex() != link:
            gone.append(f"case {case}: version {version} is not the event the checkpoint saw")
    seq, digest = against.access
    if seq:
        rows = db.rows("SELECT hash FROM access_log WHERE seq = ?", (seq,))
        newest = access_head(db)[0]
        if not rows:
            gone.append(f"access log: row {seq} is gone (the newest now is {newest})")
        elif rows[0]["hash"] != digest:
            gone.append(f"access log: row {seq} is not the row the checkpoint saw")
    return gone


def public_key_of(path: Path) -> Ed25519PublicKey:
    """The public key to verify with: from the private key file, or a public PEM."""
    data = path.read_bytes()
    if b"PRIVATE KEY" in data:
        return ensure_key(path).public_key()
    key = serialization.load_pem_public_key(data)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{path} is not an Ed25519 key")
    return key
