"""A small supervisor: the processes under test, each restarted when it dies (as systemd or a
container runtime would), and killed with SIGKILL when the campaign says so."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from chaos.cluster import free_port

RESTART_DELAY_S = 0.5


@dataclass
class Member:
    name: str  # role#n
    argv: list[str]
    port: int | None  # /readyz here when set
    restart: bool = True  # churned members come and go; supervised ones come back
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    deaths: list[int] = field(default_factory=list)  # exit codes of unplanned or killed ends


def saksflyt(*args: str) -> list[str]:
    return [str(Path(sys.executable).with_name("saksflyt")), *args]


ROLES: dict[str, tuple[str, ...]] = {
    "relay": ("relay",),
    "intake": ("intake",),
    "projector": ("project",),
    "notices": ("notices", "run"),
    "retention": ("retention", "watch", "--interval", "5"),
    "api": ("serve",),
}


class Supervisor:
    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs = env, logs
        self.members: dict[str, Member] = {}
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def add(self, role: str, n: int = 1, restart: bool = True) -> Member:
        port = free_port()
        flag = "--port" if role == "api" else "--metrics-port"
        args = list(ROLES[role])
        if role != "retention":
            args += [flag, str(port)]
        member = Member(f"{role}#{n}", saksflyt(*args), None if role == "retention" else port)
        member.restart = restart
        with self.lock:
            self.members[member.name] = member
            self._start(member)
        return member

    def _start(self, member: Member) -> None:
        name = member.name.replace("#", "-")
        log = (self.logs / f"{name}.log").open("ab")
        env = dict(self.env)
        if member.restart:  # one process of a deployment: it comes back under the same name
            env["SAKSFLYT_KAFKA_GROUP_INSTANCE_ID"] = name
        member.process = subprocess.Popen(member.argv, env=env, stdout=log, stderr=log)
        member.starts += 1

    def start(self) -> None:
        self._thread.start()

    def _watch(self) -> None:
        while not self.stopping.wait(0.1):
            with self.lock:
                for member in self.members.values():
                    process = member.process
                    if process is None or process.poll() is None:
                        continue
                    member.deaths.append(process.returncode)
                    if member.restart:
                        time.sleep(RESTART_DELAY_S)
                        self._start(member)
                    else:
                        member.process = None

    def kill(self, name: str) -> None:
        with self.lock:
            process = self.members[name].process
        if process is not None:
            process.send_signal(signal.SIGKILL)

    def leave(self, name: str) -> None:
        """A churned member leaves for good: SIGTERM, as a scaled-down deployment would."""
        with self.lock:
            member = self.members.pop(name)
        if member.process is not None:
            member.process.terminate()
            try:
                member.process.wait(30)
            except subprocess.TimeoutExpired:
                member.process.kill()

    def ready(self, name: str) -> bool:
        with self.lock:
            member = self.members[name]
            process = member.process
        if process is None or process.poll() is not None:
            return False
        if member.port is None:
            return True
        try:
            url = f"http://127.0.0.1:{member.port}/readyz"
            with urllib.request.urlopen(url, timeout=1) as answer:
                return bool(answer.status == 200)
        except OSError:
            return False

    def port(self, name: str) -> int:
        port = self.members[name].port
        assert port is not None
        return port

    def stop(self) -> dict[str, int | None]:
        """SIGTERM to all; their exit codes (a clean stop is 0)."""
        self.stopping.set()
        self._thread.join(5)
        with self.lock:
            members = list(self.members.values())
        for member in members:
            if member.process is not None and member.process.poll() is None:
                member.process.terminate()
        codes: dict[str, int | None] = {}
        for member in members:
            if member.process is None:
                continue
            try:
                codes[member.name] = member.process.wait(60)
            except subprocess.TimeoutExpired:
                member.process.kill()
                codes[member.name] = None
        return codes
