"""The fault campaign's checker has eyes: it must see loss, duplicates, disorder and read models
that differ from a rebuild (pure: made-up stores, no servers)."""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import Any

from chaos import checker
from chaos.workload import Plan


def _campaign(expected: dict[uuid.UUID, list[str]]) -> Any:
    plan = Plan(kafka=[], journeys=[], unknown_cases=set(), expected=expected)
    return SimpleNamespace(plan=plan)


def test_the_checker_counts_a_lost_event_and_a_doubled_one() -> None:
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    expected = {a: ["Created", "Submitted"], b: ["Created", "Submitted"], c: ["Created"]}
    stored = {
        a: [(1, "Created"), (2, "Submitted"), (3, "ReceiptSent")],  # a letter: not counted
        b: [(1, "Created")],  # Submitted lost
        c: [(1, "Created"), (2, "Created")],  # applied twice
    }
    report = checker.Report()
    checker.exactly_once(_campaign(expected), stored, report)
    assert not report.passed
    assert (report.numbers["lost"], report.numbers["duplicated effects"]) == (1, 1)


def test_the_checker_sees_events_out_of_order_and_cases_nobody_asked_for() -> None:
    a, stray = uuid.uuid4(), uuid.uuid4()
    report = checker.Report()
    stored = {a: [(1, "Submitted"), (2, "Created")], stray: [(1, "Created")]}
    checker.exactly_once(_campaign({a: ["Created", "Submitted"]}), stored, report)
    assert not report.passed
    assert "cases out of order 1, cases nobody asked for 1" in report.checks[0].detail


def test_the_checker_names_the_read_model_values_that_differ() -> None:
    live = [{"case_id": "x", "version": 3}, {"case_id": "y", "version": 1}]
    rebuilt = [{"case_id": "x", "version": 2}]
    said = checker._differing(("case_id",), live, rebuilt)
    assert said.startswith("1 live rows not rebuilt, 0 rebuilt rows not live, 1 values differ")
