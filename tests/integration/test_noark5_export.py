"""The Noark 5 export: a package of a few thousand archived cases across all ten services
validates against Arkivverket's official schemas (read from the shared folder: missing fails
under CI=true), its ADDML counts and checksums match the files, every archived case is in it
once, no shredded case is, the public journal shows no screened name, and a re-run gives the
same bytes and numbers."""

from __future__ import annotations

import hashlib
import io
import os
import random
import re
import time
import tomllib
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4
from xml.etree import ElementTree as ET

import pytest
import xmlschema
from fastapi.testclient import TestClient

from domain import commands as cmd
from domain.casework import Casework
from domain.forms import applicant_name
from domain.lifecycle import Status
from domain.services import Sensitivity
from projections import queries
from saksflyt.access.policy import Role
from saksflyt.archive import noark5, retention
from saksflyt.bootstrap import bootstrap, projection_store
from saksflyt.demo import synthetic
from saksflyt.demo.scenarios import run_scenarios
from saksflyt.demo.simulation import run_demo
from saksflyt.http.app import create_app
from saksflyt.http.documents import DocumentStore
from saksflyt.http.exports import sweep
from saksflyt.privacy.vault import KeyVault
from saksflyt.settings import Settings
from tests.api_helpers import png
from tests.pdfa import Preflight
from tests.stores import numbers, sqlite_settings
from tests.tokens import headers

pytestmark = pytest.mark.slow  # not in make test-fast

OSLO = "0301"
NOW = datetime(2028, 7, 1, 8, tzinfo=UTC)
PAIRS = [
    ("arkivstruktur.xml", "arkivstruktur.xsd"),
    ("loependeJournal.xml", "loependeJournal.xsd"),
    ("offentligJournal.xml", "offentligJournal.xsd"),
    ("endringslogg.xml", "endringslogg.xsd"),
    ("arkivuttrekk.xml", "addml.xsd"),
]
A = "{http://www.arkivverket.no/standarder/noark5/arkivstruktur}"
J = "{http://www.arkivverket.no/standarder/noark5/offentligJournal}"
ADDML = "{http://www.arkivverket.no/standarder/addml}"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"


@dataclass
class Store:
    settings: Settings
    app: Casework
    archived: set[UUID]
    shredded: set[UUID]
    uploads: dict[str, bytes]  # sha256 -> bytes uploaded over the API


def keep_everything(folder: Path) -> Path:
    """Municipal settings that archive every service in Oslo, so all ten are in the package
    (and sosialhjelp and pleie-omsorg keep their selection in Bergen)."""
    codes = tomllib.loads((Path(__file__).parents[2] / "domain/data/services.toml").read_text())
    lines = [
        f'[{OSLO}.{code}]\nretention = {{ action = "archive", after_days = 0 }}' for code in codes
    ]
    path = folder / "kommuner.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def with_uploads(settings: Settings) -> dict[str, bytes]:
    """Three cases over the API with real uploads, decided: their bytes must reach DOKUMENT/."""
    uploaded = {}
    clock = {"now": datetime(2026, 11, 2, 9, tzinfo=UTC)}
    with TestClient(
        create_app(settings, clock=lambda: clock["now"]), headers=headers(settings)
    ) as api:
        for seed in range(3):
            made = api.post("/drafts", json={"service": "ledsagerbevis", "kommunenummer": OSLO})
            case = made.json()["case_id"]
            for kind, content, media in (
                ("foto", png(seed), "image/png"),
                ("legeerklaering", synthetic.pdf(f"legeerklaering {seed}"), "application/pdf"),
            ):
                sent = api.post(
                    f"/applications/{case}/attachments",
                    data={"kind": kind},
                    files={"file": ("f", content, media)},
                )
                assert sent.status_code == 201, sent.text
                uploaded[hashlib.sha256(content).hexdigest()] = content
            form = synthetic.complete_form(random.Random(seed), "ledsagerbevis", OSLO)
            assert api.post(f"/applications/{case}/submit", json={"form": form}).status_code == 200
            decision = {
                "outcome": "granted",
                "legal_basis": "retningslinjer",
                "case_officer": "kari",
            }
            assert api.post(f"/applications/{case}/decision", json=decision).status_code == 200
    return uploaded  # fmt: skip


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    folder = tmp_path_factory.mktemp("noark5")
    settings = sqlite_settings(folder, municipality_settings=keep_everything(folder))
    uploads = with_uploads(settings)
    app = bootstrap(settings)
    assert isinstance(app.vault, KeyVault)
    documents = DocumentStore(settings.document_dir, app.vault)  # uploads with bytes behind them
    demo = run_demo(app, 4000, seed=11, municipalities=(OSLO,), documents=documents)
    run_scenarios(app, documents)  # a licence decided in the spring: every service has a case
    later = date(2028, 6, 1)
    at = retention.moment(later)
    for case_id in demo.case_ids[:300]:  # some shredded by an archivist against the policy
        if app.get_case(case_id).status in (Status.DECIDED, Status.WITHDRAWN):
            why = "test: kassert etter avtale med arkivet"
            shred = cmd.Shred(
                command_id=uuid4(), case_id=case_id, received_at=at, override_reason=why
            )
            assert app.handle(shred).refusal is None
    projections = projection_store(settings)
    retention.catch_up(app, projections)
    retention.run(app, list(retention.plan(app, projections, later)), at, numbers(settings))
    retention.catch_up(app, projections)
    rows = projections.db.rows(
        "SELECT case_id, status FROM case_overview WHERE kommunenummer = ?", (OSLO,)
    )
    projections.db.close()
    archived = {UUID(r["case_id"]) for r in rows if r["status"] == Status.ARCHIVED.value}
    shredded = {UUID(r["case_id"]) for r in rows if r["status"] == Status.SHREDDED.value}
    yield Store(settings, app, archived, shredded, uploads)
    app.close()


def export(store: Store, out: Path, schemas: Path) -> noark5.Exported:
    with noark5.package_for(store.settings, OSLO, out, NOW) as (app, _, package):
        return noark5.export(app, package, schemas)


@pytest.fixture(scope="module")
def package(
    store: Store, tmp_path_factory: pytest.TempPathFactory, shared_dir: Path
) -> tuple[Path, noark5.Exported]:
    out = tmp_path_factory.mktemp("uttrekk")
    return out, export(store, out, shared_dir / "noark5")


@pytest.mark.parametrize(("document", "schema"), PAIRS)
def test_every_file_validates_against_the_official_schema(
    package: tuple[Path, noark5.Exported], document: str, schema: str
) -> None:
    out, _ = package
    errors = list(xmlschema.XMLSchema(str(out / schema)).iter_errors(str(out / document)))
    assert errors == [], [str(e)[:400] for e in errors[:3]]


def test_every_archived_case_is_there_once_and_no_shredded_one(
    store: Store, package: tuple[Path, noark5.Exported]
) -> None:
    out, result = package
    mapper = Counter(
        UUID(m.findtext(f"{A}systemID") or "")
        for m in ET.parse(out / "arkivstruktur.xml").iter(f"{A}mappe")
    )
    assert len(mapper) > 1800 and set(mapper) == store.archived and max(mapper.values()) == 1
    assert not set(mapper) & store.shredded and store.shredded
    klasser = {
        k.findtext(f"{A}klasseID") for k in ET.parse(out / "arkivstruktur.xml").iter(f"{A}klasse")
    }
    services = {store.app.get_case(c).service for c in mapper}
    assert services == klasser and len(services) == 10  # all ten services have archived cases
    assert result.cases == len(mapper)
    projections = projection_store(store.settings)
    assert queries.count_archived(projections.db, OSLO, None, None) == result.cases  # progress
    projections.db.close()
    ids = {
        UUID(m.findtext(f"{A}systemID") or ""): m.findtext(f"{A}mappeID")
        for m in ET.parse(out / "arkivstruktur.xml").iter(f"{A}mappe")
    }
    # archived by the retention run: the case's reference is its saksmappe number (the demo's
    # own archiving within its month used a reference of its own)
    references = {c: store.app.get_case(c).archive_reference for c in list(ids)[:300]}
    numbered = {c: r for c, r in references.items() if r and re.fullmatch(r"\d{4}/\d+", r)}
    assert len(numbered) > 100 and all(ids[c] == r for c, r in numbered.items())


def test_addml_counts_and_checksums_match_the_files(package: tuple[Path, noark5.Exported]) -> None:
    out, result = package
    addml = ET.parse(out / "arkivuttrekk.xml")
    tree = ET.parse(out / "arkivstruktur.xml")
    actual = {
        "mappe": sum(1 for _ in tree.iter(f"{A}mappe")),
        "registrering": sum(1 for _ in tree.iter(f"{A}registrering")),
        "dokumentbeskrivelse": sum(1 for _ in tree.iter(f"{A}dokumentbeskrivelse")),
        "dokumentobjekt": sum(1 for _ in tree.iter(f"{A}dokumentobjekt")),
    }
    declared = _declared(addml)
    assert declared["arkivstruktur"] == actual
    journal_entries = sum(1 for _ in ET.parse(out / "offentligJournal.xml").iter())
    assert declared["offentligJournal"]["journalregistrering"] == result.journalposter > 0
    assert journal_entries > result.journalposter
    for name, checksum in _checksums(addml).items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == checksum, name
    files = list((out / "DOKUMENT").iterdir())
    assert len(files) == actual["dokumentobjekt"] == result.files_written
    assert result.missing == 0
    # a letter is one file; an upload two (as received, and as PDF/A) unless it could not be
    assert result.files_written == 2 * result.documents - letters_and_unconverted(tree, result)


def test_documents_are_the_bytes_received_and_as_checksummed(
    store: Store, package: tuple[Path, noark5.Exported]
) -> None:
    out, _ = package
    for obj in ET.parse(out / "arkivstruktur.xml").iter(f"{A}dokumentobjekt"):
        content = (out / (obj.findtext(f"{A}referanseDokumentfil") or "")).read_bytes()
        assert hashlib.sha256(content).hexdigest() == obj.findtext(f"{A}sjekksum")
        assert len(content) == int(obj.findtext(f"{A}filstoerrelse") or -1)
    received = {hashlib.sha256(p.read_bytes()).hexdigest() for p in (out / "DOKUMENT").iterdir()}
    assert set(store.uploads) <= received  # uploads over the API: as received


def letters_and_unconverted(tree: ET.ElementTree, result: noark5.Exported) -> int:
    letters = sum(
        1 for d in tree.iter(f"{A}dokumentbeskrivelse") if d.findtext(f"{A}dokumenttype") == "Brev"
    )
    return letters + result.unconverted


def test_uploads_are_kept_as_received_and_as_pdfa(
    store: Store, package: tuple[Path, noark5.Exported], preflight: Preflight, tmp_path: Path
) -> None:
    """An upload is archived twice: Produksjonsformat (the bytes received) and Arkivformat
    (converted to PDF/A-1b with Ghostscript); one Ghostscript cannot read stays as received,
    and its dokumentbeskrivelse says why."""
    out, result = package
    converted, unconverted = [], 0
    for described in ET.parse(out / "arkivstruktur.xml").iter(f"{A}dokumentbeskrivelse"):
        if described.findtext(f"{A}dokumenttype") != "Vedlegg":
            continue
        variants = {
            o.findtext(f"{A}variantformat"): o for o in described.iter(f"{A}dokumentobjekt")
        }
        assert "Produksjonsformat" in variants
        if "Arkivformat" in variants:
            archival = variants["Arkivformat"]
            assert archival.findtext(f"{A}format") == "PDF/A-1b"
            converted.append(out / (archival.findtext(f"{A}referanseDokumentfil") or ""))
        else:
            unconverted += 1
            assert "kunne ikke konverteres til PDF/A" in (
                described.findtext(f"{A}beskrivelse") or ""
            )
    assert converted and unconverted == result.unconverted  # uploads are parsed: none here
    sample = converted[:: max(1, len(converted) // 40)]
    assert preflight.errors(sample, tmp_path) == {p.name: [] for p in sample}


def test_every_case_has_its_application_and_the_period_covers_every_date(
    package: tuple[Path, noark5.Exported],
) -> None:
    """Every saksmappe has the application as an incoming journal entry (a draft never sent is
    not archived), and arkivuttrekk.xml's period runs from the first date to the last."""
    out, _ = package
    dates = []
    for mappe in ET.parse(out / "arkivstruktur.xml").iter(f"{A}mappe"):
        entries = [
            (r.findtext(f"{A}journalposttype"), r.findtext(f"{A}tittel") or "")
            for r in mappe.iter(f"{A}registrering")
        ]
        application = [e for e in entries if e[1].startswith("Søknad om")]
        assert application and application[0][0] == "Inngående dokument", mappe.findtext(
            f"{A}tittel"
        )
        dates += [
            mappe.findtext(f"{A}opprettetDato") or "",
            mappe.findtext(f"{A}avsluttetDato") or "",
        ]
    text = (out / "arkivuttrekk.xml").read_text(encoding="utf-8")
    start = re.search(r'name="startDate">\s*<value>([^<]+)<', text)
    end = re.search(r'name="endDate">\s*<value>([^<]+)<', text)
    assert start and end
    assert start.group(1) <= min(d[:10] for d in dates)
    assert end.group(1) >= max(d[:10] for d in dates)


def test_the_letters_saksflyt_wrote_are_valid_pdfa(
    package: tuple[Path, noark5.Exported], preflight: Preflight, tmp_path: Path
) -> None:
    out, _ = package
    tree = ET.parse(out / "arkivstruktur.xml")
    letters = [
        out / (obj.findtext(f"{A}referanseDokumentfil") or "")
        for obj in tree.iter(f"{A}dokumentobjekt")
        if obj.findtext(f"{A}format") == "PDF/A-1b"
    ]
    assert len(letters) > 3 * 1800  # the application, the receipt and the decision at least
    sample = letters[:: len(letters) // 150]  # every kind of letter, from every service
    assert {p.read_bytes()[:8] for p in sample} == {b"%PDF-1.4"}
    assert preflight.errors(sample, tmp_path) == {p.name: [] for p in sample}


def test_each_case_carries_its_retention_decision(
    store: Store, package: tuple[Path, noark5.Exported]
) -> None:
    out, _ = package
    for mappe in ET.parse(out / "arkivstruktur.xml").iter(f"{A}mappe"):
        case = store.app.get_case(UUID(mappe.findtext(f"{A}systemID") or ""))
        assert mappe.find(f"{A}kassasjon") is None  # kept: no bevaringstid, no kassasjonsdato
        note = mappe.find(f"{A}merknad")
        assert note is not None and note.findtext(f"{A}merknadstype") == "Bevaring"
        why = note.findtext(f"{A}merknadstekst") or ""
        assert why.startswith("Bevares.") and ("kept" in why or "an archivist" in why)
        archived = next(e for e in store.app.history(case.id) if type(e).__name__ == "Archived")
        noted = note.findtext(f"{A}merknadsdato") or ""
        assert noted[:10] == archived.at.astimezone(UTC).date().isoformat()


def test_the_public_journal_shows_no_screened_name(
    store: Store, package: tuple[Path, noark5.Exported]
) -> None:
    out, _ = package
    full = (out / "loependeJournal.xml").read_text(encoding="utf-8")
    screened = [
        c
        for c in (store.app.get_case(c) for c in store.archived)
        if store.app.catalogue.service(c.service).sensitivity is not Sensitivity.NONE
        and c.submitted_at is not None  # a draft withdrawn unsent has no journal entry
    ]
    names = {applicant_name(c.form) for c in screened} - {None}
    assert len(names) > 50 and all(name in full for name in names)
    shown = []
    entries = ET.parse(out / "offentligJournal.xml").iter(f"{J}journalregistrering")
    for entry in entries:
        if entry.find(f"{J}saksmappe/{J}tilgangsrestriksjon") is None:
            continue  # not a confidential service: the applicant's name is public
        shown += [e.text for e in entry.iter() if e.text and e.text.strip()]
    assert shown and "Offl. § 13 jf. fvl. § 13" in shown
    assert not [text for text in shown for name in names if name in text]


def test_a_rerun_gives_the_same_bytes_and_numbers(
    store: Store, package: tuple[Path, noark5.Exported], tmp_path: Path, shared_dir: Path
) -> None:
    out, _ = package
    export(store, tmp_path, shared_dir / "noark5")
    for name, _ in PAIRS:
        assert (tmp_path / name).read_bytes() == (out / name).read_bytes(), name


def test_a_missing_schema_folder_fails_before_any_work(store: Store, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="official XSDs"):
        export(store, tmp_path / "out", tmp_path / "nowhere")


def _declared(addml: ET.ElementTree) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for item in addml.iter(f"{ADDML}dataObject"):
        for occurrences in item.iter(f"{ADDML}property"):
            if occurrences.get("name") == "numberOfOccurrences":
                element = occurrences.findtext(f"{ADDML}value") or ""
                value = next(
                    p for p in occurrences.iter(f"{ADDML}property") if p.get("name") == "value"
                )
                counts.setdefault(item.get("name") or "", {})[element] = int(
                    value.findtext(f"{ADDML}value") or -1
                )
    return counts


def _checksums(addml: ET.ElementTree) -> dict[str, str]:
    sums: dict[str, str] = {}
    for prop in addml.iter(f"{ADDML}property"):
        if prop.get("name") != "file":
            continue
        found: dict[str, Any] = {p.get("name"): p for p in prop.iter(f"{ADDML}property")}
        name = found["name"].findtext(f"{ADDML}value")
        sums[name] = found["value"].findtext(f"{ADDML}value")
    return sums


def test_an_archivist_exports_over_http_and_downloads_the_zip(
    store: Store, shared_dir: Path, tmp_path: Path
) -> None:
    settings = store.settings.model_copy(
        update={"noark5_schemas": shared_dir / "noark5", "export_dir": tmp_path}
    )
    archivist = headers(settings, roles={Role.ARCHIVIST}, kommuner={OSLO})
    with TestClient(create_app(settings), headers=archivist) as api:
        job = api.post("/exports/noark5", json={"municipality": OSLO, "from": "2026-01-01"})
        assert job.status_code == 202 and job.json()["status"] == "running"
        url, deadline = f"/exports/{job.json()['job_id']}", time.monotonic() + 300
        while (state := api.get(url).json())["status"] == "running":
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert state["status"] == "done" and state["cases"] == len(store.archived)
        zipped = api.get(f"{url}/package")
    assert zipped.headers["content-type"] == "application/zip"
    names = set(zipfile.ZipFile(io.BytesIO(zipped.content)).namelist())
    assert {name for pair in PAIRS for name in pair} <= names
    files = [n for n in names if n.startswith("DOKUMENT/") and not n.endswith("/")]
    assert len(files) == state["documents"]
    assert not (tmp_path / job.json()["job_id"] / "package").exists()  # only the zip is kept
    with TestClient(create_app(settings), headers=archivist) as api:
        assert api.delete(url).status_code == 204
        assert api.get(url).status_code == 404 and not (tmp_path / job.json()["job_id"]).exists()
    stale = tmp_path / "old-job"
    stale.mkdir()
    (stale / "status.json").write_text('{"status": "done", "municipality": "0301"}')
    os.utime(stale / "status.json", (0, 0))
    assert sweep(tmp_path, keep_hours=24) == 1 and not stale.exists()
