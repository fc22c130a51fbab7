"""A clock a test moves by hand: the server's time of arrival, under the test's control."""

from __future__ import annotations

from datetime import datetime, timedelta


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.start = self.now = start

    def __call__(self) -> datetime:
        return self.now

    def at(self, days: float) -> FakeClock:
        """Set the clock ``days`` after the start; returns itself, for chaining."""
        self.now = self.start + timedelta(days=days)
        return self
