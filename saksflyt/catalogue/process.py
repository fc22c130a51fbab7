"""A service's process model, drawn from the domain's own step table (``domain.process``): an SVG
diagram (``/services/{code}/process.svg``) and a BPMN 2.0 document with its diagram interchange
(``/services/{code}/process.bpmn``) that a BPMN modeller such as bpmn.io opens.

Statuses a case of the service can reach are nodes (exclusive gateways in BPMN; archived and
shredded are end events); each step that moves a case is a task between them, marked by who takes
it. Steps that leave the case where it is are listed on their status, with its clocks. The layout
is computed, not drawn: columns by the longest forward path from the start, one row per kind of
status, tasks before their target and nudged apart where they would overlap.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field, replace
from importlib import metadata

from domain.lifecycle import Status
from domain.process import Actor, Step, reachable, steps_for
from domain.services import Service

LABELS = {
    Status.DRAFT: "Utkast",
    Status.SUBMITTED: "Innsendt",
    Status.AWAITING_DOCUMENTS: "Venter på dokumentasjon",
    Status.DECIDED: "Vedtak fattet",
    Status.APPEALED: "Klage",
    Status.WITHDRAWN: "Trukket",
    Status.ARCHIVED: "Arkivert",
    Status.SHREDDED: "Kassert",
}
ROWS = {  # where a status sits: the main road in the middle, waiting above, endings below
    Status.DRAFT: 1,
    Status.SUBMITTED: 1,
    Status.AWAITING_DOCUMENTS: 0,
    Status.DECIDED: 1,
    Status.APPEALED: 0,
    Status.WITHDRAWN: 2,
    Status.ARCHIVED: 1,
    Status.SHREDDED: 2,
}
ENDS = (Status.ARCHIVED, Status.SHREDDED)
COLOURS = {
    Actor.APPLICANT: "#dbeafe",
    Actor.CASE_OFFICER: "#fef3c7",
    Actor.NEIGHBOUR: "#dcfce7",
    Actor.APPEAL_BODY: "#fce7f3",
    Actor.CONSULTEE: "#ede9fe",
    Actor.SAKSFLYT: "#e5e7eb",
}
TASK_TYPES = {
    Actor.APPLICANT: "receiveTask",
    Actor.CASE_OFFICER: "userTask",
    Actor.NEIGHBOUR: "receiveTask",
    Actor.APPEAL_BODY: "receiveTask",
    Actor.CONSULTEE: "receiveTask",
    Actor.SAKSFLYT: "serviceTask",
}
COLUMN, ROW = 370, 170
STATE_W, STATE_H, TASK_W, TASK_H = 210, 74, 136, 50
MARGIN = 60


@dataclass
class Box:
    id: str
    x: float  # centre
    y: float
    w: float
    h: float

    def overlaps(self, other: Box, gap: float = 12) -> bool:
        return (
            abs(self.x - other.x) < (self.w + other.w) / 2 + gap
            and abs(self.y - other.y) < (self.h + other.h) / 2 + gap
        )

    def edge_towards(self, x: float, y: float) -> tuple[float, float]:
        """Where a line from the centre towards (x, y) leaves the box."""
        dx, dy = x - self.x, y - self.y
        if dx == 0 and dy == 0:
            return self.x, self.y
        scale = min(
            (self.w / 2) / abs(dx) if dx else float("inf"),
            (self.h / 2) / abs(dy) if dy else float("inf"),
        )
        return round(self.x + dx * scale, 1), round(self.y + dy * scale, 1)


@dataclass
class Task:
    step: Step
    box: Box


@dataclass
class Model:
    service: Service
    states: dict[Status, Box]
    tasks: list[Task]
    start: Box
    stays: dict[Status, list[Step]] = field(default_factory=dict)
    clocks: dict[Status, list[str]] = field(default_factory=dict)

    def flows(self) -> list[tuple[str, Box, Box]]:
        """(id, from, to) for every arrow: the start into its task, statuses into tasks, tasks
        into their target."""
        arrows = []
        for task in self.tasks:
            sources = [self.states[s] for s in task.step.sources] or [self.start]
            for source in sources:
                arrows.append((f"{source.id}-{task.box.id}", source, task.box))
            assert task.step.target is not None
            target = self.states[task.step.target]
            arrows.append((f"{task.box.id}-{target.id}", task.box, target))
        return arrows


def model(service: Service) -> Model:
    steps = steps_for(service)
    statuses = reachable(steps)
    moves = _moves(steps, statuses)
    columns = _columns(statuses, moves)
    states = {
        status: Box(
            status.value,
            MARGIN + STATE_W / 2 + (columns[status] + 1) * COLUMN,
            MARGIN + STATE_H / 2 + ROWS[status] * ROW,
            STATE_W,
            STATE_H,
        )
        for status in statuses
    }
    start = Box("start", MARGIN + 18, states[Status.DRAFT].y, 36, 36)
    placed = [*states.values(), start]
    tasks = []
    for number, step in enumerate(moves, start=1):
        box = _task_box(f"step-{number}", step, states, start)
        while any(box.overlaps(other) for other in placed):
            box.y += TASK_H / 2 + 8
        placed.append(box)
        tasks.append(Task(step, box))
    stays = {
        status: [
            s
            for s in steps
            if s.target is None and status in s.sources and s.actor is not Actor.SAKSFLYT
        ]
        for status in statuses
    }
    return Model(service, states, tasks, start, stays, _clocks(service, statuses))


def _moves(steps: list[Step], statuses: list[Status]) -> list[Step]:
    """The steps that move a case, from the statuses this service's cases reach; entries of one
    step to one place (e.g. archiving, for some services also from submitted) drawn as one."""
    merged: dict[tuple[str, str, Status | None], Step] = {}
    for step in steps:
        if step.target is None:
            continue
        key = (step.name, step.label_nb, step.target)
        sources = {*step.sources, *(merged[key].sources if key in merged else ())}
        reached = tuple(s for s in statuses if s in sources)
        if reached or not step.sources:
            merged[key] = replace(step, sources=reached)
    return list(merged.values())


def _columns(statuses: list[Status], moves: list[Step]) -> dict[Status, int]:
    """Longest path from the start over forward moves (towards a later status in ``Status``)."""
    order = list(Status)
    columns = dict.fromkeys(statuses, 0)
    for _ in statuses:  # relax as often as there are statuses: the forward graph has no cycles
        for step in moves:
            assert step.target is not None
            for source in step.sources:
                if source in columns and order.index(step.target) > order.index(source):
                    columns[step.target] = max(columns[step.target], columns[source] + 1)
    return columns


def _task_box(name: str, step: Step, states: dict[Status, Box], start: Box) -> Box:
    assert step.target is not None
    target = states[step.target]
    sources = [states[s] for s in step.sources] or [start]
    backwards = all(s.x > target.x for s in sources)
    if backwards:  # between the two, a little above the straight line
        x = (sources[0].x + target.x) / 2
        y = (sources[0].y + target.y) / 2
    else:  # just before its target, on the target's row
        x, y = target.x - COLUMN / 2, target.y
        if not step.sources:
            x = (start.x + target.x - STATE_W / 2) / 2
    return Box(name, x, y, TASK_W, TASK_H)


def _clocks(service: Service, statuses: list[Status]) -> dict[Status, list[str]]:
    """The clocks that run in each status, in words, as the catalogue has them."""
    clocks: dict[Status, list[str]] = {status: [] for status in statuses}
    if service.neighbour_notice:
        clocks[Status.DRAFT].append("nabovarsel: 14 dager (pbl § 21-3)")
    if service.individual_decision and Status.SUBMITTED in clocks:
        kind = "lovfestet" if service.decision_days_statutory else "praksis"
        if service.decision_days:
            clocks[Status.SUBMITTED].append(f"vedtak innen {service.decision_days} dager ({kind})")
        if service.objection_decision_days:
            clocks[Status.SUBMITTED].append(
                f"{service.objection_decision_days} dager ved dispensasjon/samtykke"
            )
        if service.consultations:
            heard = ", ".join(service.consultations)
            clocks[Status.SUBMITTED].append(f"uttalelse fra {heard} først")
        if service.decision_before:
            clocks[Status.SUBMITTED].append(f"og før {service.decision_before}")
        if service.urgent_decision_days:
            clocks[Status.SUBMITTED].append(f"hastesak: {service.urgent_decision_days} dager")
    if not service.individual_decision and Status.SUBMITTED in clocks:
        clocks[Status.SUBMITTED].append("registreres og kvitteres; ikke vedtak")
    if Status.AWAITING_DOCUMENTS in clocks:
        clocks[Status.AWAITING_DOCUMENTS].append("fristen står stille")
    if Status.DECIDED in clocks:
        clocks[Status.DECIDED].append(f"klagefrist {service.appeal_days} dager fra mottak")
        if service.survey_days:
            clocks[Status.DECIDED].append(f"oppmåling innen {service.survey_days} dager")
    if Status.APPEALED in clocks:
        clocks[Status.APPEALED].append(f"forberedes innen {service.appeal_review_days} dager")
    return clocks


# ----- SVG -----------------------------------------------------------------------------------

SVG = "http://www.w3.org/2000/svg"


def _el(parent: ET.Element, tag: str, text: str | None = None, /, **attrs: object) -> ET.Element:
    """An SVG element; ``font_size=12`` becomes ``font-size="12"``, ``class_`` ``class``."""
    element = ET.SubElement(
        parent, tag, {k.rstrip("_").replace("_", "-"): str(v) for k, v in attrs.items()}
    )
    element.text = text
    return element


def svg(service: Service) -> str:
    m = model(service)
    boxes = [*m.states.values(), *(t.box for t in m.tasks), m.start]
    width = int(max(b.x + b.w / 2 for b in boxes) + MARGIN)
    height = int(max(b.y + b.h / 2 for b in boxes) + MARGIN + 40)
    root = ET.Element("svg", {"xmlns": SVG, "viewBox": f"0 0 {width} {height}"})
    for name, value in (("width", width), ("height", height), ("role", "img")):
        root.set(name, str(value))
    root.set("font-family", "Source Sans Pro, Helvetica, Arial, sans-serif")
    root.set("font-size", "13")
    _el(root, "title", f"Saksgang: {service.name_nb} ({service.code})")
    marker = _el(_el(root, "defs"), "marker", id="arrow", viewBox="0 0 10 10", refX=10, refY=5)
    for name, value in (("markerWidth", 8), ("markerHeight", 8), ("orient", "auto")):
        marker.set(name, str(value))
    _el(marker, "path", d="M 0 0 L 10 5 L 0 10 z", fill="#374151")
    for flow_id, source, target in m.flows():
        (x1, y1), (x2, y2) = (
            source.edge_towards(target.x, target.y),
            target.edge_towards(source.x, source.y),
        )
        _el(root, "line", x1=x1, y1=y1, x2=x2, y2=y2, stroke="#374151", data_flow=flow_id)
        root[-1].set("marker-end", "url(#arrow)")
    _el(root, "circle", cx=m.start.x, cy=m.start.y, r=18, fill="#fff", stroke="#111")
    for status, box in m.states.items():
        _svg_state(root, status, box, m)
    for task in m.tasks:
        _svg_task(root, task)
    _svg_legend(root, height - 30)
    return ET.tostring(root, encoding="unicode")


def _rect(parent: ET.Element, box: Box, **attrs: object) -> None:
    _el(
        parent, "rect", x=box.x - box.w / 2, y=box.y - box.h / 2, width=box.w, height=box.h, **attrs
    )


def _svg_state(root: ET.Element, status: Status, box: Box, m: Model) -> None:
    group = _el(root, "g", class_="status", data_status=status.value)
    also = ", ".join(s.label_nb.lower() for s in m.stays[status])
    _el(group, "title", f"{LABELS[status]}. Også: {also}" if also else LABELS[status])
    weight = 3 if status in ENDS else 1.5
    _rect(group, box, rx=12, fill="#fff", stroke="#111", stroke_width=weight)
    lines = [LABELS[status], *m.clocks[status]]
    for n, line in enumerate(lines):
        y = box.y - 8 * (len(lines) - 1) + 16 * n + 4
        _el(
            group,
            "text",
            line,
            x=box.x,
            y=y,
            text_anchor="middle",
            font_weight=600 if n == 0 else 400,
        )
        if n:
            group[-1].set("font-size", "11")


def _svg_task(root: ET.Element, task: Task) -> None:
    box, step = task.box, task.step
    group = _el(root, "g", class_="step", data_step=step.name, data_actor=step.actor.value)
    _el(group, "title", f"{step.label_nb} ({step.actor.value}) {step.law}".strip())
    _rect(group, box, rx=6, fill=COLOURS[step.actor], stroke="#6b7280")
    lines = _wrap(step.label_nb, 18)
    for n, line in enumerate(lines):
        y = box.y - 7 * (len(lines) - 1) + 14 * n + 4
        _el(group, "text", line, x=box.x, y=y, text_anchor="middle", font_size=12)


def _svg_legend(root: ET.Element, y: float) -> None:
    for n, (actor, colour) in enumerate(COLOURS.items()):
        x = MARGIN + 130 * n
        _el(root, "rect", x=x, y=y, width=14, height=14, fill=colour, stroke="#6b7280")
        _el(root, "text", actor.value, x=x + 20, y=y + 12)


def _wrap(text: str, width: int) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


# ----- BPMN 2.0 ------------------------------------------------------------------------------

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
for prefix, uri in (("bpmn", BPMN), ("bpmndi", BPMNDI), ("dc", DC), ("di", DI)):
    ET.register_namespace(prefix, uri)


def _q(namespace: str, name: str) -> str:
    return f"{{{namespace}}}{name}"


def bpmn(service: Service) -> str:
    """The process as BPMN 2.0 XML: semantics (start event, a gateway per status, a task per
    step, end events) and diagram interchange with the layout of the SVG."""
    m = model(service)
    process_id = f"saksgang-{service.code}"
    root = ET.Element(
        _q(BPMN, "definitions"),
        {
            "id": f"definitions-{service.code}",
            "targetNamespace": "https://saksflyt.no/bpmn",
            "exporter": "saksflyt",
            "exporterVersion": metadata.version("saksflyt"),
        },
    )
    process = ET.SubElement(
        root,
        _q(BPMN, "process"),
        {"id": process_id, "name": f"Saksgang: {service.name_nb}", "isExecutable": "false"},
    )
    flows = m.flows()
    element_ids = _bpmn_nodes(process, m, flows)
    for flow_id, source, target in flows:
        ET.SubElement(
            process,
            _q(BPMN, "sequenceFlow"),
            {
                "id": f"flow-{flow_id}",
                "sourceRef": element_ids[source.id],
                "targetRef": element_ids[target.id],
            },
        )
    _bpmn_diagram(root, process_id, m, flows, element_ids)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


def _bpmn_nodes(process: ET.Element, m: Model, flows: list[tuple[str, Box, Box]]) -> dict[str, str]:
    ids = {m.start.id: "start"}
    ids |= {box.id: f"status-{status.value}" for status, box in m.states.items()}
    ids |= {task.box.id: task.box.id for task in m.tasks}
    nodes: list[tuple[str, str, str, str]] = [("startEvent", "start", "Søknad påbegynt", "")]
    for status, box in m.states.items():
        kind = "endEvent" if status in ENDS else "exclusiveGateway"
        clocks = "; ".join(m.clocks[status])
        also = ", ".join(s.label_nb.lower() for s in m.stays[status])
        notes = "; ".join(x for x in (clocks, f"også: {also}" if also else "") if x)
        name = LABELS[status] + (f" ({clocks})" if clocks else "")
        nodes.append((kind, ids[box.id], name, notes))
    for task in m.tasks:
        step = task.step
        notes = f"{step.actor.value}; steg «{step.name}»" + (f"; {step.law}" if step.law else "")
        nodes.append((TASK_TYPES[step.actor], task.box.id, step.label_nb, notes))
    for kind, node_id, name, notes in nodes:
        node = ET.SubElement(process, _q(BPMN, kind), {"id": node_id, "name": name})
        if notes:
            ET.SubElement(node, _q(BPMN, "documentation")).text = notes
        for direction, end in (("incoming", 2), ("outgoing", 1)):
            for flow in flows:
                if ids[flow[end].id] == node_id:  # type: ignore[union-attr]
                    ET.SubElement(node, _q(BPMN, direction)).text = f"flow-{flow[0]}"
    return ids


def _bpmn_diagram(
    root: ET.Element,
    process_id: str,
    m: Model,
    flows: list[tuple[str, Box, Box]],
    ids: dict[str, str],
) -> None:
    diagram = ET.SubElement(root, _q(BPMNDI, "BPMNDiagram"), {"id": f"diagram-{process_id}"})
    plane = ET.SubElement(
        diagram, _q(BPMNDI, "BPMNPlane"), {"id": f"plane-{process_id}", "bpmnElement": process_id}
    )
    shapes = [m.start, *(t.box for t in m.tasks)]
    for status, box in m.states.items():  # gateways and end events keep BPMN's own sizes
        size = 36 if status in ENDS else 50
        shapes.append(Box(box.id, box.x, box.y, size, size))
    for box in shapes:
        shape = ET.SubElement(
            plane,
            _q(BPMNDI, "BPMNShape"),
            {"id": f"shape-{ids[box.id]}", "bpmnElement": ids[box.id]},
        )
        _bounds(shape, box)
        if box.id in {b.id for b in m.states.values()} or box is m.start:
            label = ET.SubElement(shape, _q(BPMNDI, "BPMNLabel"))
            _bounds(label, Box(box.id, box.x, box.y + box.h / 2 + 24, STATE_W, 40))
    sized = {b.id: b for b in shapes}
    for flow_id, source, target in flows:
        edge = ET.SubElement(
            plane,
            _q(BPMNDI, "BPMNEdge"),
            {"id": f"edge-{flow_id}", "bpmnElement": f"flow-{flow_id}"},
        )
        a, b = sized[source.id], sized[target.id]
        for x, y in (a.edge_towards(b.x, b.y), b.edge_towards(a.x, a.y)):
            ET.SubElement(edge, _q(DI, "waypoint"), {"x": str(x), "y": str(y)})


def _bounds(parent: ET.Element, box: Box) -> None:
    ET.SubElement(
        parent,
        _q(DC, "Bounds"),
        {
            "x": str(round(box.x - box.w / 2, 1)),
            "y": str(round(box.y - box.h / 2, 1)),
            "width": str(box.w),
            "height": str(box.h),
        },
    )
