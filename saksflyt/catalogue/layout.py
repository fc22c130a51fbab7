"""Where each shape of a service's process chart goes: pools stacked (the parties outside above
and below the municipality's), lanes by role, columns by the longest forward path from the start,
and shapes that share a lane and a column stacked in rows — computed, never drawn by hand, so a
changed rule moves the picture. Sequence flows run right and bend at right angles; a flow back
to an earlier column runs below its shapes; messages run straight up or down to their pool.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from domain.flow import Chart, Node
from domain.process import Actor

LANES = {  # the lanes of the municipality's pool, top to bottom, by role
    Actor.APPLICANT: "Søker (selvbetjening)",
    Actor.SAKSFLYT: "Saksflyt (system og frister)",
    Actor.CASE_OFFICER: "Saksbehandler",
    Actor.NEIGHBOUR: "Merknader fra naboer",
    Actor.CONSULTEE: "Uttalelser",
    Actor.APPEAL_BODY: "Klageinstansens avgjørelse",
}
ABOVE = ("applicant", "neighbours", "consulted")  # outside parties' pools over the municipality's
SIZES = {"task": (120, 64), "xor": (50, 50), "timer": (36, 36), "start": (36, 36), "end": (36, 36)}
BOUNDARY = 30
COLUMN, ROW = 170, 112
POOL_HEAD, LANE_HEAD, MARGIN, PARTY_H, LANE_PAD = 30, 30, 40, 70, 30


@dataclass(frozen=True)
class Box:
    x: float  # left
    y: float  # top
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    def overlaps(self, other: Box) -> bool:
        return (
            self.x < other.x + other.w
            and other.x < self.x + self.w
            and self.y < other.y + other.h
            and other.y < self.y + self.h
        )


@dataclass
class Layout:
    chart: Chart
    shapes: dict[str, Box] = field(default_factory=dict)  # node id -> box
    lanes: dict[Actor, Box] = field(default_factory=dict)
    pool: Box = Box(0, 0, 0, 0)
    parties: dict[str, Box] = field(default_factory=dict)  # party key -> its pool
    routes: list[list[tuple[float, float]]] = field(default_factory=list)  # per chart.flows
    messages: list[list[tuple[float, float]]] = field(default_factory=list)  # per chart.messages

    @property
    def width(self) -> float:
        return self.pool.x + self.pool.w + MARGIN

    @property
    def height(self) -> float:
        bottoms = [b.y + b.h for b in (self.pool, *self.parties.values())]
        return max(bottoms) + MARGIN


def columns(chart: Chart) -> dict[str, int]:
    """Longest forward path from the start; a flow back to a node on the current path (a loop)
    does not count."""
    outgoing: dict[str, list[str]] = {}
    for flow in chart.flows:
        outgoing.setdefault(flow.source, []).append(flow.target)
    start = next(n.id for n in chart.nodes.values() if n.kind == "start")
    back: set[tuple[str, str]] = set()
    state: dict[str, int] = {}  # 1 on the path, 2 done

    def visit(node: str) -> None:
        state[node] = 1
        for target in outgoing.get(node, []):
            if state.get(target) == 1:
                back.add((node, target))
            elif target not in state:
                visit(target)
        state[node] = 2

    visit(start)
    for node in chart.nodes:  # what the start does not reach (a withdrawal's gateway first)
        if node not in state and chart.nodes[node].kind != "boundary":
            visit(node)
    column = dict.fromkeys((n for n in chart.nodes if chart.nodes[n].kind != "boundary"), 0)
    forward = [(f.source, f.target) for f in chart.flows if (f.source, f.target) not in back]
    for _ in range(len(column)):
        changed = False
        for source, target in forward:
            if column[target] < column[source] + 1:
                column[target] = column[source] + 1
                changed = True
        if not changed:
            break
    return column


def layout(chart: Chart) -> Layout:
    placed = Layout(chart)
    column = columns(chart)
    used = [a for a in LANES if any(n.actor is a for n in chart.nodes.values())]
    cells: dict[tuple[Actor, int], list[Node]] = {}
    for node_id, col in column.items():
        node = chart.nodes[node_id]
        cells.setdefault((node.actor, col), []).append(node)
    above = [p for p in ABOVE if p in chart.parties]
    below = [p for p in chart.parties if p not in above]
    left = MARGIN + POOL_HEAD + LANE_HEAD
    width = (max(column.values()) + 1) * COLUMN + 2 * LANE_PAD
    y = MARGIN
    for party in above:
        placed.parties[party] = Box(MARGIN, y, POOL_HEAD + LANE_HEAD + width, PARTY_H)
        y += PARTY_H + 40
    top = y
    for actor in used:
        rows = max(len(nodes) for (a, _), nodes in cells.items() if a is actor)
        height = rows * ROW + 2 * LANE_PAD
        placed.lanes[actor] = Box(MARGIN + POOL_HEAD, y, LANE_HEAD + width, height)
        for (a, col), nodes in cells.items():
            if a is not actor:
                continue
            for row, node in enumerate(nodes):
                w, h = SIZES[node.kind]
                cx = left + LANE_PAD + col * COLUMN + COLUMN / 2
                cy = y + LANE_PAD + row * ROW + ROW / 2
                placed.shapes[node.id] = Box(cx - w / 2, cy - h / 2, w, h)
        y += height
    placed.pool = Box(MARGIN, top, POOL_HEAD + LANE_HEAD + width, y - top)
    y += 40
    for party in below:
        placed.parties[party] = Box(MARGIN, y, POOL_HEAD + LANE_HEAD + width, PARTY_H)
        y += PARTY_H + 40
    for node in chart.nodes.values():  # a boundary timer sits on its task's lower edge
        if node.kind == "boundary" and node.attached_to:
            task = placed.shapes[node.attached_to]
            placed.shapes[node.id] = Box(
                task.x + task.w - BOUNDARY - 4, task.y + task.h - BOUNDARY / 2, BOUNDARY, BOUNDARY
            )
    placed.routes = [_route(placed, f.source, f.target, n) for n, f in enumerate(chart.flows)]
    placed.messages = [
        _message(placed, m.task, m.party, m.outgoing, n) for n, m in enumerate(chart.messages)
    ]
    return placed


def _route(placed: Layout, source: str, target: str, n: int) -> list[tuple[float, float]]:
    a, b = placed.shapes[source], placed.shapes[target]
    if b.cx > a.cx:  # forward: out on the right, in on the left, bending half-way
        mid = a.x + a.w + (b.x - a.x - a.w) / 2
        if abs(a.cy - b.cy) < 1:
            return [(a.x + a.w, a.cy), (b.x, b.cy)]
        return [(a.x + a.w, a.cy), (mid, a.cy), (mid, b.cy), (b.x, b.cy)]
    channel = max(a.y + a.h, b.y + b.h) + 12 + (n % 4) * 4  # back: under both shapes
    return [(a.cx, a.y + a.h), (a.cx, channel), (b.cx, channel), (b.cx, b.y + b.h)]


def _message(
    placed: Layout, task: str, party: str, outgoing: bool, n: int
) -> list[tuple[float, float]]:
    box, pool = placed.shapes[task], placed.parties[party]
    x = box.cx + ((n % 3) - 1) * 14  # a task's messages side by side
    up = pool.y < box.y
    points = [(x, box.y), (x, pool.y + pool.h)] if up else [(x, box.y + box.h), (x, pool.y)]
    return points if outgoing else points[::-1]


def overlapping(placed: Layout) -> list[tuple[str, str]]:
    """Pairs of shapes that overlap (a boundary timer sits on its own task by design)."""
    boxes = sorted(placed.shapes.items())
    found = []
    for i, (a, box_a) in enumerate(boxes):
        for b, box_b in boxes[i + 1 :]:
            attached = {placed.chart.nodes[a].attached_to, placed.chart.nodes[b].attached_to}
            if box_a.overlaps(box_b) and a not in attached and b not in attached:
                found.append((a, b))
    return found
