"""Suggestion quality over several seeds on the public data, with an ablation of the ranking.

For each data set and seed: the same split and cases for every method (see
possuggest.evaluation.harness); methods are the three baselines and the engine, plus engine variants
that switch one ingredient off. Prints mean HR@1/HR@3/MRR@10 over the seeds and the engine's
HR@3 gain over the best baseline.

    python benchmarks/bench_quality.py [--seeds 1,2,3,4,5]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from possuggest.core.config import MiningSettings, PolicySettings
from possuggest.evaluation.datasets import read_sales_file
from possuggest.evaluation.engine_recommender import EngineRecommender
from possuggest.evaluation.harness import default_baselines, evaluate
from possuggest.serving.engine import ScoringParams

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def engine_variants() -> list[EngineRecommender]:
    base_m, base_p, base_s = MiningSettings(), PolicySettings(), ScoringParams()
    variants = {
        "engine": (base_m, base_p, base_s),
        "-ease (shrunk conf.)": (replace(base_m, ease_lambda=0.0), base_p, base_s),
        "-context prior": (replace(base_m, context=False), base_p, base_s),
        "-popularity prior": (base_m, base_p, replace(base_s, prior_weight=0.0)),
        "+multi rules 0.3": (base_m, base_p, replace(base_s, multi_weight=0.3)),
        "min_lift 1": (base_m, replace(base_p, min_lift=1.0), base_s),
    }
    out = []
    for name, (m, p, s) in variants.items():
        rec = EngineRecommender(m, p, s)
        rec.name = name
        out.append(rec)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="1,2,3,4,5")
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    sets = {
        "groceries.csv": dict(fmt="baskets"),
        "BreadBasket_DMS.csv": dict(fmt="long", ticket_cols=["Transaction"], item_col="Item",
                                    time_cols=["Date", "Time"]),
    }
    for name, kw in sets.items():
        path = DATA / name
        if not path.exists():
            print(f"{path} absent: skipped")
            continue
        tx = read_sales_file(path, **kw).tx
        scores: dict[str, list[dict[str, float]]] = {}
        cases = []
        t0 = time.perf_counter()
        for seed in seeds:
            report = evaluate(tx, [*engine_variants(), *default_baselines(seed)], seed=seed)
            cases.append(report.cases)
            for method, metrics in report.methods.items():
                scores.setdefault(method, []).append(metrics)
        print(f"\n{name}: seeds {seeds}, {np.mean(cases):.0f} cases per seed, "
              f"{time.perf_counter() - t0:.0f} s")
        print(f"{'method':<22} {'HR@1':>7} {'HR@3':>7} {'±sd':>6} {'HR@5':>7} {'MRR@10':>7}")
        for method, vals in scores.items():
            hr3 = [v["hr@3"] for v in vals]
            print(f"{method:<22} {np.mean([v['hr@1'] for v in vals]):7.4f} {np.mean(hr3):7.4f} "
                  f"{np.std(hr3):6.4f} {np.mean([v['hr@5'] for v in vals]):7.4f} "
                  f"{np.mean([v['mrr@10'] for v in vals]):7.4f}")
        best = max(np.mean([v["hr@3"] for v in scores[b]])
                   for b in ("popularity", "mlxtend_rules", "item_knn"))
        eng = np.mean([v["hr@3"] for v in scores["engine"]])
        wins = sum(e["hr@3"] > max(scores[b][i]["hr@3"] for b in
                                   ("popularity", "mlxtend_rules", "item_knn"))
                   for i, e in enumerate(scores["engine"]))
        print(f"engine HR@3 {eng:.4f} vs best baseline {best:.4f}: {100 * (eng / best - 1):+.1f}%"
              f"; engine ahead in {wins} of {len(seeds)} seeds")


if __name__ == "__main__":
    main()
