"""The load a campaign offers while faults happen, and the history it records.

- Kafka: the plan's commands at a steady rate, with the producers' settings (``acks=all``,
  idempotent). A send that fails is sent again (the same command id) before that case's next
  command; a batch never holds two commands of one case, so a case's order survives a resend.
- HTTP: journeys in a few threads, each request with its Idempotency-Key, sent again after a
  connection error, a 5xx, a 507 or a 409 "request in progress" (what a form portal does) until
  it gets an answer that is not one of those.
- Poison: random bytes, truncated Avro, schema-valid nonsense on the command topic (each marked
  with a ``chaos-poison`` header or a known command id); bad HTTP requests.
"""

from __future__ import annotations

import queue
import random
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from chaos.workload import Journey, Plan, Request, wire
from domain import commands as cmd
from saksflyt import kafka_wiring
from saksflyt.access.policy import Principal, Role
from saksflyt.access.tokens import mint
from saksflyt.demo.simulation import MUNICIPALITIES
from saksflyt.settings import Settings
from schemas.codec import AvroCodec
from schemas.kafka_layout import command_record
from schemas.mapping import command_to_record

CODEC = AvroCodec()
RETRY_STATUSES = frozenset({409, 500, 502, 503, 504, 507})
GIVE_UP_S = 300.0  # a request still unanswered after this is a failure of the campaign


@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    attempts: int
    retried: Counter[str] = field(default_factory=Counter)  # why it was sent again


@dataclass
class History:
    kafka_sent: Counter[uuid.UUID] = field(default_factory=Counter)  # command id -> acks
    kafka_resent: int = 0
    http: dict[uuid.UUID, Answer] = field(default_factory=dict)  # Idempotency-Key -> answer
    http_failed: dict[uuid.UUID, str] = field(default_factory=dict)  # never answered
    bad_http: list[tuple[str, int, str]] = field(default_factory=list)  # what, status, detail
    poison: dict[str, str] = field(default_factory=dict)  # poison id -> kind
    lock: threading.Lock = field(default_factory=threading.Lock)


def tokens(settings: Settings) -> dict[str, str]:
    """A form portal (files applications) and a case officer (acts on them)."""
    now, life = datetime.now(UTC), timedelta(minutes=settings.auth_max_token_minutes)
    kommuner = frozenset(MUNICIPALITIES)
    portal = Principal("chaos-portal", frozenset({Role.SERVICE}), kommuner)
    officer = Principal("chaos-officer", frozenset({Role.CASEWORKER}), kommuner)
    return {
        "portal": mint(settings, portal, now, life),
        "officer": mint(settings, officer, now, life),
    }


class KafkaLoad(threading.Thread):
    def __init__(
        self, bootstrap: str, topic: str, plan: Plan, rate: float, history: History
    ) -> None:
        super().__init__(daemon=True, name="kafka-load")
        self.producer = kafka_wiring.producer(bootstrap, "chaos-load")
        self.topic, self.rate, self.history = topic, rate, history
        self.waiting = list(plan.kafka)
        self.done = threading.Event()
        self.stop = threading.Event()

    def run(self) -> None:
        period = 0.2
        per_batch = max(1, round(self.rate * period))
        while self.waiting and not self.stop.is_set():
            begun = time.monotonic()
            batch: list[cmd.Command] = []
            cases: set[uuid.UUID] = set()
            later: list[cmd.Command] = []
            for command in self.waiting:
                if len(batch) < per_batch and command.case_id not in cases:
                    batch.append(command)
                    cases.add(command.case_id)
                else:
                    later.append(command)
                    if len(batch) >= per_batch:
                        cases.add(command.case_id)  # keep the rest of this case back too
            self.waiting = later
            failed = self._send(batch)
            self.waiting = failed + self.waiting  # again, before anything after them
            self.stop.wait(max(0.0, period - (time.monotonic() - begun)))
        self.producer.flush()
        self.producer.close()
        self.done.set()

    def _send(self, batch: list[cmd.Command]) -> list[cmd.Command]:
        sent = []
        for command in batch:
            message = command_record(*wire(command), CODEC)
            future = self.producer.send(
                self.topic, key=message.key, value=message.value, headers=message.headers
            )
            sent.append((command, future))
        failed = []
        for command, future in sent:
            try:
                future.get(timeout=60)
                with self.history.lock:
                    self.history.kafka_sent[command.command_id] += 1
            except Exception:
                failed.append(command)
        with self.history.lock:
            self.history.kafka_resent += len(failed)
        if failed:
            time.sleep(1)
        return failed


class HttpLoad:
    """Journeys in ``workers`` threads against the API at ``base``."""

    def __init__(
        self, base: str, plan: Plan, settings: Settings, history: History, workers: int = 3
    ) -> None:
        self.base, self.history = base, history
        self.tokens = tokens(settings)
        self.journeys: queue.Queue[Journey] = queue.Queue()
        for journey in plan.journeys:
            self.journeys.put(journey)
        self.pace = 0.0  # seconds between journeys per worker
        self.threads = [
            threading.Thread(target=self._work, daemon=True, name=f"http-{n}")
            for n in range(workers)
        ]
        self.stop = threading.Event()

    def start(self, pace: float) -> None:
        self.pace = pace
        for thread in self.threads:
            thread.start()

    def join(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self.threads)

    def _work(self) -> None:
        with httpx.Client(base_url=self.base, timeout=30) as client:
            while not self.stop.is_set():
                try:
                    journey = self.journeys.get_nowait()
                except queue.Empty:
                    return
                self._walk(client, journey)
                self.stop.wait(self.pace)

    def _walk(self, client: httpx.Client, journey: Journey) -> None:
        requests = journey.requests
        n = 0
        while n < len(requests):
            if n + 1 < len(requests) and requests[n + 1].contested:  # two officers at once
                pair = [
                    threading.Thread(target=self.send, args=(client, r))
                    for r in requests[n : n + 2]
                ]
                for thread in pair:
                    thread.start()
                for thread in pair:
                    thread.join()
                n += 2
                continue
            self.send(client, requests[n])
            n += 1

    def send(self, client: httpx.Client, request: Request) -> None:
        who = "officer" if request.path.endswith("/decision") else "portal"
        headers = {
            "Authorization": f"Bearer {self.tokens[who]}",
            "Idempotency-Key": str(request.key),
        }
        deadline = time.monotonic() + GIVE_UP_S
        retried: Counter[str] = Counter()
        attempts = 0
        while time.monotonic() < deadline:
            attempts += 1
            try:
                if request.upload is not None:
                    kind, content, media = request.upload
                    answer = client.post(
                        request.path,
                        headers=headers,
                        data={"kind": kind},
                        files={"file": ("vedlegg", content, media)},
                    )
                else:
                    answer = client.request(
                        request.method, request.path, headers=headers, json=request.json
                    )
            except httpx.HTTPError as error:  # the API is down, or died mid-request
                retried[type(error).__name__] += 1
                time.sleep(0.5)
                continue
            problem = _json(answer)
            resend = answer.status_code in RETRY_STATUSES and not (
                answer.status_code == 409 and problem.get("rule") != "request-in-progress"
            )
            if resend:
                retried[str(answer.status_code)] += 1
                time.sleep(float(answer.headers.get("Retry-After", "1")))
                continue
            with self.history.lock:
                self.history.http[request.key] = Answer(
                    answer.status_code, problem, attempts, retried
                )
            return
        with self.history.lock:
            self.history.http_failed[request.key] = f"no answer in {GIVE_UP_S:.0f} s: {retried}"


def _json(answer: httpx.Response) -> dict[str, Any]:
    """A JSON answer's body; {} for an empty or non-JSON one (a proxy's or server's plain 5xx)."""
    if "json" not in answer.headers.get("content-type", ""):
        return {}
    body = answer.json()
    return body if isinstance(body, dict) else {}


def send_bad_http(base: str, settings: Settings, history: History, rng: random.Random) -> None:
    """Requests a broken client sends: each must get a 4xx problem with a reason."""
    token = tokens(settings)
    portal = {"Authorization": f"Bearer {token['portal']}"}
    officer = {"Authorization": f"Bearer {token['officer']}"}
    unknown = uuid.UUID(int=rng.getrandbits(128), version=4)
    bad: list[tuple[str, dict[str, Any]]] = [
        ("malformed JSON", {"url": "/applications", "content": b'{"service": ', "headers": portal}),
        ("wrong types", {"url": "/applications", "json": {"service": 7}, "headers": portal}),
        (
            "unknown service",
            {
                "url": "/applications",
                "json": {"service": "finnes-ikke", "kommunenummer": "0301", "form": {}},
                "headers": portal,
            },
        ),
        (
            "decision for a case that does not exist",
            {
                "url": f"/applications/{unknown}/decision",
                "json": {"outcome": "granted", "legal_basis": "x", "case_officer": "y"},
                "headers": officer,
            },
        ),
        ("no token", {"url": "/applications", "json": {}, "headers": {}}),
    ]
    with httpx.Client(base_url=base, timeout=30) as client:
        for what, request in bad:
            headers = {"Content-Type": "application/json", **request.pop("headers")}
            for _ in range(60):  # the same request again while the API restarts
                try:
                    answer = client.post(**request, headers=headers)
                    break
                except httpx.HTTPError:
                    time.sleep(0.5)
            else:
                history.bad_http.append((what, 0, "the API never answered"))
                continue
            body = _json(answer)
            detail = str(body.get("detail") or body.get("title") or "")
            with history.lock:
                history.bad_http.append((what, answer.status_code, detail))


def poison_messages(rng: random.Random, plan: Plan) -> list[tuple[str, str, bytes, bytes]]:
    """(poison id, kind, key, value) for the command topic."""
    out = []
    for n in range(6):
        kind = ("random bytes", "truncated Avro", "schema-valid nonsense")[n % 3]
        poison_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        if kind == "random bytes":
            value = rng.randbytes(rng.randint(1, 300))
        elif kind == "truncated Avro":
            message = command_record(*command_to_record(rng.choice(plan.kafka), "chaos"), CODEC)
            value = message.value[: len(message.value) // 2]
        else:  # a well-formed StartApplication of a service that does not exist
            starts = [c for c in plan.kafka if type(c) is cmd.StartApplication]
            name, record = command_to_record(rng.choice(starts), "chaos")
            record = {
                **record,
                "command_id": poison_id,
                "case_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "service": "finnes-ikke",
                "kommunenummer": "0000",
            }
            value = command_record(name, record, CODEC).value
        out.append((poison_id, kind, poison_id.encode(), value))
    return out


def send_poison(
    bootstrap: str, topic: str, poison: list[tuple[str, str, bytes, bytes]], history: History
) -> None:
    producer = kafka_wiring.producer(bootstrap, "chaos-poison")
    try:
        for poison_id, kind, key, value in poison:
            headers = [("chaos-poison", poison_id.encode())]
            producer.send(topic, key=key, value=value, headers=headers).get(timeout=60)
            with history.lock:
                history.poison[poison_id] = kind
    finally:
        producer.close()
