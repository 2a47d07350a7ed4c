"""Benchmark: build the demo till database and report time, peak memory, file size and rows.

    python benchmarks/bench_demo_store.py --sales 1000000

Builds into a temporary folder (removed afterwards unless ``--keep DIR`` is given).
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from possuggest.demo.generator import build_demo_store  # noqa: E402


def _peak_rss_mb() -> float:
    # ru_maxrss is KiB on Linux, bytes on macOS
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sales", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--end-date", type=dt.date.fromisoformat, default=None,
                    help="last day of sales (YYYY-MM-DD); default today")
    ap.add_argument("--keep", type=Path, default=None,
                    help="build into this folder and keep the file")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench_demo_") as tmp:
        folder = args.keep or Path(tmp)
        path = folder / "demo_till.db"
        rss_before = _peak_rss_mb()
        t0 = time.perf_counter()
        summary = build_demo_store(path, sales=args.sales, seed=args.seed, end_date=args.end_date)
        wall = time.perf_counter() - t0
        rss_peak = _peak_rss_mb()
        size_mb = path.stat().st_size / (1024 * 1024)
        conn = sqlite3.connect(path)
        counts = {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                  for t in ("products", "sales", "sale_lines")}
        mined = conn.execute(
            "SELECT COUNT(*) FROM sale_lines l JOIN sales s ON s.sale_id = l.sale_id "
            "WHERE s.status = 'closed' AND l.voided = 0 AND l.qty > 0").fetchone()[0]
        journal = conn.execute("PRAGMA journal_mode").fetchone()[0]
        conn.close()

    print(f"sales requested : {args.sales:,} (seed {args.seed})")
    print(f"wall seconds    : {wall:.2f}  (builder's own figure {summary.seconds:.2f})")
    print(f"peak RSS        : {rss_peak:,.0f} MiB (interpreter + imports before: {rss_before:,.0f})")
    print(f"file size       : {size_mb:,.1f} MiB  (journal_mode={journal})")
    print(f"rows            : products {counts['products']:,}, sales {counts['sales']:,}, "
          f"sale_lines {counts['sale_lines']:,} (minable lines {mined:,})")
    print(f"throughput      : {(counts['sales'] + counts['sale_lines']) / wall:,.0f} rows/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
