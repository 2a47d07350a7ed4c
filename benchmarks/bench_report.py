"""What suggestions earn, over a year of a busy store: ``build_report`` (services/report.py) on
a possuggest database with 1,000,000 sale records and their card events, against the naive
pandas groupby a user would otherwise write over the same two tables.

The database is made once (cached under /tmp/possuggest-bench/): a real rule set mined from a
20,000-sale demo store, then a year of synthetic sales at three registers (10% holdout, drawn
per sale as the panel draws it; lognormal basket values) and, for sales with suggestions,
Poisson(2.5) cards drawn from the mined rules by their counts, 15% accepted (a few never rung
up), half the rest dismissed. Everything goes in through ``RuleStore.log_events`` /
``log_sales``, so the summary triggers run as they do at a till.

Prints: how the database was built (rows, size, seconds), ``build_report`` over the whole year
and over one month (best and median of 5 runs each, the database file cached warm), the pandas
version's time and its agreement with the report on the headline figures, and what the
summary triggers cost when logging events (per event, with and without them).

Bar (issue 9): the dashboard over 1,000,000 sales and their events opens in under 2 s: the
report (its data) in well under that. Exit status 1 when the year's median is 2 s or more.

    python benchmarks/bench_report.py [--sales 1000000] [--rebuild]
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from bench_common import code_version, load_avg

from possuggest.core.config import Settings
from possuggest.demo.generator import build_demo_store
from possuggest.mining.refresh import refresh
from possuggest.services.report import build_report
from possuggest.serving.events import in_holdout
from possuggest.store.rule_store import RuleStore

CACHE = Path("/tmp/possuggest-bench")
END = dt.date(2026, 6, 30)
DAYS = 365
BATCH = 20_000


def build(path: Path, n_sales: int, seed: int = 7) -> None:
    t0 = time.perf_counter()
    folder = path.parent
    till = folder / "report-demo-till.db"
    if not till.exists():
        build_demo_store(till, sales=20_000, seed=seed, end_date=END)
    tmp = path.with_suffix(".tmp")
    for p in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        p.unlink(missing_ok=True)
    refresh(till, tmp, Settings())
    rng = np.random.default_rng(seed)
    with RuleStore(tmp) as store:
        rules = store.load_active()
        assert rules is not None
        rs = rules.rule_set.id
        weights = rules.count / rules.count.sum()
        rule_ids = rules.rule_id
        cons = rules.consequent
        kinds = rules.kind
        first = END - dt.timedelta(days=DAYS - 1)
        days = np.sort(rng.integers(0, DAYS, n_sales))
        secs = rng.integers(8 * 3600, 20 * 3600, n_sales)
        values = np.round(rng.lognormal(3.6, 0.9, n_sales), 2)
        items = 1 + rng.poisson(2.5, n_sales)
        n_cards = rng.poisson(2.5, n_sales)
        drawn = rng.choice(len(rule_ids), size=int(n_cards.sum()), p=weights)   # all at once
        starts = np.concatenate([[0], np.cumsum(n_cards)])
        u_all = rng.random(len(drawn))
        prices = {sku: p.price for sku, p in rules.products.items()}
        day_text = [(first + dt.timedelta(days=int(d))).isoformat() for d in range(DAYS)]
        done = 0
        n_events = 0
        while done < n_sales:
            hi = min(done + BATCH, n_sales)
            events, sales = [], []
            for i in range(done, hi):
                reg, sid = str(1 + i % 3), str(i + 1)
                s = int(secs[i])
                ts = f"{day_text[days[i]]}T{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"
                hold = in_holdout(reg, sid, 0.10)
                shown = accepted = 0
                acc_value = 0.0
                if not hold:
                    for j in range(starts[i], starts[i + 1]):
                        k = drawn[j]
                        sku = str(cons[k])
                        ev = {"ts": ts, "register": reg, "sale_id": sid, "sku": sku,
                              "kind": str(kinds[k]), "rule_id": int(rule_ids[k]),
                              "rule_set_id": rs, "source": "till"}
                        events.append({**ev, "action": "shown"})
                        shown += 1
                        u = u_all[j]
                        if u < 0.15:
                            events.append({**ev, "action": "accepted"})
                            if u < 0.01:
                                events.append({**ev, "action": "declined"})
                            else:
                                accepted += 1
                                acc_value += prices.get(sku, 0.0)
                        elif u < 0.6:
                            events.append({**ev, "action": "dismissed"})
                extra = acc_value if not hold else 0.0
                sales.append({"record": "sale", "register": reg, "sale_id": sid,
                              "started": ts, "ended": ts, "holdout": hold,
                              "items": int(items[i]) + accepted,
                              "value": float(values[i]) + extra, "n_shown": shown,
                              "n_accepted": accepted, "accepted_value": acc_value,
                              "rule_set_id": rs, "source": "till"})
            n_events += len(events)
            store.log_events(events + sales)
            done = hi
            print(f"\r  building: {done:,} sales, {n_events:,} events", end="", flush=True)
        print()
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{tmp}{suffix}").exists():
            os.replace(f"{tmp}{suffix}", f"{path}{suffix}")
    print(f"built {path} in {time.perf_counter() - t0:.0f} s")


def timed(fn, runs: int = 5) -> tuple[float, float, object]:
    times, out = [], None
    for _ in range(runs):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), statistics.median(times), out


def naive_pandas(path: Path) -> dict[str, float]:
    """What a user would write: both tables into pandas, then groupby."""
    import pandas as pd

    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        sales = pd.read_sql("SELECT register, ended, holdout, value, n_shown, n_accepted"
                            " FROM sales", conn)
        events = pd.read_sql("SELECT ts, sku, kind, rule_id, rule_set_id, action, holdout"
                             " FROM events", conn)
    finally:
        conn.close()
    by = sales.groupby("holdout")["value"].agg(["mean", "var", "count"])
    treated = sales[sales.holdout == 0]
    attach = (treated.n_accepted > 0).sum() / (treated.n_shown > 0).sum()
    ev = events[events.holdout == 0]
    counts = ev.groupby(["rule_set_id", "rule_id", "sku", "kind", "action"]).size().unstack(
        fill_value=0)
    shown = int(counts.get("shown", 0).sum())
    accepted = int(counts.get("accepted", 0).sum() - counts.get("declined", 0).sum())
    sales["day"] = sales.ended.str[:10]
    sales.groupby(["day", "holdout"])["value"].mean()
    sales.groupby(["register", "holdout"])["value"].mean()
    return {"sales": float(len(sales)), "holdout_mean": float(by.loc[1, "mean"]),
            "treated_mean": float(by.loc[0, "mean"]), "shown": float(shown),
            "accepted": float(accepted), "attach_rate": float(attach)}


def trigger_cost(n: int = 20_000, batch: int = 50) -> tuple[float, float]:
    """Seconds per event logged in batches of ``batch``, with and without the triggers."""
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for keep in (True, False):
            path = Path(tmp) / f"t{keep}.db"
            with RuleStore(path) as store:
                if not keep:
                    for name in ("event_summary_ins", "event_summary_del", "event_summary_upd"):
                        store.conn.execute(f"DROP TRIGGER {name}")
                ev = [{"ts": f"2026-03-{1 + i % 28:02d}T10:00:00", "register": "1",
                       "sale_id": str(i), "sku": f"SKU{i % 500}", "kind": "cross",
                       "rule_id": i % 3000, "rule_set_id": 1, "action": "shown"}
                      for i in range(n)]
                t = time.perf_counter()
                for k in range(0, n, batch):
                    store.log_events(ev[k:k + batch])
                out.append((time.perf_counter() - t) / n)
    return out[0], out[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sales", type=int, default=1_000_000)
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    print(f"code: {code_version()}")
    print(f"machine: {os.cpu_count()} cores, {load_avg()}, SQLite {sqlite3.sqlite_version}")
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"report-{args.sales}.db"
    if args.rebuild or not path.exists():
        build(path, args.sales)
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    n_sales, n_events = (conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                         for t in ("sales", "events"))
    n_day, n_ev_day = (conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                       for t in ("sales_daily", "event_daily"))
    conn.close()
    size = sum(os.path.getsize(p) for p in (path, Path(f"{path}-wal")) if p.exists())
    print(f"database: {n_sales:,} sales, {n_events:,} events ({n_day:,} and {n_ev_day:,} "
          f"summary rows), {size / 2**20:,.0f} MiB")
    with open(path, "rb") as fh:          # warm the page cache once, as a used database is
        while fh.read(1 << 24):
            pass
    best, med, rep = timed(lambda: build_report(path), args.runs)
    print(f"build_report, the whole year: best {best * 1000:.0f} ms, median {med * 1000:.0f} ms")
    j = rep.to_json()        # type: ignore[attr-defined]
    up = j["uplift_per_1000_sales"]
    print(f"  {j['sales']:,} sales ({j['holdout_sales']:,} holdout), {j['shown']:,} shown, "
          f"{j['accepted']:,} accepted ({j['acceptance_rate']:.1%}), attach "
          f"{j['attach_rate']:.1%}; basket {j['basket_value']['treated']:.2f} vs "
          f"{j['basket_value']['holdout']:.2f}; uplift per 1,000 sales {up['estimate']:,.0f} "
          f"[{up['ci95'][0]:,.0f}, {up['ci95'][1]:,.0f}]; {len(j['trend'])} days, "
          f"{len(j['by_category'])} categories")
    month = (END.replace(day=1), END)
    best_m, med_m, _ = timed(lambda: build_report(path, *month), args.runs)
    print(f"build_report, one month ({month[0]} to {month[1]}): best {best_m * 1000:.0f} ms, "
          f"median {med_m * 1000:.0f} ms")
    t = time.perf_counter()
    naive = naive_pandas(path)
    t_pd = time.perf_counter() - t
    print(f"naive pandas (read both tables, groupby): {t_pd:.1f} s "
          f"({t_pd / med:.0f}x the report's median)")
    agree = (naive["sales"] == j["sales"] and naive["shown"] == j["shown"]
             and naive["accepted"] == j["accepted"]
             and math.isclose(naive["treated_mean"], rep.basket_value["treated"],  # type: ignore[attr-defined]
                              rel_tol=1e-9)
             and math.isclose(naive["holdout_mean"], rep.basket_value["holdout"],  # type: ignore[attr-defined]
                              rel_tol=1e-9)
             and math.isclose(naive["attach_rate"], rep.attach_rate, rel_tol=1e-9))  # type: ignore[attr-defined]
    print(f"  pandas and the report agree on sales, shown, accepted, both means and the "
          f"attach rate: {'yes' if agree else 'NO'}")
    with_t, without = trigger_cost()
    print(f"logging events in batches of 50: {with_t * 1e6:.1f} us per event with the summary "
          f"triggers, {without * 1e6:.1f} us without")
    ok = med < 2.0 and agree
    print(f"bar: report over {n_sales:,} sales under 2 s: {'pass' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
