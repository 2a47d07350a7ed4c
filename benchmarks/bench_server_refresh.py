"""Benchmark: reading (and refreshing from) a till on PostgreSQL -- wall time, peak memory.

    . scripts/test_servers.sh && python benchmarks/bench_server_refresh.py
    python benchmarks/bench_server_refresh.py --lines 250000 1000000 --no-refresh

Needs a PostgreSQL it may create databases on: ``--pg-url`` or ``POSSUGGEST_TEST_PG_URL``
(``scripts/test_servers.sh`` starts a throwaway one and exports it).

What it does, for each size (default 250,000 and 1,000,000 sale lines):

1. Builds a demo store (fixed seed and end date) with about that many sale lines, as a
   SQLite till, cached under /tmp/possuggest-bench/, and copies it into a new PostgreSQL
   database with COPY (the reference schema with the types a server till has: TIMESTAMP
   times, NUMERIC prices and quantities, an index on the lines' sale id).
2. Reads every closed sale (window 36,500 days) as ``Transactions`` three ways, each in its
   own child process, peak memory less the
   child's resident memory just before the read (imports done, connected); the peak is the
   child's own high-water mark (VmHWM):

   * ``server``: possuggest's ServerReader -- a server-side cursor, 20,000 lines per fetch,
     straight into compact arrays;
   * ``sqlite``: the same sales from the SQLite till through the SQLite reader;
   * ``pandas``: what a user would otherwise write: ``pandas.read_sql`` of the same query on
     the same SQLAlchemy engine, then ``Transactions.from_pairs``.

   Each child checks that its baskets equal the server reader's (same count of baskets,
   items and pairs), and reports the bytes of the resulting arrays: the part of the peak
   that is the result itself, which any reader must hold.
3. Unless ``--no-refresh``: a whole ``refresh`` (read, mine, save; no tuning) from the
   server and from the SQLite file at the largest size, in child processes.

Prints one table; the figures in the README come from it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import ROOT, code_version, load_avg  # noqa: E402

CACHE = Path("/tmp/possuggest-bench")
LINES_PER_SALE = 2.96          # the demo store's average (measured), to size the builds
WINDOW = 36_500

PG_DDL = """
CREATE TABLE products (sku TEXT PRIMARY KEY, name TEXT NOT NULL, category TEXT, family TEXT,
    price NUMERIC(12,2) NOT NULL, cost NUMERIC(12,2), stock INTEGER,
    active INTEGER NOT NULL DEFAULT 1);
CREATE TABLE sales (sale_id BIGINT PRIMARY KEY, register_id TEXT NOT NULL, cashier_id TEXT,
    customer_id TEXT, opened_at TIMESTAMP NOT NULL, closed_at TIMESTAMP, status TEXT NOT NULL);
CREATE TABLE sale_lines (line_id BIGINT PRIMARY KEY, sale_id BIGINT NOT NULL, sku TEXT NOT NULL,
    qty NUMERIC(12,3) NOT NULL, unit_price NUMERIC(12,2) NOT NULL,
    voided INTEGER NOT NULL DEFAULT 0);
CREATE INDEX sale_lines_sale ON sale_lines(sale_id);
CREATE INDEX sales_open ON sales(status, register_id);
"""
COLUMNS = {"products": 8, "sales": 7, "sale_lines": 6}


def demo_till(lines: int) -> Path:
    """A cached demo store with about ``lines`` sale lines."""
    from possuggest.demo.generator import build_demo_store

    sales = int(lines / LINES_PER_SALE)
    path = CACHE / f"server-bench-{sales}.db"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        build_demo_store(path, sales=sales, seed=7, end_date=dt.date(2025, 6, 30))
    return path


def load_into_postgres(sqlite_path: Path, admin_url: str) -> str:
    """A new database holding the till (COPY); returns its URL."""
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"possuggest_bench_{sqlite_path.stem.replace('-', '_')}"
    admin = make_url(admin_url)
    conninfo = {"host": admin.query.get("host") or admin.host or "", "user": admin.username,
                "dbname": admin.database or "postgres"}
    with psycopg.connect(**{k: v for k, v in conninfo.items() if v}, autocommit=True) as c:
        exists = c.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists:
            return admin.set(database=name).render_as_string(hide_password=False)
        c.execute(f"CREATE DATABASE {name}")
    conninfo["dbname"] = name
    src = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)
    with psycopg.connect(**{k: v for k, v in conninfo.items() if v}) as c:
        c.execute(PG_DDL)
        for table, n in COLUMNS.items():
            with c.cursor().copy(f"COPY {table} FROM STDIN") as copy:
                for row in src.execute(f"SELECT * FROM {table}"):
                    copy.write_row(row[:n])
        c.execute("ANALYZE")
    src.close()
    return admin.set(database=name).render_as_string(hide_password=False)


# -- children: one measurement each --------------------------------------------------------------
def _status_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _rss_kb() -> int:
    return _status_kb("VmRSS")


def child(mode: str, target: str) -> None:
    """Runs in a fresh interpreter; prints one JSON line."""
    import numpy as np
    import pandas  # noqa: F401  (every reader uses it; its import is not the read's memory)

    from possuggest.core.config import Settings, TillSettings
    from possuggest.core.transactions import Transactions
    from possuggest.till.reader import TillReader

    out: dict[str, object] = {"mode": mode}
    if mode in ("server", "sqlite"):
        settings = TillSettings(url=target) if mode == "server" else TillSettings(path=target)
        with TillReader(target if mode == "sqlite" else "", settings) as r:
            r.read_products()
            before = _rss_kb()
            t = time.perf_counter()
            tx = r.read_transactions(WINDOW)
            out["seconds"] = time.perf_counter() - t
    elif mode == "pandas":
        import pandas as pd
        import sqlalchemy as sa

        from possuggest.till.schema import REFERENCE_SALE_LINES

        engine = sa.create_engine(target)
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
            before = _rss_kb()
            t = time.perf_counter()
            df = pd.read_sql(sa.text(f"SELECT sale_id, sku, closed_at FROM "
                                     f"({REFERENCE_SALE_LINES}) AS q ORDER BY sale_id"), conn)
            tx = Transactions.from_pairs(df["sale_id"].to_numpy(), df["sku"].to_numpy(),
                                         df["closed_at"].to_numpy().astype("datetime64[s]")
                                         .astype(np.int64).astype(np.float64))
            out["seconds"] = time.perf_counter() - t
            del df
        engine.dispose()
    elif mode in ("refresh-server", "refresh-sqlite"):
        from possuggest.mining.refresh import refresh

        settings = Settings()
        settings.mining.window_days = WINDOW
        if mode == "refresh-server":
            settings.till = TillSettings(url=target)
        with tempfile.TemporaryDirectory() as tmp:
            before = _rss_kb()
            t = time.perf_counter()
            summary = refresh(target if mode == "refresh-sqlite" else "", Path(tmp) / "r.db",
                              settings)
            out["seconds"] = time.perf_counter() - t
            out["rules"] = summary.n_cross + summary.n_upgrade
            out["baskets"] = summary.n_baskets
        print(json.dumps({**out, "before_kb": before, "peak_kb": _status_kb("VmHWM")}))
        return
    else:
        raise SystemExit(f"unknown mode {mode}")
    out.update(before_kb=before, baskets=tx.n_baskets, items=tx.n_items, pairs=len(tx.basket),
               result_bytes=int(tx.basket.nbytes + tx.item.nbytes
                                + (tx.basket_time.nbytes if tx.basket_time is not None else 0)
                                + (tx.basket_ids.nbytes if tx.basket_ids is not None else 0)
                                # the ids themselves (Python ints in an object array)
                                + (sum(sys.getsizeof(x) for x in tx.basket_ids)
                                   if tx.basket_ids is not None
                                   and tx.basket_ids.dtype == object else 0)))
    out["peak_kb"] = _status_kb("VmHWM")
    print(json.dumps(out))


def measure(mode: str, target: str) -> dict[str, float]:
    """One child: its JSON, with its own peak RSS (VmHWM: rusage's ru_maxrss would count the
    parent's size at the fork before the exec)."""
    proc = subprocess.run([sys.executable, __file__, "--child", mode, target],
                          stdout=subprocess.PIPE, cwd=ROOT, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{mode} child failed ({proc.returncode}): {proc.stdout}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pg-url", default=os.environ.get("POSSUGGEST_TEST_PG_URL", ""))
    ap.add_argument("--lines", type=int, nargs="+", default=[250_000, 1_000_000])
    ap.add_argument("--no-refresh", action="store_true")
    ap.add_argument("--child", nargs=2, metavar=("MODE", "TARGET"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    if not args.pg_url:
        raise SystemExit("no PostgreSQL: pass --pg-url or run `. scripts/test_servers.sh` first")
    print(f"bench_server_refresh: {load_avg()}; code {code_version()}")
    rows = []
    for lines in args.lines:
        sqlite_path = demo_till(lines)
        t = time.perf_counter()
        url = load_into_postgres(sqlite_path, args.pg_url)
        n_lines = sqlite3.connect(sqlite_path).execute(
            "SELECT COUNT(*) FROM sale_lines").fetchone()[0]
        print(f"{n_lines:,} sale lines ({sqlite_path.name}); PostgreSQL ready in "
              f"{time.perf_counter() - t:.1f} s")
        ref = None
        for mode, target in (("server", url), ("sqlite", str(sqlite_path)), ("pandas", url)):
            d = measure(mode, target)
            if ref is None:
                ref = d
            same = all(d[k] == ref[k] for k in ("baskets", "items", "pairs"))
            rows.append((n_lines, mode, d, same))
    print()
    print(f"{'lines':>10} {'reader':<8} {'read s':>7} {'peak MiB':>9} {'read +MiB':>10} "
          f"{'result MiB':>10} {'+MiB beyond result':>19} {'baskets':>9} same")
    for n_lines, mode, d, same in rows:
        grow = (d["peak_kb"] - d["before_kb"]) / 1024
        res = d["result_bytes"] / 2**20
        print(f"{n_lines:>10,} {mode:<8} {d['seconds']:>7.2f} {d['peak_kb'] / 1024:>9.0f} "
              f"{grow:>10.0f} {res:>10.1f} {grow - res:>19.0f} {d['baskets']:>9,} "
              f"{'yes' if same else 'NO'}")
    if not args.no_refresh:
        big = max(args.lines)
        sqlite_path = demo_till(big)
        url = load_into_postgres(sqlite_path, args.pg_url)
        print()
        print(f"{'refresh (read + mine + save, no tuning)':<42} {'s':>7} {'peak MiB':>9} "
              f"{'rules':>8}")
        for mode, target in (("refresh-server", url), ("refresh-sqlite", str(sqlite_path))):
            d = measure(mode, target)
            print(f"{mode + f' ({big:,} lines)':<42} {d['seconds']:>7.2f} "
                  f"{d['peak_kb'] / 1024:>9.0f} {d['rules']:>8,}")


if __name__ == "__main__":
    main()
