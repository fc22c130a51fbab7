"""``/dashboard``: one self-contained HTML page with charts drawn as inline SVG on the server.

No scripts, no CDN: the numbers come straight from the read models, and every bar and point carries
its value in a ``data-value`` attribute so a browser test can check what is drawn.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from html import escape
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from projections import queries
from saksflyt.access.policy import Permission as P
from saksflyt.access.policy import Principal
from saksflyt.http import models as m
from saksflyt.http.auth import permit, scope_of
from saksflyt.http.services import services

router = APIRouter(responses=m.problem_responses(401, 403, 422))
WIDTH, BAR_HEIGHT, LABEL_WIDTH = 560, 22, 210


def bar_chart(chart_id: str, values: dict[str, float], unit: str) -> str:
    if not values:
        return f'<p class="empty" id="{chart_id}">Nothing yet.</p>'
    top = max(values.values()) or 1
    rows = []
    for i, (label, value) in enumerate(sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))):
        y = i * (BAR_HEIGHT + 6)
        width = (WIDTH - LABEL_WIDTH - 60) * value / top
        rows.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{y + 16}" text-anchor="end">{escape(label)}</text>'
            f'<rect class="bar" x="{LABEL_WIDTH}" y="{y}" width="{width:.1f}" height="{BAR_HEIGHT}"'
            f' data-label="{escape(label)}" data-value="{value:g}"><title>{escape(label)}: '
            f"{value:g} {unit}</title></rect>"
            f'<text x="{LABEL_WIDTH + width + 6:.1f}" y="{y + 16}">{value:g}</text>'
        )
    height = len(values) * (BAR_HEIGHT + 6)
    return (
        f'<svg id="{chart_id}" role="img" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" '
        f'height="{height}">{"".join(rows)}</svg>'
    )


def line_chart(chart_id: str, points: list[tuple[date, float]]) -> str:
    if not points:
        return f'<p class="empty" id="{chart_id}">No decisions yet.</p>'
    height, pad = 220, 40
    top = max(v for _, v in points) or 1
    step = (WIDTH - 2 * pad) / max(len(points) - 1, 1)
    xy = [
        (pad + i * step, height - pad - (height - 2 * pad) * v / top)
        for i, (_, v) in enumerate(points)
    ]
    dots = "".join(
        f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="4" data-week="{week}" '
        f'data-value="{value:.1f}"><title>week of {week}: {value:.1f} days</title></circle>'
        f'<text x="{x:.1f}" y="{height - pad + 18}" text-anchor="middle" class="axis">'
        f'{week:%d.%m}</text><text x="{x:.1f}" y="{y - 9:.1f}" text-anchor="middle">{value:.1f}</text>'
        for (x, y), (week, value) in zip(xy, points, strict=True)
    )
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
    return (
        f'<svg id="{chart_id}" role="img" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" '
        f'height="{height}"><line x1="{pad}" y1="{height - pad}" x2="{WIDTH - pad}" '
        f'y2="{height - pad}" class="axis-line"/><polyline class="trend" points="{line}"/>'
        f"{dots}</svg>"
    )


def neighbour_table(rows: list[dict[str, Any]]) -> str:
    body = "".join(
        f"<tr><td>{escape(r['kommunenummer'])}</td><td>{r['comment_deadline']}</td>"
        f"<td>{r['neighbours']}</td><td>{r['consents']}</td><td>{r['objections']}</td></tr>"
        for r in rows[:10]
    )
    return (
        f'<p class="big" id="open-neighbour-periods" data-value="{len(rows)}">{len(rows)}</p>'
        "<table><tr><th>kommune</th><th>comments until</th><th>neighbours</th>"
        f"<th>consents</th><th>objections</th></tr>{body}</table>"
    )


def dashboard_data(
    db: Any, as_of: date, scope: queries.Scope = queries.EVERYTHING
) -> dict[str, Any]:
    filters = queries.Filters(limit=queries.MAX_LIMIT, scope=scope)
    totals = queries.stats(db, filters, group_by_day=False)
    late: Counter[str] = Counter()
    for row in totals:
        late[row["service"]] += row["decided_past_deadline"]
    return {
        "backlog": queries.backlog(db, scope),
        "late": {k: v for k, v in late.items() if v},
        "trend": queries.median_days_by_week(db, scope),
        "neighbours": queries.open_neighbour_periods(db, as_of, scope),
    }


def render(data: dict[str, Any], as_of: date, events_applied: int) -> str:
    cards = (
        ("Open cases per service", bar_chart("backlog", data["backlog"], "open cases")),
        ("Decisions past deadline", bar_chart("late-decisions", data["late"], "late decisions")),
        ("Median days to decision, by week decided", line_chart("median-trend", data["trend"])),
        ("Open neighbour comment periods", neighbour_table(data["neighbours"])),
    )
    sections = "".join(f"<section><h2>{title}</h2>{body}</section>" for title, body in cards)
    return f"""<!doctype html>
<html lang="nb"><head><meta charset="utf-8"><title>saksflyt — dashboard</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 24px; background: #f5f6f8; color: #1d2330; }}
header p {{ color: #5b6475; margin-top: -8px; }}
main {{ display: grid; grid-template-columns: repeat(auto-fit, minmax(600px, 1fr)); gap: 20px; }}
section {{ background: white; border-radius: 10px; padding: 16px 20px;
          box-shadow: 0 1px 3px rgba(0,0,0,.08); }}
h2 {{ font-size: 16px; margin: 0 0 12px; }}
svg text {{ font-size: 12px; fill: #1d2330; }} .axis {{ fill: #5b6475; }}
.bar {{ fill: #2f6fde; }} #late-decisions .bar {{ fill: #d9534f; }}
.trend {{ fill: none; stroke: #2f6fde; stroke-width: 2.5; }} .point {{ fill: #2f6fde; }}
.axis-line {{ stroke: #c8cdd6; }} .big {{ font-size: 40px; font-weight: 600; margin: 0; }}
table {{ border-collapse: collapse; font-size: 13px; margin-top: 8px; }}
td, th {{ padding: 3px 10px; text-align: left; border-bottom: 1px solid #eceef2; }}
.empty {{ color: #5b6475; }}
</style></head><body>
<header><h1>saksflyt — casework</h1>
<p>As of {as_of}; read models hold {events_applied} events.</p></header>
<main>{sections}</main></body></html>"""


@router.get(
    "/dashboard",
    response_class=HTMLResponse,
    tags=["dashboard"],
    summary="Backlog, late decisions, processing time and neighbour periods",
)
def dashboard(
    request: Request,
    who: Annotated[Principal, permit(P.READ_MODELS)],
    as_of: date | None = None,
) -> HTMLResponse:
    """``as_of`` (default: the day of the newest event applied) decides which periods are open.
    The caller's municipalities (and services, if limited) only."""
    db = services(request).store.db
    status = queries.status(db) or {}
    last = status.get("last_event_at")
    day = as_of or (last.date() if last else date.today())
    data = dashboard_data(db, day, scope_of(who))
    return HTMLResponse(render(data, day, status.get("events_applied", 0)))
