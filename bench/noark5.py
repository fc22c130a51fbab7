"""What a Noark 5 export costs: cases per second and peak memory, for growing archives.

For each size, a fresh embedded store gets that many synthetic applications in one municipality
(every service archived there by a municipal override), retention archives the closed ones, and
``saksflyt export noark5`` runs as its own process: its wall time and peak RSS (the child's
``ru_maxrss``) are what is reported. Flat memory across sizes is the point of streaming.

    python bench/noark5.py [--cases 10000 100000] [--schemas ../shared/noark5]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import tomllib
from datetime import date
from pathlib import Path

from saksflyt.archive import retention
from saksflyt.archive.numbers import Numbers
from saksflyt.bootstrap import bootstrap, projection_store
from saksflyt.demo.simulation import run_demo
from saksflyt.records import records_database
from saksflyt.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
OSLO = "0301"


def prepare(folder: Path, cases: int) -> tuple[dict[str, str], int]:
    codes = tomllib.loads((ROOT / "domain/data/services.toml").read_text(encoding="utf-8"))
    overrides = folder / "kommuner.toml"
    overrides.write_text(
        "\n".join(
            f'[{OSLO}.{c}]\nretention = {{ action = "archive", after_days = 0 }}' for c in codes
        ),
        encoding="utf-8",
    )
    env = {
        "SAKSFLYT_SQLITE_PATH": str(folder / "events.db"),
        "SAKSFLYT_PROJECTION_SQLITE_PATH": str(folder / "projections.db"),
        "SAKSFLYT_KEY_RING": str(folder / "keyring.json"),
        "SAKSFLYT_DOCUMENT_DIR": str(folder / "documents"),
        "SAKSFLYT_MUNICIPALITY_SETTINGS": str(overrides),
    }
    settings = Settings(
        sqlite_path=folder / "events.db",
        projection_sqlite_path=folder / "projections.db",
        key_ring=folder / "keyring.json",
        document_dir=folder / "documents",
        municipality_settings=overrides,
    )
    app = bootstrap(settings)
    run_demo(app, cases, seed=3, municipalities=(OSLO,))
    store = projection_store(settings)
    retention.catch_up(app, store)
    later = date(2028, 6, 1)
    planned = list(retention.plan(app, store, later))
    numbers = Numbers(records_database(settings))
    done = retention.run(app, planned, retention.moment(later), numbers)
    retention.catch_up(app, store)
    store.db.close()
    app.close()
    return env, done["archived"]


# the export in its own process, reporting its own peak RSS (KiB) when done
CHILD = (
    "import resource, sys\n"
    "from saksflyt.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "print('MAXRSS', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def export(env: dict[str, str], out: Path, schemas: Path) -> tuple[float, float]:
    """Seconds and peak RSS (MiB) of one ``saksflyt export noark5`` process."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, "export", "noark5", "--municipality", OSLO,
         "--out", str(out), "--schemas", str(schemas)],
        env={**os.environ, **env}, check=True, capture_output=True, text=True,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    peak_kib = next(
        int(line.split()[1]) for line in done.stderr.splitlines() if line.startswith("MAXRSS")
    )
    return seconds, peak_kib / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--schemas", type=Path, default=ROOT.parent / "shared" / "noark5")
    args = parser.parse_args()
    print(f"Noark 5 export, {os.cpu_count()} cores; applications -> archived cases exported")
    for cases in args.cases:
        with tempfile.TemporaryDirectory(prefix="bench-noark5-") as tmp:
            folder = Path(tmp)
            env, archived = prepare(folder, cases)
            seconds, peak = export(env, folder / "uttrekk", args.schemas)
            files = sum(1 for _ in (folder / "uttrekk" / "DOKUMENT").iterdir())
            print(
                f"{cases:>8,} applications: {archived:,} archived cases, {files:,} document files "
                f"in {seconds:.1f} s = {archived / seconds:,.0f} cases/s; peak RSS {peak:.0f} MiB"
            )


if __name__ == "__main__":
    main()
