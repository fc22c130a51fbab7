"""How the ``saksflyt`` command line treats people: help in colour with examples, values checked
against the catalogue before anything runs, one clear line and a documented exit code for every
mistake (``--debug`` shows the traceback), shell completion.

Exit codes (docs/cli.md):

====  ===========================================================================
0     done
1     the job ran and found something wrong (e.g. ``verify`` found a changed event)
2     usage: an unknown option, command or value (service, status, municipality)
3     configuration: a setting is missing or wrong (``SAKSFLYT_*``), a file it names is missing
4     a server did not answer in time: Kafka, PostgreSQL or SMTP
5     refused by the rules (a step the case's state or the law does not allow)
130   interrupted (Ctrl-C)
====  ===========================================================================
"""

from __future__ import annotations

import argparse
import enum
import functools
import socket
import sys
import traceback
from collections.abc import Callable, Iterator
from typing import NoReturn

from kafka.errors import KafkaConnectionError, KafkaTimeoutError
from pydantic import ValidationError
from rich_argparse import RichHelpFormatter

from domain.errors import (
    CaseNotFound,
    DomainError,
    InvalidIdentifier,
    UnknownService,
)
from domain.lifecycle import Status
from domain.places import Kommunenummer
from domain.services import default_services
from saksflyt.privacy.keyring import KeyRingMissing


class Exit(enum.IntEnum):
    OK = 0
    FAILED = 1
    USAGE = 2
    CONFIGURATION = 3
    UNREACHABLE = 4
    REFUSED = 5
    INTERRUPTED = 130


class UserError(Exception):
    """A mistake the person can fix: said in one line, with its exit code."""

    def __init__(self, message: str, code: Exit = Exit.USAGE) -> None:
        super().__init__(message)
        self.code = code


# ----- values checked before anything runs ------------------------------------------------------


def service_code(value: str) -> str:
    codes = list(default_services())
    if value not in codes:
        raise argparse.ArgumentTypeError(f"unknown service {value!r}; one of: {', '.join(codes)}")
    return value


def status(value: str) -> str:
    known = [s.value for s in Status]
    if value not in known:
        raise argparse.ArgumentTypeError(f"unknown status {value!r}; one of: {', '.join(known)}")
    return value


def count(value: str) -> int:
    """A number of rows: 1 or more."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"{number}: give 1 or more")
    return number


def kommunenummer(value: str) -> str:
    try:
        return Kommunenummer.parse(value).value
    except InvalidIdentifier as error:
        raise argparse.ArgumentTypeError(str(error)) from None


# ----- the parser ------------------------------------------------------------------------------


def parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """The parser and every sub-command's parser below it."""
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                yield from parsers(sub)


def command_path(parser: argparse.ArgumentParser) -> str:
    """``keys rotate`` for the parser of ``saksflyt keys rotate``."""
    return parser.prog.partition(" ")[2]


def finish(parser: argparse.ArgumentParser, examples: dict[str, str]) -> argparse.ArgumentParser:
    """Every parser formats its help with rich-argparse; each command shows its example."""
    for each in parsers(parser):
        each.formatter_class = RichHelpFormatter
        each.error = functools.partial(_one_line, each)  # type: ignore[method-assign]
        example = examples.get(command_path(each))
        if example:
            each.epilog = "\n\n".join(filter(None, (each.epilog, f"Example: {example}")))
    return parser


def _one_line(parser: argparse.ArgumentParser, message: str) -> NoReturn:
    """A mistake on the command line: one line on stderr, no usage block, exit 2."""
    parser.exit(Exit.USAGE, f"{parser.prog}: {message} (see {parser.prog} --help)\n")


# ----- running a command -----------------------------------------------------------------------


def run(command: str, handler: Callable[[], int], debug: bool) -> int:
    """Run ``handler``; a mistake the person can fix ends in one line on stderr and its code."""
    try:
        return int(handler())
    except KeyboardInterrupt:
        return _say(command, "interrupted", Exit.INTERRUPTED)
    except Exception as error:  # every error: a known kind gets its line, the rest a short one
        if debug:
            traceback.print_exc()
        message, code = explain(error)
        if code is Exit.FAILED and not debug and not isinstance(error, UserError):
            message += " (run with --debug for the traceback)"
        return _say(command, message, code)


def explain(error: BaseException) -> tuple[str, Exit]:
    """The line and exit code for an error."""
    if isinstance(error, UserError):
        return str(error), error.code
    if isinstance(error, ValidationError):
        problems = "; ".join(
            f"SAKSFLYT_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in error.errors()
        )
        return f"configuration: {problems}", Exit.CONFIGURATION
    if isinstance(error, (KafkaTimeoutError, KafkaConnectionError)):
        return f"cannot reach Kafka ({error}); is it running? (SAKSFLYT_KAFKA)", Exit.UNREACHABLE
    if _unreachable_database(error):
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return f"cannot reach PostgreSQL: {first} (SAKSFLYT_POSTGRES_URL)", Exit.UNREACHABLE
    if isinstance(error, (ConnectionError, socket.timeout, TimeoutError)):
        return f"a server did not answer: {error}", Exit.UNREACHABLE
    if isinstance(error, CaseNotFound):
        return f"no case {error.case_id}", Exit.USAGE
    if isinstance(error, (UnknownService, InvalidIdentifier)):
        return str(error), Exit.USAGE
    if isinstance(error, DomainError):
        code = getattr(error, "code", "")
        return f"refused: {error}" + (f" [{code}]" if code else ""), Exit.REFUSED
    if isinstance(error, KeyRingMissing):
        return str(error), Exit.CONFIGURATION
    if isinstance(error, (FileNotFoundError, PermissionError, IsADirectoryError)):
        return f"{error.strerror}: {error.filename}", Exit.CONFIGURATION
    if isinstance(error, ValueError) and "SAKSFLYT_" in str(error):
        return f"configuration: {error}", Exit.CONFIGURATION
    return f"{type(error).__name__}: {error}", Exit.FAILED


def _unreachable_database(error: BaseException) -> bool:
    names = {type(e).__name__ for e in _chain(error)}
    modules = {type(e).__module__.split(".")[0] for e in _chain(error)}
    return (
        "OperationalError" in names
        and bool(modules & {"psycopg", "eventsourcing"})
        and ("connect" in str(error).lower() or "timeout" in str(error).lower())
    )


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: BaseException | None = error
    while seen is not None:
        yield seen
        seen = seen.__cause__ or seen.__context__


def _say(command: str, message: str, code: Exit) -> int:
    print(f"saksflyt {command}: {message}".rstrip(), file=sys.stderr)
    return int(code)
