"""Our data against the operator's shared material (read from ``../shared``, never copied in)."""

from __future__ import annotations

import csv
from pathlib import Path

from domain.places import municipalities


def test_the_municipality_list_matches_the_2024_structure(shared_dir: Path) -> None:
    with (shared_dir / "kommuner-2024.csv").open(encoding="utf-8") as f:
        official = {row["kommunenummer"] for row in csv.DictReader(f)}
    assert len(municipalities()) == 357
    assert set(municipalities()) == official
