"""Benchmark: the chain miner on Spark (``possuggest chain mine``) and the blend at the store.

    python benchmarks/bench_chain.py                          # both parts, full size
    python benchmarks/bench_chain.py --part mine --stores 20 --sales 500000
    python benchmarks/bench_chain.py --part mine --stores 4 --sales 100000   # a quick look
    python benchmarks/bench_chain.py --part blend

**Part mine** (issue 14's bar: 20 stores × 500,000 sales = 10,000,000 sales mined in local
mode on this 2-core machine, against the single-machine refresh run store by store):

1. Builds the demo stores once (seeds 100.., end date 2026-06-30) and caches them under
   /tmp/possuggest-bench-chain/ (about 6 s and 90 MB each).
2. Runs the real CLI, ``python -m possuggest chain mine --store S00=… … --master local[2]``,
   in a child process (a config with ``window_days = 36500``: every sale is mined) and samples
   the child's process tree every 0.5 s: peak RSS of the Python driver, of the JVM (Spark's
   driver and executor: one JVM in local mode) and of Spark's Python workers, and the peak of
   their sum.
3. Runs ``python -m possuggest refresh`` for each store in turn (same config, a data folder
   each), with wall time and peak RSS per store.
4. Checks one store at full size: its pack imported without blending against its refresh.

**Part blend** (the bar: for a store with little history, the blended rules beat its own on
HR@3 on its later sales): a new store X (seed 500) with its last 3,000 sales held out; its
history is the N sales right before them (N = 200, 1,000, 3,000, 20,000); the chain is 8 other
demo stores (20,000 sales each, seeds 300..) cut at the same moment (head office mines what it
has when X's held-out period starts). For each N: X's own refresh, and the chain mined on Spark
with X in it, X's pack imported with the default blend. Cases: every held-out basket of two or
more items, one item hidden (seeded), the rest as the basket; HR@3 of the engine's ranking
(``suggest(…, display=False)`` at the basket's time), as ``possuggest evaluate`` scores it,
with the paired standard error of the difference. A small grid of blend settings at N = 1,000
shows how the defaults were chosen.
"""

from __future__ import annotations

import argparse
import datetime as dt
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

from bench_common import code_version, load_avg  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CACHE = Path("/tmp/possuggest-bench-chain")
END = dt.date(2026, 6, 30)


def till_for(seed: int, sales: int, end: dt.date = END) -> Path:
    from possuggest.demo.generator import build_demo_store

    CACHE.mkdir(parents=True, exist_ok=True)
    p = CACHE / (f"store{seed - 100:02d}_{sales}.db" if seed >= 100 and seed < 200 and end == END
                 else f"seed{seed}_{sales}_{end}.db")
    if not p.exists():
        t = time.perf_counter()
        build_demo_store(p, sales=sales, seed=seed, end_date=end)
        print(f"  built {p.name} in {time.perf_counter() - t:.1f} s", flush=True)
    return p


# -- memory of a process tree ---------------------------------------------------------------
class TreeSampler:
    """Peak RSS of a child process and its descendants, by kind, sampled every 0.5 s."""

    def __init__(self, pid: int) -> None:
        import psutil

        self.proc = psutil.Process(pid)
        self.peak = {"python driver": 0, "JVM": 0, "python workers": 0, "total": 0}
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self) -> None:
        import psutil

        while not self._stop.wait(0.5):
            try:
                procs = [self.proc, *self.proc.children(recursive=True)]
            except psutil.Error:
                continue
            now = {"python driver": 0, "JVM": 0, "python workers": 0}
            for p in procs:
                try:
                    rss = p.memory_info().rss
                    name = p.name()
                except psutil.Error:
                    continue
                kind = ("python driver" if p.pid == self.proc.pid
                        else "JVM" if "java" in name else "python workers")
                now[kind] += rss
            for k, v in now.items():
                self.peak[k] = max(self.peak[k], v)
            self.peak["total"] = max(self.peak["total"], sum(now.values()))

    def stop(self) -> dict[str, int]:
        self._stop.set()
        self._t.join()
        return self.peak


def run_child(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, dict[str, int],
                                                                            str, int]:
    t = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    sampler = TreeSampler(proc.pid)
    out, err = proc.communicate()
    peak = sampler.stop()
    secs = time.perf_counter() - t
    if proc.returncode != 0:
        print(err[-3000:])
    return secs, peak, out, proc.returncode


def gib(b: int) -> str:
    return f"{b / 2**30:.2f} GiB"


def part_mine(args: argparse.Namespace) -> bool:
    print(f"== part mine: {args.stores} stores × {args.sales:,} sales "
          f"({args.stores * args.sales:,} sales), master {args.master}")
    tills = [till_for(100 + i, args.sales) for i in range(args.stores)]
    work = Path(tempfile.mkdtemp(prefix="bench-chain-"))
    try:
        cfg = work / "config.toml"
        cfg.write_text("[mining]\nwindow_days = 36500\n")
        py = [sys.executable, "-m", "possuggest"]
        argv = [*py, "chain", "mine", *[a for i, t in enumerate(tills)
                                         for a in ("--store", f"S{i:02d}={t}")],
                "--out", str(work / "packs"), "--master", args.master,
                "--conf", f"spark.driver.memory={args.driver_memory}",
                "--conf", "spark.sql.shuffle.partitions=16",
                "--json", "-q", "--config", str(cfg), "--data-dir", str(work / "d")]
        print(f"chain mine ({load_avg()}) ...", flush=True)
        secs, peak, out, code = run_child(argv)
        if code != 0:
            print("chain mine FAILED")
            return False
        res = json.loads(out)
        print(f"chain mine: {secs:.1f} s wall for {res['sales']:,} sales of {res['stores']} "
              f"stores ({res['sales'] / secs:,.0f} sales/s); stages: "
              + ", ".join(f"{k} {v:.1f} s" for k, v in res["stages"].items()))
        print("  peak RSS: " + ", ".join(f"{k} {gib(v)}" for k, v in peak.items())
              + f"  ({load_avg()})")
        size = sum(p.stat().st_size for p in (work / "packs").glob("*.pack"))
        print(f"  {len(res['packs'])} packs, {size / 2**20:.0f} MiB; rules per store: "
              f"min {min(res['rules'].values()):,}, max {max(res['rules'].values()):,}")
        total, worst, per = 0.0, 0, []
        print(f"refresh store by store ({load_avg()}) ...", flush=True)
        for i, t in enumerate(tills):
            s, pk, out, code = run_child([*py, "refresh", "-q", "--config", str(cfg),
                                          "--data-dir", str(work / f"r{i:02d}"),
                                          "--till-db", str(t)])
            if code != 0:
                print(f"refresh of store {i} FAILED")
                return False
            total += s
            worst = max(worst, pk["total"])
            per.append(s)
        print(f"refresh × {len(tills)}: {total:.1f} s wall in all (per store min "
              f"{min(per):.1f} s, max {max(per):.1f} s), peak RSS {gib(worst)} (one store)"
              f"  ({load_avg()})")
        print(f"chain / store-by-store time: {secs / total:.2f}")
        # one store at full size: its pack against its refresh
        ok = check_equal(work, py, cfg)
        return ok
    finally:
        shutil.rmtree(work, ignore_errors=True)


def check_equal(work: Path, py: list[str], cfg: Path) -> bool:
    import numpy as np
    import pandas as pd

    db = work / "check.db"
    subprocess.run([*py, "rules", "import", str(work / "packs" / "S00.pack"), "--no-blend",
                    "--config", str(cfg), "--data-dir", str(work / "check")], cwd=ROOT,
                   check=True, capture_output=True)
    db = work / "check" / "possuggest.db"
    own = work / "r00" / "possuggest.db"

    def rules(p: Path) -> pd.DataFrame:
        with sqlite3.connect(p) as c:
            return pd.read_sql_query(
                "SELECT kind, antecedent, consequent, count, confidence, lift FROM rules WHERE "
                "rule_set_id = (SELECT id FROM rule_sets WHERE active)", c)

    a, b = rules(own), rules(db)
    m = a.merge(b, on=["kind", "antecedent", "consequent"], how="outer", indicator=True)
    both = m[m["_merge"] == "both"]
    diff = max(float(np.nanmax(np.abs(both[f"{c}_x"] - both[f"{c}_y"]))) for c in
               ("confidence", "lift"))
    ok = len(both) == len(m) and diff <= 1e-9 and (both["count_x"] == both["count_y"]).all()
    print(f"store S00 at full size: {len(a):,} rules by refresh, {len(b):,} from the pack, "
          f"{len(m) - len(both)} in one only, max |Δ| confidence/lift {diff:.2g}: "
          f"{'equal' if ok else 'DIFFERENT'}")
    return ok


# -- part blend -------------------------------------------------------------------------------
def cut_till(src: Path, dst: Path, start: str | None, end: str) -> Path:
    """A copy of a till holding only the sales closed in [start, end)."""
    shutil.copyfile(src, dst)
    with sqlite3.connect(dst) as c:
        cond = "closed_at IS NULL OR closed_at >= ?" + (" OR closed_at < ?" if start else "")
        params = [end] + ([start] if start else [])
        c.execute(f"DELETE FROM sale_lines WHERE sale_id IN (SELECT sale_id FROM sales WHERE "
                  f"{cond})", params)
        c.execute(f"DELETE FROM sales WHERE {cond}", params)
    return dst


def hide_one_cases(till: Path, since: str, seed: int = 42) -> list[tuple[list[str], str, float]]:
    """X's held-out baskets (closed at or after ``since``) with 2+ items: (rest, hidden, time)."""
    import numpy as np

    from possuggest.core.config import TillSettings
    from possuggest.till.reader import TillReader, parse_time

    with TillReader(till, TillSettings()) as r:
        tx = r.read_transactions(None)
    t0 = parse_time(since)
    rng = np.random.default_rng(seed)
    cases = []
    for b, items in enumerate(tx.baskets()):
        assert tx.basket_time is not None
        if tx.basket_time[b] < t0 or len(items) < 2:
            continue
        items = sorted(items)
        h = int(rng.integers(len(items)))
        cases.append(([s for j, s in enumerate(items) if j != h], items[h],
                      float(tx.basket_time[b])))
    return cases


def hits(db: Path, cases: list[tuple[list[str], str, float]], rule_set: int | None = None
         ) -> Any:
    import numpy as np

    from possuggest.core.config import PolicySettings
    from possuggest.serving.engine import SuggestionEngine
    from possuggest.store.rule_store import RuleStore

    with RuleStore(db) as st:
        info = next(s for s in st.rule_sets() if (s.id == rule_set if rule_set else s.active))
        arrays = st.load(info)
    eng = SuggestionEngine(arrays, products={}, policy=PolicySettings(), require_catalog=False)
    return np.array([hidden in [s.sku for s in eng.suggest(q, n=3, when=t, display=False)]
                     for q, hidden, t in cases], dtype=float)


def part_blend(args: argparse.Namespace) -> bool:
    import numpy as np

    from possuggest.chain.importer import BlendSettings, import_pack
    from possuggest.chain.job import mine_chain
    from possuggest.chain.session import spark_session
    from possuggest.chain.sources import StoreSpec
    from possuggest.core.config import Settings
    from possuggest.evaluation.tuning import tune_for_refresh
    from possuggest.mining.refresh import refresh

    print("== part blend: a store with little history, HR@3 on its later sales")
    histories = [int(x) for x in args.histories.split(",")]
    test_n = 3000
    x_full = till_for(500, int((max(histories) + test_n) * 1.1))   # voids and returns aside
    with sqlite3.connect(x_full) as c:
        closed = [r[0] for r in c.execute("SELECT closed_at FROM sales WHERE status = 'closed'"
                                          " AND closed_at IS NOT NULL ORDER BY closed_at")]
    test_start = closed[-test_n]
    cases = hide_one_cases(x_full, test_start)
    print(f"store X: {len(closed):,} sales, the last {test_n:,} held out from {test_start} "
          f"({len(cases):,} cases)")
    chain_src = [till_for(300 + i, args.chain_sales) for i in range(args.chain_stores)]
    s = Settings()
    from dataclasses import replace

    s = replace(s, mining=replace(s.mining, window_days=1000))
    work = Path(tempfile.mkdtemp(prefix="bench-blend-"))
    spark = spark_session(args.master, {"spark.sql.shuffle.partitions": "8",
                                        "spark.driver.memory": args.driver_memory})
    ok = True
    try:
        chain = [cut_till(p, work / f"C{i}.db", None, test_start) for i, p in enumerate(chain_src)]
        results = []
        for n in histories:
            start = closed[-test_n - n]
            x = cut_till(x_full, work / f"X{n}.db", start, test_start)
            own_db = work / f"own{n}.db"
            refresh(x, own_db, s, tune=tune_for_refresh)
            t = time.perf_counter()
            out = work / f"packs{n}"
            mine_chain(out, s, stores=[StoreSpec("X", str(x))] +
                       [StoreSpec(f"C{i}", str(p)) for i, p in enumerate(chain)],
                       tune=tune_for_refresh, spark=spark)
            mined = time.perf_counter() - t
            h_own = hits(own_db, cases)
            row = {"n": n, "own": h_own, "mined": mined}
            grid = ([BlendSettings()] if n != args.grid_at else
                    [BlendSettings()] + [BlendSettings(min_count=k, strength=m,
                                                       popularity_strength=pop)
                                         for k in (20, 50, 200) for m in (5.0, 20.0, 50.0)
                                         for pop in (0.0, 1000.0)])
            for i, bs in enumerate(grid):
                db = work / f"blend{n}_{i}.db"
                import_pack(out / "X.pack", db, settings=bs)
                h = hits(db, cases)
                d = h - h_own
                se = float(np.std(d, ddof=1) / np.sqrt(len(d)))
                label = (f"k={bs.min_count}, m={bs.strength:g}, pop={bs.popularity_strength:g}"
                         + (" (default)" if i == 0 else ""))
                if i == 0:
                    row["blend"] = h
                    row["se"] = se
                else:
                    print(f"    N={n:,} grid {label}: HR@3 {h.mean():.4f} "
                          f"(own {h_own.mean():.4f}, Δ {d.mean():+.4f} ± {se:.4f})")
            results.append(row)
            d = row["blend"] - row["own"]
            print(f"  history N={n:>6,}: HR@3 own {row['own'].mean():.4f}, blended "
                  f"{row['blend'].mean():.4f} (Δ {d.mean():+.4f} ± {row['se']:.4f} s.e.); "
                  f"chain of {len(chain) + 1} stores mined in {mined:.1f} s", flush=True)
        small = [r for r in results if r["n"] <= 3000]
        ok = all(r["blend"].mean() > r["own"].mean() for r in small)
        print(f"blended beats own for every history of 3,000 sales or fewer: "
              f"{'yes' if ok else 'NO'}")
    finally:
        spark.stop()
        shutil.rmtree(work, ignore_errors=True)
    return ok


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--part", choices=("mine", "blend", "both"), default="both")
    ap.add_argument("--stores", type=int, default=20)
    ap.add_argument("--sales", type=int, default=500_000, help="sales per store")
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--driver-memory", default="6g")
    ap.add_argument("--histories", default="200,1000,3000,20000")
    ap.add_argument("--grid-at", type=int, default=1000)
    ap.add_argument("--chain-stores", type=int, default=8)
    ap.add_argument("--chain-sales", type=int, default=20_000)
    args = ap.parse_args()
    import warnings

    # pyspark's own notices about pandas 3 (FutureWarning, Pandas4Warning), not ours
    warnings.filterwarnings("ignore", module=r"pyspark\..*")
    print(f"code: {code_version()}; {os.cpu_count()} cores; {load_avg()}")
    ok = True
    if args.part in ("mine", "both"):
        ok = part_mine(args) and ok
    if args.part in ("blend", "both"):
        ok = part_blend(args) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
