"""Benchmark: the till comes first -- a live till writer during refreshes and the watcher.

    python benchmarks/bench_till_writer.py                     # 1,000,000-sale demo till, both modes
    python benchmarks/bench_till_writer.py --modes wal --refreshes 2 --baseline-s 10

Bars (issue 12, "the till comes first"): a till writer (busy timeout 100 ms) committing 20
sales a second, in rollback-journal and in WAL mode, while ``possuggest refresh`` runs 5 times
on a 1,000,000-sale till and the till watcher polls: **0 failed transactions**, **extra
commit latency p99 under 100 ms** against the same writer alone, **no new file beside the
till** afterwards, and **the till's rows as the writer left them**. The watcher must keep
seeing the writer's new sales (a new open sale in at least 90% of its polls).

What it does, per journal mode:

1. Copies the cached demo till (/tmp/possuggest-bench/demo_1000000_s7_2026-06-30.db, built with
   ``python -m possuggest demo-db`` when missing; the cached file is never modified) into a
   fresh folder; for WAL mode switches the copy to WAL and closes it, so the till starts
   "closed cleanly" (no -wal/-shm). It then reads the copy as possuggest does (products, the
   open sale, a watcher poll) before the writer starts, and checks nothing appeared beside it.
2. Baseline: the writer alone (a child process; each sale one transaction that closes the
   previous sale and opens a new one with 1-4 lines, on a 50 ms schedule) for ``--baseline-s``.
3. With possuggest: the writer again, plus the watcher in another child process (a
   ``TillWatcher`` polled every 250 ms, as the panel does) and ``python -m possuggest refresh``
   run ``--refreshes`` times in a row with a fresh data folder.
4. Stops the watcher, then the writer (the till closes last, as it would at night), and checks
   the folder holds exactly what it held before, that the writer's sales and lines are all
   there, that the original rows are unchanged (aggregates over them) and ``quick_check``.

Prints commits, failures and commit latency percentiles (baseline, with possuggest, extra);
exits 1 when a bar fails. About 5 minutes on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_refresh import CACHE, DEFAULT_END, code_version, demo_store, load_avg  # noqa: E402

BAR_EXTRA_P99_MS = 100.0
BAR_WATCHER_SEEN = 0.9
BUSY_TIMEOUT_S = 0.1
REGISTER = "7"                  # the writer's register; the watcher follows it

WRITER = r"""
import datetime, json, random, select, sqlite3, sys, time
path, rate, register = sys.argv[1], float(sys.argv[2]), sys.argv[3]
conn = sqlite3.connect(path, timeout=float(sys.argv[4]), isolation_level=None)
skus = [r[0] for r in conn.execute("SELECT sku FROM products WHERE active = 1 ORDER BY sku")]
first = conn.execute("SELECT MAX(sale_id) FROM sales").fetchone()[0]
rng = random.Random(1)
lat, errors, written = [], {}, {}
prev = None
period = 1.0 / rate
print(json.dumps({"first": first}), flush=True)
t0 = time.perf_counter()
k = 0
while not select.select([sys.stdin], [], [], max(0.0, t0 + k * period - time.perf_counter()))[0]:
    k += 1
    lines = [(rng.choice(skus), 1 + rng.randrange(2)) for _ in range(1 + rng.randrange(4))]
    now = datetime.datetime.now().isoformat(timespec="seconds")
    t = time.perf_counter()
    try:
        conn.execute("BEGIN")
        if prev is not None:
            conn.execute("UPDATE sales SET status = 'closed', closed_at = ? WHERE sale_id = ?",
                         (now, prev))
        sid = conn.execute("INSERT INTO sales (register_id, cashier_id, customer_id, opened_at, "
                           "closed_at, status) VALUES (?, 'B1', NULL, ?, NULL, 'open')",
                           (register, now)).lastrowid
        conn.executemany("INSERT INTO sale_lines (sale_id, sku, qty, unit_price, voided) "
                         "VALUES (?, ?, ?, 1.0, 0)", [(sid, s, q) for s, q in lines])
        conn.execute("COMMIT")
    except sqlite3.OperationalError as exc:
        errors[str(exc)] = errors.get(str(exc), 0) + 1
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        continue
    lat.append(time.perf_counter() - t)
    written[sid] = len(lines)
    prev = sid
conn.close()
print(json.dumps({"first": first, "latencies": lat, "errors": errors,
                  "sales": len(written), "lines": sum(written.values()),
                  "open": prev}), flush=True)
"""

WATCHER = r"""
import json, select, sys
from possuggest.core.config import TillSettings
from possuggest.till.watcher import TillWatcher
w = TillWatcher(sys.argv[1], TillSettings(register=sys.argv[2]), products_every_s=30.0)
polls, seen, states, live = 0, 0, {}, 0
print("ready", flush=True)
while not select.select([sys.stdin], [], [], 0.25)[0]:
    r = w.poll()
    polls += 1
    seen += r.sale is not None
    states[r.state] = states.get(r.state, 0) + 1
    live += w._reader is not None and not w._reader.snapshot
w.close()
print(json.dumps({"polls": polls, "seen": seen, "states": states, "live": live}), flush=True)
"""


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def start_writer(till: Path, rate: float) -> tuple[subprocess.Popen[str], int]:
    p = subprocess.Popen([sys.executable, "-c", WRITER, str(till), str(rate), REGISTER,
                          str(BUSY_TIMEOUT_S)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         text=True, cwd=ROOT)
    assert p.stdout is not None
    return p, int(json.loads(p.stdout.readline())["first"])


def stop(p: subprocess.Popen[str]) -> dict[str, Any]:
    out, _ = p.communicate("stop\n", timeout=120)
    return json.loads(out.strip().splitlines()[-1])


def pct(lat: list[float]) -> tuple[float, float, float, float]:
    a = np.asarray(lat) * 1000.0
    if not len(a):
        return (float("nan"),) * 4
    p50, p95, p99 = np.percentile(a, [50, 95, 99])
    return float(p50), float(p95), float(p99), float(a.max())


def aggregates(till: Path, first: int) -> tuple[Any, ...]:
    """Aggregates over the rows that were there before the writer started (read immutably:
    the till is quiescent, and nothing may be created beside it)."""
    conn = sqlite3.connect(f"file:{till}?mode=ro&immutable=1", uri=True)
    try:
        s = conn.execute("SELECT COUNT(*), SUM(sale_id), TOTAL(LENGTH(closed_at)), "
                         "SUM(status = 'closed'), SUM(status = 'open') FROM sales "
                         "WHERE sale_id <= ?", (first,)).fetchone()
        ln = conn.execute("SELECT COUNT(*), SUM(line_id), TOTAL(qty), SUM(voided) FROM sale_lines "
                          "WHERE sale_id <= ?", (first,)).fetchone()
        return tuple(s) + tuple(ln)
    finally:
        conn.close()


def written_rows(till: Path, first: int) -> tuple[int, int, str]:
    conn = sqlite3.connect(f"file:{till}?mode=ro&immutable=1", uri=True)
    try:
        sales = conn.execute("SELECT COUNT(*) FROM sales WHERE sale_id > ?", (first,)).fetchone()[0]
        lines = conn.execute("SELECT COUNT(*) FROM sale_lines WHERE sale_id > ?",
                             (first,)).fetchone()[0]
        check = conn.execute("PRAGMA quick_check").fetchone()[0]
        return int(sales), int(lines), str(check)
    finally:
        conn.close()


def run_mode(mode: str, cached: Path, work: Path, args: argparse.Namespace) -> list[str]:
    """One journal mode; returns the failed bars (empty: all passed)."""
    from possuggest.till.reader import open_till
    from possuggest.till.watcher import TillWatcher

    failed: list[str] = []
    folder = work / mode
    folder.mkdir()
    till = folder / "till.db"
    shutil.copyfile(cached, till)
    if mode == "wal":
        conn = sqlite3.connect(till)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.close()
    before_files = listing(folder)
    # possuggest reads the till before the till runs (a clean WAL till: the defect-1 case)
    with open_till(till) as t:
        t.read_products()
        t.read_open_sale()
    w = TillWatcher(till)
    w.poll()
    w.close()
    if listing(folder) != before_files:
        failed.append(f"{mode}: files appeared beside a closed till: {listing(folder)}")
    print(f"\n== {mode} ({'rollback journal' if mode == 'delete' else 'WAL'}) ==", flush=True)

    # baseline: the writer alone
    writer, first0 = start_writer(till, args.rate)
    t0 = time.perf_counter()
    threading.Event().wait(args.baseline_s)     # this process has nothing else to do meanwhile
    base = stop(writer)
    base_s = time.perf_counter() - t0

    # with possuggest: watcher + refreshes
    data = folder.parent / f"data-{mode}"
    writer, _ = start_writer(till, args.rate)
    watcher = subprocess.Popen([sys.executable, "-c", WATCHER, str(till), REGISTER],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert watcher.stdout is not None and watcher.stdout.readline().strip() == "ready"
    walls: list[float] = []
    codes: list[int] = []
    t1 = time.perf_counter()
    for i in range(args.refreshes):
        t = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "possuggest", "--data-dir", str(data),
                            "--till-db", str(till), "refresh", "-q"], cwd=ROOT,
                           capture_output=True, text=True)
        walls.append(time.perf_counter() - t)
        codes.append(r.returncode)
        print(f"  refresh {i + 1}: {walls[-1]:.1f} s, exit {r.returncode} "
              f"{(r.stdout or r.stderr).strip().splitlines()[-1][:100] if (r.stdout or r.stderr).strip() else ''}",
              flush=True)
    busy_s = time.perf_counter() - t1
    watch = stop(watcher)                       # possuggest first ...
    live = stop(writer)                         # ... then the till closes, last
    after_files = listing(folder)

    # figures
    rows = []
    for label, res, secs in (("baseline", base, base_s), ("possuggest", live, busy_s)):
        n_fail = sum(res["errors"].values())
        rows.append((label, len(res["latencies"]), n_fail, *pct(res["latencies"]), secs))
    print(f"  {'run':<11}{'commits':>8}{'failed':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
          f"{'max ms':>9}{'run s':>8}")
    for label, n, nf, p50, p95, p99, mx, secs in rows:
        print(f"  {label:<11}{n:>8}{nf:>8}{p50:>9.1f}{p95:>9.1f}{p99:>9.1f}{mx:>9.1f}{secs:>8.1f}")
    b, p = rows[0], rows[1]
    extra = (p[3] - b[3], p[4] - b[4], p[5] - b[5])
    print(f"  {'extra':<11}{'':>8}{'':>8}{extra[0]:>+9.1f}{extra[1]:>+9.1f}{extra[2]:>+9.1f}")
    if live["errors"] or base["errors"]:
        print(f"  writer errors: baseline {base['errors']}, with possuggest {live['errors']}")
    seen = watch["seen"] / max(1, watch["polls"])
    print(f"  refreshes: {len(walls)} in {busy_s:.1f} s ({', '.join(f'{w:.1f}' for w in walls)} s), "
          f"exit codes {sorted(set(codes))}")
    print(f"  watcher: {watch['polls']} polls, a new open sale seen in {seen:.0%} of them, "
          f"states {watch['states']}, reading live (mode=ro) in {watch['live']} of them")

    # the till afterwards
    sales, lines, check = written_rows(till, first0)
    rows_ok = (sales == base["sales"] + live["sales"] and lines == base["lines"] + live["lines"]
               and check == "ok")
    orig_now = aggregates(till, first0)
    print(f"  files beside the till: before {before_files}, after {after_files}")
    print(f"  rows: writer committed {base['sales'] + live['sales']:,} sales / "
          f"{base['lines'] + live['lines']:,} lines, the till holds {sales:,} / {lines:,}; "
          f"quick_check {check}")

    if sum(live["errors"].values()):
        failed.append(f"{mode}: {sum(live['errors'].values())} failed transactions (bar 0)")
    if not extra[2] < BAR_EXTRA_P99_MS:
        failed.append(f"{mode}: extra p99 {extra[2]:.1f} ms (bar < {BAR_EXTRA_P99_MS:.0f} ms)")
    if after_files != before_files:
        failed.append(f"{mode}: files beside the till changed: {before_files} -> {after_files}")
    if not rows_ok:
        failed.append(f"{mode}: the till's rows are not as the writer left them")
    if orig_now != ORIGINAL[mode]:
        failed.append(f"{mode}: the original rows changed")
    if seen < BAR_WATCHER_SEEN:
        failed.append(f"{mode}: the watcher saw a new sale in {seen:.0%} of polls "
                      f"(bar {BAR_WATCHER_SEEN:.0%})")
    if any(codes):
        failed.append(f"{mode}: a refresh failed (exit codes {codes})")
    return failed


ORIGINAL: dict[str, tuple[Any, ...]] = {}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sales", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--end-date", default=DEFAULT_END)
    ap.add_argument("--modes", default="delete,wal", help="journal modes: delete, wal")
    ap.add_argument("--refreshes", type=int, default=5)
    ap.add_argument("--rate", type=float, default=20.0, help="writer sales per second")
    ap.add_argument("--baseline-s", type=float, default=30.0, help="writer-alone run length")
    args = ap.parse_args()

    cached = demo_store(args.sales, args.seed, args.end_date)
    print(f"possuggest till-writer benchmark -- code {code_version()}; {load_avg()}")
    print(f"till: {cached.name} ({args.sales:,} sales; the cached file is only copied), writer "
          f"{args.rate:g} sales/s with a {BUSY_TIMEOUT_S * 1000:.0f} ms busy timeout, watcher "
          f"polls every 250 ms, {args.refreshes} refreshes; SQLite {sqlite3.sqlite_version}")
    failed: list[str] = []
    work = Path(tempfile.mkdtemp(prefix="till-writer-", dir=CACHE))
    started = time.perf_counter()
    try:
        for mode in [m.strip() for m in args.modes.split(",") if m.strip()]:
            if mode not in ("delete", "wal"):
                ap.error(f"unknown journal mode {mode!r}")
            # the original rows' aggregates, from the cached file (read immutably)
            conn = sqlite3.connect(f"file:{cached}?mode=ro&immutable=1", uri=True)
            first = conn.execute("SELECT MAX(sale_id) FROM sales").fetchone()[0]
            conn.close()
            ORIGINAL[mode] = aggregates(cached, first)
            failed += run_mode(mode, cached, work, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\ntotal {time.perf_counter() - started:.0f} s; {load_avg()}")
    for f in failed:
        print(f"BAR FAILED: {f}")
    print("all bars passed" if not failed else f"{len(failed)} bar(s) failed")
    return 1 if failed else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
