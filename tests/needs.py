"""What a test needs from outside: under CI=true a missing server or tool fails the test, on a
developer's machine it skips it with the reason (``make test`` provides everything)."""

from __future__ import annotations

import os
import shutil

import pytest


def missing(what: str, hint: str = "`make test` starts it") -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{what} is required under CI=true; {hint}")
    pytest.skip(f"{what} is missing; {hint}")


def env(variable: str, what: str) -> str:
    value = os.environ.get(variable)
    if not value:
        missing(f"{what} ({variable})")
    assert value is not None
    return value


def tool(*names: str, hint: str = "`make test` installs it") -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    missing(names[0], hint)
    raise AssertionError("unreachable")  # missing() fails or skips
