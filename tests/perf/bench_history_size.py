"""Benchmark: what the run history of N trivial task runs costs on disk, on SQLite.

    python tests/perf/bench_history_size.py [--n 100000] [--kind both|sequential|map]

In a temporary RUNS_HOME on SQLite (DATABASE_URL is ignored), runs one flow of N trivial
sequential task runs and one flow mapping a trivial task over N, then prints:

- rows per task run, by table (task run, state, run tag, log, dependency);
- bytes per task run, by table and by index (SQLite's ``dbstat`` virtual table when the build
  has it, else the file's ``page_count * page_size`` only);
- the database file's size with its WAL (as the flows leave it), after
  ``PRAGMA wal_checkpoint(TRUNCATE)``, and after ``VACUUM``.

The figures are of the history only: the file is measured before the flows too, and the
difference is divided by the number of task runs.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

#: Tables of the history of a task run, as (label, table).
TABLES = (
    ("task run", "runs_taskrun"),
    ("state", "runs_state"),
    ("run tag", "runs_runtag"),
    ("log", "runs_log"),
    ("dependency", "runs_taskrundependency"),
)


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _files(db: Path) -> tuple[int, int]:
    """(database file, WAL file) sizes in bytes."""
    return _size(db), _size(db.with_name(db.name + "-wal"))


def _mb(n: float) -> str:
    return f"{n / 1e6:,.1f} MB"


def _objects(conn: sqlite3.Connection) -> dict[str, tuple[str, str]]:
    """Every table and index of the history's tables: name -> (kind, table)."""
    tables = tuple(t for _, t in TABLES)
    marks = ",".join("?" * len(tables))
    return {
        name: (kind, table)
        for kind, name, table in conn.execute(
            f"SELECT type, name, tbl_name FROM sqlite_master WHERE tbl_name IN ({marks}) "
            "AND type IN ('table', 'index')",
            tables,
        )
    }


def _dbstat(conn: sqlite3.Connection) -> dict[str, int] | None:
    try:
        return {
            name: size
            for name, size in conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name")
        }
    except sqlite3.OperationalError:  # a build without SQLITE_ENABLE_DBSTAT_VTAB
        return None


def _run_flows(n: int, kinds: list[str]) -> dict[str, float]:
    from runs import flow, task
    from runs.orchestration import writer

    @task
    def trivial(x):
        return x + 1

    @flow
    def sequential(n):
        for i in range(n):
            trivial(i)

    @flow
    def mapped(n):
        for future in trivial.map(range(n)):
            future.wait()

    flows = {"sequential": sequential, "map": mapped}
    took = {}
    for kind in kinds:
        started = time.perf_counter()
        flows[kind](n)
        writer.flush()
        took[kind] = time.perf_counter() - started
    return took


def child(n: int, kinds: list[str]) -> None:
    """In the child process: the flows, then the file's sizes while its connections are open
    (the last connection to close checkpoints and removes the WAL), as one JSON line."""
    from runs.bootstrap import ensure_ready

    ensure_ready()
    from django.db import connection

    connection.ensure_connection()
    db = Path(connection.settings_dict["NAME"])
    took = _run_flows(n, kinds)
    print(json.dumps({"took": took, "files": _files(db), "db": str(db)}))
    sys.stdout.flush()
    os._exit(0)  # the WAL as the flows left it: no exit-time checkpoint by this process


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--kind", choices=("both", "sequential", "map"), default="both")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    kinds = ["sequential", "map"] if args.kind == "both" else [args.kind]
    if args.child:
        child(args.n, kinds)
        return
    os.environ.pop("DATABASE_URL", None)  # this benchmark is about SQLite's file

    from benchdb import prepare

    home = Path(prepare())
    task_runs = args.n * len(kinds)
    # The empty schema (migrated by a first child of 0 runs), checkpointed, is the baseline.
    subprocess.run(
        [sys.executable, __file__, "--child", "--n", "0", "--kind", "sequential"],
        check=True,
        capture_output=True,
    )
    db = home / "runs.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        auto_vacuum = conn.execute("PRAGMA auto_vacuum").fetchone()[0]
        before_stat = _dbstat(conn) or {}
    empty = _files(db)[0]

    out = subprocess.run(
        [sys.executable, __file__, "--child", "--n", str(args.n), "--kind", args.kind],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    ).stdout
    found = json.loads(out.strip().splitlines()[-1])
    took, with_wal = found["took"], tuple(found["files"])

    conn = sqlite3.connect(db, isolation_level=None)
    counts = {
        label: conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        for label, table in TABLES
    }
    flow_runs = conn.execute("SELECT COUNT(*) FROM runs_flowrun").fetchone()[0] - 1
    objects = _objects(conn)
    stat = _dbstat(conn)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    checkpointed = _files(db)
    conn.execute("VACUUM")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    vacuumed = _files(db)
    vacuum_stat = _dbstat(conn)
    conn.close()

    print(
        f"SQLite {sqlite3.sqlite_version}; page_size {page_size}; auto_vacuum {auto_vacuum}; "
        f"task runs: {task_runs:,} ({' + '.join(f'{k} {args.n:,}' for k in kinds)}); "
        f"flow runs: {flow_runs}; home {home}"
    )
    print(
        "time: "
        + ", ".join(f"{k} {t:.1f} s ({t / args.n * 1e3:.3f} ms/run)" for k, t in took.items())
    )
    print("rows per task run:")
    for label, _ in TABLES:
        print(f"  {label:<12} {counts[label] / task_runs:6.2f}")

    def by_object(figures: dict[str, int] | None, title: str) -> None:
        if figures is None:
            print(f"{title}: dbstat is not in this sqlite3 build")
            return
        print(f"{title} (bytes per task run, table and its indexes):")
        total = 0
        for label, table in TABLES:
            names = [table] + sorted(
                name for name, (kind, t) in objects.items() if t == table and kind == "index"
            )
            for name in names:
                size = figures.get(name, 0) - before_stat.get(name, 0)
                total += size
                kind = objects.get(name, ("table",))[0]
                print(f"  {label:<12} {kind:<6} {name:<60} {size / task_runs:8.1f}")
        print(f"  {'all':<12} {'':<6} {'':<60} {total / task_runs:8.1f}")

    by_object(stat, "pages as written")
    by_object(vacuum_stat, "pages after VACUUM")
    growth = lambda size: (size - empty) / task_runs  # noqa: E731
    print("database file (history only: minus the empty schema's file):")
    print(
        f"  as written: {_mb(with_wal[0])} + WAL {_mb(with_wal[1])} = "
        f"{_mb(sum(with_wal))} ({(sum(with_wal) - empty) / task_runs:,.0f} B per task run)"
    )
    print(
        f"  after wal_checkpoint(TRUNCATE): {_mb(checkpointed[0])} + WAL "
        f"{_mb(checkpointed[1])} ({growth(checkpointed[0]):,.0f} B per task run)"
    )
    print(
        f"  after VACUUM: {_mb(vacuumed[0])} ({growth(vacuumed[0]):,.0f} B per task run); "
        f"empty schema {_mb(empty)}"
    )
    per_100k = lambda size: _mb((size - empty) / task_runs * 100_000 + empty)  # noqa: E731
    print(
        f"  for 100,000 task runs: {per_100k(sum(with_wal))} with WAL, "
        f"{per_100k(checkpointed[0])} checkpointed, {per_100k(vacuumed[0])} VACUUM-ed"
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
