"""The event store as an event log for process mining: XES (IEEE 1849-2016) or OCEL 2.0 (JSON).

One trace per case: each step of its history as an activity (``domain.activities``: the names of
the tasks in the published BPMN), when it happened, its lifecycle (``complete``) and the role that
took it — never a name, an identity number or any other personal value: the form, addresses and
letters stay out, and the case is known by its random id. A clock that ran out before the case's
next step is an event of its own (``domain.timers``: the BPMN's timer event), with the role
``klokke``. Read from the public events in the store's order, so what an analyst mines is what
Kafka carries.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any

from consumers.public_events import PublicEvents
from domain.activities import activity
from domain.casework import Casework
from domain.timers import clocks_run_out
from projections.queries import Scope
from saksflyt.bootstrap import bootstrap
from saksflyt.settings import Settings
from schemas.codec import AvroCodec

FORMATS = ("xes", "ocel")
CLOCK_ROLE = "klokke"
BATCH = 1000


@dataclass(frozen=True)
class Entry:
    activity: str
    at: datetime
    role: str
    event_id: str
    law: str = ""
    objects: tuple[tuple[str, str], ...] = ()  # (object type, id) besides the case


@dataclass
class Trace:
    case_id: str
    service: str
    kommunenummer: str
    events: list[tuple[str, dict[str, Any], datetime, str]] = field(default_factory=list)

    def entries(self) -> list[Entry]:
        """The steps, with the logged clocks that ran out between them, in order."""
        timeline = [(name, record, at) for name, record, at, _ in self.events]
        clocks = dict[int, list[Entry]]()
        for index, ran_out in clocks_run_out(timeline):
            timer = ran_out.timer
            clock_id = f"{self.case_id}/{timer.name}/{index}"
            clocks.setdefault(index, []).append(
                Entry(timer.label_nb, ran_out.at, CLOCK_ROLE, clock_id, timer.law)
            )
        found: list[Entry] = []
        for index, (name, record, at, event_id) in enumerate(self.events):
            found += clocks.get(index, [])
            step = activity(name, record)
            if step is not None:
                found.append(
                    Entry(step.label, at, step.actor.value, event_id, "", _objects(record))
                )
        return found


def _objects(record: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    if record.get("attachment_id") is not None:
        return (("vedlegg", str(record["attachment_id"])),)
    return ()


def traces(
    app: Casework,
    service: str | None = None,
    kommunenummer: str | None = None,
    within: Scope | None = None,
) -> list[Trace]:
    """Every case's trace, in the order the cases began; filtered by service and municipality,
    and kept ``within`` a caller's municipalities and services when given."""
    events = PublicEvents(app, AvroCodec())
    found: dict[str, Trace] = {}
    position = 0
    while batch := list(events.after(position, BATCH)):
        position = batch[-1][0]
        for _, event in batch:
            r = event.record
            if (service and r["service"] != service) or (
                kommunenummer and r["kommunenummer"] != kommunenummer
            ):
                continue
            if within is not None and not within.covers(r["service"], r["kommunenummer"]):
                continue
            case_id = str(r["case_id"])
            trace = found.setdefault(case_id, Trace(case_id, r["service"], r["kommunenummer"]))
            trace.events.append((event.name, r, r["occurred_at"], str(r["event_id"])))
    return list(found.values())


def write(out: IO[bytes], log: list[Trace], fmt: str) -> int:
    """The log in ``fmt`` (xes or ocel); returns how many events it holds."""
    if fmt == "xes":
        return write_xes(out, log)
    if fmt == "ocel":
        return write_ocel(out, log)
    raise ValueError(f"format must be one of {', '.join(FORMATS)}")


# ----- XES (IEEE 1849-2016) -----------------------------------------------------------------

EXTENSIONS = (
    ("Concept", "concept", "http://www.xes-standard.org/concept.xesext"),
    ("Time", "time", "http://www.xes-standard.org/time.xesext"),
    ("Lifecycle", "lifecycle", "http://www.xes-standard.org/lifecycle.xesext"),
    ("Organizational", "org", "http://www.xes-standard.org/org.xesext"),
    ("Identity", "identity", "http://www.xes-standard.org/identity.xesext"),
)


def _attribute(parent: ET.Element, kind: str, key: str, value: str) -> None:
    ET.SubElement(parent, kind, {"key": key, "value": value})


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def write_xes(out: IO[bytes], log: list[Trace]) -> int:
    root = ET.Element(
        "log",
        {"xes.version": "1849-2016", "xes.features": "", "xmlns": "http://www.xes-standard.org/"},
    )
    for name, prefix, uri in EXTENSIONS:
        ET.SubElement(root, "extension", {"name": name, "prefix": prefix, "uri": uri})
    for scope, keys in (("trace", ("concept:name",)), ("event", ("concept:name", "org:role"))):
        defaults = ET.SubElement(root, "global", {"scope": scope})
        for key in keys:
            _attribute(defaults, "string", key, "UNKNOWN")
    ET.SubElement(root, "classifier", {"name": "Activity", "keys": "concept:name"})
    _attribute(root, "string", "concept:name", "saksflyt")
    count = 0
    for trace in log:
        element = ET.SubElement(root, "trace")
        _attribute(element, "string", "concept:name", trace.case_id)
        _attribute(element, "string", "saksflyt:service", trace.service)
        _attribute(element, "string", "saksflyt:kommunenummer", trace.kommunenummer)
        for entry in trace.entries():
            event = ET.SubElement(element, "event")
            _attribute(event, "string", "concept:name", entry.activity)
            _attribute(event, "date", "time:timestamp", _stamp(entry.at))
            _attribute(event, "string", "lifecycle:transition", "complete")
            _attribute(event, "string", "org:role", entry.role)
            _attribute(event, "id", "identity:id", entry.event_id)
            if entry.law:
                _attribute(event, "string", "saksflyt:law", entry.law)
            count += 1
    ET.ElementTree(root).write(out, encoding="utf-8", xml_declaration=True)
    return count


# ----- OCEL 2.0 (JSON) ---------------------------------------------------------------------


def write_ocel(out: IO[bytes], log: list[Trace]) -> int:
    """Objects: the case (søknad) and its attachments (vedlegg); each event relates to its case,
    and an attachment's event to the attachment too."""
    objects: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    event_types: set[str] = set()
    for trace in log:
        objects.append(
            {
                "id": trace.case_id,
                "type": "søknad",
                "attributes": [
                    {"name": "service", "time": "1970-01-01T00:00:00Z", "value": trace.service},
                    {
                        "name": "kommunenummer",
                        "time": "1970-01-01T00:00:00Z",
                        "value": trace.kommunenummer,
                    },
                ],
                "relationships": [],
            }
        )
        for entry in trace.entries():
            event_types.add(entry.activity)
            related = [{"objectId": trace.case_id, "qualifier": "case"}]
            for kind, object_id in entry.objects:
                belongs = [{"objectId": trace.case_id, "qualifier": "belongs to"}]
                objects.append(
                    {"id": object_id, "type": kind, "attributes": [], "relationships": belongs}
                )
                related.append({"objectId": object_id, "qualifier": kind})
            events.append(
                {
                    "id": entry.event_id,
                    "type": entry.activity,
                    "time": _stamp(entry.at),
                    "attributes": [{"name": "org:role", "value": entry.role}],
                    "relationships": related,
                }
            )
    document = {
        "objectTypes": [
            {
                "name": "søknad",
                "attributes": [
                    {"name": "service", "type": "string"},
                    {"name": "kommunenummer", "type": "string"},
                ],
            },
            {"name": "vedlegg", "attributes": []},
        ],
        "eventTypes": [
            {"name": name, "attributes": [{"name": "org:role", "type": "string"}]}
            for name in sorted(event_types)
        ],
        "objects": objects,
        "events": events,
    }
    out.write(json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8"))
    return len(events)


def iter_activities(log: list[Trace]) -> Iterator[tuple[str, list[str]]]:
    """(case id, its activities in order): for tests and quick looks."""
    for trace in log:
        yield trace.case_id, [entry.activity for entry in trace.entries()]


# ----- saksflyt export eventlog -------------------------------------------------------------


def export_command(args: Any) -> int:
    """``saksflyt export eventlog``: the store's cases as XES or OCEL 2.0, to a file."""
    app = bootstrap(Settings.from_env())
    try:
        log = traces(app, args.service, args.municipality)
    finally:
        app.close()
    with open(args.out, "wb") as out:
        count = write(out, log, args.format)
    print(f"{len(log)} cases, {count} events written to {args.out} ({args.format})")
    return 0
