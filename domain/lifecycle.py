"""Words of the case lifecycle: statuses, outcomes, receipt channels, and local dates."""

from __future__ import annotations

import enum
from datetime import date, datetime
from zoneinfo import ZoneInfo

OSLO = ZoneInfo("Europe/Oslo")


class Status(enum.StrEnum):
    DRAFT = "draft"  # mellomlagret
    SUBMITTED = "submitted"  # innsendt, under behandling
    AWAITING_DOCUMENTS = "awaiting-documents"  # venter på dokumentasjon; the clock stands
    DECIDED = "decided"  # vedtak fattet
    APPEALED = "appealed"  # klage under behandling (fvl §§ 32-34)
    WITHDRAWN = "withdrawn"  # trukket
    ARCHIVED = "archived"  # arkivert (bevares)
    SHREDDED = "shredded"  # kassert


# Still open to change: the applicant may edit or withdraw, the municipality has not decided.
UNDECIDED = (Status.DRAFT, Status.SUBMITTED, Status.AWAITING_DOCUMENTS)
# Sent in and waiting for the municipality's decision: the decision clock applies.
AWAITING_DECISION = (Status.SUBMITTED, Status.AWAITING_DOCUMENTS)


class AppealResult(enum.StrEnum):
    """What the appeal body (Statsforvalteren) made of the decision (fvl § 34)."""

    UPHELD = "upheld"  # stadfestet
    REVERSED = "reversed"  # endret
    REPEALED = "repealed"  # opphevet, sent back for a new decision


class Outcome(enum.StrEnum):
    GRANTED = "granted"  # innvilget
    PARTLY_GRANTED = "partly-granted"  # delvis innvilget
    REFUSED = "refused"  # avslått


class ReceiptChannel(enum.StrEnum):
    EMAIL = "email"
    SMS = "sms"
    DIGITAL_MAILBOX = "digital-mailbox"  # e.g. Digipost / e-Boks via the national mailbox service


def local_date(moment: datetime) -> date:
    """The calendar date in Norway at that moment: deadlines are counted in local days."""
    return moment.astimezone(OSLO).date()
