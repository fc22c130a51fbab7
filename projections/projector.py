"""All read models as one pure decision: (case row before, event) -> (case row after, row changes)."""

from __future__ import annotations

from typing import Any

from domain.lifecycle import local_date
from projections.changes import DeleteWhere, Increment, RowChange, Upsert
from projections.overview import Row, next_overview, open_deadlines
from schemas.mapping import PublicEvent

STAT_COLUMNS = {
    "ApplicationSubmitted": "submitted",
    "ApplicationWithdrawn": "withdrawn",
    "ApplicationArchived": "archived",
    "ApplicationShredded": "shredded",
}


def _stats(event: PublicEvent, after: Row) -> list[RowChange]:
    r = event.record
    key = {
        "day": local_date(r["occurred_at"]),
        "service": r["service"],
        "kommunenummer": r["kommunenummer"],
    }
    if event.name in ("DecisionMade", "PermitDeemedGranted"):  # granted by law counts as granted
        outcome = r.get("outcome", "granted")
        counts = {
            f"decided_{outcome.replace('-', '_')}": 1,
            "decided_past_deadline": int(after["decided_past_deadline"]),
        }
        days = (r["occurred_at"] - after["submitted_at"]).total_seconds() / 86400
        return [
            Increment("service_stats", key, counts),
            Upsert(
                "decision_times", ("case_id",), {"case_id": after["case_id"], **key, "days": days}
            ),
        ]
    column = STAT_COLUMNS.get(event.name)
    return [Increment("service_stats", key, {column: 1})] if column else []


def _watched(row: Row | None) -> list[dict[str, Any]]:
    """The case's rows in ``deadline_watch``, as ``row`` gives them."""
    if row is None:
        return []
    return [
        {
            "case_id": row["case_id"],
            "kind": kind,
            "due": due,
            "service": row["service"],
            "kommunenummer": row["kommunenummer"],
            "status": row["status"],
        }
        for kind, due in open_deadlines(row)
    ]


def _deadlines(before: Row | None, after: Row) -> list[RowChange]:
    """The case's deadline rows replaced, if the event changed them. Most events (a receipt, an
    attachment, a neighbour's consent) leave them as they were: then nothing is written."""
    watched = _watched(after)
    if watched == _watched(before):
        return []
    changes: list[RowChange] = [DeleteWhere("deadline_watch", {"case_id": after["case_id"]})]
    changes += [Upsert("deadline_watch", ("case_id", "kind"), row) for row in watched]
    return changes


def _neighbour_row(row: Row | None) -> dict[str, Any] | None:
    if row is None or not row["neighbours_notified"]:
        return None
    return {
        "case_id": row["case_id"],
        "service": row["service"],
        "kommunenummer": row["kommunenummer"],
        "status": row["status"],
        "comment_deadline": row["neighbour_deadline"],
        "neighbours": row["neighbours_notified"],
        "consents": row["neighbour_consents"],
        "objections": row["neighbour_objections"],
        "comments": row["neighbour_comments"],
    }


def _neighbours(before: Row | None, after: Row) -> list[RowChange]:
    """The case's row in ``neighbour_notices``, written when the event changed it."""
    row = _neighbour_row(after)
    if row is None or row == _neighbour_row(before):
        return []
    return [Upsert("neighbour_notices", ("case_id",), row)]


def project(before: Row | None, event: PublicEvent) -> tuple[Row, list[RowChange]]:
    """The new case row and every change to the read models that ``event`` causes."""
    after = next_overview(before, event)
    changes: list[RowChange] = [Upsert("case_overview", ("case_id",), after)]
    changes += _stats(event, after)
    changes += _deadlines(before, after)
    changes += _neighbours(before, after)
    return after, changes
