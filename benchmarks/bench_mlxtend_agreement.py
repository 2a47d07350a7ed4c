"""Benchmark: possuggest's miner against a plain mlxtend pipeline -- same rules, and how fast.

    python benchmarks/bench_mlxtend_agreement.py                 # parts a and b
    python benchmarks/bench_mlxtend_agreement.py --part a --sales 100000 --min-support 0.001
    python benchmarks/bench_mlxtend_agreement.py --part b --fimi /work/shared/data/T10I4D100K.dat

Bar: possuggest's rules are *the same rules* a user would get from mlxtend at the same
thresholds (PRODUCT.md: "Metrics follow mlxtend's definitions"), and mining them is not slower.

Part a -- a 100,000-sale demo store (cached under /tmp/possuggest-bench/), every closed sale:

* possuggest: ``TillReader.read_transactions`` then ``mine_pair_rules`` (exact pair counts, any
  support >= --pair-min-count) + ``mine_multi_rules`` (fpgrowth + association_rules above the
  floor, antecedents of 2..3 items); ``mine_rules`` (the whole refresh miner, which also finds
  upgrades and whatever else the store's settings switch on) is timed too, for information.
* mlxtend as a user would write it: SQL + groupby into baskets -> ``TransactionEncoder`` ->
  ``fpgrowth(min_support=floor, max_len=4)`` -> ``association_rules(metric="confidence",
  min_threshold=0)``, keeping one-item consequents (antecedents of 1..3 items).
* Both at the same thresholds: support floor ``--min-support`` (default 0.001, the store's
  ``multi_min_support``; min_count = ceil(floor x N)), min confidence 0.
* Agreement on the common domain (one-item consequent, support >= floor): the sets of
  (antecedent, consequent) must be identical and support, confidence and lift must agree to
  1e-9. possuggest's pair rules below the floor are expected extras and are counted.

Part b -- FIMI ``T10I4D100K.dat`` (100,000 baskets, 870 items) at min_support 0.002:
possuggest's ``frequent_itemsets(tx, 0.002, max_len=<longer than any itemset>)`` against
``fpgrowth(min_support=0.002)`` on the same baskets: identical itemsets with identical counts
and supports; counts by length, times, PASS/FAIL. Skipped with a message if the file is absent.

Exit status 0 when every check passes, 1 otherwise.
"""

from __future__ import annotations

import argparse
import math
import sqlite3
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from bench_refresh import CACHE, DEFAULT_END, code_version, demo_store, load_avg  # noqa: E402

FIMI = Path("/work/shared/data/T10I4D100K.dat")
TOL = 1e-9

# what a user would query from the reference till schema (the same filter possuggest applies)
USER_SQL = """
SELECT l.sale_id, l.sku FROM sale_lines AS l JOIN sales AS s ON s.sale_id = l.sale_id
WHERE s.status = 'closed' AND l.voided = 0 AND l.qty > 0
"""


class Clock:
    def __init__(self) -> None:
        self.t: dict[str, float] = {}

    def __call__(self, name: str):
        clock = self

        class _C:
            def __enter__(self) -> None:
                self.t0 = time.perf_counter()

            def __exit__(self, *exc: object) -> None:
                clock.t[name] = time.perf_counter() - self.t0
        return _C()


def _key(ante, cons) -> tuple[tuple[str, ...], str]:
    return tuple(sorted(str(a) for a in ante)), str(cons)


# -- part a ---------------------------------------------------------------------------------
def part_a(args: argparse.Namespace, floor: float, shared: dict) -> bool:
    from mlxtend.frequent_patterns import association_rules, fpgrowth
    from mlxtend.preprocessing import TransactionEncoder

    from possuggest.core.config import MiningSettings
    from possuggest.mining.miner import mine_multi_rules, mine_pair_rules, mine_rules
    from possuggest.till.reader import TillReader

    till = demo_store(args.sales, args.seed, DEFAULT_END)
    print(f"== part a: possuggest vs mlxtend on a {args.sales:,}-sale demo store, "
          f"floor {floor:g} ==")
    print(f"till            : {till}")
    clk = Clock()

    # possuggest (the reads are done once and reused for every floor)
    if "tx" not in shared:
        with clk("ps_read"):
            with TillReader(till) as reader:
                shared["tx"] = reader.read_transactions(None)          # every closed sale
        shared["ps_read"] = clk.t["ps_read"]
    tx = shared["tx"]
    clk.t["ps_read"] = shared["ps_read"]
    n = tx.n_baskets
    min_count = math.ceil(floor * n)
    print(f"baskets N       : {n:,} ({len(tx.basket):,} lines, {tx.n_items} products)")
    print(f"thresholds      : support floor {floor:g} (min_count = ceil({floor:g} x N) = "
          f"{min_count}), max_len 4 (antecedent <= 3 items, one consequent), min confidence 0;"
          f" possuggest pair rules: count >= {args.pair_min_count}")
    with clk("ps_pairs"):
        pairs, _ = mine_pair_rules(tx, args.pair_min_count)
    with clk("ps_multi"):
        multi = mine_multi_rules(tx, floor, 3, 0.0)
    settings = MiningSettings(min_count=args.pair_min_count, multi_min_support=floor,
                              max_antecedent=3, multi_min_confidence=0.0)
    with clk("ps_mine_rules"):
        full = mine_rules(tx, settings)

    # mlxtend, as a user would write it
    if "baskets" not in shared:
        with clk("ml_read"):
            conn = sqlite3.connect(f"file:{till}?mode=ro", uri=True)
            lines = pd.read_sql_query(USER_SQL, conn)
            conn.close()
            shared["baskets"] = lines.groupby("sale_id", sort=False)["sku"].agg(list).tolist()
        shared["ml_read"] = clk.t["ml_read"]
    baskets = shared["baskets"]
    clk.t["ml_read"] = shared["ml_read"]
    with clk("ml_encode"):
        te = TransactionEncoder()
        onehot = pd.DataFrame(te.fit(baskets).transform(baskets), columns=te.columns_)
    with clk("ml_fpgrowth"):
        fi = fpgrowth(onehot, min_support=floor, use_colnames=True, max_len=4)
    with clk("ml_rules"):
        ar = association_rules(fi, num_itemsets=len(onehot), metric="confidence",
                               min_threshold=0.0)
    del onehot

    t = clk.t
    ps_mine = t["ps_pairs"] + t["ps_multi"]
    ml_mine = t["ml_encode"] + t["ml_fpgrowth"] + t["ml_rules"]
    print()
    print(f"{'step':<58} {'seconds':>8}")
    for label, key in (("possuggest TillReader.read_transactions", "ps_read"),
                       ("possuggest mine_pair_rules (exact, every pair)", "ps_pairs"),
                       ("possuggest mine_multi_rules (floor, 2-3 item antecedents)", "ps_multi"),
                       ("possuggest mine_rules (whole refresh miner, for info)", "ps_mine_rules"),
                       ("mlxtend user: SQL + groupby into baskets", "ml_read"),
                       ("mlxtend TransactionEncoder + DataFrame", "ml_encode"),
                       ("mlxtend fpgrowth(max_len=4)", "ml_fpgrowth"),
                       ("mlxtend association_rules", "ml_rules")):
        print(f"{label:<58} {t[key]:>8.2f}")
    print(f"{'mining only: possuggest pairs+multi':<58} {ps_mine:>8.2f}")
    print(f"{'mining only: mlxtend encode+fpgrowth+rules':<58} {ml_mine:>8.2f}")
    print(f"ratio mlxtend / possuggest, mining only : {ml_mine / ps_mine:6.1f}x")
    print(f"ratio mlxtend / possuggest, read + mine : "
          f"{(t['ml_read'] + ml_mine) / (t['ps_read'] + ps_mine):6.1f}x")

    # agreement on the common domain
    ok = True
    if len(baskets) != n:
        print(f"FAIL: the two reads differ: {len(baskets):,} vs {n:,} baskets")
        ok = False
    ml = ar[ar["consequents"].map(len) == 1]
    ml_d = {_key(a, next(iter(c))): (s, cf, lf) for a, c, s, cf, lf in
            zip(ml["antecedents"], ml["consequents"], ml["support"], ml["confidence"],
                ml["lift"])}
    ps = pd.concat([pairs, multi], ignore_index=True)
    ps = ps[ps["kind"] == "cross"]
    in_dom = ps["support"].to_numpy() >= floor
    ps_d = {_key(a, c): (s, cf, lf) for a, c, s, cf, lf in
            zip(ps["antecedent"][in_dom], ps["consequent"][in_dom], ps["support"][in_dom],
                ps["confidence"][in_dom], ps["lift"][in_dom])}
    below = int((~in_dom).sum())
    below_cnt = ps["count"].to_numpy()[~in_dom]
    only_ml = ml_d.keys() - ps_d.keys()
    only_ps = ps_d.keys() - ml_d.keys()
    common = ml_d.keys() & ps_d.keys()
    diffs = np.array([[abs(ps_d[k][j] - ml_d[k][j]) for j in range(3)] for k in common]) \
        if common else np.zeros((0, 3))
    maxd = diffs.max(axis=0) if len(diffs) else np.zeros(3)
    by_len_ml = {int(k): int(v) for k, v in
                 pd.Series([len(k[0]) for k in ml_d]).value_counts().sort_index().items()}
    by_len_ps = {int(k): int(v) for k, v in
                 pd.Series([len(k[0]) for k in ps_d]).value_counts().sort_index().items()}
    min_sup_ps = min((v[0] for v in ps_d.values()), default=float("nan"))
    min_sup_ml = min((v[0] for v in ml_d.values()), default=float("nan"))
    print()
    print("agreement on the common domain (one-item consequent, support >= floor):")
    print(f"  mlxtend rules      : {len(ml_d):,}  by antecedent size "
          f"{by_len_ml}; lowest support {min_sup_ml:.6g}")
    print(f"  possuggest rules   : {len(ps_d):,}  by antecedent size "
          f"{by_len_ps}; lowest support {min_sup_ps:.6g}")
    print(f"  only in mlxtend    : {len(only_ml):,}   only in possuggest: {len(only_ps):,}   "
          f"common: {len(common):,}")
    for k in list(only_ml)[:5]:
        print(f"    only mlxtend   : {k} {ml_d[k]}")
    for k in list(only_ps)[:5]:
        print(f"    only possuggest: {k} {ps_d[k]}")
    print(f"  max |diff| support {maxd[0]:.2e}, confidence {maxd[1]:.2e}, lift {maxd[2]:.2e}"
          f" (tolerance {TOL:g})")
    print(f"  possuggest pair rules below the floor (expected extras): {below:,}"
          + (f" (counts {int(below_cnt.min())}..{int(below_cnt.max())})" if below else ""))
    print(f"  possuggest mine_rules total: {len(full.rules):,} rules "
          f"({full.n_cross:,} cross, {full.n_upgrade:,} upgrade; no catalogue passed)")
    ok = ok and not only_ml and not only_ps and bool(common) and bool((maxd <= TOL).all())
    print(f"part a          : {'PASS' if ok else 'FAIL'}")
    return ok


# -- part b ---------------------------------------------------------------------------------
def part_b(args: argparse.Namespace) -> bool:
    from mlxtend.frequent_patterns import fpgrowth
    from mlxtend.preprocessing import TransactionEncoder

    from possuggest.core.transactions import Transactions
    from possuggest.mining.miner import frequent_itemsets

    path = Path(args.fimi)
    ms = args.fimi_min_support
    print(f"== part b: frequent itemsets on {path.name} at min_support {ms:g} ==")
    if not path.is_file():
        print(f"SKIPPED: {path} not found")
        return True
    clk = Clock()
    with clk("parse"):
        with open(path) as f:
            baskets = [line.split() for line in f]
        baskets = [b for b in baskets if b]
    with clk("ps_tx"):
        tx = Transactions.from_baskets(baskets)
    n = tx.n_baskets
    longest = max(len(b) for b in baskets)
    with clk("ps_fi"):
        ps = frequent_itemsets(tx, ms, max_len=longest + 1)   # longer than any itemset
    with clk("ml_encode"):
        te = TransactionEncoder()
        onehot = pd.DataFrame(te.fit(baskets).transform(baskets), columns=te.columns_)
    with clk("ml_fi"):
        ml = fpgrowth(onehot, min_support=ms, use_colnames=True)
    del onehot
    t = clk.t
    print(f"baskets         : {n:,}, {tx.n_items} items, longest basket {longest}")
    ps_d = {frozenset(map(str, s)): (int(c), float(v)) for s, c, v in
            zip(ps["itemsets"], ps["count"], ps["support"])}
    ml_d = {frozenset(map(str, s)): (int(round(v * n)), float(v)) for s, v in
            zip(ml["itemsets"], ml["support"])}
    only_ml = ml_d.keys() - ps_d.keys()
    only_ps = ps_d.keys() - ml_d.keys()
    common = ml_d.keys() & ps_d.keys()
    cnt_bad = sum(1 for k in common if ps_d[k][0] != ml_d[k][0])
    sup_d = max((abs(ps_d[k][1] - ml_d[k][1]) for k in common), default=0.0)
    lens = sorted({len(k) for k in ml_d} | {len(k) for k in ps_d})
    print(f"{'length':>8} {'possuggest':>11} {'mlxtend':>9}")
    for L in lens:
        print(f"{L:>8} {sum(len(k) == L for k in ps_d):>11,} {sum(len(k) == L for k in ml_d):>9,}")
    print(f"{'total':>8} {len(ps_d):>11,} {len(ml_d):>9,}")
    print(f"only in mlxtend {len(only_ml)}, only in possuggest {len(only_ps)}, "
          f"count mismatches {cnt_bad}, max |support diff| {sup_d:.2e}")
    print(f"parse file                               : {t['parse']:7.2f} s")
    print(f"possuggest Transactions.from_baskets     : {t['ps_tx']:7.2f} s")
    print(f"possuggest frequent_itemsets             : {t['ps_fi']:7.2f} s")
    print(f"mlxtend TransactionEncoder + DataFrame   : {t['ml_encode']:7.2f} s")
    print(f"mlxtend fpgrowth                         : {t['ml_fi']:7.2f} s")
    print(f"ratio mlxtend / possuggest (encode+mine) : "
          f"{(t['ml_encode'] + t['ml_fi']) / (t['ps_tx'] + t['ps_fi']):5.1f}x")
    ok = not only_ml and not only_ps and cnt_bad == 0 and sup_d <= 1e-12 and len(ps_d) > 0
    print(f"part b          : {'PASS' if ok else 'FAIL'}")
    return ok


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=("a", "b", "all"), default="all")
    ap.add_argument("--sales", type=int, default=100_000, help="demo store size for part a")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--min-support", type=float, nargs="+", default=[0.001, 0.0002],
                    help="support floor(s) for part a: 0.001 is the store's multi_min_support;"
                         " 0.0002 also yields 3-item antecedents on the demo store")
    ap.add_argument("--pair-min-count", type=int, default=2,
                    help="possuggest's pair rule min_count (store default 2)")
    ap.add_argument("--fimi", default=str(FIMI), help="FIMI .dat file for part b")
    ap.add_argument("--fimi-min-support", type=float, default=0.002)
    args = ap.parse_args(argv)
    import mlxtend
    print(f"mlxtend {mlxtend.__version__}, pandas {pd.__version__}, numpy {np.__version__}; "
          f"{load_avg()}; cache {CACHE}")
    print(f"code: {code_version()}")
    ok = True
    if args.part in ("a", "all"):
        shared: dict = {}
        for floor in args.min_support:
            ok = part_a(args, floor, shared) and ok
            print()
    if args.part in ("b", "all"):
        ok = part_b(args) and ok
    print(f"\n{load_avg()} after")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
