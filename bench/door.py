"""The HTTP door under concurrency, as a form portal and a case officer use it.

N clients (``--clients``, e.g. 1,8,32) over keep-alive connections, each in a loop: submit an
application (``POST /applications`` with an ``Idempotency-Key`` and a service's token), then decide
it (``POST /applications/{id}/decision`` with a caseworker's token). Against ``saksflyt serve``
(one process; in-process delivery keeps the read models beside the requests) on SQLite and on
PostgreSQL, and — the baseline, in the same run, on the same store kind — the bare
``eventsourcing`` library behind the same ASGI server (``bench/door_baseline.py``), with and
without a token check. Prints commands/s and latency p50/p95/p99 per client count.

Then an open loop against saksflyt (``--offered``, commands/s): applications arrive on a fixed
schedule whatever the server's pace (latency counted from when each was due, so a slow server
is not let off by sending less), each submitted and then decided; for one in five, a case
officer's client asks ``/overview?wait_for=case:version`` until the read models show it — the
time from the command's answer to that is the read-model delay. With ``--json`` writes it all.
The client runs on the same machine as the server (2 cores here): both sides pay for it alike.
(Named ``door``, not ``http``: a script there would hide the standard library's ``http``.)

    python bench/door.py [--clients 1,8,32] [--seconds 10] [--offered 200] [--rounds 3]
                         [--stores sqlite,postgres] [--json FILE]

``--rounds N``: the 32-client cell, saksflyt and the library with a token check, N times in turn
on fresh servers (the first run is the one above); its figures are the median run's, its ratio
the median of the rounds' ratios (each round's pair ran under the same conditions).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from saksflyt.access.policy import Principal, Role  # noqa: E402
from saksflyt.access.tokens import mint  # noqa: E402
from saksflyt.demo import synthetic  # noqa: E402
from saksflyt.privacy.keyring import FileKeyRing  # noqa: E402
from saksflyt.settings import Settings, postgres_env  # noqa: E402

WARMUP_S = 2.0
DECISION = {
    "outcome": "granted",
    "legal_basis": "forurensningsforskriften § 15-4",
    "case_officer": "Bench Saksbehandler",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def store_env(kind: str, folder: Path) -> dict[str, str]:
    """saksflyt's settings for a fresh store, and the baseline's (its own names for the same)."""
    env = {
        "SAKSFLYT_AUTH_DEV_KEY": str(folder / "dev-key.pem"),
        "SAKSFLYT_KEY_RING": str(folder / "keyring.json"),
        "SAKSFLYT_DOCUMENT_DIR": str(folder / "documents"),
        "SAKSFLYT_RATE_LIMIT_PER_ADDRESS": "1000000/minute",
        "SAKSFLYT_RATE_LIMIT_PER_CALLER": "1000000/minute",
    }
    if kind == "sqlite":
        return env | {"SAKSFLYT_SQLITE_PATH": str(folder / "events.db"), "DB": str(folder / "b.db")}
    url = os.environ["SAKSFLYT_TEST_POSTGRES_URL"]
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(f'CREATE SCHEMA "{schema}_b"')
    FileKeyRing.create(folder / "keyring.json")
    baseline = {**postgres_env(url), "POSTGRES_SCHEMA": f"{schema}_b"}
    return (
        env
        | baseline
        | {
            "SAKSFLYT_EVENT_STORE": "postgres",
            "SAKSFLYT_POSTGRES_URL": url,
            "SAKSFLYT_POSTGRES_SCHEMA": schema,
        }
    )


@contextmanager
def server(command: list[str], env: dict[str, str], port: int) -> Iterator[None]:
    log = (Path(env["SAKSFLYT_KEY_RING"]).parent / "server.log").open("wb")  # not on the screen
    process = subprocess.Popen(command, env={**os.environ, **env}, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/applications", timeout=1)
            except urllib.error.HTTPError:
                break  # it answers (405 or 401): up
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{command[1]} did not start: see {log.name}") from None
                time.sleep(0.2)
        yield
    finally:
        process.terminate()
        process.wait(30)


def tokens(env: dict[str, str]) -> dict[str, str]:
    settings = Settings(auth_dev_key=Path(env["SAKSFLYT_AUTH_DEV_KEY"]))
    now = datetime.now(UTC)

    def token(role: Role, sub: str) -> str:
        who = Principal(sub, frozenset({role}), frozenset({"0301"}), name="Bench Saksbehandler")
        return f"Bearer {mint(settings, who, now, timedelta(minutes=60))}"

    return {"service": token(Role.SERVICE, "portal"), "caseworker": token(Role.CASEWORKER, "sb")}


async def post(
    http: httpx.AsyncClient, url: str, body: dict[str, Any], headers: dict[str, str]
) -> httpx.Response:
    """A portal's resend, with the same key, when a kept-alive connection was closed under it
    (the server's keep-alive timeout met the request on the way)."""
    for _ in range(3):
        try:
            return await http.post(url, json=body, headers=headers)
        except httpx.TransportError:
            continue
    return await http.post(url, json=body, headers=headers)


async def submit_and_decide(
    http: httpx.AsyncClient, auth: dict[str, str], rng: random.Random
) -> tuple[float, float, dict[str, Any]]:
    """One application submitted, then decided: when the submission was answered, how long the
    decision took, and the decision's answer."""
    form = synthetic.complete_form(rng, "avfallsbeholder", "0301")
    body = {"service": "avfallsbeholder", "kommunenummer": "0301", "form": form}
    key = {"Idempotency-Key": str(uuid.uuid4()), "Authorization": auth["service"]}
    answer = await post(http, "/applications", body, key)
    assert answer.status_code == 201, answer.text
    submitted = time.monotonic()
    officer = {"Idempotency-Key": str(uuid.uuid4()), "Authorization": auth["caseworker"]}
    case = answer.json()["case_id"]
    answer = await post(http, f"/applications/{case}/decision", DECISION, officer)
    assert answer.status_code == 200, answer.text
    return submitted, time.monotonic() - submitted, answer.json()


async def client_loop(
    http: httpx.AsyncClient, auth: dict[str, str], until: float, since: float, seen: list[float]
) -> None:
    rng = random.Random()
    while time.monotonic() < until:
        started = time.monotonic()
        submitted, decided_in, _ = await submit_and_decide(http, auth, rng)
        if started >= since:
            seen += [submitted - started, decided_in]


def percentiles(seen: list[float]) -> dict[str, float]:
    seen = sorted(seen)

    def pct(p: float) -> float:
        return round(seen[min(len(seen) - 1, int(p * len(seen)))] * 1000, 1) if seen else 0.0

    return {"p50_ms": pct(0.5), "p95_ms": pct(0.95), "p99_ms": pct(0.99)}


def connections(port: int, clients: int) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    # TCP_NODELAY, as browsers and curl set it: httpx writes a request's headers and body apart,
    # and with Nagle on, the body waits for the server's delayed ACK (40 ms a request)
    nodelay = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
    transport = httpx.AsyncHTTPTransport(limits=limits, socket_options=nodelay)
    return httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", transport=transport, timeout=60)


async def offered(port: int, rate: float, seconds: float, auth: dict[str, str]) -> dict[str, Any]:
    """Open loop: an application due every 2/rate s (submit + decide: two commands)."""
    latencies: list[float] = []
    shown: list[float] = []

    async def one(due: float, watch: bool) -> None:
        async with sem:
            submitted, decided_in, decision = await submit_and_decide(http, auth, random.Random())
        latencies.extend([submitted - due, decided_in])  # the submission from when it was due
        answered = submitted + decided_in
        if watch:
            wait_for = f"{decision['case_id']}:{decision['version']}"
            reader = {"Authorization": auth["caseworker"]}
            while True:
                seen = await http.get("/overview", params={"wait_for": wait_for, "limit": 1},
                                      headers=reader)  # fmt: skip
                if seen.status_code == 200:
                    break
                assert seen.status_code in (425, 503), seen.text
                await asyncio.sleep(0.02)
            shown.append(time.monotonic() - answered)

    sem = asyncio.Semaphore(64)  # a portal's connection pool
    async with connections(port, 64) as http:
        begin = time.monotonic()
        tasks, n = [], 0
        while (due := begin + n * 2 / rate) < begin + seconds:
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            tasks.append(asyncio.create_task(one(due, n % 5 == 0)))
            n += 1
        await asyncio.gather(*tasks)
    return {"offered_per_s": rate, "commands": len(latencies), **percentiles(latencies),
            "read_model": percentiles(shown), "read_model_samples": len(shown)}  # fmt: skip


async def load(port: int, clients: int, seconds: float, auth: dict[str, str]) -> dict[str, float]:
    seen: list[float] = []
    async with connections(port, clients) as http:
        begin = time.monotonic()
        since, until = begin + WARMUP_S, begin + WARMUP_S + seconds
        await asyncio.gather(*(client_loop(http, auth, until, since, seen) for _ in range(clients)))
        measured = time.monotonic() - since
    return {"per_s": round(len(seen) / measured, 1), **percentiles(seen), "commands": len(seen)}


@contextmanager
def started(kind: str, command: Any) -> Iterator[tuple[int, dict[str, str]]]:
    """A target's server on a fresh store of its own: its port and the bench's tokens for it."""
    folder = Path(tempfile.mkdtemp(prefix=f"http-{kind}-"))
    env = store_env(kind, folder)
    auth = tokens(env)  # makes the development key the token check uses
    port = free_port()
    with server(command(port, env), env, port):
        yield port, auth


def run_store(
    kind: str,
    clients: list[int],
    seconds: float,
    rate: float | None,
    rounds: int = 1,
    headline: int = 32,
) -> dict[str, Any]:
    found: dict[str, Any] = {}
    targets = {
        "saksflyt": lambda port, env: [str(Path(sys.executable).with_name("saksflyt")), "serve",
                                       "--port", str(port)],
        "library+token": lambda port, env: [sys.executable, str(HERE / "door_baseline.py"),
                                            "--port", str(port), "--token-key",
                                            env["SAKSFLYT_AUTH_DEV_KEY"]],
        "library": lambda port, env: [sys.executable, str(HERE / "door_baseline.py"),
                                      "--port", str(port)],
    }  # fmt: skip
    for target, command in targets.items():
        with started(kind, command) as (port, auth):
            for n in clients:
                found.setdefault(target, {})[str(n)] = figures = asyncio.run(
                    load(port, n, seconds, auth)
                )
                print(f"{kind:8} {target:14} {n:3} clients  {figures['per_s']:7.1f} commands/s  "
                      f"p50 {figures['p50_ms']:6.1f}  p95 {figures['p95_ms']:6.1f}  "
                      f"p99 {figures['p99_ms']:6.1f} ms", flush=True)  # fmt: skip
            if target == "saksflyt" and rate:
                found["offered"] = o = asyncio.run(offered(port, rate, seconds * 2, auth))
                print(f"{kind:8} saksflyt offered {rate:.0f} commands/s: p50 {o['p50_ms']} "
                      f"p99 {o['p99_ms']} ms; read model shows it after p50 "
                      f"{o['read_model']['p50_ms']} p99 {o['read_model']['p99_ms']} ms "
                      f"({o['read_model_samples']} cases)", flush=True)  # fmt: skip
    if rounds > 1 and headline in clients:
        # the headline cell again, saksflyt and its baseline in turn on fresh servers: one run
        # of it is no measurement on a machine whose speed drifts by a third within an hour
        cell = str(headline)
        runs = {target: [found[target][cell]] for target in ("saksflyt", "library+token")}
        for _ in range(rounds - 1):
            for target, seen in runs.items():
                with started(kind, targets[target]) as (port, auth):
                    seen.append(asyncio.run(load(port, headline, seconds, auth)))
                print(f"{kind:8} {target:14} {headline:3} clients  {seen[-1]['per_s']:7.1f} "
                      f"commands/s (round {len(seen)})", flush=True)  # fmt: skip
        for target, seen in runs.items():
            by_rate = sorted(seen, key=lambda figures: figures["per_s"])
            found[target][cell] = {
                **by_rate[len(seen) // 2],
                "rounds": [figures["per_s"] for figures in seen],  # in the order run
            }
    for n in clients:
        ours, bare = found["saksflyt"][str(n)], found["library+token"][str(n)]
        rates = ours.get("rounds", [ours["per_s"]]), bare.get("rounds", [bare["per_s"]])
        pairs = list(zip(*rates, strict=True))
        # each round's pair ran under the same conditions: the ratio is the median of theirs
        ratios = sorted(a / b for a, b in pairs if b)
        ratio = round(ratios[len(ratios) // 2], 2) if ratios else None
        found.setdefault("ratio_to_library_with_token", {})[str(n)] = ratio
        print(f"{kind:8} saksflyt / library+token at {n} clients: {ratio}")
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", default="1,8,32")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--offered", type=float, default=200, help="commands/s; 0: no open loop")
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument(
        "--rounds", type=int, default=1, help="runs of the 32-client cell, interleaved; median"
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    clients = [int(n) for n in args.clients.split(",")]
    results = {
        kind: run_store(kind, clients, args.seconds, args.offered, args.rounds)
        for kind in args.stores.split(",")
    }
    if args.json:
        args.json.write_text(json.dumps({"http": results}, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
