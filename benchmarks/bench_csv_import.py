"""Importing a cloud till's sales export (till/csv_import.py): a synthetic Square "Items"
export of N item rows (two lines a sale, 500 products, the real export's 32 columns) into a
fresh imported till, then an overlapping export (its second half plus one new sale) into the
same database: the idempotency check that finds the one new line among the known ones.

Prints rows per second for both imports and the process's peak resident memory (the second
import looks the file's line keys up in the database in batches, so memory follows the file,
not the history).

    python benchmarks/bench_csv_import.py [--rows 200000]
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

from bench_common import ROOT, code_version, load_avg

sys.path.insert(0, str(ROOT / "tests"))

from test_csv_import import SQUARE_HEADER, _square_row  # noqa: E402

from possuggest.till.csv_import import import_export  # noqa: E402


def _export(path: Path, rows: list[str]) -> Path:
    path.write_text(SQUARE_HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=200_000)
    args = ap.parse_args()
    rng = random.Random(1)
    rows = []
    for t in range(args.rows // 2):
        for _ in range(2):
            rows.append(_square_row(f"2026-06-{1 + t % 28:02d}", f"{8 + t % 10:02d}:"
                                    f"{t % 60:02d}:00", f"Item {rng.randrange(500)}", "1",
                                    "$5.00", f"T{t}"))
    print(f"code {code_version()}; {load_avg()}")
    with tempfile.TemporaryDirectory(prefix="possuggest-bench-import-") as tmp:
        folder = Path(tmp)
        db = folder / "imported-till.db"
        first = _export(folder / "june.csv", rows)
        began = time.perf_counter()
        result = import_export(first, db)
        took = time.perf_counter() - began
        print(f"first import: {result.rows:,} rows, {result.new_lines:,} new lines in "
              f"{took:.1f} s ({result.rows / took:,.0f} rows/s)")
        later = _export(folder / "june-again.csv", rows[len(rows) // 2:] + [
            _square_row("2026-07-01", "09:00:00", "New", "1", "$1.00", "TNEW")])
        began = time.perf_counter()
        result = import_export(later, db)
        took = time.perf_counter() - began
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"overlapping import: {result.rows:,} rows, {result.new_lines:,} new line(s) in "
              f"{took:.1f} s ({result.rows / took:,.0f} rows/s); peak resident memory "
              f"{peak:.0f} MB; database {db.stat().st_size / 2**20:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
