"""``saksflyt keys …``, ``saksflyt erase`` and ``saksflyt erasures``: the key ring and kassasjon."""

from __future__ import annotations

import argparse
import base64
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from domain import commands as cmd
from saksflyt.bootstrap import bootstrap
from saksflyt.command_line import kommunenummer
from saksflyt.privacy.keyring import FileKeyRing
from saksflyt.privacy.vault import KeyVault
from saksflyt.settings import Settings


def _keys_init(args: argparse.Namespace) -> int:
    path = Settings.from_env().key_ring
    if args.if_missing and path.exists():
        FileKeyRing.load(path)  # one that is there must be a key ring
        print(f"kept {path}: a key ring is there")
        return 0
    ring = FileKeyRing.create(path)
    print(f"made {ring.path} (mode 0600): keep it, back it up apart from the database")
    return 0


def _vault(settings: Settings) -> tuple[Any, KeyVault]:
    app = bootstrap(settings)
    assert isinstance(app.vault, KeyVault)
    return app, app.vault


def _keys_rotate(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    ring = FileKeyRing.load(settings.key_ring)
    made = ring.rotate()
    app, vault = _vault(settings)
    vault.keys = ring
    rewrapped = vault.rewrap(ring.current_kek_id)
    dropped = ring.retire(vault.kek_ids_in_use()) if args.retire else 0
    app.close()
    print(
        f"{len(made)} new key-encryption keys, {rewrapped} data keys rewrapped, {dropped} retired"
    )
    return 0


def _keys_public(args: argparse.Namespace) -> int:
    key_id, raw = FileKeyRing.load(Settings.from_env().key_ring).sealing_public_key(
        args.municipality
    )
    print(f"{key_id} {base64.b64encode(raw).decode()}")
    return 0


def _erase(args: argparse.Namespace) -> int:
    app = bootstrap(Settings.from_env())
    command = cmd.Shred(
        command_id=uuid4(),
        case_id=args.case,
        received_at=datetime.now(UTC),
        reason=args.reason,
        actor=args.by,
        override_reason=args.reason if args.against_policy else None,
    )
    handled = app.handle(command)
    if handled.refusal is None and isinstance(app.vault, KeyVault):
        app.vault.compact()  # no copy of the destroyed key left in the store's files
    app.close()
    if handled.refusal is not None:
        raise handled.refusal  # one line and its exit code (docs/cli.md)
    print(f"case {args.case} erased: its key and attachments are destroyed")
    return 0


def _erasures(args: argparse.Namespace) -> int:
    app, vault = _vault(Settings.from_env())
    rows = vault.erasures(args.case)
    if not rows:
        print("no erasures" + (f" of case {args.case}" if args.case else ""))
    for row in rows:
        done = row["completed_at"] or "pending"
        print(
            f"{row['case_id']}  {row['service']}  {row['kommunenummer']}  requested "
            f"{row['requested_at']}  done {done}  by {row['actor']}: {row['reason']}"
        )
    app.close()
    return 0


def add_privacy_commands(commands: Any) -> None:
    keys = commands.add_parser("keys", help="the municipality's key ring")
    keys_commands = keys.add_subparsers(dest="keys_command", required=True)
    init = keys_commands.add_parser("init", help="make a key ring (SAKSFLYT_KEY_RING)")
    init.add_argument(
        "--if-missing",
        action="store_true",
        help="keep the key ring that is there (a deployment's first step, run at every start)",
    )
    init.set_defaults(handler=_keys_init)
    rotate = keys_commands.add_parser("rotate", help="new key-encryption keys; rewrap data keys")
    rotate.add_argument("--retire", action="store_true", help="then drop the keys no longer used")
    rotate.set_defaults(handler=_keys_rotate)
    public = keys_commands.add_parser("public", help="the public key to seal personal fields to")
    public.add_argument("--municipality", type=kommunenummer, required=True, help="kommunenummer")
    public.set_defaults(handler=_keys_public)
    erase = commands.add_parser("erase", help="kassasjon: shred a case and destroy its key")
    erase.add_argument("--case", type=UUID, required=True, help="the case to shred (its id)")
    erase.add_argument("--reason", required=True, help="why (kept; no personal data)")
    erase.add_argument("--by", default="operator", help="who asks (kept in the erasure record)")
    erase.add_argument(
        "--against-policy",
        action="store_true",
        help="also when the service's retention policy keeps the case (the reason is recorded)",
    )
    erase.set_defaults(handler=_erase)
    erasures = commands.add_parser("erasures", help="the erasure records")
    erasures.add_argument("--case", type=UUID, help="only this case's erasure record")
    erasures.set_defaults(handler=_erasures)
