"""Noark 5 exports over HTTP, for archivists: start a job, ask how it goes, download the package.

``POST /exports/noark5`` starts building the package of one municipality's archived cases in a
background thread and answers ``202`` with the job's id; ``GET /exports/{id}`` says running, done
(with counts) or failed (with why); ``GET /exports/{id}/package`` sends the zip when done. A job
lives in ``SAKSFLYT_EXPORT_DIR/<id>/`` (its ``status.json`` and ``package.zip``), so any worker
process can answer for it and a finished one survives a restart. The zip holds personal data in
clear: ``DELETE /exports/{id}`` removes it, and jobs older than ``SAKSFLYT_EXPORT_KEEP_HOURS`` go
when the next one starts.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID, uuid4, uuid5

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response
from pydantic import Field

from saksflyt.access.policy import Permission as P
from saksflyt.access.policy import Principal
from saksflyt.archive import noark5
from saksflyt.http import models as m
from saksflyt.http.auth import permit, scope_of
from saksflyt.http.commands import Key
from saksflyt.http.idempotency import fingerprint
from saksflyt.http.problems import ApiProblem
from saksflyt.http.services import services
from saksflyt.settings import Settings

router = APIRouter(
    tags=["archive"], responses=m.problem_responses(400, 401, 403, 404, 409, 413, 422, 503)
)
Archivist = Annotated[Principal, permit(P.RECORD)]


class ExportRequest(m.Body):
    municipality: Annotated[str, Field(pattern=r"^[0-9]{4}$", description="kommunenummer")]
    date_from: m.IsoDate | None = Field(
        default=None, alias="from", description="closed on or after"
    )
    date_to: m.IsoDate | None = Field(default=None, alias="to", description="closed before")


@router.post("/exports/noark5", status_code=202, summary="Start a Noark 5 export")
def start_export(
    body: ExportRequest, request: Request, who: Archivist, key: Key = None
) -> dict[str, Any]:
    """With an ``Idempotency-Key`` the job's id derives from it: a resend answers with the job the
    first request started (``duplicate``), another request with the same key is refused."""
    scope_of(who, body.municipality)  # 403 outside the archivist's municipalities
    settings = services(request).settings
    if settings.noark5_schemas is None:
        raise ApiProblem(503, "export-not-configured", "set SAKSFLYT_NOARK5_SCHEMAS on the server")
    # the job picks the cases from the read models: they first show every event committed
    # before this request (a case archived a moment ago is in the package)
    services(request).read_models_current()
    sweep(settings.export_dir, settings.export_keep_hours)
    job = uuid5(key, f"export:{body.municipality}") if key else uuid4()
    folder = settings.export_dir / str(job)
    asked = fingerprint("/exports/noark5", job, body.model_dump(mode="json", by_alias=True))
    state = {"job_id": str(job), "municipality": body.municipality, "status": "running"}
    made = settings.export_dir / f".new-{uuid4()}"  # the job appears whole, status and all
    made.mkdir(parents=True)
    _status(made, {**state, "request": asked})
    try:
        made.rename(folder)
    except OSError:  # the same key again: that job, if it was the same request
        shutil.rmtree(made)
        if _read(folder).get("request") != asked:
            raise ApiProblem(
                422, "idempotency-key-reused", "this Idempotency-Key was used for another export"
            ) from None
        return {**_shown(_read(folder)), "duplicate": True}
    threading.Thread(
        target=_build, args=(settings, folder, body), name=f"export-{job}", daemon=True
    ).start()
    return _shown(_read(folder))


@router.get("/exports/{job_id}", summary="How an export goes", response_model=m.ExportJob)
def export_status(job_id: UUID, request: Request, who: Archivist) -> dict[str, Any]:
    return _job(request, job_id, who)[1]


@router.get(
    "/exports/{job_id}/package",
    summary="Download a finished export (zip)",
    response_class=FileResponse,
    responses={
        200: {"content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}}}
    },
)
def export_package(job_id: UUID, request: Request, who: Archivist) -> FileResponse:
    folder, state = _job(request, job_id, who)
    if state["status"] != "done":
        raise ApiProblem(409, f"export-{state['status']}", "the export is not finished")
    name = f"noark5-{state['municipality']}-{job_id}.zip"
    return FileResponse(folder / "package.zip", media_type="application/zip", filename=name)


@router.delete("/exports/{job_id}", status_code=204, summary="Delete an export and its package")
def delete_export(job_id: UUID, request: Request, who: Archivist) -> Response:
    """The package holds personal data in clear: delete it once the archive has it."""
    shutil.rmtree(_job(request, job_id, who)[0])
    return Response(status_code=204)


def sweep(export_dir: Path, keep_hours: float) -> int:
    """Remove finished or failed jobs older than ``keep_hours``; returns how many."""
    cutoff = time.time() - keep_hours * 3600
    removed = 0
    for status in export_dir.glob("*/status.json"):
        if status.stat().st_mtime < cutoff and _read(status.parent)["status"] != "running":
            shutil.rmtree(status.parent, ignore_errors=True)
            removed += 1
    return removed


def _job(request: Request, job_id: UUID, who: Principal) -> tuple[Path, dict[str, Any]]:
    """The job's folder and state, if it exists and lies in the caller's municipalities."""
    folder = services(request).settings.export_dir / str(job_id)
    if not (folder / "status.json").is_file():
        raise ApiProblem(404, "export-not-found", "no such export")
    state = _read(folder)
    scope_of(who, state["municipality"])
    return folder, state


def _build(settings: Settings, folder: Path, body: ExportRequest) -> None:
    """The job: the package into ``folder/package``, zipped; status.json says how it went."""
    state = _read(folder)
    out = folder / "package"
    try:
        assert settings.noark5_schemas is not None
        with noark5.package_for(settings, body.municipality, out, datetime.now(UTC)) as (
            app,
            _,
            package,
        ):
            since, until = body.date_from, body.date_to
            result = noark5.export(app, package, settings.noark5_schemas, since, until)
        shutil.make_archive(str(out), "zip", out)
        shutil.rmtree(out)  # documents decrypted only for as long as the zip takes
        state |= {"status": "done", "cases": result.cases, "documents": result.files_written}
    except Exception as failure:  # the job reports any failure; the API lives on
        shutil.rmtree(out, ignore_errors=True)
        state |= {"status": "failed", "reason": str(failure)[:300]}
    _status(folder, state)


def _status(folder: Path, state: dict[str, Any]) -> None:
    temporary = folder / "status.json.tmp"
    temporary.write_text(json.dumps(state), encoding="utf-8")
    temporary.replace(folder / "status.json")


def _shown(state: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in state.items() if k != "request"}  # the key's fingerprint


def _read(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "status.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]
