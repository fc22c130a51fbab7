"""Each service's process model as the API publishes it: BPMN 2.0 valid against the OMG schemas, a
collaboration with the parties outside the municipality and the letters between them, timers for
the clocks and conditions on every choice, only the steps the service has; opened by bpmn-js (the
bpmn.io modeller's renderer) in headless Chromium with no two shapes overlapping; an SVG of the
same chart; and docs that show what the code draws."""

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
from domain.process import Step, steps_for
from domain.services import Catalogue
from saksflyt.catalogue import process as diagrams
from saksflyt.catalogue.layout import layout, overlapping
from saksflyt.http.app import create_app
from tests import needs
from tests.browser import ARTIFACTS, browse
from tests.stores import sqlite_settings

pytestmark = pytest.mark.slow  # not in make test-fast

CATALOGUE = Catalogue.default()
CODES = CATALOGUE.codes()
BPMN_JS = Path(__file__).parents[1] / "node" / "node_modules" / "bpmn-js" / "dist"
DOCS = Path(__file__).parents[2] / "docs" / "process"
NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
}
FLOW_NODES = ("Task", "Event", "Gateway")


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


def _tag(element: ET.Element) -> str:
    return element.tag.rpartition("}")[2]


def _process(xml: str) -> tuple[ET.Element, list[ET.Element]]:
    tree = ET.fromstring(xml)
    process_element = tree.find("bpmn:process", NS)
    assert process_element is not None
    return tree, list(process_element)


def _names(elements: list[ET.Element], kind: str) -> set[str]:
    return {e.get("name", "") for e in elements if _tag(e).endswith(kind)}


@pytest.mark.parametrize("code", CODES)
def test_the_bpmn_export_is_valid_bpmn_2_and_everything_in_it_is_drawn(
    code: str, published: dict[str, str], bpmn_schema: xmlschema.XMLSchema
) -> None:
    bpmn_schema.validate(published[code])
    tree, elements = _process(published[code])
    nodes = {e.get("id") for e in elements if _tag(e).endswith(FLOW_NODES)}
    flows = {e.get("id") for e in elements if _tag(e) == "sequenceFlow"}
    lanes = {lane.get("id") for lane in tree.iter(f"{{{NS['bpmn']}}}lane")}
    participants = {p.get("id") for p in tree.iter(f"{{{NS['bpmn']}}}participant")}
    messages = {m.get("id") for m in tree.iter(f"{{{NS['bpmn']}}}messageFlow")}
    shapes = {s.get("bpmnElement") for s in tree.iter(f"{{{NS['bpmndi']}}}BPMNShape")}
    edges = {e.get("bpmnElement") for e in tree.iter(f"{{{NS['bpmndi']}}}BPMNEdge")}
    assert shapes == nodes | lanes | participants
    assert edges == flows | messages and len(flows) > 15


def test_a_spoiled_export_is_refused_by_the_schema(
    published: dict[str, str], bpmn_schema: xmlschema.XMLSchema
) -> None:
    """So the validation above can fail: a sequence flow without its target."""
    spoiled = published["sosialhjelp"].replace(' targetRef="', ' target="', 1)
    with pytest.raises(xmlschema.XMLSchemaValidationError):
        bpmn_schema.validate(spoiled)


@pytest.mark.parametrize("code", CODES)
def test_only_the_steps_a_service_has_and_a_condition_on_every_choice(
    code: str, published: dict[str, str]
) -> None:
    elements = _process(published[code])[1]
    tasks = _names(elements, "Task")
    assert tasks <= {s.label_nb for s in steps_for(CATALOGUE.service(code))}
    for gateway in (e for e in elements if _tag(e) == "exclusiveGateway"):
        ways = [
            f
            for f in elements
            if _tag(f) == "sequenceFlow" and f.get("sourceRef") == gateway.get("id")
        ]
        if len(ways) > 1:  # a choice: each way says when it is taken
            assert all(f.find("bpmn:conditionExpression", NS) is not None for f in ways), (
                gateway.get("name")
            )
    assert "Mellomlagre" not in _names(_process(published["sosialhjelp"])[1], "Task")
    assert "Fatte vedtak" not in _names(_process(published["horingssvar"])[1], "Task")


@pytest.mark.parametrize("code", CODES)
def test_timers_for_the_clocks_and_messages_for_the_letters(
    code: str, published: dict[str, str]
) -> None:
    service = CATALOGUE.service(code)
    tree, elements = _process(published[code])
    timers = {
        e.get("name")
        for e in elements
        if _tag(e) in ("intermediateCatchEvent", "boundaryEvent")
        and e.find("bpmn:timerEventDefinition", NS) is not None
    }
    letters = {m.get("name") for m in tree.iter(f"{{{NS['bpmn']}}}messageFlow")}
    pools = {p.get("name") for p in tree.iter(f"{{{NS['bpmn']}}}participant")}
    assert "kvittering" in letters and "Søker" in pools
    if service.individual_decision:
        assert {"Klagefristen er ute", "Én måned uten vedtak"} <= timers
        assert {"mangelbrev", "foreløpig svar", "vedtak", "klage", "klagevedtak"} <= letters
        assert service.appeal_body in pools
    if service.neighbour_notice:
        assert {"Nabofristen er ute", "Tre uker uten vedtak"} <= timers
        assert "nabovarsel" in letters and "Naboer og gjenboere" in pools
    if service.consultations:
        assert "Høringsinstanser" in pools and "uttalelse" in letters
    if service.survey_days:
        assert f"Oppmåling innen {service.survey_days} dager" in timers


def test_the_diagram_changes_when_a_rule_changes(
    api: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Generated, not drawn: take withdrawal away from submitted cases and the way goes."""
    before = api.get("/services/avfallsbeholder/process.bpmn").text
    steps = [
        s if s.name != "withdraw" else Step(s.name, s.label_nb, s.actor, (Status.DRAFT,), s.target)
        for s in process.STEPS
    ]
    monkeypatch.setattr(process, "STEPS", tuple(steps))
    after = api.get("/services/avfallsbeholder/process.bpmn").text
    withdrawing = 'name="trekker søknaden"'
    assert before.count(withdrawing) == 3  # from the draft, the processing, waiting for documents
    assert after.count(withdrawing) == 1  # from the draft only


@pytest.mark.parametrize("code", CODES)
def test_no_two_shapes_overlap_in_the_layout(code: str) -> None:
    assert overlapping(layout(diagrams.chart(CATALOGUE.service(code)))) == []


@pytest.mark.parametrize("code", CODES)
def test_the_docs_show_the_process_the_code_draws(code: str) -> None:
    service = CATALOGUE.service(code)
    run = "run: saksflyt services --format svg --out docs/process (and --format bpmn)"
    assert (DOCS / f"{code}.svg").read_text(encoding="utf-8") == diagrams.svg(service) + "\n", run
    assert (DOCS / f"{code}.bpmn").read_text(encoding="utf-8") == diagrams.bpmn(service) + "\n", run


def _page(documents: dict[str, str], show: str | None, width: int, height: int) -> str:
    """A page that opens each document in bpmn-js and writes what it made of them into #results:
    warnings, counts, and every pair of shapes whose boxes overlap (labels, pools and lanes, and a
    boundary timer on its own task, left aside)."""
    assets = BPMN_JS.as_uri()
    return f"""<!doctype html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="{assets}/assets/diagram-js.css">
<link rel="stylesheet" href="{assets}/assets/bpmn-js.css">
<script src="{assets}/bpmn-viewer.production.min.js"></script></head>
<body style="margin:0"><div id="canvas" style="width:{width}px;height:{height}px"></div>
<pre id="results" style="display:none"></pre><script>
const documents = {json.dumps(documents)};
const apart = ['label', 'bpmn:Process', 'bpmn:Collaboration', 'bpmn:Participant', 'bpmn:Lane'];
(async () => {{
  const results = {{}};
  for (const [code, xml] of Object.entries(documents)) {{
    const viewer = new BpmnJS({{container: '#canvas'}});
    try {{
      const {{warnings}} = await viewer.importXML(xml);
      const all = viewer.get('elementRegistry').getAll();
      const shapes = all.filter(e => !e.waypoints && !apart.includes(e.type) && e.parent);
      const overlaps = [];
      for (let i = 0; i < shapes.length; i++) for (let j = i + 1; j < shapes.length; j++) {{
        const a = shapes[i], b = shapes[j];
        if (a.host === b || b.host === a) continue;
        if (a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height)
          overlaps.push([a.id, b.id]);
      }}
      results[code] = {{
        warnings: warnings.map(w => w.message),
        shapes: all.filter(e => !e.waypoints && e.type !== 'label' && e.type !== 'bpmn:Collaboration').length,
        connections: all.filter(e => e.waypoints).length,
        overlaps: overlaps,
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


def test_every_export_opens_in_bpmn_js_with_no_shapes_overlapping(
    published: dict[str, str], bpmn_js: Path, tmp_path: Path
) -> None:
    page = tmp_path / "open.html"
    page.write_text(_page(published, None, 1880, 760), encoding="utf-8")
    dom = browse("--virtual-time-budget=30000", "--dump-dom", page.as_uri(), profile=tmp_path / "p")
    found = ET.fromstring(dom.stdout[dom.stdout.index("<pre") : dom.stdout.index("</pre>") + 6])
    results: dict[str, Any] = json.loads(found.text or "{}")
    assert set(results) == set(CODES)
    for code, result in results.items():
        tree = ET.fromstring(published[code])
        assert result == {
            "warnings": [],
            "shapes": len(list(tree.iter(f"{{{NS['bpmndi']}}}BPMNShape"))),
            "connections": len(list(tree.iter(f"{{{NS['bpmndi']}}}BPMNEdge"))),
            "overlaps": [],
        }, code


def test_an_overlap_is_seen_by_the_browser_check(
    published: dict[str, str], bpmn_js: Path, tmp_path: Path
) -> None:
    """So the check above can fail: one task moved onto another."""
    tree = ET.fromstring(published["ledsagerbevis"])
    bounds = [b for b in tree.iter("{http://www.omg.org/spec/DD/20100524/DC}Bounds")]
    tasks = [b for b in bounds if b.get("width") == "120"]
    tasks[1].set("x", tasks[0].get("x", "0"))
    tasks[1].set("y", tasks[0].get("y", "0"))
    page = tmp_path / "spoiled.html"
    page.write_text(_page({"x": ET.tostring(tree, encoding="unicode")}, None, 800, 600), "utf-8")
    dom = browse("--virtual-time-budget=20000", "--dump-dom", page.as_uri(), profile=tmp_path / "p")
    found = ET.fromstring(dom.stdout[dom.stdout.index("<pre") : dom.stdout.index("</pre>") + 6])
    assert json.loads(found.text or "{}")["x"]["overlaps"]


def test_a_screenshot_of_one_process_is_saved_as_an_artifact(
    published: dict[str, str], bpmn_js: Path, tmp_path: Path
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    target = ARTIFACTS / "process-melding-om-tiltak.png"
    target.unlink(missing_ok=True)
    page = tmp_path / "show.html"
    building = {"melding-om-tiltak": published["melding-om-tiltak"]}
    page.write_text(_page(building, "melding-om-tiltak", 2400, 1100), encoding="utf-8")
    browse(
        "--virtual-time-budget=20000",
        "--window-size=2400,1100",
        f"--screenshot={target}",
        page.as_uri(),
        profile=tmp_path / "p",
    )
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert target.stat().st_size > 30_000  # a drawn process, not a blank page


def test_the_readme_shows_a_process_as_bpmn_js_draws_it() -> None:
    """The picture is bpmn-js's drawing of docs/process/melding-om-tiltak.bpmn (renew it from
    the artifact the screenshot test saves when the model changes)."""
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    picture = DOCS / "melding-om-tiltak.png"
    assert "(docs/process/melding-om-tiltak.png)" in readme
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and picture.stat().st_size > 30_000
