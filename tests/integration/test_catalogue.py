"""The published catalogue: every service with its names, description, law, clocks and form
schema, open to anyone; a municipality's settings applied when asked; the form schema accepts
the forms the API accepts."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from fastapi.testclient import TestClient
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from saksflyt.demo import synthetic
from saksflyt.http.app import create_app
from tests.stores import demo_paths, sqlite_settings

TEN = {
    "ledsagerbevis", "pleie-omsorg", "parkering-forflytningshemmet", "sosialhjelp",
    "skjenkebevilling", "horingssvar", "avfallsbeholder", "gravemelding", "kartforretning",
    "melding-om-tiltak",
}  # fmt: skip


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    folder = tmp_path_factory.mktemp("catalogue")
    settings_file = folder / "kommuner.toml"
    settings_file.write_text(
        '[0301]\nmaalform = "nn"\n[0301.skjenkebevilling]\ndecision_days = 90\n', encoding="utf-8"
    )
    settings = sqlite_settings(folder, municipality_settings=settings_file)
    with TestClient(create_app(settings)) as client:  # no token: the catalogue is public
        yield client


def test_every_service_is_published_with_what_an_applicant_needs(api: TestClient) -> None:
    services = api.get("/services").json()
    assert {s["code"] for s in services} == TEN
    for s in services:
        assert all(s["name"][lang] for lang in ("nb", "nn", "en")), s["code"]
        assert len(s["description_nb"]) > 100 and s["legal_basis"], s["code"]


def test_the_building_case_shows_its_current_name_and_its_clocks_are_law(api: TestClient) -> None:
    """pbl § 20-4 replaced "melding om tiltak" in 2010; pbl § 21-7 sets 3 and 12 weeks."""
    building = api.get("/services/melding-om-tiltak").json()
    assert building["name"]["nb"] == "Søknad om tiltak uten ansvarsrett"
    assert building["former_name_nb"] == "Melding om tiltak"
    deadlines = building["deadlines"]
    assert (deadlines["decision_days"], deadlines["objection_decision_days"]) == (21, 84)
    assert deadlines["statutory"] is True


def test_a_horingssvar_has_no_decision_and_no_appeal(api: TestClient) -> None:
    reply = api.get("/services/horingssvar").json()
    assert reply["individual_decision"] is False
    assert reply["deadlines"]["decision_days"] is None and reply["deadlines"]["appeal_days"] is None


def test_a_municipality_sees_its_own_settings(api: TestClient) -> None:
    oslo = api.get("/services/skjenkebevilling", params={"municipality": "0301"}).json()
    everyone = api.get("/services/skjenkebevilling").json()
    assert (oslo["deadlines"]["decision_days"], oslo["maalform"]) == (90, "nn")
    assert everyone["deadlines"]["decision_days"] == 120


@pytest.mark.parametrize(
    ("path", "rule"),
    [
        ("/services/hundeskatt", "unknown-service"),
        ("/services?municipality=9999", "unknown-municipality"),
    ],
)
def test_an_unknown_service_or_municipality_is_404(api: TestClient, path: str, rule: str) -> None:
    answer = api.get(path)
    assert answer.status_code == 404 and answer.json()["rule"] == rule
    assert answer.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("code", sorted(TEN))
def test_the_form_schema_accepts_a_valid_form_and_refuses_a_broken_one(
    api: TestClient, code: str
) -> None:
    schema = api.get(f"/services/{code}/form-schema").json()
    form: dict[str, Any] = json.loads(
        json.dumps(synthetic.complete_form(random.Random(1), code, "0301"), default=str)
    )
    jsonschema.validate(form, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**form, "not_a_field": 1}, schema)
    assert Path(schema["$schema"]).name == "schema"


def test_the_catalogue_in_docs_is_current() -> None:
    """docs/services.md is generated from the catalogue; it must say what the code says."""
    from domain.services import Catalogue
    from saksflyt.catalogue.published import markdown

    committed = (Path(__file__).parents[2] / "docs/services.md").read_text(encoding="utf-8")
    assert committed == markdown(Catalogue.default()), (
        "run: saksflyt services --format markdown > docs/services.md"
    )


def test_the_demo_says_where_to_see_the_catalogue_and_a_process_diagram(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from saksflyt.cli import main

    demo_paths(tmp_path, monkeypatch)
    assert main(["demo", "--applications", "30"]) == 0
    said = capsys.readouterr().out.replace("\n", "")
    diagram = tmp_path / "process" / "melding-om-tiltak.svg"
    assert "GET /services" in said and f"{diagram} (open it in a browser)" in said
    assert "Søknad om tiltak uten ansvarsrett" in diagram.read_text(encoding="utf-8")


@pytest.mark.parametrize("code", sorted(TEN))
def test_the_openapi_document_describes_forms_by_their_schemas(api: TestClient, code: str) -> None:
    """A client generated from /openapi.json knows what `form` holds: a whole form where one
    step submits it, a partial one (nothing required yet) for drafts."""
    document = api.get("/openapi.json").json()
    registry = Registry().with_resource("urn:api", Resource.from_contents(document, DRAFT202012))
    schemas = document["components"]["schemas"]
    keyed = schemas["NewApplication"]
    draft_refs = [r["$ref"] for r in schemas["DraftBody"]["properties"]["form"]["anyOf"]]
    assert len(keyed["anyOf"]) == len(draft_refs) == len(TEN)
    assert keyed["discriminator"]["propertyName"] == "service"
    whole = jsonschema.Draft202012Validator(
        {"$ref": f"urn:api#/components/schemas/Form-{code}"}, registry=registry
    )
    partial = jsonschema.Draft202012Validator(
        {"$ref": f"urn:api#/components/schemas/Form-{code}-partial"}, registry=registry
    )
    form: dict[str, Any] = json.loads(
        json.dumps(synthetic.complete_form(random.Random(2), code, "0301"), default=str)
    )
    whole.validate(form)
    bodies = jsonschema.Draft202012Validator(
        {"$ref": "urn:api#/components/schemas/NewApplication"}, registry=registry
    )
    body = {"service": code, "kommunenummer": "0301", "form": form}
    bodies.validate(body)  # the variant its service names, and no other
    other = next(c for c in sorted(TEN) if c != code)
    assert not bodies.is_valid({**body, "service": other})
    assert not bodies.is_valid({**body, "kommunenummer": "301"})  # not a kommunenummer
    first = dict([next(iter(form.items()))])
    partial.validate(first)
    assert not whole.is_valid(first) and not partial.is_valid({**first, "not_a_field": 1})
