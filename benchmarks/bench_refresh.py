"""Benchmark: ``possuggest refresh`` on a large demo store -- wall time, peak memory, stages.

    python benchmarks/bench_refresh.py                       # 1,000,000-sale demo store
    python benchmarks/bench_refresh.py --window-days 36500   # mine every sale, not the last year
    python benchmarks/bench_refresh.py --sales 100000 --no-stages

Bar (PRODUCT.md, "refresh now or nightly" on the store's own machine): a refresh of a
1,000,000-sale demo store finishes in under 60 s wall and under 2 GB peak resident memory on
a 2-core machine.

What it does:

1. Builds the demo store once (``python -m possuggest demo-db``, fixed seed and end date) and
   caches it under /tmp/possuggest-bench/, so reruns start at once.
2. Pass 1, the real thing: runs ``python -m possuggest refresh -q --data-dir TMP --till-db DB``
   in a child process with a fresh data folder and measures wall time (including interpreter
   start-up and imports) and the child's own peak RSS (``os.wait4`` rusage of that child).
   Reports the rule counts the rule store ends up with, by kind and antecedent size.
3. Pass 2, a stage breakdown in this process: the same steps ``possuggest.mining.refresh.refresh``
   takes -- read products, ``TillReader.read_transactions``, ``mine_rules`` (pair counting,
   multi-item fpgrowth + association_rules, upgrades, timed from its progress callbacks) and
   ``RuleStore.write_rule_set`` -- each with its wall time and the process's peak RSS during
   that stage (VmHWM, reset between stages through /proc/self/clear_refs where allowed).

The store's default settings apply (window 365 days, so a two-year demo store mines about half
its sales); ``--window-days`` writes a config file that widens it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import inspect
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_common import code_version, load_avg  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CACHE = Path("/tmp/possuggest-bench")
DEFAULT_END = "2026-06-30"          # fixed, so the cached store is reused across days
BAR_SECONDS = 60.0
BAR_MIB = 2048.0


# -- helpers --------------------------------------------------------------------------------
def demo_store(sales: int, seed: int, end_date: str, cache: Path = CACHE,
               rebuild: bool = False) -> Path:
    """The cached demo till database for (sales, seed, end_date); built with the CLI if absent."""
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"demo_{sales}_s{seed}_{end_date}.db"
    if path.exists() and not rebuild:
        return path
    print(f"building demo store {path} ({sales:,} sales, seed {seed}) ...", flush=True)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "possuggest", "demo-db", str(path), "--sales",
                    str(sales), "--seed", str(seed), "--end-date", end_date, "-q"],
                   cwd=ROOT, check=True)
    print(f"  built in {time.perf_counter() - t0:.1f} s", flush=True)
    return path


def run_child(cmd: list[str], cwd: Path) -> tuple[int, float, float, str, str]:
    """Run ``cmd``; return (exit code, wall s, the child's own peak RSS MiB, stdout, stderr)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=err)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        peak = usage.ru_maxrss / (1024 * 1024) if sys.platform == "darwin" \
            else usage.ru_maxrss / 1024
        return p.returncode, wall, peak, out.read().decode(), err.read().decode()


def _hwm_mib() -> float:
    """Peak RSS of this process since the last reset (VmHWM), MiB."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rss_mib() -> float:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


_CAN_RESET = True


def _reset_hwm() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False when not possible."""
    global _CAN_RESET
    if not _CAN_RESET:
        return False
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        _CAN_RESET = False
        return False




def rule_counts(rules_db: Path) -> list[tuple[str, int, int]]:
    conn = sqlite3.connect(f"file:{rules_db}?mode=ro", uri=True)
    try:
        rs = conn.execute("SELECT id FROM rule_sets WHERE active = 1").fetchone()
        if rs is None:
            return []
        return conn.execute("SELECT kind, antecedent_size, COUNT(*) FROM rules"
                            " WHERE rule_set_id = ? GROUP BY kind, antecedent_size"
                            " ORDER BY kind, antecedent_size", rs).fetchall()
    finally:
        conn.close()


def till_counts(till: Path) -> tuple[int, int]:
    conn = sqlite3.connect(f"file:{till}?mode=ro", uri=True)
    try:
        return (conn.execute("SELECT COUNT(*) FROM sales").fetchone()[0],
                conn.execute("SELECT COUNT(*) FROM sale_lines").fetchone()[0])
    finally:
        conn.close()


def write_config(data_dir: Path, window_days: int | None) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    if window_days:
        (data_dir / "config.toml").write_text(f"[mining]\nwindow_days = {int(window_days)}\n")


# -- passes ---------------------------------------------------------------------------------
def cli_pass(till: Path, work: Path, window_days: int | None) -> dict:
    data_dir = work / "cli"
    shutil.rmtree(data_dir, ignore_errors=True)
    write_config(data_dir, window_days)
    cmd = [sys.executable, "-m", "possuggest", "refresh", "-q", "--data-dir", str(data_dir),
           "--till-db", str(till)]
    print("$ " + " ".join(cmd), flush=True)
    rc, wall, peak, out, err = run_child(cmd, ROOT)
    if rc != 0:
        print(out)
        print(err, file=sys.stderr)
        raise SystemExit(f"refresh failed with exit code {rc}")
    return {"wall": wall, "peak": peak, "out": out.strip(),
            "counts": rule_counts(data_dir / "possuggest.db"),
            "db_mib": (data_dir / "possuggest.db").stat().st_size / 2**20}


def stage_pass(till: Path, work: Path, window_days: int | None) -> list[tuple[str, float, float]]:
    """The steps of possuggest.mining.refresh.refresh, timed one by one in this process."""
    from dataclasses import asdict

    from possuggest.core.config import Settings
    from possuggest.mining.miner import mine_rules
    from possuggest.store.rule_store import RuleSetInfo, RuleStore
    from possuggest.till.reader import TillReader

    settings = Settings()
    if window_days:
        settings.mining.window_days = int(window_days)
    stages: list[tuple[str, float, float]] = []
    clock = [time.perf_counter()]
    _reset_hwm()

    def mark(name: str) -> None:
        now = time.perf_counter()
        stages.append((name, now - clock[0], _hwm_mib()))
        _reset_hwm()
        clock[0] = time.perf_counter()

    with TillReader(till, settings.till) as reader:
        products = reader.read_products()
        mark("open till + read_products")
        tx = reader.read_transactions(settings.mining.window_days)
        mark(f"read_transactions ({tx.n_baskets:,} baskets, {len(tx.basket):,} lines)")
    last: list[str | None] = [None]

    def progress(frac: float, msg: str) -> None:
        # mine_rules reports at the start of each of its steps: a new message closes the
        # previous step, which is labelled by the message that opened it
        if msg == last[0]:
            return
        if last[0] is not None:
            mark(f"mine_rules [{last[0]}]")
        else:
            _reset_hwm()
            clock[0] = time.perf_counter()
        last[0] = None if msg == "mining done" else msg

    result = mine_rules(tx, settings.mining, products, progress)
    store_path = work / "stages" / "possuggest.db"
    shutil.rmtree(store_path.parent, ignore_errors=True)
    store_path.parent.mkdir(parents=True)
    info = RuleSetInfo(source=str(till), n_baskets=tx.n_baskets, n_items=tx.n_items,
                       n_cross=result.n_cross, n_upgrade=result.n_upgrade,
                       params=asdict(settings.mining), notes=result.notes)
    _reset_hwm()
    clock[0] = time.perf_counter()
    extra = {}       # whatever else refresh() hands over, when this version has it
    if getattr(result, "context_counts", None) is not None and \
            "context_counts" in inspect.signature(RuleStore.write_rule_set).parameters:
        extra["context_counts"] = result.context_counts
    store = RuleStore(store_path)
    try:
        store.write_rule_set(result.rules, result.item_counts,
                             products.values(), info,
                             keep=settings.mining.keep_rule_sets, **extra)
    finally:
        store.close()
    mark(f"RuleStore.write_rule_set ({len(result.rules):,} rules)")
    return stages


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sales", type=int, default=1_000_000, help="demo store size (1,000,000)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--end-date", default=DEFAULT_END,
                    help=f"last day of demo sales (default {DEFAULT_END}, fixed for caching)")
    ap.add_argument("--window-days", type=int, default=None,
                    help="mining window (default: the store default, 365 days); 36500 = all")
    ap.add_argument("--no-stages", action="store_true", help="skip the in-process stage pass")
    ap.add_argument("--rebuild", action="store_true", help="rebuild the cached demo store")
    ap.add_argument("--cache-dir", type=Path, default=CACHE)
    args = ap.parse_args(argv)
    dt.date.fromisoformat(args.end_date)

    till = demo_store(args.sales, args.seed, args.end_date, args.cache_dir, args.rebuild)
    n_sales, n_lines = till_counts(till)
    print(f"date            : {dt.datetime.now().isoformat(timespec='seconds')}  "
          f"({os.cpu_count()} CPUs, {load_avg()} before)")
    print(f"code            : {code_version()}")
    print(f"till            : {till} ({n_sales:,} sales, {n_lines:,} lines, "
          f"{till.stat().st_size / 2**20:,.0f} MiB)")
    print(f"window          : {args.window_days or 'store default (365)'} days")
    work = Path(tempfile.mkdtemp(prefix="refresh_", dir=args.cache_dir))
    try:
        r = cli_pass(till, work, args.window_days)
        ok_t, ok_m = r["wall"] < BAR_SECONDS, r["peak"] < BAR_MIB
        print()
        print("== pass 1: the real CLI in a child process ==")
        print(f"output          : {r['out']}")
        print(f"wall            : {r['wall']:.1f} s   (bar < {BAR_SECONDS:.0f} s: "
              f"{'PASS' if ok_t else 'FAIL'})")
        print(f"child peak RSS  : {r['peak']:,.0f} MiB (bar < {BAR_MIB:,.0f} MiB: "
              f"{'PASS' if ok_m else 'FAIL'})")
        print(f"rule database   : {r['db_mib']:,.1f} MiB")
        total = sum(c for _, _, c in r["counts"])
        print(f"rules           : {total:,}")
        for kind, size, cnt in r["counts"]:
            print(f"  {kind:<8} antecedent size {size}: {cnt:>9,}")
        print(f"load after      : {load_avg()}")
        if not args.no_stages:
            print()
            print("== pass 2: stage breakdown in-process (same steps as refresh()) ==")
            t0 = time.perf_counter()
            stages = stage_pass(till, work, args.window_days)
            tot = time.perf_counter() - t0
            note = "" if _CAN_RESET else " (cumulative: VmHWM reset not permitted)"
            print(f"{'stage':<70} {'s':>7} {'peak MiB':>9}{note}")
            for name, secs, peak in stages:
                print(f"{name:<70} {secs:>7.2f} {peak:>9,.0f}")
            print(f"{'total in-process (imports excluded)':<70} {tot:>7.2f} {_rss_mib():>9,.0f}"
                  " (RSS now)")
            print(f"load after      : {load_avg()}")
        return 0 if (ok_t and ok_m) else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
