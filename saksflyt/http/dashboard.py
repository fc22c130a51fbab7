"""``/dashboard``: one self-contained page in bokmål with charts drawn as inline SVG on the server.

No scripts, no CDN: the numbers come straight from the read models; every bar and point carries
its value in ``data-value`` (and a bar its service code in ``data-label``) so a browser test can
check what is drawn. Filters (service, municipality, period) are a plain GET form; each figure
links to the read-model query behind it; the page reloads itself every minute.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from html import escape
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from domain.places import municipalities
from domain.services import Catalogue
from projections import queries
from saksflyt.access.policy import Permission as P
from saksflyt.access.policy import Principal
from saksflyt.http import models as m
from saksflyt.http.auth import permit, scope_of
from saksflyt.http.reads import CURRENT, CURRENT_RESPONSES
from saksflyt.http.services import services

router = APIRouter(responses=m.problem_responses(401, 403, 422))
WIDTH, BAR_HEIGHT, LABEL_WIDTH = 660, 22, 300
REFRESH_SECONDS = 60
FEW = 3  # a week's median from fewer decisions than this is drawn hollow: read it with care


def day(value: date) -> str:
    return f"{value:%d.%m.%Y}"


def bar_chart(chart_id: str, values: dict[str, float], names: dict[str, str], unit: str) -> str:
    if not values:
        return f'<p class="empty" id="{chart_id}">Ingen ennå.</p>'
    top = max(values.values()) or 1
    rows = []
    for i, (code, value) in enumerate(sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))):
        y, name = i * (BAR_HEIGHT + 6), escape(names.get(code, code))
        width = (WIDTH - LABEL_WIDTH - 60) * value / top
        rows.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{y + 16}" text-anchor="end">{name}</text>'
            f'<rect class="bar" x="{LABEL_WIDTH}" y="{y}" width="{width:.1f}" height="{BAR_HEIGHT}"'
            f' data-label="{escape(code)}" data-value="{value:g}"><title>{name}: '
            f"{value:g} {unit}</title></rect>"
            f'<text x="{LABEL_WIDTH + width + 6:.1f}" y="{y + 16}">{value:g}</text>'
        )
    height = len(values) * (BAR_HEIGHT + 6)
    return (
        f'<svg id="{chart_id}" role="img" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" '
        f'height="{height}">{"".join(rows)}</svg>'
    )


def line_chart(chart_id: str, weeks: list[tuple[date, float, int]]) -> str:
    """Median days per week on a y-axis from 0, each point with its number of decisions."""
    if not weeks:
        return f'<p class="empty" id="{chart_id}">Ingen vedtak ennå.</p>'
    height, pad, left = 240, 40, 56
    top = max(v for _, v, _ in weeks) or 1
    step = (WIDTH - left - pad) / max(len(weeks) - 1, 1)

    def y_of(value: float) -> float:
        return height - pad - (height - 2 * pad) * value / top

    ticks = "".join(
        f'<line x1="{left}" x2="{WIDTH - pad}" y1="{y_of(t):.1f}" y2="{y_of(t):.1f}" '
        f'class="grid"/><text x="{left - 6}" y="{y_of(t) + 4:.1f}" text-anchor="end" '
        f'class="axis">{t:g}</text>'
        for t in (0, round(top / 2, 1), round(top, 1))
    )
    xy = [(left + i * step, y_of(v)) for i, (_, v, _) in enumerate(weeks)]
    dots = "".join(
        f'<circle class="point{" few" if n < FEW else ""}" cx="{x:.1f}" cy="{y:.1f}" r="4" '
        f'data-week="{week}" data-value="{value:.1f}" data-count="{n}"><title>uke fra '
        f"{day(week)}: {value:.1f} dager, {n} vedtak</title></circle>"
        f'<text x="{x:.1f}" y="{height - pad + 16}" text-anchor="middle" class="axis">'
        f'{week:%d.%m}</text><text x="{x:.1f}" y="{height - pad + 30}" text-anchor="middle" '
        f'class="axis">n={n}</text><text x="{x:.1f}" y="{y - 9:.1f}" text-anchor="middle">'
        f"{value:.1f}</text>"
        for (x, y), (week, value, n) in zip(xy, weeks, strict=True)
    )
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
    return (
        f'<svg id="{chart_id}" role="img" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" '
        f'height="{height}"><text x="4" y="14" class="axis">dager</text>{ticks}'
        f'<polyline class="trend" points="{line}"/>{dots}</svg>'
    )


def neighbour_table(rows: list[dict[str, Any]], kommuner: dict[str, str]) -> str:
    body = "".join(
        f"<tr><td>{escape(kommuner.get(r['kommunenummer'], r['kommunenummer']))}</td>"
        f"<td>{day(r['comment_deadline'])}</td><td>{r['neighbours']}</td>"
        f"<td>{r['consents']}</td><td>{r['objections']}</td></tr>"
        for r in rows[:10]
    )
    more = f'<p class="note">og {len(rows) - 10} til</p>' if len(rows) > 10 else ""
    return (
        f'<p class="big" id="open-neighbour-periods" data-value="{len(rows)}">{len(rows)}</p>'
        "<table><tr><th>kommune</th><th>merknader til</th><th>naboer</th>"
        f"<th>samtykker</th><th>merknader</th></tr>{body}</table>{more}"
    )


def narrowed(scope: queries.Scope, service: str | None, kommune: str | None) -> queries.Scope:
    """The caller's scope, narrowed by the page's filters (never widened)."""

    def pick(allowed: tuple[str, ...] | None, wanted: str | None) -> tuple[str, ...] | None:
        if wanted is None:
            return allowed
        return (wanted,) if allowed is None or wanted in allowed else ()

    return queries.Scope(pick(scope.kommuner, kommune), pick(scope.services, service))


def dashboard_data(
    db: Any,
    as_of: date,
    scope: queries.Scope = queries.EVERYTHING,
    date_from: date | None = None,
    date_to: date | None = None,
) -> dict[str, Any]:
    period = queries.Filters(
        limit=queries.MAX_LIMIT, scope=scope, date_from=date_from, date_to=date_to
    )
    late: Counter[str] = Counter()
    for row in queries.stats(db, period, group_by_day=False):
        late[row["service"]] += row["decided_past_deadline"]
    overdue: Counter[str] = Counter()
    for (service, _), count in queries.past_decision_deadline(db, as_of, scope).items():
        overdue[service] += count
    return {
        "backlog": queries.backlog(db, scope),
        "overdue": dict(overdue),
        "late": {k: v for k, v in late.items() if v},
        "trend": queries.decisions_by_week(db, period),
        "neighbours": queries.open_neighbour_periods(db, as_of, scope),
    }


def _filters_form(catalogue: Catalogue, kommuner: dict[str, str], chosen: dict[str, Any]) -> str:
    def options(values: dict[str, str], picked: str | None) -> str:
        return '<option value="">alle</option>' + "".join(
            f'<option value="{escape(k)}"{" selected" if k == picked else ""}>{escape(v)}</option>'
            for k, v in values.items()
        )

    names = {c: catalogue.service(c).name_nb for c in catalogue.codes()}
    fra, til = chosen.get("fra"), chosen.get("til")
    return (
        '<form method="get" id="filters">'
        f'<label>Tjeneste <select name="service">{options(names, chosen.get("service"))}</select></label>'
        f'<label>Kommune <select name="kommune">{options(kommuner, chosen.get("kommune"))}</select></label>'
        f'<label>Vedtak fra <input type="date" name="fra" value="{fra or ""}"></label>'
        f'<label>til <input type="date" name="til" value="{til or ""}"></label>'
        '<button type="submit">Vis</button></form>'
    )


def _link(path: str, **params: Any) -> str:
    query = urlencode({k: v for k, v in params.items() if v})
    return f'<a class="query" href="{path}{"?" + query if query else ""}">{path}</a>'


def render(
    data: dict[str, Any],
    as_of: date,
    events_applied: int,
    catalogue: Catalogue,
    kommuner: dict[str, str],
    chosen: dict[str, Any],
) -> str:
    names = {c: catalogue.service(c).name_nb for c in catalogue.codes()}
    service, kommune = chosen.get("service"), chosen.get("kommune")
    where = {"service": service, "municipality": kommune}
    period = {**where, "from": chosen.get("fra"), "to": chosen.get("til")}
    total = sum(data["backlog"].values())
    cards = (
        ("Åpne saker per tjeneste", f"{total} åpne saker",
         bar_chart("backlog", data["backlog"], names, "åpne saker"),
         _link("/overview", status="submitted", **where)),
        ("Åpne saker over fristen", f"{sum(data['overdue'].values())} over vedtaksfristen",
         bar_chart("past-deadline", data["overdue"], names, "saker over fristen"),
         _link("/deadlines", **where)),
        ("Vedtak etter fristen", f"{sum(data['late'].values())} vedtak kom for sent",
         bar_chart("late-decisions", data["late"], names, "vedtak etter fristen"),
         _link("/stats", **period)),
        ("Median saksbehandlingstid per uke", f"{sum(n for *_, n in data['trend'])} vedtak",
         line_chart("median-trend", data["trend"]), _link("/stats", per_day="true", **period)),
        ("Løpende merknadsfrister for naboer", "nabovarsel der fristen ikke er ute",
         neighbour_table(data["neighbours"], kommuner), _link("/neighbours", **where)),
    )  # fmt: skip
    sections = "".join(
        f'<section><h2>{title}</h2><p class="note">{count}</p>{body}'
        f'<p class="source">Tallene: {link}</p></section>'
        for title, count, body, link in cards
    )
    return f"""<!doctype html>
<html lang="nb"><head><meta charset="utf-8"><title>saksflyt — saksbehandling</title>
<meta http-equiv="refresh" content="{REFRESH_SECONDS}">
<style>
body {{ font-family: system-ui, sans-serif; margin: 24px; background: #f5f6f8; color: #1d2330; }}
header p {{ color: #5b6475; margin-top: -8px; }}
form {{ display: flex; gap: 14px; align-items: end; flex-wrap: wrap; margin-bottom: 18px; }}
label {{ display: flex; flex-direction: column; font-size: 13px; color: #5b6475; }}
main {{ display: grid; grid-template-columns: repeat(auto-fit, minmax(700px, 1fr)); gap: 20px; }}
section {{ background: white; border-radius: 10px; padding: 16px 20px;
          box-shadow: 0 1px 3px rgba(0,0,0,.08); }}
h2 {{ font-size: 16px; margin: 0 0 4px; }} .note {{ color: #5b6475; margin: 0 0 10px; }}
.source {{ font-size: 12px; color: #5b6475; margin: 10px 0 0; }}
svg text {{ font-size: 12px; fill: #1d2330; }} .axis {{ fill: #5b6475; }}
.bar {{ fill: #2f6fde; }} #late-decisions .bar, #past-deadline .bar {{ fill: #d9534f; }}
.trend {{ fill: none; stroke: #2f6fde; stroke-width: 2.5; }} .point {{ fill: #2f6fde; }}
.point.few {{ fill: white; stroke: #2f6fde; stroke-width: 2; }}
.grid {{ stroke: #eceef2; }} .big {{ font-size: 40px; font-weight: 600; margin: 0; }}
table {{ border-collapse: collapse; font-size: 13px; margin-top: 8px; }}
td, th {{ padding: 3px 10px; text-align: left; border-bottom: 1px solid #eceef2; }}
.empty {{ color: #5b6475; }}
</style></head><body>
<header><h1>saksflyt — saksbehandling</h1>
<p>Per {day(as_of)}; lesemodellene har {events_applied} hendelser. Siden oppdateres hvert
minutt. Hule punkter: færre enn {FEW} vedtak den uken.</p></header>
{_filters_form(catalogue, kommuner, chosen)}
<main>{sections}</main></body></html>"""


@router.get(
    "/dashboard",
    dependencies=CURRENT,
    responses=CURRENT_RESPONSES,
    response_class=HTMLResponse,
    tags=["dashboard"],
    summary="Open cases, cases past their deadline, late decisions, processing time, neighbours",
)
def dashboard(
    request: Request,
    who: Annotated[Principal, permit(P.READ_MODELS)],
    as_of: m.IsoDate | None = None,
    service: Annotated[str | None, Query(max_length=60)] = None,
    kommune: Annotated[str | None, Query(pattern=r"^(\d{4})?$")] = None,
    fra: m.IsoDate | None = None,
    til: m.IsoDate | None = None,
) -> HTMLResponse:
    """``as_of`` (default: the day of the newest event applied) decides which periods are open
    and which cases are past their deadline; ``service``, ``kommune`` narrow every figure,
    ``fra``/``til`` the decisions counted. Only the caller's municipalities (and services)."""
    db = services(request).store.db
    catalogue = services(request).app.catalogue
    status = queries.status(db) or {}
    last = status.get("last_event_at")
    today = as_of or (last.date() if last else date.today())
    service = service if service in catalogue.codes() else None
    scope = narrowed(scope_of(who, kommune or None), service, kommune or None)  # 403 outside
    data = dashboard_data(db, today, scope, fra, til)
    seen = sorted({k for (_, k) in queries.open_cases(db, scope_of(who))})
    kommuner = {k: municipalities().get(k, k) for k in seen}
    chosen = {"service": service, "kommune": kommune or None, "fra": fra, "til": til}
    html = render(data, today, status.get("events_applied", 0), catalogue, kommuner, chosen)
    return HTMLResponse(html)
