"""A service's process as BPMN 2.0 XML with its diagram (``/services/{code}/process.bpmn``): a
collaboration of the municipality's process (its lanes by role) with the parties outside it —
the applicant, neighbours and gjenboere, the bodies consulted, the appeal body — and the messages
between them (receipt, mangelbrev, foreløpig svar, vedtak, nabovarsel, klage, klagevedtak); timer
events for the clocks, exclusive gateways with the conditions of their ways out, and only the
steps the service has. Written from ``domain.flow``; laid out by ``saksflyt.catalogue.layout``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from importlib import metadata

from domain.flow import Chart, chart
from domain.process import Actor
from domain.services import Service
from saksflyt.catalogue.layout import LANES, Box, Layout, layout

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
for prefix, uri in (("bpmn", BPMN), ("bpmndi", BPMNDI), ("dc", DC), ("di", DI), ("xsi", XSI)):
    ET.register_namespace(prefix, uri)

TASK_TYPES = {
    Actor.APPLICANT: "userTask",
    Actor.CASE_OFFICER: "userTask",
    Actor.SAKSFLYT: "serviceTask",
    Actor.NEIGHBOUR: "receiveTask",
    Actor.CONSULTEE: "receiveTask",
    Actor.APPEAL_BODY: "receiveTask",
}
EVENT_TYPES = {
    "start": "startEvent",
    "end": "endEvent",
    "timer": "intermediateCatchEvent",
    "boundary": "boundaryEvent",
}


def _q(namespace: str, name: str) -> str:
    return f"{{{namespace}}}{name}"


def _sub(parent: ET.Element, tag: str, **attrs: str) -> ET.Element:
    return ET.SubElement(parent, _q(BPMN, tag), attrs)


def durations(service: Service) -> dict[str, str]:
    """The ISO 8601 duration of each timer, by its name, as the catalogue sets the clock."""
    return {
        "Nabofristen er ute": "P14D",
        "Tre uker uten vedtak": f"P{service.decision_days or 0}D",
        "Én måned uten vedtak": "P1M",
        "Klagefristen er ute": f"P{service.appeal_days}D",
    }


def bpmn(service: Service) -> str:
    c = chart(service)
    placed = layout(c)
    code = service.code
    root = ET.Element(
        _q(BPMN, "definitions"),
        {
            "id": f"definitions-{code}",
            "targetNamespace": "https://saksflyt.no/bpmn",
            "exporter": "saksflyt",
            "exporterVersion": metadata.version("saksflyt"),
        },
    )
    collaboration = _sub(root, "collaboration", id=f"collaboration-{code}")
    _sub(
        collaboration,
        "participant",
        id="participant-municipality",
        name=f"Kommunen: {service.name_nb}",
        processRef=f"process-{code}",
    )
    for key, name in c.parties.items():
        _sub(collaboration, "participant", id=f"participant-{key}", name=name)
    for n, message in enumerate(c.messages):
        ends = (message.task, f"participant-{message.party}")
        source, target = ends if message.outgoing else ends[::-1]
        _sub(
            collaboration,
            "messageFlow",
            id=f"message-{n}",
            name=message.name,
            sourceRef=source,
            targetRef=target,
        )
    process = _sub(
        root,
        "process",
        id=f"process-{code}",
        name=f"Saksgang: {service.name_nb}",
        isExecutable="false",
    )
    lanes = _sub(process, "laneSet", id=f"lanes-{code}")
    for actor in placed.lanes:
        lane = _sub(lanes, "lane", id=f"lane-{_slug(actor)}", name=LANES[actor])
        for node in c.nodes.values():
            if node.actor is actor:
                ET.SubElement(lane, _q(BPMN, "flowNodeRef")).text = node.id
    _nodes(process, c, service)
    for n, flow in enumerate(c.flows):
        element = _sub(
            process, "sequenceFlow", id=f"flow-{n}", sourceRef=flow.source, targetRef=flow.target
        )
        if flow.condition:
            element.set("name", flow.condition)
            condition = _sub(element, "conditionExpression")
            condition.set(_q(XSI, "type"), "bpmn:tFormalExpression")
            condition.text = flow.condition
    _diagram(root, c, placed, code)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


def _slug(actor: Actor) -> str:
    return actor.name.lower().replace("_", "-")


def _nodes(process: ET.Element, c: Chart, service: Service) -> None:
    incoming: dict[str, list[str]] = {}
    outgoing: dict[str, list[str]] = {}
    for n, flow in enumerate(c.flows):
        outgoing.setdefault(flow.source, []).append(f"flow-{n}")
        incoming.setdefault(flow.target, []).append(f"flow-{n}")
    timed = durations(service)
    for node in c.nodes.values():
        tag = TASK_TYPES[node.actor] if node.kind == "task" else EVENT_TYPES.get(node.kind, "")
        if node.kind == "xor":
            tag = "exclusiveGateway"
        element = _sub(process, tag, id=node.id, name=node.name)
        if node.law:
            ET.SubElement(element, _q(BPMN, "documentation")).text = node.law
        for flow_id in incoming.get(node.id, []):
            ET.SubElement(element, _q(BPMN, "incoming")).text = flow_id
        for flow_id in outgoing.get(node.id, []):
            ET.SubElement(element, _q(BPMN, "outgoing")).text = flow_id
        if node.kind == "xor":
            many_in = len(incoming.get(node.id, [])) > 1
            element.set("gatewayDirection", "Converging" if many_in else "Diverging")
        if node.kind == "boundary":
            element.set("attachedToRef", node.attached_to or "")
            element.set("cancelActivity", "false")
        if node.kind in ("timer", "boundary"):
            definition = _sub(element, "timerEventDefinition", id=f"{node.id}-timer")
            duration = _sub(definition, "timeDuration")
            duration.set(_q(XSI, "type"), "bpmn:tFormalExpression")
            duration.text = timed.get(node.name, node.name)


def _bounds(parent: ET.Element, box: Box) -> None:
    ET.SubElement(
        parent,
        _q(DC, "Bounds"),
        {
            "x": f"{box.x:.0f}",
            "y": f"{box.y:.0f}",
            "width": f"{box.w:.0f}",
            "height": f"{box.h:.0f}",
        },
    )


def _shape(plane: ET.Element, element: str, box: Box, horizontal: bool = False) -> None:
    shape = ET.SubElement(
        plane, _q(BPMNDI, "BPMNShape"), {"id": f"shape-{element}", "bpmnElement": element}
    )
    if horizontal:
        shape.set("isHorizontal", "true")
    _bounds(shape, box)


def _edge(plane: ET.Element, element: str, points: list[tuple[float, float]]) -> None:
    edge = ET.SubElement(
        plane, _q(BPMNDI, "BPMNEdge"), {"id": f"edge-{element}", "bpmnElement": element}
    )
    for x, y in points:
        ET.SubElement(edge, _q(DI, "waypoint"), {"x": f"{x:.0f}", "y": f"{y:.0f}"})


def _diagram(root: ET.Element, c: Chart, placed: Layout, code: str) -> None:
    diagram = ET.SubElement(root, _q(BPMNDI, "BPMNDiagram"), {"id": f"diagram-{code}"})
    plane = ET.SubElement(
        diagram,
        _q(BPMNDI, "BPMNPlane"),
        {"id": f"plane-{code}", "bpmnElement": f"collaboration-{code}"},
    )
    _shape(plane, "participant-municipality", placed.pool, horizontal=True)
    for key, box in placed.parties.items():
        _shape(plane, f"participant-{key}", box, horizontal=True)
    for actor, box in placed.lanes.items():
        _shape(plane, f"lane-{_slug(actor)}", box, horizontal=True)
    for node_id, box in placed.shapes.items():
        _shape(plane, node_id, box)
    for n, points in enumerate(placed.routes):
        _edge(plane, f"flow-{n}", points)
    for n, points in enumerate(placed.messages):
        _edge(plane, f"message-{n}", points)
