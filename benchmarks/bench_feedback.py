"""Learning from the counter, measured on the simulated till (possuggest/demo/simulation.py).

Simulated weeks of sales at one register of a small demo store (20,000 sales of history, mined
first); the simulated customers have a known acceptance model (each (basket item, suggested
item) pair has a fixed chance of being taken; a quarter of pairs are always refused) and the
simulated cashier dismisses refused cards. Events go into a real possuggest.db; the feedback
is rebuilt every simulated night. The same days run twice: with feedback and without (the
control). Prints per-week figures for both.

Bar (issue 8): with feedback, the acceptance rate of shown cards rises from week 1 to the last
week (at least 4), and an always-refused rule shown in week 1 is not shown in the last week.
Exit status 1 when the bar fails.

    python benchmarks/bench_feedback.py [--weeks 4] [--sales-per-day 200] [--seed 7]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from bench_common import code_version  # noqa: E402

from possuggest.core.config import Settings
from possuggest.demo.simulation import CustomerModel, SimulationResult, simulate_counter

ROOT = Path(__file__).resolve().parents[1]



def table(result: SimulationResult) -> None:
    print(f"{'week':>4} {'sales':>6} {'shown':>6} {'accepted':>8} {'dismissed':>9} "
          f"{'rate':>6} {'refused shown':>13} {'refused pairs':>13} {'hidden':>6} "
          f"{'refused':>7} {'wrongly':>7}")
    for w in result.weeks:
        print(f"{w.week:>4} {w.sales:>6,} {w.shown:>6,} {w.accepted:>8,} {w.dismissed:>9,} "
              f"{w.rate:>6.1%} {w.refused_shown:>13,} {len(w.refused_pairs):>13,} "
              f"{w.hidden:>6,} {w.hidden_refused:>7,} {w.hidden_wrongly:>7,}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weeks", type=int, default=4)
    ap.add_argument("--sales-per-day", type=int, default=200)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--no-control", action="store_true", help="skip the run without feedback")
    args = ap.parse_args()
    print(f"code: {code_version()}")
    print(f"machine: {os.cpu_count()} cores, load average "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    settings = Settings()
    customers = CustomerModel(seed=args.seed + 4)
    fb = settings.feedback
    print(f"feedback: window {fb.window_days:g} d, prior strength {fb.prior_strength:g}, "
          f"{fb.exploration}, multiplier {fb.min_multiplier:g}-{fb.max_multiplier:g}x, hidden "
          f"after {fb.hide_after_shows} shows when the {fb.hide_confidence:.0%} upper bound < "
          f"{fb.hide_below:g} x the store's rate")
    print(f"customers: {customers.refuse_share:.0%} of pairs always refused, "
          f"{customers.keen_share:.0%} taken often ({customers.keen[0]:.0%}-{customers.keen[1]:.0%}), "
          f"the rest {customers.lukewarm[0]:.0%}-{customers.lukewarm[1]:.0%}")
    print("hidden: pairs hidden at the week's end; refused: of them always refused; wrongly: "
          "of them taken at least hide_below x the store's rate")
    results = {}
    for learn in (True, False) if not args.no_control else (True,):
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="possuggest-bench-feedback-") as tmp:
            result = simulate_counter(Path(tmp), args.weeks, sales_per_day=args.sales_per_day,
                                      seed=args.seed, settings=settings, customers=customers,
                                      learn=learn)
        results[learn] = result
        print(f"\n{'with feedback' if learn else 'control: feedback off'} "
              f"({result.sales_per_day} sales a day, {result.n_rules:,} rules, "
              f"{time.perf_counter() - t0:.1f} s)")
        table(result)
    result = results[True]
    stopped = result.stopped()
    if stopped:
        print("\nalways-refused pairs shown most in week 1 (shows in week 1 -> last week):")
        for (driver, sku), first, last in stopped[:8]:
            print(f"  {driver.replace(chr(9), ' + ')} -> {sku}: {first} -> {last}")
    ok, lines = result.bar()
    print()
    for line in lines:
        print(line)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
