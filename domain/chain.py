"""Tamper evidence for the event store: each case's stored events form a hash chain.

A stored event's link is SHA-256 over the previous event's link and this event's canonical
content as stored (case id, version, topic, state bytes — sealed and encrypted as they are, so the
chain still verifies after a case's keys are shredded). The link travels in front of the state:
``MARK`` + 32 bytes + the state the library wrote. Change a byte of an event, drop one or swap two
and the chain breaks at that version; ``verify`` names where.

What it does not catch on its own: removing a case's *last* events, or someone with write access
recomputing every later link. Anchoring heads elsewhere (e.g. on the events topic) covers those.
Snapshots are derived data and carry no link.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.domain import Snapshot
from eventsourcing.persistence import Mapper, StoredEvent

MARK = b"\xffSFH1"  # never the start of JSON, zlib or (but for 2^-40) an AES-GCM nonce
GENESIS = bytes(32)
HEADS_KEPT = 10_000


def link(previous: bytes, stored: StoredEvent) -> bytes:
    """This event's link: SHA-256(previous link, case id, version, topic, state as stored)."""
    digest = hashlib.sha256(previous)
    digest.update(str(stored.originator_id).encode())
    digest.update(int(stored.originator_version).to_bytes(8, "big"))
    digest.update(stored.topic.encode() + b"\x00")
    digest.update(stored.state)
    return digest.digest()


def split(stored: StoredEvent) -> tuple[StoredEvent, bytes | None]:
    """The event as the library wrote it, and the link it carries (None: stored before chaining)."""
    state = stored.state
    if not state.startswith(MARK) or len(state) < len(MARK) + 32:
        return stored, None
    start = len(MARK) + 32
    inner = StoredEvent(
        stored.originator_id, stored.originator_version, stored.topic, state[start:]
    )
    return inner, bytes(state[len(MARK) : start])


def link_of(stored: StoredEvent) -> bytes:
    """The value the next event chains to: the carried link, or (for an event stored before
    chaining) a link computed from genesis over its content."""
    inner, carried = split(stored)
    return carried if carried is not None else link(GENESIS, inner)


@dataclass(frozen=True)
class ChainBreak:
    case_id: str
    version: int
    reason: str

    def __str__(self) -> str:
        return f"case {self.case_id} version {self.version}: {self.reason}"


@dataclass
class Verification:
    cases: int = 0
    events: int = 0
    unchained: int = 0  # stored before chaining: nothing to check them against
    breaks: list[ChainBreak] = field(default_factory=list)
    heads: dict[str, tuple[int, bytes]] = field(default_factory=dict)  # case -> last version, link
    links_at: dict[str, bytes] = field(default_factory=dict)  # case -> link at the asked version


def verify(
    stored_events: Iterable[StoredEvent], want: Mapping[str, int] | None = None
) -> Verification:
    """Recompute every case's chain from events in store order (each case's in version order);
    keep each case's head, and the link at the version ``want`` names for it (a checkpoint's)."""
    result = Verification()
    heads = result.heads
    want = want or {}
    for stored in stored_events:
        case = str(stored.originator_id)
        version = int(stored.originator_version)
        last_version, previous = heads.get(case, (0, GENESIS))
        if case not in heads:
            result.cases += 1
        result.events += 1
        inner, carried = split(stored)
        if version != last_version + 1:
            result.breaks.append(ChainBreak(case, version, f"follows version {last_version}"))
        if carried is None:
            result.unchained += 1
            heads[case] = (version, link(GENESIS, inner))
            if want.get(case) == version:
                result.links_at[case] = heads[case][1]
            continue
        if link(previous, inner) != carried:
            reason = "content or order does not match its link"
            result.breaks.append(ChainBreak(case, version, reason))
        heads[case] = (version, carried)
        if want.get(case) == version:
            result.links_at[case] = carried
    return result


class ChainedMapper(Mapper[UUID]):
    """The library's mapper, putting each new event's link in front of its stored state.

    The link needs the case's previous link: known from reading the case (the usual path, the
    case was loaded to decide the command), otherwise read from the store with ``stored_at``.
    A save that fails must ``forget`` its cases, so a retry starts from what is stored.
    """

    def __init__(self, stored_at: Callable[[UUID, int], StoredEvent | None], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._stored_at = stored_at
        self._heads: OrderedDict[str, tuple[int, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        stored = super().to_stored_event(domain_event)
        if isinstance(domain_event, Snapshot):
            return stored
        new = link(self._previous(stored.originator_id, stored.originator_version), stored)
        self._remember(stored.originator_id, stored.originator_version, new)
        chained_state = MARK + new + stored.state
        return StoredEvent(
            stored.originator_id, stored.originator_version, stored.topic, chained_state
        )

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        inner, carried = split(stored_event)
        domain_event = super().to_domain_event(inner)
        if not isinstance(domain_event, Snapshot):
            value = carried if carried is not None else link(GENESIS, inner)
            self._remember(inner.originator_id, inner.originator_version, value)
        return domain_event

    def to_sealed_domain_event(self, stored_event: StoredEvent) -> Any:
        """The event as stored: personal values still sealed (the subclass opens them). Read
        for publishing, not for a command: its link is not kept as the case's head."""
        return Mapper.to_domain_event(self, split(stored_event)[0])

    def forget(self, case_ids: Iterable[UUID]) -> None:
        with self._lock:
            for case_id in case_ids:
                self._heads.pop(str(case_id), None)

    def _previous(self, case_id: UUID | str, version: int) -> bytes:
        if version == 1:
            return GENESIS
        with self._lock:
            known = self._heads.get(str(case_id))
        if known is not None and known[0] == version - 1:
            return known[1]
        before = self._stored_at(UUID(str(case_id)), version - 1)
        if before is None:
            return GENESIS  # the store will refuse the save: this version does not follow
        return link_of(before)

    def _remember(self, case_id: object, version: int, value: bytes) -> None:
        key = str(case_id)
        with self._lock:
            self._heads[key] = (version, value)
            self._heads.move_to_end(key)
            while len(self._heads) > HEADS_KEPT:
                self._heads.popitem(last=False)
