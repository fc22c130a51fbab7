"""Retention (bevaring og kassasjon): what happens to a closed case, as data.

A service's policy says archive (bevares) or shred (kasseres) some days after the appeal period
(or a withdrawal), and may keep a selection of cases that would otherwise be shredded:

    retention = { action = "shred", after_days = 730, keep = [{ field = "barn_antall", above = 0 }] }
    retention = { action = "shred", after_days = 1095, sample = { one_in = 10 } }

``keep`` rules read one field of the form (``above`` a number, or ``equals`` a value); a
``sample`` keeps one case in N, chosen by case id so every run chooses the same. Policies are
checked when the catalogue loads (unknown keys, fields the form does not have, bad numbers), so a
wrong setting stops the start, not a retention run months later.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

POLICY_KEYS = frozenset({"action", "after_days", "keep", "sample"})


class RetentionAction(enum.Enum):
    ARCHIVE = "archive"  # bevares: goes to the archive (Noark 5)
    SHRED = "shred"  # kasseres: destroyed after the retention period


@dataclass(frozen=True, slots=True)
class KeepRule:
    """Keep a case whose form's ``field`` is above a number or equals a value."""

    field: str
    above: float | None = None
    equals: Any = None

    def matches(self, form: Mapping[str, Any]) -> bool:
        value = form.get(self.field)
        if self.above is not None:
            return (
                isinstance(value, int | float)
                and not isinstance(value, bool)
                and value > self.above
            )
        return value is not None and value == self.equals

    def __str__(self) -> str:
        test = f"> {self.above:g}" if self.above is not None else f"= {self.equals!r}"
        return f"{self.field} {test}"


@dataclass(frozen=True, slots=True)
class Retention:
    action: RetentionAction
    after_days: int
    keep: tuple[KeepRule, ...] = ()
    sample_one_in: int | None = None

    def decide(self, case_id: UUID, form: Mapping[str, Any]) -> tuple[RetentionAction, str]:
        """What this case gets, and why (for logs and plans; no personal values in it)."""
        if self.action is RetentionAction.ARCHIVE:
            return RetentionAction.ARCHIVE, "the service's cases are kept"
        for rule in self.keep:
            if rule.matches(form):
                return RetentionAction.ARCHIVE, f"kept: {rule.field} matches a keep rule"
        if self.sample_one_in and case_id.int % self.sample_one_in == 0:
            return RetentionAction.ARCHIVE, f"kept: in the 1-in-{self.sample_one_in} sample"
        return RetentionAction.SHRED, "the service's cases are shredded"


def parse_retention(raw: Any, where: str, form_fields: Mapping[str, Any]) -> Retention:
    """A policy from its TOML table; ``form_fields`` (name -> annotation) checks keep rules."""
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: retention must be a table")
    unknown = set(raw) - POLICY_KEYS
    if unknown:
        raise ValueError(f"{where}: unknown retention settings {sorted(unknown)}")
    try:
        action = RetentionAction(raw.get("action"))
    except ValueError:
        raise ValueError(f"{where}: retention action must be 'archive' or 'shred'") from None
    after_days = raw.get("after_days")
    if not isinstance(after_days, int) or isinstance(after_days, bool) or after_days < 0:
        raise ValueError(f"{where}: retention after_days must be a whole number of days >= 0")
    keep = tuple(_keep_rule(rule, where, form_fields) for rule in raw.get("keep", []))
    sample = _sample(raw.get("sample"), where)
    if action is RetentionAction.ARCHIVE and (keep or sample):
        raise ValueError(f"{where}: keep rules and samples only make sense when shredding")
    return Retention(action, after_days, keep, sample)


def _keep_rule(raw: Any, where: str, form_fields: Mapping[str, Any]) -> KeepRule:
    if not isinstance(raw, Mapping) or set(raw) not in ({"field", "above"}, {"field", "equals"}):
        raise ValueError(f"{where}: a keep rule is {{field = ..., above = N}} or {{field, equals}}")
    field = raw["field"]
    if field not in form_fields:
        known = ", ".join(sorted(form_fields))
        raise ValueError(f"{where}: keep rule field {field!r} is not in the form ({known})")
    above = raw.get("above")
    if "above" in raw and (not isinstance(above, int | float) or isinstance(above, bool)):
        raise ValueError(f"{where}: keep rule 'above' must be a number")
    return KeepRule(field, float(above) if above is not None else None, raw.get("equals"))


def _sample(raw: Any, where: str) -> int | None:
    if raw is None:
        return None
    one_in = raw.get("one_in") if isinstance(raw, Mapping) else None
    if set(raw or {}) != {"one_in"} or not isinstance(one_in, int) or one_in < 2:
        raise ValueError(f"{where}: a sample is {{one_in = N}} with N >= 2")
    return one_in
