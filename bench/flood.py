"""A flood of unauthenticated uploads against `saksflyt serve`: does the server's memory hold, and
does a caller with a token keep being served?

8 clients each send 9 MiB uploads without a token, as fast as the server answers, for
``--seconds``; beside them one authenticated client reads ``/overview`` once a second. Prints
the server's resident memory before and at its peak (sampled every 50 ms from /proc), the
refusals per second, and the authenticated reads' latency. Rate limits are set out of the way so
every flood request reaches the token check.

    python bench/flood.py [--seconds 20] [--clients 8]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

BODY = 9 * 1024 * 1024


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def flood(port: int, stop: threading.Event, answered: list[int]) -> None:
    chunk = b"\0" * (1024 * 1024)
    while not stop.is_set():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.putrequest(
                "POST", "/applications/00000000-0000-4000-8000-000000000001/attachments"
            )
            conn.putheader("Content-Type", "multipart/form-data; boundary=flood")
            conn.putheader("Content-Length", str(BODY))
            conn.endheaders()
            try:
                for _ in range(BODY // len(chunk)):
                    conn.send(chunk)
            except OSError:
                pass  # the server answered and closed before the body was sent: as it should
            answered.append(conn.getresponse().status)
        except (OSError, http.client.HTTPException):
            answered.append(0)
        finally:
            conn.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="flood-"))
    port = free_port()
    env = {
        **os.environ,
        "SAKSFLYT_SQLITE_PATH": str(folder / "events.db"),
        "SAKSFLYT_PROJECTION_SQLITE_PATH": str(folder / "projections.db"),
        "SAKSFLYT_KEY_RING": str(folder / "keyring.json"),
        "SAKSFLYT_AUTH_DEV_KEY": str(folder / "dev-key.pem"),
        "SAKSFLYT_DOCUMENT_DIR": str(folder / "documents"),
        "SAKSFLYT_RATE_LIMIT_PER_ADDRESS": "100000000/minute",
    }
    saksflyt = str(Path(sys.executable).parent / "saksflyt")
    token = subprocess.run(
        [saksflyt, "token", "--role", "analyst", "--kommune", "0301", "--sub", "bench"],
        env=env, check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    server = subprocess.Popen(
        [saksflyt, "serve", "--port", str(port)], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        server.stdout.readline()
        time.sleep(2)
        before = rss_mib(server.pid)
        stop, answered, latencies = threading.Event(), [], []
        peak = [before]

        def sample() -> None:
            while not stop.is_set():
                peak[0] = max(peak[0], rss_mib(server.pid))
                time.sleep(0.05)

        def reader() -> None:
            while not stop.is_set():
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                started = time.perf_counter()
                conn.request("GET", "/overview", headers={"Authorization": f"Bearer {token}"})
                status = conn.getresponse().status
                latencies.append((time.perf_counter() - started, status))
                conn.close()
                time.sleep(1)

        threads = [threading.Thread(target=flood, args=(port, stop, answered))
                   for _ in range(args.clients)]  # fmt: skip
        threads += [threading.Thread(target=sample), threading.Thread(target=reader)]
        for t in threads:
            t.start()
        time.sleep(args.seconds)
        stop.set()
        for t in threads:
            t.join(timeout=60)
        served = [s for _, s in latencies]
        result = {
            "cores": os.cpu_count(),
            "clients": args.clients,
            "seconds": args.seconds,
            "rss_before_mib": round(before, 1),
            "rss_peak_mib": round(peak[0], 1),
            "rss_growth_mib": round(peak[0] - before, 1),
            "flood_answers": len(answered),
            "flood_401": answered.count(401),
            "authenticated_reads": len(served),
            "authenticated_ok": served.count(200),
            "authenticated_p50_ms": round(1000 * statistics.median(t for t, _ in latencies), 1),
            "authenticated_max_ms": round(1000 * max(t for t, _ in latencies), 1),
        }
        print(json.dumps(result, indent=2))
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
