"""Process mining proves the model and the code agree. A simulated year of every service, each case
run to its end, is exported as an event log (XES, as analysts get it) and replayed with pm4py's
alignments against the service's published BPMN: every case fits (fitness 1.0). Broken histories —
a decision before submission, a grant by law after a neighbour objected, a case shredded inside
its klagefrist — are events the code would never record; built by hand, exported the same way,
they do not fit.

pm4py (AGPL) is a test dependency and an optional extra, never part of the base install. Its
BPMN-to-Petri-net conversion (2.7) knows tasks, gateways, start and end events only, so a timer
event is handed to it as what it is in a Petri net: a timer the event log reports running out
becomes a transition of its name, one it does not report a silent one.
"""

from __future__ import annotations

import io
import re
import warnings
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pm4py  # a test dependency: make test installs it
import pytest

from domain.casework import Casework
from domain.timers import TIMERS
from saksflyt import eventlog
from saksflyt.bootstrap import bootstrap
from saksflyt.catalogue.bpmn import bpmn
from saksflyt.demo.simulation import HORIZON, run_demo
from tests.stores import sqlite_settings

pytestmark = pytest.mark.slow  # not in make test-fast

CASES = 1500
LOGGED = {t.label_nb for t in TIMERS if t.logged}


@pytest.fixture(scope="module")
def year(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Casework, list[Any]]]:
    """A year of applications, every case run to its end (archived or shredded)."""
    app = bootstrap(sqlite_settings(tmp_path_factory.mktemp("year")))
    # to their end: a care case is kept ten years, a parking permit while in force (five)
    run_demo(app, CASES, seed=365, days=365, horizon=HORIZON + timedelta(days=12 * 365))
    yield app, eventlog.traces(app)
    app.close()


def for_pm4py(xml: str) -> str:
    """Timer events as pm4py's converter can take them (see the module's note)."""

    def swap(match: re.Match[str]) -> str:
        element = match.group(0)
        name = re.search(r'name="([^"]*)"', element)
        assert name is not None
        tag = "bpmn:task" if name.group(1) in LOGGED else "bpmn:exclusiveGateway"
        element = re.sub(
            r"<bpmn:timerEventDefinition.*?</bpmn:timerEventDefinition>", "", element, flags=re.S
        )
        return element.replace("bpmn:intermediateCatchEvent", tag)

    return re.sub(
        r"<bpmn:intermediateCatchEvent.*?</bpmn:intermediateCatchEvent>", swap, xml, flags=re.S
    )


def replay(
    app: Casework, code: str, traces: list[eventlog.Trace], folder: Path
) -> list[dict[str, Any]]:
    """pm4py's alignment of each trace against the service's BPMN, as the API publishes it."""
    model = folder / f"{code}.bpmn"
    model.write_text(for_pm4py(bpmn(app.catalogue.service(code))), encoding="utf-8")
    net, initial, final = pm4py.convert_to_petri_net(pm4py.read_bpmn(str(model)))
    log = folder / f"{code}.xes"
    out = io.BytesIO()
    eventlog.write_xes(out, traces)
    log.write_bytes(out.getvalue())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = pm4py.read_xes(str(log), show_progress_bar=False)
        return list(pm4py.conformance_diagnostics_alignments(frame, net, initial, final))


def unfit(diagnoses: list[dict[str, Any]]) -> list[list[str]]:
    """The traces that do not fit, as their activities."""
    return [
        [logged for logged, _ in d["alignment"] if logged != ">>"]
        for d in diagnoses
        if d["fitness"] < 1.0
    ]


def test_every_case_of_a_simulated_year_fits_its_services_bpmn(
    year: tuple[Casework, list[eventlog.Trace]], tmp_path: Path
) -> None:
    app, log = year
    by_service: dict[str, list[eventlog.Trace]] = {}
    for trace in log:
        by_service.setdefault(trace.service, []).append(trace)
    assert set(by_service) == set(app.catalogue.codes())
    seen: Counter[str] = Counter()
    for code, traces in by_service.items():
        diagnoses = replay(app, code, traces, tmp_path)
        assert len(diagnoses) == len(traces)
        assert unfit(diagnoses) == [], code
        assert all(d["fitness"] == 1.0 for d in diagnoses)
        seen.update(a for _, activities in eventlog.iter_activities(traces) for a in activities)
    for turn in (  # the year took every turn of the process, so the fit says something
        "Kontakt meg",
        "Innvending fra nabo",
        "Nabofristen er ute",
        "Tre uker uten vedtak",
        "Tillatelse regnes som gitt",
        "Be om manglende dokumenter",
        "Uttalelse mottatt",
        "Sende foreløpig svar",
        "Oppmålingsforretning holdt",
        "Klagefristen er ute",
        "Avvise klagen",
        "Omgjøre vedtaket",
        "Klageinstansen stadfester vedtaket",
        "Klageinstansen endrer vedtaket",
        "Klageinstansen opphever vedtaket",
        "Trekke søknaden",
        "Arkivere",
        "Kassere",
    ):
        assert seen[turn], turn


def _case(log: list[eventlog.Trace], service: str, *names: str, nth: int = 0) -> eventlog.Trace:
    """The nth case of the service whose history holds these events."""
    found = [t for t in log if t.service == service and set(names) <= {e[0] for e in t.events}]
    return found[nth]


def _broken(
    trace: eventlog.Trace, events: list[tuple[str, dict[str, Any], Any, str]]
) -> eventlog.Trace:
    return eventlog.Trace(trace.case_id, trace.service, trace.kommunenummer, events)


def test_broken_histories_do_not_fit(
    year: tuple[Casework, list[eventlog.Trace]], tmp_path: Path
) -> None:
    app, log = year
    # a decision before submission: the DecisionMade moved before ApplicationSubmitted
    case = _case(log, "avfallsbeholder", "DecisionMade", "ApplicationShredded")
    names = [e[0] for e in case.events]
    decision = case.events[names.index("DecisionMade")]
    early = [e for e in case.events if e is not decision]
    early.insert(names.index("ApplicationSubmitted"), decision)
    # a grant by law after a neighbour objected: the officer's decision replaced by the law's
    objected = _case(log, "melding-om-tiltak", "NeighbourCommentReceived", "DecisionMade")
    assert any(e[0] == "NeighbourCommentReceived" and e[1]["objection"] for e in objected.events)
    by_law = [
        (
            "PermitDeemedGranted",
            {**e[1], "decision_deadline": e[1]["occurred_at"].date()},
            e[2],
            e[3],
        )
        if e[0] == "DecisionMade"
        else e
        for e in objected.events
    ]
    # a case shredded inside its klagefrist: the shredding a day after the decision
    shredded = _case(log, "avfallsbeholder", "DecisionMade", "ApplicationShredded", nth=1)
    cut = [e for e in shredded.events if e[0] not in ("ApplicationShredded",)]
    made = next(e for e in cut if e[0] == "DecisionMade")
    last = cut.index(made)
    soon = made[2] + timedelta(days=1)
    inside = [*cut[: last + 1], ("ApplicationShredded", {"override_reason": None}, soon, "x")]
    assert soon.date() <= made[1]["appeal_deadline"]
    for code, trace in (
        ("avfallsbeholder", _broken(case, early)),
        ("melding-om-tiltak", _broken(objected, by_law)),
        ("avfallsbeholder", _broken(shredded, inside)),
    ):
        diagnoses = replay(app, code, [trace], tmp_path)
        assert diagnoses[0]["fitness"] < 1.0, [a for _, a in eventlog.iter_activities([trace])]
    fine = replay(app, "avfallsbeholder", [case, shredded], tmp_path)  # as the code recorded them
    assert [d["fitness"] for d in fine] == [1.0, 1.0]
