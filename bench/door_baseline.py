"""The baseline of ``bench/door.py``: the bare ``eventsourcing`` library behind the same ASGI server
(uvicorn, one worker), one load-record-save per request — what the HTTP door would cost with
nothing of saksflyt's between the socket and the event store. With ``--token-key`` each request's
bearer token is verified (PyJWT, the same key and algorithm as saksflyt's development key).

    python bench/door_baseline.py --port P [--token-key PEM]   # store from SAKSFLYT_* settings
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any
from uuid import UUID

import jwt
import uvicorn
from cryptography.hazmat.primitives import serialization
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


class Case(Aggregate):
    @event("Submitted")
    def __init__(self, service: str, form: dict[str, Any]) -> None:
        self.service, self.form = service, form

    @event("Decided")
    def decide(self, outcome: str) -> None:
        self.outcome = outcome


def build(token_key: str | None) -> Starlette:
    if os.environ.get("POSTGRES_DBNAME"):
        env = {k: os.environ[k] for k in os.environ if k.startswith("POSTGRES_")}
        env["PERSISTENCE_MODULE"] = "eventsourcing.postgres"
    else:
        env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": os.environ["DB"]}
    cases = Application(env=env)
    public = None
    if token_key:
        private = serialization.load_pem_private_key(Path(token_key).read_bytes(), None)
        public = private.public_key()  # type: ignore[union-attr]

    def checked(request: Request) -> None:
        if public is not None:
            token = request.headers["authorization"].removeprefix("Bearer ")
            jwt.decode(token, public, algorithms=["ES256"], options={"verify_aud": False})

    # the work in the thread pool, as FastAPI runs saksflyt's (synchronous) routes
    def submitted(request: Request, body: dict[str, Any]) -> dict[str, Any]:
        checked(request)
        case = Case(body["service"], body["form"])
        cases.save(case)
        return {"case_id": str(case.id)}

    def decided(request: Request, body: dict[str, Any]) -> dict[str, Any]:
        checked(request)
        case = cases.repository.get(UUID(request.path_params["case_id"]))
        case.decide(body["outcome"])
        cases.save(case)
        return {"case_id": str(case.id), "version": case.version}

    async def submit(request: Request) -> JSONResponse:
        said = await run_in_threadpool(submitted, request, await request.json())
        return JSONResponse(said, status_code=201)

    async def decide(request: Request) -> JSONResponse:
        return JSONResponse(await run_in_threadpool(decided, request, await request.json()))

    return Starlette(
        routes=[
            Route("/applications", submit, methods=["POST"]),
            Route("/applications/{case_id}/decision", decide, methods=["POST"]),
        ]
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token-key", help="verify each request's token with this key")
    args = parser.parse_args()
    uvicorn.run(build(args.token_key), host="127.0.0.1", port=args.port, log_level="warning")
