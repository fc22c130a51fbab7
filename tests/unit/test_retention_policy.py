"""Retention policies: parsed and checked on load, and what each decides (pure, no I/O)."""

from __future__ import annotations

from uuid import UUID

import pytest

from domain.retention import Retention, RetentionAction, parse_retention
from domain.services import Catalogue

SOCIAL = Catalogue.default().service("sosialhjelp").retention
CARE = Catalogue.default().service("pleie-omsorg").retention


@pytest.mark.parametrize(
    ("policy", "case_id", "form", "action"),
    [
        (SOCIAL, UUID(int=1), {"barn_antall": 2}, RetentionAction.ARCHIVE),
        (SOCIAL, UUID(int=1), {"barn_antall": 0}, RetentionAction.SHRED),
        (SOCIAL, UUID(int=1), {}, RetentionAction.SHRED),  # erased or never given: not kept
        (CARE, UUID(int=20), {}, RetentionAction.ARCHIVE),  # in the 1-in-10 sample
        (CARE, UUID(int=21), {}, RetentionAction.SHRED),
    ],
)
def test_keep_rules_and_samples(
    policy: Retention, case_id: UUID, form: dict[str, int], action: RetentionAction
) -> None:
    assert policy.decide(case_id, form)[0] is action


def test_policies_are_checked_when_they_load() -> None:
    fields = {"barn_antall": int}
    for raw, message in [
        ({"action": "burn", "after_days": 1}, "must be 'archive' or 'shred'"),
        ({"action": "shred", "after_days": -1}, "after_days"),
        ({"action": "shred", "after_days": 1, "keep": [{"field": "alder", "above": 1}]}, "not in the form"),
        ({"action": "shred", "after_days": 1, "keep": [{"field": "barn_antall"}]}, "a keep rule is"),
        ({"action": "shred", "after_days": 1, "sample": {"one_in": 1}}, "N >= 2"),
        ({"action": "archive", "after_days": 0, "sample": {"one_in": 5}}, "only make sense"),
        ({"action": "shred", "after_days": 1, "keep_all": True}, "unknown retention settings"),
    ]:  # fmt: skip
        with pytest.raises(ValueError, match=message):
            parse_retention(raw, "sosialhjelp", fields)
    policy = {"action": "shred", "after_days": 1, "keep": [{"field": "x", "above": 0}]}
    bad = {"0301": {"sosialhjelp": {"retention": policy}}}
    with pytest.raises(ValueError, match="municipal override of sosialhjelp"):
        Catalogue.default(bad)
