"""The command line as a person meets it: a version, help for every option (naming its
environment variable where it has one) and an example for every command, values checked before
anything runs, one line and a documented exit code for every mistake, shell completion, and a
rebuild that will not swap an empty result over read models with rows."""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from uuid import UUID

import pytest

from projections.tables import CASE_OVERVIEW
from saksflyt.bootstrap import bootstrap, projection_store
from saksflyt.cli import build_parser, main
from saksflyt.command_line import Exit, command_path, parsers
from saksflyt.demo import synthetic
from saksflyt.demo.scenarios import SCENARIOS
from saksflyt.settings import Settings
from tests.send import file_application, start
from tests.stores import demo_paths, sqlite_settings

SAKSFLYT = Path(sys.executable).with_name("saksflyt")
# options whose value is a setting, under another name than the setting's
SETTING_OF = {
    "db": "sqlite_path",
    "read_models": "projection_sqlite_path",
    "demo_db": "sqlite_path",
}


def _options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [
        a
        for a in parser._actions
        if a.option_strings and not isinstance(a, (argparse._HelpAction, argparse._VersionAction))
    ]


def _leaves() -> list[argparse.ArgumentParser]:
    return [
        p
        for p in parsers(build_parser())
        if not any(isinstance(a, argparse._SubParsersAction) for a in p._actions)
    ]


def test_the_version_comes_from_the_package() -> None:
    done = subprocess.run([SAKSFLYT, "--version"], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == f"saksflyt {metadata.version('saksflyt')}"


def test_every_command_has_an_example_and_every_option_help_naming_its_setting() -> None:
    leaves = _leaves()
    assert len(leaves) > 25
    for leaf in leaves:
        example = (leaf.epilog or "").partition("Example:")[2]
        assert "saksflyt " in example, command_path(leaf)
    for parser in parsers(build_parser()):
        for option in _options(parser):
            where = f"{parser.prog} {option.option_strings[0]}"
            assert option.help and len(option.help) > 8, where
            setting = SETTING_OF.get(option.dest, option.dest)
            if setting in Settings.model_fields:
                assert f"SAKSFLYT_{setting.upper()}" in option.help, where


@pytest.mark.parametrize(
    ("argv", "env", "code", "said"),
    [
        (["query", "overview", "--service", "hundeskatt"], {}, Exit.USAGE, "unknown service"),
        (["query", "overview", "--status", "lost"], {}, Exit.USAGE, "unknown status"),
        (["query", "overview", "--municipality", "9999"], {}, Exit.USAGE, "9999"),
        (["services"], {"SAKSFLYT_SMTP_PORT": "many"}, Exit.CONFIGURATION, "SAKSFLYT_SMTP_PORT"),
        (["serve"], {"SAKSFLYT_AUTH_DEV_KEY": ""}, Exit.CONFIGURATION, "SAKSFLYT_AUTH"),
        (
            ["topics", "ensure", "--kafka", "127.0.0.1:9"],
            {"SAKSFLYT_CONNECT_TIMEOUT_SECONDS": "1"},
            Exit.UNREACHABLE,
            "cannot reach Kafka",
        ),
        (
            ["verify"],
            {
                "SAKSFLYT_EVENT_STORE": "postgres",
                "SAKSFLYT_POSTGRES_URL": "postgresql://x@127.0.0.1:9/x",
            },
            Exit.UNREACHABLE,
            "cannot reach PostgreSQL",
        ),
        (
            ["erase", "--case", "6f9d3c47-8a0e-4b5e-9c1d-2e7f8a9b0c1d", "--reason", "test"],
            {},
            Exit.USAGE,
            "no case",
        ),
        (["--db", "nowhere/events.db", "verify"], {}, Exit.CONFIGURATION, "no event store"),
        (["--read-models", "nowhere/r.db", "query", "stats"], {}, Exit.CONFIGURATION, "no read"),
        (["query", "overview", "--limit", "-5"], {}, Exit.USAGE, "give 1 or more"),
        (["keys", "public", "--municipality", "1234"], {}, Exit.USAGE, "1234"),
        (["token", "--role", "analyst", "--kommune", "9999", "--sub", "x"], {}, Exit.USAGE, "9999"),
        (["rebuild", "--source", "kafka"], {}, Exit.CONFIGURATION, "needs Kafka"),
        (["notices", "run"], {}, Exit.CONFIGURATION, "SAKSFLYT_SMTP_HOST"),
        (["erase", "--case", "{kept}", "--reason", "test"], {}, Exit.REFUSED, "refused"),
        (
            ["erase", "--case", str(UUID(int=1)), "--reason", "x"],
            {"KEYS": "elsewhere"},
            Exit.CONFIGURATION,
            "point SAKSFLYT_KEY_RING at it",
        ),
        (
            ["serve", "--port", "{busy}"],
            {"SAKSFLYT_AUTH_DEV_KEY": "{tmp}/dev.pem"},
            Exit.CONFIGURATION,
            "cannot listen",
        ),
        (
            ["serve"],
            {
                "SAKSFLYT_EVENT_STORE": "postgres",
                "SAKSFLYT_POSTGRES_URL": "postgresql://x@127.0.0.1:9/x",
                "SAKSFLYT_AUTH_DEV_KEY": "{tmp}/dev.pem",
            },
            Exit.UNREACHABLE,
            "cannot reach PostgreSQL",
        ),
    ],
)
def test_a_mistake_is_one_line_and_its_exit_code(
    argv: list[str], env: dict[str, str], code: Exit, said: str, tmp_path: Path
) -> None:
    """docs/cli.md's promise: one line on stderr, ``saksflyt COMMAND: what went wrong``, and the
    exit code of its kind — for usage, a value, the configuration, a server that does not
    answer. Each runs on an embedded store that exists and holds a sealed case."""
    store, kept = _store_with_cases(tmp_path)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SAKSFLYT_")}
    environment |= {
        "SAKSFLYT_SQLITE_PATH": str(store),
        "SAKSFLYT_KEY_RING": str(tmp_path / "keyring.json"),
    }
    if env.pop("KEYS", None):  # the key ring named wrong: the store's cases need another one
        environment["SAKSFLYT_KEY_RING"] = str(tmp_path / "elsewhere" / "keyring.json")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        fill = {"{busy}": str(busy.getsockname()[1]), "{tmp}": str(tmp_path), "{kept}": kept}
        argv = [_filled(a, fill) for a in argv]
        environment |= {k: _filled(v, fill) for k, v in env.items()}
        done = subprocess.run(
            [SAKSFLYT, *argv], capture_output=True, text=True, env=environment, timeout=60
        )
    assert done.returncode == code, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and said in lines[0], done.stderr
    assert lines[0].startswith("saksflyt ") and not done.stdout.strip(), done.stdout


def _filled(text: str, fill: dict[str, str]) -> str:
    for mark, value in fill.items():
        text = text.replace(mark, value)
    return text


def _store_with_cases(folder: Path) -> tuple[Path, str]:
    """A store with a draft and a submitted application (which retention keeps: its id)."""
    settings = sqlite_settings(folder)
    app = bootstrap(settings)
    at = datetime(2026, 3, 2, 9, tzinfo=UTC)
    start(app, "ledsagerbevis", at)
    form = synthetic.complete_form(random.Random(4), "avfallsbeholder", "0301")
    kept = file_application(app, form, at, service="avfallsbeholder")
    app.close()
    return settings.sqlite_path, str(kept)


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "SAKSFLYT_SMTP_PORT": "many"}
    done = subprocess.run(
        [SAKSFLYT, "--debug", "services"], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == Exit.CONFIGURATION and "Traceback" in done.stderr


def test_completion_offers_commands_and_service_codes(tmp_path: Path) -> None:
    answers = tmp_path / "completions"

    def complete(line: str) -> list[str]:
        env = {
            **os.environ,
            "_ARGCOMPLETE": "1",
            "_ARGCOMPLETE_IFS": "\n",
            "COMP_LINE": line,
            "COMP_POINT": str(len(line)),
            "_ARGCOMPLETE_STDOUT_FILENAME": str(answers),
        }
        subprocess.run([SAKSFLYT], env=env, check=True, timeout=60)
        return answers.read_text().split()

    assert complete("saksflyt qu") == ["query"]
    assert complete("saksflyt query overview --service mel") == ["melding-om-tiltak"]


def test_rebuild_refuses_to_swap_an_empty_result_over_read_models_with_cases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A demo's store named with --db, then a rebuild without it: the empty default store must
    not replace the demo's read models."""
    demo_paths(tmp_path, monkeypatch)
    monkeypatch.delenv("SAKSFLYT_PROJECTION_SQLITE_PATH")  # the read models: beside the store
    assert main(["--db", str(tmp_path / "demo" / "events.db"), "demo", "--applications", "40"]) == 0
    read_models = str(tmp_path / "demo" / "projections.db")
    capsys.readouterr()
    assert main(["--read-models", read_models, "rebuild"]) == Exit.CONFIGURATION
    assert "no event store at" in capsys.readouterr().err  # none at the default place
    bootstrap(Settings.from_env()).close()  # an empty store there
    assert main(["--read-models", read_models, "rebuild"]) == Exit.FAILED
    assert "--force" in capsys.readouterr().err
    assert main(["--read-models", read_models, "query", "overview", "--format", "json"]) == 0
    assert capsys.readouterr().out.count('"case_id"') == 40 + len(SCENARIOS)  # and the law's
    assert main(["--db", str(tmp_path / "demo" / "events.db"), "rebuild"]) == 0


def test_a_demo_on_another_store_never_clears_the_first_stores_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Attachments and the key ring live beside their store: a second demo named with --db
    starts afresh in its own folder, and the first store's uploads are all still there. A
    folder the settings place away from the store is refused, not cleared."""
    for name in ("PROJECTION_SQLITE_PATH", "DOCUMENT_DIR", "KEY_RING", "NOTICES_MAILBOX"):
        monkeypatch.delenv(f"SAKSFLYT_{name}", raising=False)
    monkeypatch.setenv("SAKSFLYT_AUTH_DEV_KEY", str(tmp_path / "dev-key.pem"))
    first, second = tmp_path / "first" / "events.db", tmp_path / "second" / "events.db"
    assert main(["--db", str(first), "demo", "--applications", "30"]) == 0
    uploads = sorted((first.parent / "documents").rglob("*"))
    assert uploads and (first.parent / "keyring.json").exists()
    assert main(["--db", str(second), "demo", "--applications", "30"]) == 0
    assert sorted((first.parent / "documents").rglob("*")) == uploads
    assert (second.parent / "documents").is_dir() and (second.parent / "keyring.json").exists()
    capsys.readouterr()
    monkeypatch.setenv("SAKSFLYT_DOCUMENT_DIR", str(first.parent / "documents"))
    assert main(["--db", str(second), "demo", "--applications", "30"]) == Exit.REFUSED
    assert "will not clear" in capsys.readouterr().err
    assert sorted((first.parent / "documents").rglob("*")) == uploads


def _serving(tmp_path: Path) -> tuple[int, dict[str, str]]:
    """A free port, and the settings of a SQLite store in ``tmp_path`` for ``saksflyt serve``."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return port, {
        **os.environ,
        "SAKSFLYT_SQLITE_PATH": str(tmp_path / "events.db"),
        "SAKSFLYT_KEY_RING": str(tmp_path / "keyring.json"),
        "SAKSFLYT_AUTH_DEV_KEY": str(tmp_path / "dev-key.pem"),
    }


@pytest.mark.slow
def test_serve_says_where_it_listens_and_logs_json(tmp_path: Path) -> None:
    port, env = _serving(tmp_path)
    subprocess.run(
        [SAKSFLYT, "token", "--role", "operator", "--sub", "x"],
        env=env,
        check=True,
        capture_output=True,
    )
    server = subprocess.Popen(
        [SAKSFLYT, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None and server.stderr is not None
        first = server.stdout.readline()
        assert first.startswith(f"saksflyt API on http://127.0.0.1:{port}"), first
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/healthz", timeout=2
                ) as answer:
                    assert answer.status == 200
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as ready:
                    warned = json.loads(ready.read())["warnings"]
                    assert any("development token key" in w for w in warned)
                    break
            except OSError:
                assert time.monotonic() < deadline, "the server did not answer"
                time.sleep(0.1)
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=30)
    lines = [json.loads(line) for line in errors.splitlines() if line.strip()]
    assert any(
        line["logger"] == "uvicorn.access" and "/healthz" in line["message"] for line in lines
    )
    # the development key is trusted here: said at start, as a warning
    assert any(
        line["level"] == "warning" and "development key" in line["message"] for line in lines
    )


@pytest.mark.slow
def test_serve_settles_the_garbage_collector_once_set_up(tmp_path: Path) -> None:
    """``saksflyt serve`` leaves the application's startup heap to the collector's frozen
    generation and collects the young one rarely (``consumers/collector.py``): commands make
    next to no collector passes (unsettled: 44 over these 150 commands)."""
    port, env = _serving(tmp_path)
    env["SAKSFLYT_METRICS_OPEN"] = "true"
    token = subprocess.run(
        [SAKSFLYT, "token", "--role", "service", "--kommune", "0301", "--sub", "portal"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    base = f"http://127.0.0.1:{port}"

    def collector_passes() -> float:
        with urllib.request.urlopen(f"{base}/metrics", timeout=5) as answer:
            text = answer.read().decode()
        return sum(float(n) for n in re.findall(r"python_gc_collections_total\{.*\} (\S+)", text))

    server = subprocess.Popen(
        [SAKSFLYT, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                before = collector_passes()
                break
            except OSError:
                assert time.monotonic() < deadline, "the server did not answer"
                time.sleep(0.1)
        rng = random.Random(7)
        for _ in range(150):
            form = synthetic.complete_form(rng, "avfallsbeholder", "0301")
            body = {"service": "avfallsbeholder", "kommunenummer": "0301", "form": form}
            request = urllib.request.Request(
                f"{base}/applications",
                data=json.dumps(body).encode(),
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=30) as answer:
                assert answer.status == 201
        assert collector_passes() - before <= 3
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_parquet_is_an_optional_extra_with_a_clear_message_when_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    required = metadata.requires("saksflyt") or []
    assert all("extra ==" in r for r in required if r.startswith("pyarrow"))  # not in the base
    demo_paths(tmp_path, monkeypatch)
    projection_store(Settings.from_env()).db.close()  # read models (empty) to query
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as if not installed
    out = tmp_path / "overview.parquet"
    assert (
        main(["query", "overview", "--format", "parquet", "--out", str(out)]) == Exit.CONFIGURATION
    )
    assert "pip install 'saksflyt[parquet]'" in capsys.readouterr().err
    assert not out.exists()


def test_a_token_that_would_live_too_long_is_not_minted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Tokens live at most SAKSFLYT_AUTH_MAX_TOKEN_MINUTES (60): saksflyt token refuses a
    century in one line on standard error, nothing on standard output (TOKEN=$(…) stays empty)."""
    monkeypatch.setenv("SAKSFLYT_AUTH_DEV_KEY", str(tmp_path / "dev-key.pem"))
    asked = ["token", "--role", "operator", "--sub", "x", "--minutes", "52560000"]
    assert main(asked) == Exit.USAGE
    said = capsys.readouterr()
    assert said.out == "" and "at most" not in said.out and "1 to 60 minutes" in said.err
    assert main([*asked[:-1], "60"]) == Exit.OK
    assert capsys.readouterr().out.count(".") == 2  # a JWT


def test_the_demos_hints_name_the_program_as_it_can_be_called(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`make demo` runs .venv/bin/saksflyt, which is not on the PATH: its closing hints say so;
    in an activated virtualenv they say saksflyt."""
    from saksflyt.cli import _me

    monkeypatch.chdir(SAKSFLYT.parents[2])
    monkeypatch.setattr(sys, "argv", [str(SAKSFLYT), "demo"])
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert _me() == str(SAKSFLYT.resolve().relative_to(SAKSFLYT.parents[2].resolve()))
    monkeypatch.setenv("PATH", f"{SAKSFLYT.parent}:/usr/bin:/bin")
    assert _me() == "saksflyt"


def test_the_readmes_synopsis_names_every_command_with_options_it_has() -> None:
    """One line per command in the README's synopsis, and no option there the command lacks."""
    readme = (SAKSFLYT.parents[2] / "README.md").read_text(encoding="utf-8")
    block = readme.split("## The command line", 1)[1].split("```", 2)[1]
    lines = [line for line in block.splitlines() if line.startswith("saksflyt ")]
    for leaf in _leaves():
        path = command_path(leaf)
        mine = [line.split("#")[0] for line in lines if line.startswith(f"saksflyt {path} ")
                or line.split("#")[0].strip() == f"saksflyt {path}"]  # fmt: skip
        assert len(mine) == 1, path
        known = {o for action in _options(leaf) for o in action.option_strings}
        for option in re.findall(r"--[a-z-]+", mine[0]):
            assert option in known, f"{path}: {option}"


def test_the_overview_on_a_terminal_shows_a_readable_few_columns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    demo_paths(tmp_path, monkeypatch)
    assert main(["demo", "--applications", "20"]) == 0
    capsys.readouterr()
    assert main(["query", "overview", "--limit", "5"]) == 0
    table = capsys.readouterr().out
    assert "decision_deadline" in table and "neighbour_consents" not in table
    assert main(["query", "overview", "--limit", "2", "--format", "json"]) == 0
    assert len(json.loads(capsys.readouterr().out)[0]) == len(CASE_OVERVIEW.columns)  # all
    assert main(["query", "overview", "--columns", "case_id,status", "--format", "json"]) == 0
    assert set(json.loads(capsys.readouterr().out)[0]) == {"case_id", "status"}
    assert main(["query", "overview", "--columns", "case_id,nope"]) == Exit.USAGE
    assert "no column nope" in capsys.readouterr().err


def test_erasures_says_when_there_are_none(tmp_path: Path) -> None:
    env = {**os.environ, "SAKSFLYT_SQLITE_PATH": str(_store_with_cases(tmp_path)[0])}
    env["SAKSFLYT_KEY_RING"] = str(tmp_path / "keyring.json")
    done = subprocess.run([SAKSFLYT, "erasures"], capture_output=True, text=True, env=env)
    assert (done.returncode, done.stdout.strip()) == (0, "no erasures"), done.stderr


def test_the_apis_socket_lets_asyncio_turn_nagle_off() -> None:
    """serve binds its own socket (a busy port is one line): made with IPPROTO_TCP named, so
    asyncio sets TCP_NODELAY on every connection — with proto 0 it did not, and every answer on
    a kept-alive connection waited 40 ms for the client's delayed ACK (bench/door.py found it)."""
    from saksflyt.cli import _listen

    with _listen("127.0.0.1", 0) as listening:
        assert listening.proto == socket.IPPROTO_TCP
