"""All read models as one pure decision: (case row before, event) -> (case row after, row changes)."""

from __future__ import annotations

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


def _deadlines(after: Row) -> list[RowChange]:
    changes: list[RowChange] = [DeleteWhere("deadline_watch", {"case_id": after["case_id"]})]
    for kind, due in open_deadlines(after):
        changes.append(
            Upsert(
                "deadline_watch",
                ("case_id", "kind"),
                {
                    "case_id": after["case_id"],
                    "kind": kind,
                    "due": due,
                    "service": after["service"],
                    "kommunenummer": after["kommunenummer"],
                    "status": after["status"],
                },
            )
        )
    return changes


def _neighbours(after: Row) -> list[RowChange]:
    if not after["neighbours_notified"]:
        return []
    return [
        Upsert(
            "neighbour_notices",
            ("case_id",),
            {
                "case_id": after["case_id"],
                "service": after["service"],
                "kommunenummer": after["kommunenummer"],
                "status": after["status"],
                "comment_deadline": after["neighbour_deadline"],
                "neighbours": after["neighbours_notified"],
                "consents": after["neighbour_consents"],
                "objections": after["neighbour_objections"],
                "comments": after["neighbour_comments"],
            },
        )
    ]


def project(before: Row | None, event: PublicEvent) -> tuple[Row, list[RowChange]]:
    """The new case row and every change to the read models that ``event`` causes."""
    after = next_overview(before, event)
    changes: list[RowChange] = [Upsert("case_overview", ("case_id",), after)]
    changes += _stats(event, after)
    changes += _deadlines(after)
    changes += _neighbours(after)
    return after, changes
