"""``saksflyt schemas check`` and ``schemas docs`` on schema folders written to disk."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from saksflyt.cli import main
from schemas.catalogue import render_catalogue
from schemas.registry import SCHEMA_DIR, default_registry

REPO = Path(__file__).resolve().parents[2]
ARCHIVED = "events/application_archived"


def _schema_dir_with(
    tmp_path: Path, v2_fields: list[dict[str, Any]], v1_fields: list[dict[str, Any]] | None = None
) -> Path:
    root = tmp_path / "schemas"
    shutil.copytree(SCHEMA_DIR / "events", root / "events")
    shutil.copytree(SCHEMA_DIR / "commands", root / "commands")
    v1 = json.loads((root / f"{ARCHIVED}.v1.avsc").read_text())
    if v1_fields is not None:
        v1 = {**v1, "fields": v1_fields}
        (root / f"{ARCHIVED}.v1.avsc").write_text(json.dumps(v1))
    v2 = {**v1, "fields": v2_fields or v1["fields"]}
    (root / f"{ARCHIVED}.v2.avsc").write_text(json.dumps(v2))
    return root


def _archived_fields() -> list[dict[str, Any]]:
    return json.loads((SCHEMA_DIR / f"{ARCHIVED}.v1.avsc").read_text())["fields"]


def _with_named(kind: str, name: str) -> list[dict[str, Any]]:
    """The archived event plus one field of a named type (enum or fixed) called ``name``."""
    named: dict[str, Any] = {"type": kind, "name": name}
    named.update({"symbols": ["A", "B"]} if kind == "enum" else {"size": 4})
    return [*_archived_fields(), {"name": "extra", "type": named, "doc": "a named type"}]


@pytest.mark.parametrize(
    ("v1", "change", "problem"),
    [
        (
            None,
            lambda fs: [*fs, {"name": "archive_system", "type": "string", "doc": "x"}],
            "reader_field_missing_default_value",
        ),
        (
            None,
            lambda fs: [
                {**f, "type": "long"} if f["name"] == "archive_reference" else f for f in fs
            ],
            "type_mismatch",
        ),
        (None, lambda fs: [{**f, "doc": ""} for f in fs], "field has no doc"),
        (_with_named("enum", "Kind"), lambda _: _with_named("enum", "Sort"), "name_mismatch"),
        (_with_named("fixed", "Hash"), lambda _: _with_named("fixed", "Sum"), "name_mismatch"),
        (
            _with_named("enum", "Kind"),
            lambda _: [
                {**f, "type": {**f["type"], "symbols": ["A"]}} if f["name"] == "extra" else f
                for f in _with_named("enum", "Kind")
            ],
            "missing_enum_symbols",
        ),
    ],
    ids=[
        "field-without-default",
        "type-change",
        "missing-doc",
        "enum-renamed",
        "fixed-renamed",
        "enum-lost-a-symbol",
    ],
)
def test_schemas_check_fails_on_an_incompatible_change(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    v1: list[dict[str, Any]] | None,
    change: Any,
    problem: str,
) -> None:
    root = _schema_dir_with(tmp_path, change(_archived_fields()), v1)
    assert main(["schemas", "check", "--dir", str(root)]) == 1
    assert problem in capsys.readouterr().out


def test_schemas_check_accepts_a_compatible_change_and_passes_on_main(tmp_path: Path) -> None:
    compatible = [
        *_archived_fields(),
        {"name": "archive_system", "type": ["null", "string"], "default": None, "doc": "x"},
    ]
    assert main(["schemas", "check", "--dir", str(_schema_dir_with(tmp_path, compatible))]) == 0
    assert main(["schemas", "check"]) == 0


def test_the_message_catalogue_in_docs_is_up_to_date() -> None:
    committed = (REPO / "docs/messages.md").read_text(encoding="utf-8")
    assert committed == render_catalogue(default_registry()), (
        "run: saksflyt schemas docs --out docs/messages.md"
    )
    for name in default_registry().names():
        assert f"### {name}" in committed
