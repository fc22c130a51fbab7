"""domain/ holds rules only: no Kafka, SQL drivers, HTTP, Prometheus, environment or wiring."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

DOMAIN = Path(__file__).resolve().parents[2] / "domain"
# `os` too: the environment is read in saksflyt.settings only.
FORBIDDEN = {
    "os",
    "kafka",
    "psycopg",
    "psycopg_pool",
    "sqlite3",
    "fastapi",
    "starlette",
    "httpx",
    "requests",
    "urllib",
    "http",
    "socket",
    "prometheus_client",
    "fastavro",
    "schemas",
    "consumers",
    "projections",
    "saksflyt",
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", sorted(DOMAIN.rglob("*.py")), ids=lambda p: p.name)
def test_domain_module_imports_nothing_forbidden(path: Path) -> None:
    assert not _imports(path) & FORBIDDEN


ROOT = DOMAIN.parent
# Who may import whom among our own packages (STYLE.md): the arrows point one way only.
OWN = {"domain", "schemas", "consumers", "projections", "saksflyt"}
MAY_IMPORT = {
    "schemas": {"domain", "schemas"},
    "projections": {"domain", "schemas", "projections"},
    "consumers": {"domain", "schemas", "projections", "consumers"},
}


@pytest.mark.parametrize(
    "path",
    sorted(p for package in MAY_IMPORT for p in (ROOT / package).rglob("*.py")),
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_packages_import_only_what_lies_below_them(path: Path) -> None:
    package = path.relative_to(ROOT).parts[0]
    assert _imports(path) & OWN <= MAY_IMPORT[package]
