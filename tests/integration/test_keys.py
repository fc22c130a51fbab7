"""The municipality's keys: rotation keeps every case readable, a server store never starts (or
makes keys) without a key ring, and a service without drafts stores none."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path
from uuid import uuid4

import pytest

from domain import commands as cmd
from saksflyt.bootstrap import bootstrap
from saksflyt.demo import synthetic
from saksflyt.privacy.keyring import FileKeyRing, KeyRingMissing
from saksflyt.privacy.sealed import Unsealer, seal
from saksflyt.privacy.vault import KeyVault
from saksflyt.settings import Settings
from schemas.mapping import InvalidCommand
from schemas.registry import default_registry
from tests.kafka_helpers import T0
from tests.stores import sqlite_settings
from tests.tokens import client as api_client


def test_keys_rotate_and_retire_and_every_case_still_opens(tmp_path: Path) -> None:
    settings = sqlite_settings(tmp_path)
    app = bootstrap(settings)
    forms = {}
    for _ in range(5):
        case_id = uuid4()
        forms[case_id] = synthetic.complete_form(
            random.Random(str(case_id)), "avfallsbeholder", "0301"
        )
        start = cmd.StartApplication(
            case_id=case_id,
            received_at=T0,
            service="avfallsbeholder",
            kommunenummer="0301",
            form=forms[case_id],
            command_id=uuid4(),
        )
        assert app.handle(start).refusal is None
    app.close()
    env = {
        **os.environ,
        "SAKSFLYT_SQLITE_PATH": str(settings.sqlite_path),
        "SAKSFLYT_KEY_RING": str(settings.key_ring),
        "SAKSFLYT_DOCUMENT_DIR": str(settings.document_dir),
    }
    before = json.loads(settings.key_ring.read_text())["keks"]["0301"]
    done = subprocess.run(
        [sys.executable, "-m", "saksflyt", "keys", "rotate", "--retire"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    after = json.loads(settings.key_ring.read_text())["keks"]["0301"]
    assert [k["id"] for k in after] == ["0301/kek-2"] and before[0]["id"] == "0301/kek-1"
    reopened = bootstrap(settings)
    assert all(reopened.get_case(c).form == f for c, f in forms.items())
    assert isinstance(reopened.vault, KeyVault)
    assert reopened.vault.kek_ids_in_use() == {"0301/kek-2"}
    reopened.close()


def test_sosialhjelp_keeps_no_draft(tmp_path: Path) -> None:
    with api_client(sqlite_settings(tmp_path)) as client:
        draft = client.post("/drafts", json={"service": "sosialhjelp", "kommunenummer": "0301"})
        assert draft.status_code == 409 and draft.json()["rule"] == "drafts-not-allowed"
        form = synthetic.complete_form(random.Random(1), "sosialhjelp", "0301")
        body = {"service": "sosialhjelp", "kommunenummer": "0301", "form": form}
        assert client.post("/applications", json=body).status_code == 201


def test_a_server_store_will_not_start_without_the_municipalitys_key_ring(
    tmp_path: Path, postgres_url: str, postgres_schema: str
) -> None:
    settings = Settings(
        event_store="postgres",
        postgres_url=postgres_url,
        postgres_schema=postgres_schema,
        key_ring=tmp_path / "nowhere.json",
    )
    with pytest.raises(KeyRingMissing, match="saksflyt keys init"):
        bootstrap(settings)
    assert not settings.key_ring.exists(), "a server store never makes keys by itself"


def test_an_erasure_by_another_process_reaches_a_running_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from saksflyt.privacy import vault

    monkeypatch.setattr(vault, "CACHE_SECONDS", 0.0)  # in service: within a minute
    settings = sqlite_settings(tmp_path)
    serving, eraser = bootstrap(settings), bootstrap(settings)
    case_id = uuid4()
    form = synthetic.complete_form(random.Random(2), "avfallsbeholder", "0301")
    base = {"case_id": case_id, "received_at": T0}
    filed = cmd.SubmitNewApplication(
        command_id=uuid4(), service="avfallsbeholder", kommunenummer="0301", form=form, **base
    )
    assert serving.handle(filed).refusal is None
    assert serving.get_case(case_id).form["adresse"] == form["adresse"]
    withdrawn = cmd.Withdraw(command_id=uuid4(), reason="flytter", **base)
    shred = cmd.Shred(command_id=uuid4(), reason="test", **base)
    assert eraser.handle(withdrawn).refusal is None and eraser.handle(shred).refusal is None
    assert serving.get_case(case_id).form == {}, "the running process can no longer open it"
    serving.close()
    eraser.close()


def test_sealed_fields_open_and_spoiled_ones_are_refused(tmp_path: Path) -> None:
    ring = FileKeyRing.create(tmp_path / "keyring.json")
    key_id, public = ring.sealing_public_key("0301")
    unseal = Unsealer(ring, default_registry())
    sealed = seal(key_id, public, '{"adresse": "Storgata 1"}')
    assert unseal("SaveDraft", {"form_json": sealed})["form_json"] == '{"adresse": "Storgata 1"}'
    spoiled = sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB")
    for bad in (spoiled, "sealed1.0301/seal-9." + sealed.rpartition(".")[2], "sealed1.x"):
        with pytest.raises(InvalidCommand, match="cannot open"):
            unseal("SaveDraft", {"form_json": bad})
    strict = Unsealer(ring, default_registry(), require_sealed=True)
    with pytest.raises(InvalidCommand, match="must be sealed"):
        strict("SaveDraft", {"form_json": "{}"})
