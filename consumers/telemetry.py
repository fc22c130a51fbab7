"""What the consume loops report, without knowing who listens (Prometheus is wired in saksflyt/).

Every method has a harmless default, so a loop without telemetry (tests, benchmarks) just runs.
"""

from __future__ import annotations

from datetime import datetime


class Telemetry:
    def handled(self, group: str, messages: int, seconds: float) -> None:
        """A consumer group handled ``messages`` of one poll in ``seconds``, a buffering
        handler's writes (its flush) included."""

    def dead_letter(self, topic: str, reason: str) -> None:
        """A message went to a dead-letter topic; ``reason`` is an error class name."""

    def retry(self, group: str) -> None:
        """A transient failure is being retried."""

    def lag(self, group: str, topic: str, partition: int, messages: int) -> None:
        """Messages on a partition this group has not consumed yet."""

    def published(self, count: int, seconds: float, backlog: int) -> None:
        """The relay published ``count`` events in ``seconds``; ``backlog`` remain."""

    def projected(self, applied: int, duplicates: int, newest: datetime | None) -> None:
        """The read models applied a batch; ``newest`` is the newest event's time."""


NO_TELEMETRY = Telemetry()
