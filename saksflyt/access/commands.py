"""``saksflyt token``, ``revoke``, ``access-log``, ``verify`` and ``checkpoint``."""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from kafka.errors import KafkaError
from rich.console import Console

from consumers.topics import Topics
from saksflyt.access import checkpoint_topic, checkpoints, log
from saksflyt.access.policy import Principal, Role
from saksflyt.access.revocations import SUBJECT, TOKEN, Revocations
from saksflyt.access.tokens import NotConfigured, longest_token, mint
from saksflyt.bootstrap import bootstrap
from saksflyt.command_line import Exit, UserError, count, kommunenummer
from saksflyt.output import FORMATS, emit
from saksflyt.records import records_database
from saksflyt.settings import Settings


def _token(args: argparse.Namespace) -> int:
    who = Principal(
        subject=args.sub,
        roles=frozenset(Role(r) for r in args.role),
        kommuner=frozenset(args.kommune),
        services=frozenset(args.service) if args.service else None,
        person=args.pid,
        name=args.name,
    )
    try:
        print(mint(Settings.from_env(), who, datetime.now(UTC), timedelta(minutes=args.minutes)))
    except NotConfigured as missing:
        raise UserError(str(missing), Exit.CONFIGURATION) from None
    except ValueError as wrong:  # a lifetime longer than the settings allow
        raise UserError(str(wrong)) from None
    return 0


def _access_log(args: argparse.Namespace) -> int:
    db = records_database(Settings.from_env())
    try:
        rows = log.entries(db, args.case, args.subject, args.since, limit=args.limit)
    finally:
        db.close()
    emit(rows, args.format, "access log", None, Console())
    return 0


def _verify(args: argparse.Namespace) -> int:
    """Every case's event chain (or one case's), then the access log's chain; with
    ``--checkpoints``, that nothing the newest signed checkpoint saw is gone."""
    settings = Settings.from_env()
    against, public = None, None
    if args.checkpoints:
        if args.case is not None:
            raise UserError("--checkpoints checks the whole store: leave out --case")
        try:
            public = checkpoints.public_key_of(args.key or settings.checkpoint_key)
            against = checkpoints.latest(settings.checkpoint_dir, public)
        except (OSError, ValueError) as problem:
            raise UserError(f"checkpoints: {problem}", Exit.FAILED) from None
        if against is None and not settings.kafka:  # with Kafka, its copy may say what is cut
            raise UserError(f"no checkpoint in {settings.checkpoint_dir}", Exit.CONFIGURATION)
    app = bootstrap(settings)
    try:
        want = {case: version for case, (version, _) in against.cases.items()} if against else None
        found = app.verify(args.case, want=want)
    finally:
        app.close()
    breaks = [str(b) for b in found.breaks]
    print(
        f"event store: {found.events} events in {found.cases} cases checked, "
        f"{found.unchained} stored before chaining, {len(found.breaks)} breaks"
    )
    if args.case is None:
        db = records_database(settings)
        try:
            rows, log_breaks = log.verify(db)
        finally:
            db.close()
        print(f"access log: {rows} rows checked, {len(log_breaks)} breaks")
        breaks += [str(b) for b in log_breaks]
    if against is not None:
        db = records_database(settings)
        try:
            gone = checkpoints.missing(against, found.heads, found.links_at, db)
        finally:
            db.close()
        seen = against.checkpoint
        print(
            f"checkpoint {seen.number} of {seen.at} ({seen.cases} cases, {seen.events} events, "
            f"{seen.access_rows} access-log rows): signature good, {len(gone)} missing"
        )
        breaks += [f"GONE since the checkpoint: {what}" for what in gone]
    if args.checkpoints and settings.kafka:
        in_file = against.checkpoint if against else None
        breaks += _against_kafka(settings, in_file, found, public)
    for line in breaks:
        print(f"BROKEN {line}")
    return 1 if breaks else 0


def _against_kafka(
    settings: Settings, in_file: checkpoints.Checkpoint | None, found: Any, public: Any
) -> list[str]:
    """The newest checkpoint's Kafka copy against the file and the store's counts."""
    try:
        copy = checkpoint_topic.newest(settings)
    except (KafkaError, TimeoutError) as error:
        raise UserError(f"the checkpoints' Kafka copy: {error}", Exit.UNREACHABLE) from None
    if copy is None:
        print("Kafka copy: none yet")
        return []
    if not checkpoints.signed_by(copy, public):
        return [f"the Kafka copy of checkpoint {copy.number} is not signed by the key"]
    db = records_database(settings)
    try:
        rows = checkpoints.access_head(db)[0]
    finally:
        db.close()
    wrong = checkpoint_topic.compare(copy, in_file)
    wrong += checkpoint_topic.fewer(copy, found.cases, found.events, rows)
    print(f"Kafka copy: checkpoint {copy.number}, {len(wrong)} disagreements")
    return [f"GONE since the Kafka copy: {what}" for what in wrong]


def _checkpoint(args: argparse.Namespace) -> int:
    """Sign every chain's head now (and every ``--every`` seconds until stopped)."""
    settings = Settings.from_env()
    key = checkpoints.ensure_key(settings.checkpoint_key)
    while True:
        app = bootstrap(settings)
        try:
            found = app.verify()
        finally:
            app.close()
        db = records_database(settings)
        try:
            access = checkpoints.access_head(db)
        finally:
            db.close()
        now = datetime.now(UTC)
        made = checkpoints.make(
            settings.checkpoint_dir, key, found.heads, found.events, access, now
        )
        where = str(settings.checkpoint_dir / checkpoints.LOG)
        if settings.kafka:  # the copy the database's administrator cannot rewrite
            checkpoint_topic.publish(settings, made)
            where += f" and {Topics(settings.topic_prefix).checkpoints}"
        print(
            f"checkpoint {made.number}: {made.cases} cases, {made.events} events, "
            f"{made.access_rows} access-log rows, root {made.root[:16]}… → {where}",
            flush=True,
        )
        if not args.every:
            return 0
        time.sleep(args.every)


def _revoke(args: argparse.Namespace) -> int:
    """Refuse a subject's tokens issued until now, or one token by its jti."""
    settings = Settings.from_env()
    kind, value = (SUBJECT, args.subject) if args.subject else (TOKEN, args.token_id)
    revocations = Revocations(lambda: records_database(settings), longest_token(settings), 0)
    at = revocations.revoke(kind, value, args.reason)
    print(
        f"revoked {kind} {value}: tokens issued up to {at:%Y-%m-%d %H:%M:%S} UTC are refused "
        f"(each API process within {settings.auth_revocation_refresh_seconds:g} s)"
    )
    return 0


def _printable(text: str) -> str:
    if not 3 <= len(text) <= 200 or any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise argparse.ArgumentTypeError("3 to 200 printable characters")
    return text


def add_access_commands(commands: Any) -> None:
    token = commands.add_parser(
        "token",
        help="mint a bearer token with the development key (SAKSFLYT_AUTH_DEV_KEY)",
        description="Development only: signs with SAKSFLYT_AUTH_DEV_KEY (made if missing). "
        "Example: saksflyt token --role caseworker --kommune 0301 --sub kari",
    )
    token.add_argument(
        "--role", action="append", required=True, choices=[r.value for r in Role], help="repeatable"
    )
    token.add_argument(
        "--kommune",
        action="append",
        type=kommunenummer,
        default=[],
        help="kommunenummer; repeatable",
    )
    token.add_argument("--service", action="append", help="limit to services; repeatable")
    token.add_argument("--sub", required=True, help="the subject (who); never a fødselsnummer")
    token.add_argument(
        "--pid", help="an applicant's (synthetic) fødselsnummer, as ID-porten's pid claim"
    )
    token.add_argument(
        "--name", help="the person's name (the name claim): a vedtak's case officer, saksansvarlig"
    )
    token.add_argument(
        "--minutes",
        type=int,
        default=60,
        help="lifetime (60; at most SAKSFLYT_AUTH_MAX_TOKEN_MINUTES)",
    )
    token.set_defaults(handler=_token)

    revoke = commands.add_parser(
        "revoke",
        help="refuse a caller's bearer tokens before they expire",
        description="--subject refuses every token of that subject (the sub, or an issuer's "
        "subject_claim) issued until now, from every issuer; --token-id one token by its jti. "
        "Each API process takes it up within SAKSFLYT_AUTH_REVOCATION_REFRESH_SECONDS.",
    )
    which = revoke.add_mutually_exclusive_group(required=True)
    which.add_argument("--subject", type=_printable, help="every token of this subject")
    which.add_argument("--token-id", type=_printable, help="one token, by its jti claim")
    revoke.add_argument("--reason", required=True, type=_printable, help="why (kept with it)")
    revoke.set_defaults(handler=_revoke)

    access = commands.add_parser("access-log", help="who read which case, when and why")
    access.add_argument("--case", type=UUID, help="reads of this case (GDPR art. 15)")
    access.add_argument("--subject", help="reads by this token subject")
    access.add_argument(
        "--since", type=datetime.fromisoformat, help="ISO time, e.g. 2026-11-01T00:00+01:00"
    )
    access.add_argument("--limit", type=count, default=1000, help="at most this many reads (1000)")
    access.add_argument("--format", choices=FORMATS[:3], default="table", help="output (table)")
    access.set_defaults(handler=_access_log)

    verify = commands.add_parser(
        "verify", help="recompute the event store's hash chains and the access log's; name breaks"
    )
    verify.add_argument("--case", type=UUID, help="only this case's events")
    verify.add_argument(
        "--checkpoints",
        action="store_true",
        help="and that nothing the newest signed checkpoint saw is gone (SAKSFLYT_CHECKPOINT_DIR)",
    )
    verify.add_argument(
        "--key", type=Path, help="the checkpoint key to verify with (public PEM will do)"
    )
    verify.set_defaults(handler=_verify)
    checkpoint = commands.add_parser(
        "checkpoint",
        help="sign every hash chain's head into the append-only checkpoint log",
        description="Writes to SAKSFLYT_CHECKPOINT_DIR with the key SAKSFLYT_CHECKPOINT_KEY "
        "(made on first use; keep it off the database host's reach). Ship checkpoints.jsonl "
        "elsewhere; saksflyt verify --checkpoints proves nothing it saw is gone.",
    )
    checkpoint.add_argument(
        "--every", type=float, help="again every this many seconds until stopped (e.g. 300)"
    )
    checkpoint.set_defaults(handler=_checkpoint)
