"""The hash chain over stored events (pure: stored-event objects in, breaks out)."""

from __future__ import annotations

from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent

from domain.chain import GENESIS, MARK, link, split, verify

CASE = UUID(int=7)


def chained(count: int, case: UUID = CASE) -> list[StoredEvent]:
    events, previous = [], GENESIS
    for version in range(1, count + 1):
        inner = StoredEvent(
            case, version, "domain.application:Application.Event", b'{"n": %d}' % version
        )
        previous = link(previous, inner)
        events.append(StoredEvent(case, version, inner.topic, MARK + previous + inner.state))
    return events


def test_an_unbroken_chain_verifies_and_carries_the_state_unchanged() -> None:
    events = chained(4)
    assert verify(events).breaks == [] and verify(events).events == 4
    inner, carried = split(events[2])
    assert inner.state == b'{"n": 3}' and carried is not None


@pytest.mark.parametrize(
    ("spoil", "version"),
    [
        (lambda e: [e[0], e[2], e[1], e[3]], 3),  # swapped
        (lambda e: [e[0], e[1], e[3]], 4),  # one removed
        (lambda e: [e[0], _with_state(e[1], b'{"n": 9}'), e[2], e[3]], 2),  # changed
    ],
)
def test_a_spoiled_chain_names_where(spoil: object, version: int) -> None:
    breaks = verify(spoil(chained(4))).breaks  # type: ignore[operator]
    assert breaks and breaks[0].version == version and breaks[0].case_id == str(CASE)


def _with_state(event: StoredEvent, state: bytes) -> StoredEvent:
    _, carried = split(event)
    assert carried is not None
    return StoredEvent(
        event.originator_id, event.originator_version, event.topic, MARK + carried + state
    )


def test_events_stored_before_chaining_are_counted_not_broken() -> None:
    old = StoredEvent(CASE, 1, "t", b"{}")
    assert verify([old]).unchained == 1 and verify([old]).breaks == []
