"""What the API hardening tests share: synthetic files, requests, and checks of the answers."""

from __future__ import annotations

import random
from typing import Any

from fastapi.testclient import TestClient

from saksflyt import rebuild
from saksflyt.bootstrap import bootstrap
from saksflyt.demo import synthetic
from saksflyt.settings import Settings
from tests.clock import FakeClock
from tests.tokens import client as api_client

PDF = synthetic.pdf("a synthetic attachment")  # a real PDF: uploads are parsed


png = synthetic.png
PNG = png()
MZ = b"MZ\x90\x00" + b"\x00" * 60  # the start of a Windows executable
HTML = b"<!DOCTYPE html><html><script>alert(1)</script></html>"


def synthetic_form(service: str = "avfallsbeholder", seed: int = 1) -> dict[str, Any]:
    return synthetic.complete_form(random.Random(seed), service, "0301")


def new(client: TestClient, service: str = "avfallsbeholder", **extra: Any) -> Any:
    body = {"service": service, "kommunenummer": "0301", "form": synthetic_form(service), **extra}
    return client.post("/applications", json=body)


def draft(client: TestClient, service: str = "ledsagerbevis") -> str:
    response = client.post("/drafts", json={"service": service, "kommunenummer": "0301"})
    assert response.status_code == 201, response.text
    return str(response.json()["case_id"])


def upload(client: TestClient, case_id: str, kind: str, content: bytes, media: str) -> Any:
    files = {"file": ("vedlegg", content, media)}
    return client.post(f"/applications/{case_id}/attachments", data={"kind": kind}, files=files)


def stored_events(settings: Settings) -> int:
    app = bootstrap(settings)
    try:
        return app.recorder.max_notification_id() or 0
    finally:
        app.close()


def still_usable(settings: Settings, clock: FakeClock, set_aside: int = 0) -> None:
    """The store keeps working: a restart serves, a command succeeds, a rebuild takes every
    event but those ``set_aside`` (quarantined)."""
    with api_client(settings, clock=clock) as again:
        assert new(again).status_code == 201
        assert again.get("/overview").status_code == 200
    app = bootstrap(settings)
    try:
        applied = rebuild.rebuild(settings, rebuild.StoreSource(app))
        assert applied == stored_events(settings) - set_aside
    finally:
        app.close()


def problem(response: Any, status: int, rule: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert {"type", "title", "status", "detail", "rule"} <= body.keys()
    if rule is not None:
        assert body["rule"] == rule, body
    return body
