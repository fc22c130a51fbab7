"""A service's published process model: BPMN 2.0 (``/services/{code}/process.bpmn``, written by
``saksflyt.catalogue.bpmn``) and an SVG of the same chart and layout (``process.svg``) — pools and
lanes, tasks coloured by the role that takes them, gateways with their conditions, timers for the
clocks, letters as dashed messages — both drawn from ``domain.flow``, so a changed rule changes
the picture.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from domain.flow import Chart, Node, chart
from domain.process import Actor
from domain.services import Service
from saksflyt.catalogue.bpmn import bpmn
from saksflyt.catalogue.layout import LANES, Box, Layout, layout

__all__ = ["bpmn", "chart", "svg"]

SVG = "http://www.w3.org/2000/svg"
COLOURS = {
    Actor.APPLICANT: "#dbeafe",
    Actor.CASE_OFFICER: "#fef3c7",
    Actor.NEIGHBOUR: "#dcfce7",
    Actor.APPEAL_BODY: "#fce7f3",
    Actor.CONSULTEE: "#ede9fe",
    Actor.SAKSFLYT: "#e5e7eb",
}


def _el(parent: ET.Element, tag: str, text: str | None = None, /, **attrs: object) -> ET.Element:
    """An SVG element; ``font_size=12`` becomes ``font-size="12"``, ``class_`` ``class``."""
    element = ET.SubElement(
        parent, tag, {k.rstrip("_").replace("_", "-"): str(v) for k, v in attrs.items()}
    )
    element.text = text
    return element


def svg(service: Service) -> str:
    c = chart(service)
    placed = layout(c)
    root = ET.Element(
        "svg",
        {
            "xmlns": SVG,
            "viewBox": f"0 0 {placed.width:.0f} {placed.height:.0f}",
            "width": f"{placed.width:.0f}",
            "height": f"{placed.height:.0f}",
            "role": "img",
            "font-family": "Source Sans Pro, Helvetica, Arial, sans-serif",
            "font-size": "12",
        },
    )
    _el(root, "title", f"Saksgang: {service.name_nb} ({service.code})")
    defs = _el(root, "defs")
    for name, colour in (("arrow", "#374151"), ("open", "#6b7280")):
        marker = _el(defs, "marker", id=name, viewBox="0 0 10 10", refX=10, refY=5)
        for key, value in (("markerWidth", 8), ("markerHeight", 8), ("orient", "auto")):
            marker.set(key, str(value))
        fill = colour if name == "arrow" else "#fff"
        _el(marker, "path", d="M 0 0 L 10 5 L 0 10 z", fill=fill, stroke=colour)
    _pools(root, c, placed, service)
    for flow, points in zip(c.flows, placed.routes, strict=True):
        _line(root, points, "#374151", "arrow", data_flow=f"{flow.source}-{flow.target}")
        if flow.condition:
            x, y = points[1] if len(points) > 2 else points[0]
            _el(root, "text", flow.condition, x=x + 4, y=y - 4, font_size=10, fill="#4b5563")
    for message, points in zip(c.messages, placed.messages, strict=True):
        _line(root, points, "#6b7280", "open", stroke_dasharray="6 4", data_message=message.name)
    for node_id, box in placed.shapes.items():
        _node(root, c.nodes[node_id], box)
    return ET.tostring(root, encoding="unicode")


def _rect(parent: ET.Element, box: Box, **attrs: object) -> ET.Element:
    size = {"width": f"{box.w:.0f}", "height": f"{box.h:.0f}"}
    return _el(parent, "rect", x=f"{box.x:.0f}", y=f"{box.y:.0f}", **size, **attrs)


def _pools(root: ET.Element, c: Chart, placed: Layout, service: Service) -> None:
    _rect(root, placed.pool, fill="#fff", stroke="#111")
    _vertical(root, f"Kommunen: {service.name_nb}", placed.pool, 15)
    for actor, box in placed.lanes.items():
        group = _el(root, "g", class_="lane", data_lane=actor.value)
        _rect(group, box, fill="none", stroke="#9ca3af")
        _vertical(group, LANES[actor], box, 15)
    for key, box in placed.parties.items():
        group = _el(root, "g", class_="pool", data_party=key)
        _rect(group, box, fill="#f9fafb", stroke="#111")
        where = {"x": f"{box.cx:.0f}", "y": f"{box.cy + 4:.0f}"}
        _el(group, "text", c.parties[key], **where, text_anchor="middle", font_weight=600)


def _vertical(parent: ET.Element, text: str, box: Box, inset: float) -> None:
    x, y = box.x + inset, box.cy
    turn = f"rotate(-90 {x:.0f} {y:.0f})"
    where = {"x": f"{x:.0f}", "y": f"{y:.0f}"}
    _el(parent, "text", text, **where, text_anchor="middle", transform=turn, font_weight=600)


def _line(
    root: ET.Element, points: list[tuple[float, float]], colour: str, marker: str, **attrs: object
) -> None:
    path = " ".join(f"{x:.0f},{y:.0f}" for x, y in points)
    line = _el(root, "polyline", points=path, fill="none", stroke=colour, **attrs)
    line.set("marker-end", f"url(#{marker})")


def _node(root: ET.Element, node: Node, box: Box) -> None:
    group = _el(root, "g", class_=node.kind, data_node=node.id, data_actor=node.actor.value)
    _el(group, "title", f"{node.name} ({node.actor.value}) {node.law}".strip())
    if node.kind == "task":
        _rect(group, box, rx=8, fill=COLOURS[node.actor], stroke="#6b7280")
        lines = _wrap(node.name, 17)
        for n, line in enumerate(lines):
            y = box.cy - 7 * (len(lines) - 1) + 14 * n + 4
            _el(group, "text", line, x=f"{box.cx:.0f}", y=f"{y:.0f}", text_anchor="middle")
        return
    if node.kind == "xor":
        cx, cy, r = box.cx, box.cy, box.w / 2
        diamond = f"{cx:.0f},{cy - r:.0f} {cx + r:.0f},{cy:.0f} {cx:.0f},{cy + r:.0f} {cx - r:.0f},{cy:.0f}"
        _el(group, "polygon", points=diamond, fill="#fff", stroke="#111")
        _el(
            group, "text", "×", x=f"{cx:.0f}", y=f"{cy + 6:.0f}", text_anchor="middle", font_size=18
        )
    else:
        width = {"end": 3, "start": 1.5}.get(node.kind, 1.5)
        _circle(group, box, box.w / 2, fill="#fff", stroke_width=width)
        if node.kind in ("timer", "boundary"):
            dashes = "2 2" if node.kind == "boundary" else "none"
            _circle(group, box, box.w / 2 - 4, fill="none", stroke_dasharray=dashes)
    for n, line in enumerate(_wrap(node.name, 22)):
        y = box.y + box.h + 14 + 13 * n
        _el(group, "text", line, x=f"{box.cx:.0f}", y=f"{y:.0f}", text_anchor="middle")
        group[-1].set("font-size", "11")


def _circle(parent: ET.Element, box: Box, r: float, **attrs: object) -> None:
    _el(
        parent,
        "circle",
        cx=f"{box.cx:.0f}",
        cy=f"{box.cy:.0f}",
        r=f"{r:.0f}",
        stroke="#111",
        **attrs,
    )


def _wrap(text: str, width: int) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines
