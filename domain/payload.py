"""What any text, number or nesting in a command must be before it can be stored.

Checked for every command on every path (HTTP and Kafka alike), so nothing stored can fail to
encode, to project or to be sent on: text is valid Unicode (no lone surrogates), numbers are
finite, forms are not nested deeper or wider than any real form.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from typing import Any

from domain.errors import InvalidInput

MAX_DEPTH = 8  # the deepest real form nests three levels
MAX_ITEMS = 500  # keys of one object or items of one list
MAX_TEXT = 20_000  # characters in one string


def check_payload(value: Any, depth: int = 0) -> None:
    """Raise ``InvalidInput`` for the first value that could not be stored safely."""
    if depth > MAX_DEPTH:
        raise InvalidInput("too-deep", f"nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, str):
        _check_text(value)
    elif isinstance(value, float) and not math.isfinite(value):
        raise InvalidInput("number-not-finite", "numbers must be finite (no NaN or Infinity)")
    elif isinstance(value, Mapping):
        _check_size(len(value))
        for key, item in value.items():
            check_payload(key, depth + 1)
            check_payload(item, depth + 1)
    elif isinstance(value, (list, tuple, set, frozenset)):
        _check_size(len(value))
        for item in value:
            check_payload(item, depth + 1)
    elif is_dataclass(value) and not isinstance(value, type):
        for f in fields(value):
            check_payload(getattr(value, f.name), depth)


def _check_size(items: int) -> None:
    if items > MAX_ITEMS:
        raise InvalidInput("too-many-items", f"more than {MAX_ITEMS} items in one object or list")


def _check_text(text: str) -> None:
    if len(text) > MAX_TEXT:
        raise InvalidInput("text-too-long", f"a text is longer than {MAX_TEXT} characters")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput("text-not-unicode", "a text holds a lone surrogate") from None
