"""Which time a command is recorded at, and the bounds every time a sender gives must keep.

The record is the server's: saksflyt stamps ``received_at`` when a command arrives (HTTP, the
Kafka intake; the demo stamps its simulated clock). A sender's own time is taken only where the
sender is a trusted backend service (``issued_at`` on the command topic), and only within bounds:
not before 2000 and not later than when it arrived (give or take a small clock skew); up to the
same skew before the case's previous event it is recorded at that event's time. A time the
applicant claims — when they signed (``signed_at``) — is kept separately and bounded too. Bounded
times keep every deadline computable: nothing stored can break a projection.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.errors import InvalidTime

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
CLOCK_SKEW = timedelta(minutes=5)  # how far a sender's clock may run ahead of ours
SIGNED_WITHIN = timedelta(
    days=30
)  # how long before its arrival an application may have been signed


def _check_zone(name: str, moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidTime("time-without-zone", f"{name} must carry a time zone")


def record_time(
    received_at: datetime, issued_at: datetime | None, last_event_at: datetime | None
) -> datetime:
    """The time the command's events are recorded at.

    Without a sender's time: when it was received, and never before the case's previous event
    (two requests stamped in one order may commit in the other; the server's own clock is never
    held against the sender).
    """
    _check_zone("received_at", received_at)
    if received_at < EARLIEST:
        raise InvalidTime("server-clock-wrong", "the server's clock is before 2000")
    if issued_at is None:
        return received_at if last_event_at is None else max(received_at, last_event_at)
    _check_zone("issued_at", issued_at)
    if issued_at < EARLIEST:
        raise InvalidTime("time-too-early", "issued_at must not be before 2000-01-01")
    if issued_at > received_at + CLOCK_SKEW:
        raise InvalidTime("time-in-the-future", "issued_at is later than when it was received")
    if last_event_at is not None and last_event_at - CLOCK_SKEW <= issued_at < last_event_at:
        # a little before the case's previous event: a letter recorded while the command was on
        # its way (the intake was down, or behind), or a clock a little slow; recorded just
        # after it. Further back the rules refuse it (time-before-previous-event).
        return last_event_at
    return issued_at


def check_signed_at(signed_at: datetime | None, received_at: datetime) -> None:
    """When the applicant signed: within 30 days before arrival, not after it."""
    if signed_at is None:
        return
    _check_zone("signed_at", signed_at)
    if signed_at > received_at + CLOCK_SKEW:
        raise InvalidTime("signed-in-the-future", "signed_at is later than when it was received")
    if signed_at < received_at - SIGNED_WITHIN:
        raise InvalidTime("signed-too-long-ago", "signed_at is more than 30 days before arrival")
