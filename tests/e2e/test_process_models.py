"""Each service's process model as the API publishes it: BPMN 2.0 valid against the OMG schemas,
opened by bpmn-js (the bpmn.io modeller's renderer) in headless Chromium, an SVG that follows
the domain's step table, and docs that show the diagrams the code draws."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import xmlschema
from fastapi.testclient import TestClient

from domain import process
from domain.lifecycle import Status
from domain.process import Step
from domain.services import Catalogue
from saksflyt.catalogue import process as diagrams
from saksflyt.http.app import create_app
from tests import needs
from tests.browser import ARTIFACTS, browse
from tests.stores import sqlite_settings

CODES = Catalogue.default().codes()
BPMN_JS = Path(__file__).parents[1] / "node" / "node_modules" / "bpmn-js" / "dist"
DOCS = Path(__file__).parents[2] / "docs" / "process"
NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with TestClient(create_app(sqlite_settings(tmp_path_factory.mktemp("process")))) as client:
        yield client  # no token: the catalogue is public


@pytest.fixture(scope="module")
def published(api: TestClient) -> dict[str, str]:
    documents = {}
    for code in CODES:
        response = api.get(f"/services/{code}/process.bpmn")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/bpmn+xml")
        documents[code] = response.text
    return documents


@pytest.fixture(scope="module")
def bpmn_schema(shared_dir: Path) -> xmlschema.XMLSchema:
    path = shared_dir / "bpmn20" / "BPMN20.xsd"
    if not path.is_file():
        needs.missing(f"the BPMN 2.0 schemas at {path.parent}", "set SAKSFLYT_SHARED_DIR")
    return xmlschema.XMLSchema(str(path))


@pytest.mark.parametrize("code", CODES)
def test_the_bpmn_export_is_valid_bpmn_2(
    code: str, published: dict[str, str], bpmn_schema: xmlschema.XMLSchema
) -> None:
    bpmn_schema.validate(published[code])
    tree = ET.fromstring(published[code])
    nodes = tree.findall("bpmn:process/*[@id]", NS)
    shapes = {s.get("bpmnElement") for s in tree.iter(f"{{{NS['bpmndi']}}}BPMNShape")}
    edges = {e.get("bpmnElement") for e in tree.iter(f"{{{NS['bpmndi']}}}BPMNEdge")}
    flows = {n.get("id") for n in nodes if n.tag.endswith("sequenceFlow")}
    assert shapes | edges == {n.get("id") for n in nodes}  # every element is drawn
    assert flows == edges and len(flows) > 10


def test_a_spoiled_export_is_refused_by_the_schema(
    published: dict[str, str], bpmn_schema: xmlschema.XMLSchema
) -> None:
    """So the validation above can fail: a sequence flow without its target."""
    spoiled = published["sosialhjelp"].replace(' targetRef="', ' target="', 1)
    with pytest.raises(xmlschema.XMLSchemaValidationError):
        bpmn_schema.validate(spoiled)


def test_the_svg_shows_the_statuses_a_case_of_the_service_can_reach(api: TestClient) -> None:
    """A høringssvar is no individual decision (fvl § 2): no vedtak, no klage in its diagram."""
    building = api.get("/services/melding-om-tiltak/process.svg")
    assert building.headers["content-type"].startswith("image/svg+xml")
    reply = api.get("/services/horingssvar/process.svg").text
    shown = {
        s.get("data-status") for s in ET.fromstring(building.text).iter() if s.get("data-status")
    }
    assert shown == {s.value for s in Status}
    assert 'data-status="decided"' not in reply and 'data-status="archived"' in reply
    assert "nabovarsel: 14 dager" in building.text and "nabovarsel" not in reply
    assert api.get("/services/no-such/process.svg").status_code == 404


def test_the_diagram_changes_when_a_rule_changes(
    api: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Generated, not drawn: take withdrawal away from submitted cases and the arrow goes."""
    before = api.get("/services/avfallsbeholder/process.svg").text
    before_bpmn = api.get("/services/avfallsbeholder/process.bpmn").text
    steps = [
        s if s.name != "withdraw" else Step(s.name, s.label_nb, s.actor, (Status.DRAFT,), s.target)
        for s in process.STEPS
    ]
    monkeypatch.setattr(process, "STEPS", tuple(steps))
    after = api.get("/services/avfallsbeholder/process.svg").text
    after_bpmn = api.get("/services/avfallsbeholder/process.bpmn").text
    withdraw = next(
        t.box.id
        for t in diagrams.model(_service("avfallsbeholder")).tasks
        if t.step.name == "withdraw"
    )
    assert f'data-flow="submitted-{withdraw}"' in before
    assert f'data-flow="submitted-{withdraw}"' not in after
    assert (
        f"flow-submitted-{withdraw}" in before_bpmn
        and f"flow-submitted-{withdraw}" not in after_bpmn
    )


def _service(code: str) -> Any:
    return Catalogue.default().service(code)


@pytest.mark.parametrize("code", CODES)
def test_the_docs_show_the_diagram_the_code_draws(code: str) -> None:
    committed = (DOCS / f"{code}.svg").read_text(encoding="utf-8")
    assert committed == diagrams.svg(_service(code)) + "\n", (
        "run: saksflyt services --format svg --out docs/process"
    )


def _page(documents: dict[str, str], show: str | None) -> str:
    """A page that opens each document in bpmn-js and writes what it made of them into #results."""
    assets = BPMN_JS.as_uri()
    return f"""<!doctype html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="{assets}/assets/diagram-js.css">
<link rel="stylesheet" href="{assets}/assets/bpmn-js.css">
<script src="{assets}/bpmn-viewer.production.min.js"></script></head>
<body style="margin:0"><div id="canvas" style="width:1880px;height:760px"></div>
<pre id="results" style="display:none"></pre><script>
const documents = {json.dumps(documents)};
(async () => {{
  const results = {{}};
  for (const [code, xml] of Object.entries(documents)) {{
    const viewer = new BpmnJS({{container: '#canvas'}});
    try {{
      const {{warnings}} = await viewer.importXML(xml);
      const all = viewer.get('elementRegistry').getAll();
      results[code] = {{
        warnings: warnings.map(w => w.message),
        shapes: all.filter(e => !e.waypoints && e.type !== 'label' && e.type !== 'bpmn:Process').length,
        connections: all.filter(e => e.waypoints).length,
      }};
      if (code === {json.dumps(show)}) viewer.get('canvas').zoom('fit-viewport');
      else viewer.destroy();
    }} catch (error) {{ results[code] = {{error: String(error)}}; }}
  }}
  document.getElementById('results').textContent = JSON.stringify(results);
}})();
</script></body></html>"""


@pytest.fixture(scope="module")
def bpmn_js() -> Path:
    if not (BPMN_JS / "bpmn-viewer.production.min.js").is_file():
        needs.missing("bpmn-js (npm)", "`make test` installs it with npm ci in tests/node")
    return BPMN_JS


def test_every_export_opens_in_bpmn_js(
    published: dict[str, str], bpmn_js: Path, tmp_path: Path
) -> None:
    page = tmp_path / "open.html"
    page.write_text(_page(published, None), encoding="utf-8")
    dom = browse("--virtual-time-budget=20000", "--dump-dom", page.as_uri(), profile=tmp_path / "p")
    found = ET.fromstring(dom.stdout[dom.stdout.index("<pre") : dom.stdout.index("</pre>") + 6])
    results = json.loads(found.text or "{}")
    assert set(results) == set(CODES)
    for code, result in results.items():
        tree = ET.fromstring(published[code])
        assert result == {
            "warnings": [],
            "shapes": len(list(tree.iter(f"{{{NS['bpmndi']}}}BPMNShape"))),
            "connections": len(list(tree.iter(f"{{{NS['bpmndi']}}}BPMNEdge"))),
        }, code


def test_a_screenshot_of_one_process_is_saved_as_an_artifact(
    published: dict[str, str], bpmn_js: Path, tmp_path: Path
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    target = ARTIFACTS / "process-melding-om-tiltak.png"
    target.unlink(missing_ok=True)
    page = tmp_path / "show.html"
    building = {"melding-om-tiltak": published["melding-om-tiltak"]}
    page.write_text(_page(building, "melding-om-tiltak"), encoding="utf-8")
    browse(
        "--virtual-time-budget=20000",
        "--window-size=1880,760",
        f"--screenshot={target}",
        page.as_uri(),
        profile=tmp_path / "p",
    )
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert target.stat().st_size > 30_000  # a drawn process, not a blank page
