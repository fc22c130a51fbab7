"""A small HTTP server for processes without an API (relay, intake, projector):
``/metrics``, ``/healthz`` (alive) and ``/readyz`` (dependencies reachable)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from prometheus_client import CONTENT_TYPE_LATEST

from saksflyt.ops.metrics import metrics_payload

Check = Callable[[], object]  # raises when the dependency is not reachable


def run_checks(checks: dict[str, Check]) -> tuple[bool, dict[str, str]]:
    results: dict[str, str] = {}
    for name, check in checks.items():
        try:
            check()
            results[name] = "ok"
        except Exception as error:  # any failure means "not ready", with why
            results[name] = f"failed: {type(error).__name__}"
    return all(v == "ok" for v in results.values()), results


class OpsServer:
    def __init__(
        self,
        port: int,
        checks: dict[str, Check],
        multiprocess_dir: Path | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.checks = checks
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/metrics":
                    self._send(200, metrics_payload(multiprocess_dir), CONTENT_TYPE_LATEST)
                elif self.path == "/healthz":
                    self._send(200, b'{"status": "ok"}', "application/json")
                elif self.path == "/readyz":
                    ready, results = run_checks(server.checks)
                    body = json.dumps({"ready": ready, "checks": results}).encode()
                    self._send(200 if ready else 503, body, "application/json")
                else:
                    self._send(404, b'{"detail": "not found"}', "application/json")

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass  # scrapes every few seconds are not news

        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="ops", daemon=True)

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    def start(self) -> OpsServer:
        self.thread.start()
        return self

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
