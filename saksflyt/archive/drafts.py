"""``saksflyt drafts expire``: drafts nobody has touched for a while are withdrawn and their
personal data erased (kassasjon by destroying the case's key), once each, in any number of
processes: the command id comes from the case and the version it was seen at (a draft saved
again since gets a new chance to expire later)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from uuid import UUID

from domain import commands as cmd
from domain.casework import Casework
from domain.deadlines import draft_untouched_since
from domain.lifecycle import Status
from projections import queries
from projections.store import ProjectionStore
from saksflyt.jobs import once_per_version

EXPIRY_COMMANDS = UUID("0b9f3a52-6c1e-4d8e-9f0c-5d2a7e3b1c44")
PAGE = 500


def stale(store: ProjectionStore, as_of: datetime, after_days: int) -> Iterator[UUID]:
    """Drafts last saved more than ``after_days`` before ``as_of`` (from the read model)."""
    before, after = draft_untouched_since(as_of, after_days), ""
    while page := queries.stale_drafts(store.db, before, after, PAGE):
        yield from (UUID(case_id) for case_id in page)
        after = page[-1]


def expire(app: Casework, cases: list[UUID], as_of: datetime, after_days: int) -> Counter[str]:
    """Expire each draft; returns how many were expired, no longer drafts, expired by another
    process at the same time (``duplicate``), or refused (saved again since)."""
    done: Counter[str] = Counter()
    for case_id in cases:
        if app.get_case(case_id).status is not Status.DRAFT:
            done["no longer a draft"] += 1  # submitted, withdrawn or expired since it was found
            continue
        done[
            once_per_version(
                app,
                case_id,
                cmd.ExpireDraft,
                EXPIRY_COMMANDS,
                "expired",
                received_at=as_of,
                actor="draft-expiry",
                after_days=after_days,
            )
        ] += 1
    return done
