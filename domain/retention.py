"""Retention (bevaring og kassasjon): what happens to a closed case, as data, with its source.

A service's policy says archive (bevares) or shred (kasseres) some days after the appeal period
(or a withdrawal), names the rule it follows, and may keep a selection of cases that would
otherwise be shredded:

    retention = { action = "shred", after_days = 730, source = "...",
                  keep = [{ field = "barn_antall", above = 0 }] }
    retention = { action = "shred", after_days = 3650, source = "...",
                  select = { born_on_days = [1, 15] } }
    retention = { action = "shred", after_days = 90, source = "...", while_in_force = true }

``keep`` rules read one field of the form (``above`` a number, or ``equals`` a value). A
``select`` keeps every case of the people born on the given days of the month, read from the
applicant's identity number: a selection by person, the same in every system that holds that
person's cases (riksarkivarens forskrift kap. 7 selects by person, never by a system's own ids).
``while_in_force``: a case that granted something for a time (a parking permit, a ledsagerbevis)
is kept until that has lapsed, and ``after_days`` count from then. Policies are checked when the
catalogue loads (unknown keys, fields the form does not have, bad numbers), so a wrong setting
stops the start, not a retention run months later.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from domain.identifiers import birth_day_of_month

POLICY_KEYS = frozenset({"action", "after_days", "keep", "select", "source", "while_in_force"})
SELECT_AT_MOST_DAYS = 6  # a selection keeps at most about a fifth of the people


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
    source: str = ""
    keep: tuple[KeepRule, ...] = ()
    born_on_days: tuple[int, ...] = ()
    while_in_force: bool = False

    def decide(self, form: Mapping[str, Any], person: str | None) -> tuple[RetentionAction, str]:
        """What this case gets, and why (for logs and plans; no personal values in it).
        ``person``: the applicant's identity number, for a selection by person."""
        if self.action is RetentionAction.ARCHIVE:
            return RetentionAction.ARCHIVE, "the service's cases are kept"
        for rule in self.keep:
            if rule.matches(form):
                return RetentionAction.ARCHIVE, f"kept: {rule.field} matches a keep rule"
        by_person = person is not None and len(person) == 11  # an organisation is no person
        if self.born_on_days and by_person and birth_day_of_month(str(person)) in self.born_on_days:
            return RetentionAction.ARCHIVE, "kept: the applicant is in the selection by person"
        return RetentionAction.SHRED, "the service's cases are shredded"

    def describe(self) -> str:
        """One line for the catalogue: what happens, when, and what is kept all the same."""
        when = f"{self.after_days} d after the appeal period"
        if self.while_in_force:
            when = f"{self.after_days} d after the permit lapses (never while in force)"
        if self.action is RetentionAction.ARCHIVE:
            return "archive (bevares)"
        kept = [str(rule) for rule in self.keep]
        if self.born_on_days:
            days = ", ".join(str(d) for d in self.born_on_days)
            kept.append(f"people born on day {days} of a month")
        return f"shred {when}" + (f"; kept: {'; '.join(kept)}" if kept else "")


MUNICIPAL_PLAN = "kommunens bevarings- og kassasjonsplan (municipal override)"


def parse_retention(
    raw: Any, where: str, form_fields: Mapping[str, Any], default_source: str | None = None
) -> Retention:
    """A policy from its TOML table; ``form_fields`` (name -> annotation) checks keep rules.
    The catalogue names each policy's source; a municipality's override may leave it to
    ``default_source`` (its own plan)."""
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: retention must be a table")
    if "sample" in raw:
        raise ValueError(
            f"{where}: a sample by case id is not a selection the archive rules recognise; "
            "select by person: select = {born_on_days = [D, ...]}"
        )
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
    source = raw.get("source", default_source)
    if not isinstance(source, str) or not source.strip():
        raise ValueError(f"{where}: retention needs a source: the rule it follows")
    keep = tuple(_keep_rule(rule, where, form_fields) for rule in raw.get("keep", []))
    born_on_days = _selection(raw.get("select"), where)
    while_in_force = raw.get("while_in_force", False)
    if not isinstance(while_in_force, bool):
        raise ValueError(f"{where}: retention while_in_force is true or false")
    if action is RetentionAction.ARCHIVE and (keep or born_on_days or while_in_force):
        raise ValueError(f"{where}: keep rules and selections only make sense when shredding")
    return Retention(action, after_days, source, keep, born_on_days, while_in_force)


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


def _selection(raw: Any, where: str) -> tuple[int, ...]:
    if raw is None:
        return ()
    days = raw.get("born_on_days") if isinstance(raw, Mapping) else None
    if (
        set(raw or {}) != {"born_on_days"}
        or not isinstance(days, list)
        or not 1 <= len(days) <= SELECT_AT_MOST_DAYS
        or len(set(days)) != len(days)
        or not all(isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= 31 for d in days)
    ):
        raise ValueError(
            f"{where}: a selection is {{born_on_days = [D, ...]}}: 1 to {SELECT_AT_MOST_DAYS} "
            "distinct days of the month (a sample by case id is not a selection by person)"
        )
    return tuple(sorted(days))
