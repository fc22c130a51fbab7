"""Who may do what over HTTP: every endpoint × every role × own or other municipality, and every
way a token can be wrong. The table below is the contract; docs/security.md shows the same table
(``test_the_docs_show_this_table`` keeps them equal).

The caller's token is for kommune 0301 only. "own" acts on a case (or asks for rows) in 0301,
"other" in 4601. A cell expected to succeed gets a fresh case in the state its step needs, so its
status is the route's own answer; a refused cell never reaches a case.
"""

from __future__ import annotations

import base64
import json
import os
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient

from saksflyt.access.policy import Principal, Role
from saksflyt.access.tokens import DEV_KID, InvalidToken, TokenVerifier, mint
from saksflyt.demo import synthetic
from saksflyt.http.app import create_app
from saksflyt.settings import Settings
from tests import needs
from tests.api_helpers import PDF
from tests.clock import FakeClock
from tests.send import project
from tests.stores import sqlite_settings
from tests.tokens import PURPOSE, headers, token

S, C, A, N, OP, U, AP = (
    r.value for r in Role
)  # service caseworker archivist analyst operator auditor applicant
EVERYONE = "anyone, no token"
OWN, OTHER = "0301", "4601"

# endpoint                                              roles allowed   own   other  case state
TABLE: list[tuple[str, str | set[str], int, int | None, str | None]] = [
    ("POST /applications",                               {S, C},        201,  403,   None),
    ("POST /drafts",                                     {S, C},        201,  403,   None),
    ("POST /contact-requests",                           {S, C},        201,  403,   None),
    ("POST /applications/{case}/contact-taken-up",       {C},           200,  404,   "contact"),
    ("POST /applications/{case}/draft",                  {S, C},        200,  404,   "draft"),
    ("POST /applications/{case}/submit",                 {S, C},        200,  404,   "ready"),
    ("POST /applications/{case}/attachments",            {S, C},        201,  404,   "draft"),
    ("POST /applications/{case}/withdrawal",             {S, C},        200,  404,   "submitted"),
    ("POST /applications/{case}/neighbour-notice",       {S, C},        200,  404,   "building"),
    ("POST /applications/{case}/neighbour-comments",     {S, C},        200,  404,   "noticed"),
    ("POST /applications/{case}/neighbour-consents",     {S, C},        200,  404,   "noticed"),
    ("POST /applications/{case}/missing-documents",      {C},           200,  404,   "lodged"),
    ("POST /applications/{case}/consultations",          {C},           200,  404,   "licence"),
    ("POST /applications/{case}/consultation-answers",   {C},           200,  404,   "consulted"),
    ("POST /applications/{case}/resume",                 {C},           200,  404,   "paused"),
    ("POST /applications/{case}/preliminary-reply",      {C},           200,  404,   "submitted"),
    ("POST /applications/{case}/decision",               {C},           200,  404,   "submitted"),
    ("POST /applications/{case}/decision-delivery",      {C},           200,  404,   "decided"),
    ("POST /applications/{case}/survey",                 {C},           200,  404,   "permitted"),
    ("POST /applications/{case}/appeal",                 {S, C},        200,  404,   "decided"),
    ("POST /applications/{case}/appeal-review",          {C},           200,  404,   "appealed"),
    ("POST /applications/{case}/appeal-dismissal",       {C},           200,  404,   "appealed"),
    ("POST /applications/{case}/appeal-result",          {C},           200,  404,   "forwarded"),
    ("POST /applications/{case}/archive",                {A},           200,  404,   "kept"),
    ("POST /applications/{case}/shred",                  {A},           200,  404,   "decided"),
    ("GET /applications/{case}",                         {C, A},        200,  404,   "submitted"),
    ("GET /applications/{case}/events",                  {C, A},        200,  404,   "submitted"),
    ("GET /applications/{case}/events?personal",         {C},           200,  404,   "submitted"),
    ("GET /applications/{case}/messages",                {C, A},        200,  404,   "submitted"),
    ("GET /applications/{case}/draft",                   {S, C},        200,  404,   "draft"),
    ("GET /overview",                                    {C, A, N},     200,  403,   None),
    ("GET /stats",                                       {C, A, N},     200,  403,   None),
    ("GET /deadlines",                                   {C, A, N},     200,  403,   None),
    ("GET /neighbours",                                  {C, A, N},     200,  403,   None),
    ("GET /eventlog",                                    {C, A, N},     200,  403,   None),
    ("GET /dashboard",                                   {C, A, N},     200,  None,  None),
    ("GET /access-log",                                  {U},           200,  None,  None),
    ("POST /exports/noark5",                             {A},           202,  403,   None),
    ("GET /exports/{job}",                               {A},           200,  403,   "exported"),
    ("GET /exports/{job}/package",                       {A},           200,  403,   "exported"),
    ("DELETE /exports/{job}",                            {A},           204,  403,   "exported"),
    ("GET /metrics",                                     {OP},          200,  None,  None),
    ("GET /services",                                    EVERYONE,      200,  None,  None),
    ("GET /services/melding-om-tiltak",                  EVERYONE,      200,  None,  None),
    ("GET /services/melding-om-tiltak/form-schema",      EVERYONE,      200,  None,  None),
    ("GET /services/melding-om-tiltak/process.svg",      EVERYONE,      200,  None,  None),
    ("GET /services/melding-om-tiltak/process.bpmn",     EVERYONE,      200,  None,  None),
    ("GET /healthz",                                     EVERYONE,      200,  None,  None),
    ("GET /readyz",                                      EVERYONE,      200,  None,  None),
]  # fmt: skip
BAD_TOKENS = ("none", "expired", "wrong issuer", "wrong audience", "bad signature", "alg=none",
              "HS256", "not a JWT", "kid not a string", "unknown crit", "exp as a string",
              "lives for ever", "no iat")  # fmt: skip


def form(service: str, kommune: str, seed: int = 1) -> dict[str, Any]:
    made = synthetic.complete_form(random.Random(seed), service, kommune)
    return made | {"formal": "fradeling"} if service == "kartforretning" else made  # a permit


def request_for(endpoint: str, kommune: str, case: str | None) -> dict[str, Any]:
    """The method, URL and body of a valid request to ``endpoint`` in ``kommune``."""
    method, path = endpoint.split(" ")
    path, _, flag = path.partition("?")
    url = path.replace("{case}", case or "").replace("{job}", case or "")
    params: dict[str, Any] = {"include_personal_data": True} if flag == "personal" else {}
    if method == "GET" and case is None and kommune == OTHER:
        params["municipality"] = OTHER
    step = path.rsplit("/", 1)[-1]
    if step == "attachments":
        files = {"file": ("vedlegg.pdf", PDF, "application/pdf")}
        return {"method": method, "url": url, "data": {"kind": "foto"}, "files": files}
    return {"method": method, "url": url, "params": params, "json": body(step, kommune)}


def new_body(kommune: str) -> dict[str, Any]:
    return {
        "service": "avfallsbeholder",
        "kommunenummer": kommune,
        "form": form("avfallsbeholder", kommune),
    }


T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)
TODAY = T0.date()


def kept_body(kommune: str) -> dict[str, Any]:
    """Sosialhjelp with children in the household: the retention policy keeps (archives) it."""
    kept = {**form("sosialhjelp", kommune), "husstand_antall": 3, "barn_antall": 1}
    return {"service": "sosialhjelp", "kommunenummer": kommune, "form": kept}


def party(matrikkelnummer: str) -> dict[str, str]:
    return {"matrikkelnummer": matrikkelnummer, "navn": "Kari Nabo", "adresse": "Nabovegen 2"}


APPEAL_PERIOD_OVER = 30  # days after a decision: archive and shred may go ahead
STEP_BODIES: dict[str, Callable[[str], Any]] = {
    "applications": new_body,
    "drafts": lambda k: {"service": "ledsagerbevis", "kommunenummer": k},
    "contact-requests": lambda k: {
        "service": "pleie-omsorg", "kommunenummer": k, "contact": {"navn": "Ola", "telefon": "91234567"}
    },
    "contact-taken-up": lambda k: {},
    "draft": lambda k: {"form": dict(list(form("ledsagerbevis", k).items())[:1])},
    "submit": lambda k: {"form": form("ledsagerbevis", k)},
    "withdrawal": lambda k: {"reason": "ikke lenger aktuelt"},
    "neighbour-notice": lambda k: {"neighbours": [party(f"{k}-7/7")]},
    "neighbour-comments": lambda k: {"neighbour": f"{k}-1/2", "objection": False},
    "neighbour-consents": lambda k: {"neighbour": f"{k}-1/2"},
    "missing-documents": lambda k: {"kinds": ["foto"], "reason": "mangler"},
    "consultations": lambda k: {"party": "politiet"},
    "consultation-answers": lambda k: {"party": "politiet", "objection": False},
    "preliminary-reply": lambda k: {"reason": "stor pågang", "expected_by": str(TODAY + timedelta(days=40))},
    "decision": lambda k: {"outcome": "granted", "legal_basis": "forskrift", "case_officer": "s"},
    "decision-delivery": lambda k: {"delivered_on": str(TODAY)},
    "survey": lambda k: {"held_on": str(TODAY)},
    "appeal": lambda k: {"received_on": str(TODAY)},
    "appeal-review": lambda k: {},
    "appeal-dismissal": lambda k: {"ground": "defect", "by": "deciding-body"},
    "appeal-result": lambda k: {"result": "upheld"},
    "archive": lambda k: {"archive_reference": "2026/123"},
    "shred": lambda k: {},
    "resume": lambda k: {},
    "noark5": lambda k: {"municipality": k},
}  # fmt: skip


def body(step: str, kommune: str) -> Any:
    make = STEP_BODIES.get(step)
    return None if make is None else make(kommune)


@dataclass
class World:
    settings: Settings
    client: TestClient
    clock: FakeClock
    shared: dict[tuple[str, str], str]

    def case_for(self, state: str, kommune: str, fresh: bool) -> str:
        """A fresh case for a request that will change it; one shared case for refusals."""
        if fresh:
            return self.case_in(state, kommune)
        if (state, kommune) not in self.shared:
            self.shared[(state, kommune)] = self.case_in(state, kommune)
        return self.shared[(state, kommune)]

    def setup_headers(self, kommune: str) -> dict[str, str]:
        return headers(self.settings, kommuner={kommune})

    def case_in(self, state: str, kommune: str) -> str:
        """A fresh case in ``state``, made with a token that may do everything there (or, for
        "exported", a finished export job of an archived case)."""
        h = self.setup_headers(kommune)
        if state == "exported":
            return self._exported(kommune, h)
        if state == "contact":
            made = self.client.post(
                "/contact-requests", json=body("contact-requests", kommune), headers=h
            )
            assert made.status_code == 201, made.text
            return str(made.json()["case_id"])
        if state in (
            "draft",
            "ready",
            "lodged",
            "paused",
            "building",
            "noticed",
            "licence",
            "consulted",
            "permitted",
        ):
            case = self._drafted(state, kommune, h)
        else:
            new = kept_body(kommune) if state == "kept" else new_body(kommune)
            made = self.client.post("/applications", json=new, headers=h)
            assert made.status_code == 201, made.text
            case = str(made.json()["case_id"])
        decision = ("decision", body("decision", kommune))
        appeal = ("appeal", body("appeal", kommune))
        then = {
            "noticed": [("neighbour-notice", {"neighbours": [party(f"{kommune}-1/2")]})],
            "paused": [("missing-documents", body("missing-documents", kommune))],
            "consulted": [("consultations", body("consultations", kommune))],
            "permitted": [decision],
            "decided": [decision],
            "kept": [decision],
            "appealed": [decision, appeal],
            "forwarded": [decision, appeal, ("appeal-review", {})],
        }.get(state, [])
        for path, sent in then:
            step = self.client.post(f"/applications/{case}/{path}", json=sent, headers=h)
            assert step.status_code == 200, step.text
        return case

    def _exported(self, kommune: str, h: dict[str, str]) -> str:
        case = self.case_in("kept", kommune)
        self.clock.at(APPEAL_PERIOD_OVER)
        archived = self.client.post(f"/applications/{case}/archive", json={}, headers=h)
        assert archived.status_code == 200, archived.text
        self.clock.at(0)
        job = self.client.post("/exports/noark5", json={"municipality": kommune}, headers=h)
        assert job.status_code == 202, job.text
        url, deadline = f"/exports/{job.json()['job_id']}", time.monotonic() + 60
        while (state := self.client.get(url, headers=h).json())["status"] == "running":
            assert time.monotonic() < deadline, "the export did not finish"
            time.sleep(0.05)
        assert state["status"] == "done", state
        return str(job.json()["job_id"])

    def _drafted(self, state: str, kommune: str, h: dict[str, str]) -> str:
        """A draft with the attachments its service needs (a building case stays a draft: its
        neighbours are notified before it is submitted)."""
        building = state in ("building", "noticed")
        licence = state in ("licence", "consulted")  # skjenkebevilling: bodies are heard
        survey = state == "permitted"  # kartforretning: a survey follows the permit
        service = "melding-om-tiltak" if building else "ledsagerbevis"
        service = "skjenkebevilling" if licence else "kartforretning" if survey else service
        submitted = state in ("lodged", "paused", "licence", "consulted", "permitted")
        new = {"service": service, "kommunenummer": kommune}
        if building:  # what the nabovarsel will say (pbl § 21-3)
            new["form"] = project(form(service, kommune))
        made = self.client.post("/drafts", json=new, headers=h)
        assert made.status_code == 201, made.text
        case = str(made.json()["case_id"])
        upload = request_for("POST /applications/{case}/attachments", kommune, case)
        kinds = {"draft": (), "building": ("situasjonsplan", "tegninger")}.get(
            state, ("foto", "legeerklaering")
        )
        kinds = ("situasjonsplan", "tegninger") if building else kinds
        kinds = ("firmaattest", "skatteattest", "kunnskapsprove") if licence else kinds
        kinds = ("kart",) if survey else kinds
        for kind in kinds:
            sent = self.client.request(**{**upload, "data": {"kind": kind}}, headers=h)
            assert sent.status_code == 201, sent.text
        if submitted:
            submit = {"form": form(service, kommune)}
            sent = self.client.post(f"/applications/{case}/submit", json=submit, headers=h)
            assert sent.status_code == 200, sent.text
        return case


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    shared = Path(os.environ.get("SAKSFLYT_SHARED_DIR", Path(__file__).parents[3] / "shared"))
    if not (shared / "noark5").is_dir():
        needs.missing(f"the Noark 5 schemas in {shared}", "set SAKSFLYT_SHARED_DIR")
    settings = sqlite_settings(tmp_path_factory.mktemp("access"), noark5_schemas=shared / "noark5")
    clock = FakeClock(T0)
    with TestClient(create_app(settings, clock=clock)) as client:
        yield World(settings, client, clock, {})


# an archivist may read a case's history but not its personal data: outside its municipality the
# case is not there at all (404), before the question of personal data arises
NOT_THERE = {("GET /applications/{case}/events?personal", A, OTHER): 404}


def cells() -> list[Any]:
    return list(_cells())


def _cells() -> Iterator[Any]:
    for endpoint, allowed, own, other, state in TABLE:
        for role in Role:
            for kommune, expected_if_allowed in ((OWN, own), (OTHER, other)):
                if expected_if_allowed is None and kommune == OTHER:
                    continue
                ok = allowed == EVERYONE or role.value in allowed
                expected = expected_if_allowed if ok else 403
                expected = NOT_THERE.get((endpoint, role.value, kommune), expected)
                name = f"{endpoint} as {role.value} in {kommune}"
                yield pytest.param(endpoint, role, kommune, state, expected, id=name)


@pytest.mark.parametrize(("endpoint", "role", "kommune", "state", "expected"), cells())
def test_role_and_municipality(
    world: World, endpoint: str, role: Role, kommune: str, state: str | None, expected: int
) -> None:
    case = world.case_for(state, kommune, fresh=expected < 400) if state else None
    caller = headers(world.settings, roles={role}, kommuner={OWN}, sub=f"{role.value}-user")
    world.clock.at(
        APPEAL_PERIOD_OVER if state in ("decided", "kept", "appealed", "forwarded") else 0
    )
    answer = world.client.request(**request_for(endpoint, kommune, case), headers=caller)
    world.clock.at(0)
    assert answer.status_code == expected, answer.text
    if expected in (401, 403):
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["title"]


POSTS = [(e, state) for e, _, _, _, state in TABLE if e.startswith("POST ")]


@pytest.mark.parametrize(("endpoint", "state"), POSTS, ids=[e for e, _ in POSTS])
def test_every_post_resent_with_its_key_answers_the_same_and_records_once(
    world: World, endpoint: str, state: str | None
) -> None:
    """A resend after a lost answer (the same Idempotency-Key, the same request) answers as the
    first did, marked a duplicate, and the case has one event more, not two — on every POST
    route, the creation routes whose case id the key derives included."""
    case = world.case_for(state, OWN, fresh=True) if state else None
    caller = {**world.setup_headers(OWN), "Idempotency-Key": str(uuid4())}
    world.clock.at(
        APPEAL_PERIOD_OVER if state in ("decided", "kept", "appealed", "forwarded") else 0
    )
    sent = request_for(endpoint, OWN, case)
    first = world.client.request(**sent, headers=caller)
    assert first.status_code < 300, first.text
    recorded = _events(world, first.json().get("case_id"), caller)
    again = world.client.request(**sent, headers=caller)
    world.clock.at(0)
    assert again.status_code == first.status_code, again.text
    if first.status_code == 202:  # an export job: the same job, however far it has come
        assert (again.json()["job_id"], again.json()["duplicate"]) == (first.json()["job_id"], True)
    else:
        assert again.json() == {**first.json(), "duplicate": True}
    assert _events(world, first.json().get("case_id"), caller) == recorded


def _events(world: World, case_id: str | None, caller: dict[str, str]) -> int:
    if case_id is None:  # an export job: its own answer, no case
        return 0
    events = world.client.get(f"/applications/{case_id}/events", headers=caller)
    assert events.status_code == 200, events.text
    return len(events.json())


def bad_token(settings: Settings, kind: str) -> str | None:
    now = datetime.now(UTC)
    claims = {"sub": "mallory", "roles": [r.value for r in Role], "kommuner": [OWN],
              "iss": settings.auth_issuer, "aud": settings.auth_audience,
              "iat": int(now.timestamp()), "exp": int((now + timedelta(hours=1)).timestamp())}  # fmt: skip
    dev = {"kid": DEV_KID}
    other_key = ec.generate_private_key(ec.SECP256R1())
    match kind:
        case "none":
            return None
        case "expired":
            return token(settings, now=now - timedelta(hours=2), lifetime=timedelta(minutes=30))
        case "wrong issuer":
            return jwt.encode({**claims, "iss": "https://evil.example"}, _dev(settings), "ES256")
        case "wrong audience":
            return jwt.encode({**claims, "aud": "someone-else"}, _dev(settings), "ES256")
        case "bad signature":
            return jwt.encode(claims, other_key, "ES256", headers={"kid": DEV_KID})
        case "alg=none":
            return jwt.encode(claims, None, "none")
        case "HS256":
            return jwt.encode(claims, "a shared secret of enough length!", "HS256")
        case "kid not a string":  # was a 500 on every endpoint (PyJWT will not write one)
            return _signed({"alg": "ES256", "typ": "JWT", "kid": 1}, claims, _dev(settings))
        case "unknown crit":
            return jwt.encode(claims, _dev(settings), "ES256", headers={**dev, "crit": ["exp"]})
        case "exp as a string":
            return jwt.encode({**claims, "exp": str(claims["exp"])}, _dev(settings), "ES256", dev)
        case "lives for ever":  # expiring in 2999: longer than SAKSFLYT_AUTH_MAX_TOKEN_MINUTES
            return jwt.encode({**claims, "exp": 32503680000}, _dev(settings), "ES256", dev)
        case "no iat":
            return jwt.encode(
                {k: v for k, v in claims.items() if k != "iat"}, _dev(settings), "ES256", dev
            )
        case _:
            return "not.a.jwt"


def _signed(header: dict[str, Any], claims: dict[str, Any], key: Any) -> str:
    """A compact JWS with any header, signed ES256 (what an attacker can send)."""

    def part(value: dict[str, Any]) -> bytes:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=")

    signing_input = part(header) + b"." + part(claims)
    signature = jwt.algorithms.ECAlgorithm(jwt.algorithms.ECAlgorithm.SHA256).sign(
        signing_input, key
    )
    return (signing_input + b"." + base64.urlsafe_b64encode(signature).rstrip(b"=")).decode()


def _dev(settings: Settings) -> Any:
    from saksflyt.access.tokens import dev_key

    assert settings.auth_dev_key is not None
    return dev_key(settings.auth_dev_key)


@pytest.mark.parametrize("kind", BAD_TOKENS)
@pytest.mark.parametrize("endpoint", [row[0] for row in TABLE])
def test_a_bad_token_is_401_everywhere_but_health(world: World, endpoint: str, kind: str) -> None:
    allowed = next(row[1] for row in TABLE if row[0] == endpoint)
    value = bad_token(world.settings, kind)
    sent = {"Access-Purpose": PURPOSE, **({"Authorization": f"Bearer {value}"} if value else {})}
    case = "00000000-0000-4000-8000-000000000000"
    answer = world.client.request(**request_for(endpoint, OWN, case), headers=sent)
    if allowed == EVERYONE:
        assert answer.status_code == 200
        return
    assert answer.status_code == 401, answer.text
    assert answer.headers["www-authenticate"].startswith('Bearer realm="saksflyt"')
    assert answer.json()["title"].startswith("Not authenticated")


def markdown_table() -> str:
    """The table as docs/security.md shows it."""
    lines = [
        "| endpoint | roles allowed | own municipality | other municipality |",
        "|---|---|---|---|",
    ]
    for endpoint, allowed, own, other, _ in TABLE:
        roles = allowed if isinstance(allowed, str) else ", ".join(sorted(allowed))
        lines.append(f"| `{endpoint}` | {roles} | {own} | {other or '—'} |")
    return "\n".join(lines) + "\n"


def test_the_docs_show_this_table() -> None:
    docs = Path(__file__).parents[2] / "docs" / "security.md"
    assert markdown_table() in docs.read_text(encoding="utf-8")


def test_an_applicant_reads_the_letters_of_their_own_case_and_no_one_elses(world: World) -> None:
    """ID-porten's ``pid`` against the applicant's fødselsnummer: their own letters, logged;
    another applicant's case is 403, and no other endpoint opens to the role."""
    body = new_body(OWN)
    case = world.client.post("/applications", json=body, headers=world.setup_headers(OWN))
    case_id = case.json()["case_id"]
    own = body["form"]["soker"]["fodselsnummer"]
    someone_else = form("avfallsbeholder", OWN, seed=9)["soker"]["fodselsnummer"]
    assert own != someone_else
    applicant = {"roles": {Role.APPLICANT}, "kommuner": set()}
    mine = headers(world.settings, sub="innbygger", person=own, **applicant)
    theirs = headers(world.settings, sub="annen", person=someone_else, **applicant)
    mine.pop("Access-Purpose"), theirs.pop("Access-Purpose")  # an applicant need not say why
    answer = world.client.get(f"/applications/{case_id}/messages", headers=mine)
    assert answer.status_code == 200, answer.text
    (receipt,) = answer.json()
    assert receipt["kind"] == "kvittering" and receipt["outcome"] == "waiting"  # no policy here
    assert receipt["subject"].startswith("Kvittering for mottatt søknad")
    refused = world.client.get(f"/applications/{case_id}/messages", headers=theirs)
    assert refused.status_code == 403 and refused.json()["rule"] == "not-your-case"
    assert world.client.get(f"/applications/{case_id}", headers=mine).status_code == 403
    auditor = headers(world.settings, roles={Role.AUDITOR}, kommuner={OWN})
    log = world.client.get("/access-log", headers=auditor, params={"case_id": case_id})
    reads = [r for r in log.json() if r["case_id"] == case_id and r["action"] == "messages"]
    assert [r["subject"] for r in reads] == ["innbygger"] and own not in log.text


@pytest.mark.parametrize("route", ["/drafts", "/applications", "/contact-requests"])
def test_an_id_chosen_in_one_municipality_never_meets_another_municipalitys_case(
    world: World, route: str
) -> None:
    """A 0301 caller who names a 4601 case's id as its new case's id opens a case of its own
    (201, another id), exactly as for an id nobody has used: the answer says nothing of 4601's
    case. The same id again meets its own case (409)."""
    theirs = world.case_for("submitted", OTHER, fresh=True)
    worker = headers(world.settings, roles={Role.CASEWORKER}, kommuner={OWN}, sub="sb-0301")
    body = {**STEP_BODIES[route.strip("/")](OWN), "case_id": theirs}
    first = world.client.post(route, json=body, headers=worker)
    assert first.status_code == 201, first.text
    assert first.json()["case_id"] != theirs
    again = world.client.post(route, json=body, headers=worker)
    assert (again.status_code, again.json()["rule"]) == (409, "case-already-exists")


def test_refused_attempts_are_in_the_access_log_and_outside_cases_are_not_there(
    world: World,
) -> None:
    """A caseworker of 0301 reaching for a 4601 case gets what a case that does not exist gets
    (404, the same body), and the attempt is in the log for 4601's auditor; an analyst asking
    for a whole case is 403, in the log for 0301's auditor; a purpose with control characters
    is refused before it reaches the audit trail."""
    theirs = world.case_for("submitted", OTHER, fresh=False)
    ours = world.case_for("submitted", OWN, fresh=False)
    worker = headers(world.settings, roles={Role.CASEWORKER}, kommuner={OWN}, sub="sb-0301")
    reached = world.client.get(f"/applications/{theirs}", headers=worker)
    nowhere = world.client.get(f"/applications/{uuid4()}", headers=worker)
    assert (reached.status_code, nowhere.status_code) == (404, 404)
    same = ("type", "title", "status", "rule")
    assert {k: reached.json()[k] for k in same} == {k: nowhere.json()[k] for k in same}
    analyst = headers(world.settings, roles={Role.ANALYST}, kommuner={OWN}, sub="ana-0301")
    assert world.client.get(f"/applications/{ours}", headers=analyst).status_code == 403
    bell = {**worker, "Access-Purpose": "saksbehandling\x07\x1b[2J"}
    assert world.client.get(f"/applications/{ours}", headers=bell).status_code == 422
    log_of = {
        kommune: world.client.get(
            "/access-log",
            headers=headers(world.settings, roles={Role.AUDITOR}, kommuner={kommune}),
            params={"subject": subject},
        ).json()
        for kommune, subject in ((OWN, "ana-0301"), (OTHER, "sb-0301"))
    }
    outside = [r for r in log_of[OTHER] if r["subject"] == "sb-0301"]
    assert [(r["case_id"], r["action"]) for r in outside] == [
        (theirs, "refused outside-scope: GET /applications/{case_id}")
    ]
    role = [r for r in log_of[OWN] if r["subject"] == "ana-0301"]
    assert [r["action"] for r in role] == [
        "refused role-not-permitted: GET /applications/{case_id}"
    ]
    assert "\x07" not in json.dumps(log_of)


def test_a_token_checked_before_is_refused_once_it_expires(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checked tokens are kept (not verified again on every request), but each is held to its
    ``exp`` every time; the revocation list too is asked every time."""
    settings = sqlite_settings(tmp_path)
    verifier = TokenVerifier.from_settings(settings)
    who = Principal("sb-1", frozenset({Role.CASEWORKER}), frozenset({"0301"}), name="S B")
    issued = datetime.now(UTC)
    kept = mint(settings, who, issued, timedelta(minutes=5))
    assert verifier.principal(kept).subject == "sb-1"
    assert kept in verifier._verified
    later = issued.timestamp() + 5 * 60 + settings.auth_leeway_seconds + 1
    monkeypatch.setattr("saksflyt.access.tokens.time.time", lambda: later)
    with pytest.raises(InvalidToken) as refused:
        verifier.principal(kept)
    assert refused.value.code == "token-expired"
