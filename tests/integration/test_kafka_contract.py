"""The Kafka contract as an AsyncAPI 3 document: generated from the schemas and the topic layout,
kept current in docs/asyncapi.json, and valid to the AsyncAPI parser (npm ``@asyncapi/parser``
with its Avro schema parser), which also refuses a spoiled copy."""

from __future__ import annotations

import json
import subprocess
from importlib import metadata
from pathlib import Path

from consumers.topics import TOPIC_SPECS
from saksflyt import asyncapi
from schemas.registry import default_registry
from tests import needs

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "asyncapi.json"
VALIDATOR = REPO / "tests" / "node" / "validate-asyncapi.mjs"


def _generated() -> dict:
    return asyncapi.document(default_registry(), metadata.version("saksflyt"))


def test_the_committed_document_is_current() -> None:
    assert json.loads(DOC.read_text(encoding="utf-8")) == _generated(), (
        "run: saksflyt schemas asyncapi --out docs/asyncapi.json"
    )


def test_every_topic_and_message_version_is_in_it() -> None:
    document, registry = _generated(), default_registry()
    addresses = {c["address"] for c in document["channels"].values()}
    assert addresses == {f"saksflyt.{s.suffix}" for s in TOPIC_SPECS}
    versions = sum(len(registry.versions(n)) for n in registry.names())
    extra = 2  # the dead letter and the checkpoint, not Avro
    assert len(document["components"]["messages"]) == versions + extra
    submitted = document["components"]["messages"]["ApplicationSubmitted.v4"]
    dataschema = submitted["headers"]["properties"]["ce_dataschema"]["const"]
    assert dataschema.endswith("schemas/events/application_submitted.v4.avsc")


def _validate(path: Path) -> subprocess.CompletedProcess[str]:
    node = needs.tool("node", hint="`make test` installs Node.js when missing")
    if not (VALIDATOR.parent / "node_modules" / "@asyncapi" / "parser").is_dir():
        needs.missing("the AsyncAPI parser (npm)", "`make test` runs npm ci in tests/node")
    return subprocess.run(
        [node, str(VALIDATOR), str(path)], capture_output=True, text=True, timeout=120
    )


def test_the_asyncapi_parser_finds_it_valid() -> None:
    done = _validate(DOC)
    found = json.loads(done.stdout)
    assert done.returncode == 0 and found["valid"], found
    assert (found["channels"], found["warnings"]) == (len(TOPIC_SPECS), [])


def test_the_asyncapi_parser_refuses_a_spoiled_copy(tmp_path: Path) -> None:
    """So the check above can fail: an operation on a channel that does not exist."""
    spoiled = _generated()
    spoiled["operations"]["relaySendsEvents"]["channel"] = {"$ref": "#/channels/nowhere"}
    path = tmp_path / "spoiled.json"
    path.write_text(json.dumps(spoiled), encoding="utf-8")
    done = _validate(path)
    assert done.returncode == 1 and not json.loads(done.stdout)["valid"]
