"""Multi-item rules on Spark: frequent item sets with Spark MLlib's FPGrowth, one run per
scope (each store: a pack borrows only pair rules from its region and the chain), and rules with two- and three-item antecedents from them, with the definitions of
``mine_multi_rules`` (mlxtend's ``association_rules``) so a store's equal its own refresh's.

FPGrowth is only asked for sets of three or more items: a two-item antecedent's count is the
pair's, which Spark has counted exactly already (:mod:`~possuggest.chain.counting`). A basket
holding fewer than three frequent items cannot hold a frequent set of three or more, so each
scope's baskets are first cut to their frequent items (one vectorised Arrow pass over all
scopes at once) and those with fewer than three dropped -- most of a till's baskets; FPGrowth
then runs on the rest with the same absolute count threshold (``ceil(min_support × n)``), and
the supports stay exact over all the scope's baskets (as ``frequent_itemsets``, which drops
baskets with fewer than two). Scopes run a few at a time from driver
threads, so small stores do not wait on each other.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import numpy as np

from possuggest.mining.miner import RULE_COLUMNS

log = logging.getLogger(__name__)

REDUCED_SCHEMA = "scope string, items array<string>"


def min_count_of(min_support: float, n: int) -> int:
    """The absolute threshold ``frequent_itemsets`` uses."""
    return math.ceil(min_support * n - 1e-9)


def _reduce_task(freq: Mapping[str, frozenset[str]], scopes_of: Mapping[int, Sequence[str]],
                 min_items: int, batches: Iterator[Any]) -> Iterator[Any]:
    """Spark task: each basket cut to the frequent items of each of its store's scopes."""
    import pyarrow as pa
    import pyarrow.compute as pc

    value_sets: dict[str, Any] = {}
    for batch in batches:
        store = batch.column("store_id").to_numpy(zero_copy_only=False)
        items = batch.column("items")
        if isinstance(items, pa.ChunkedArray):
            items = items.combine_chunks()
        offsets = items.offsets.to_numpy()
        offsets = offsets - offsets[0]
        values = items.flatten()
        if not value_sets:     # the batch's own string type (Spark may send large strings)
            value_sets = {s: pa.array(sorted(v), type=pa.string()).cast(values.type)
                          for s, v in freq.items()}
        sizes = np.diff(offsets)
        row_of = np.repeat(np.arange(len(sizes)), sizes)
        for sid in np.unique(store):
            rows = store == sid
            for scope in scopes_of.get(int(sid), ()):
                vs = value_sets.get(scope)
                if vs is None or len(vs) < 2:
                    continue
                keep = pc.is_in(values, value_set=vs).to_numpy(zero_copy_only=False) \
                    & rows[row_of]
                per_row = np.bincount(row_of[keep], minlength=len(sizes))
                good = per_row >= min_items
                if not good.any():
                    continue
                kept_rows = good[row_of] & keep
                new_sizes = per_row[good]
                new_off = np.concatenate(([0], np.cumsum(new_sizes))).astype(np.int32)
                vals = values.filter(pa.array(kept_rows))
                yield pa.RecordBatch.from_arrays(
                    [pa.array([scope] * len(new_sizes), type=pa.string()),
                     pa.ListArray.from_arrays(pa.array(new_off), vals)],
                    names=["scope", "items"])


def reduced_baskets(baskets: Any, freq: Mapping[str, frozenset[str]],
                    scopes_of: Mapping[int, Sequence[str]], min_items: int = 3) -> Any:
    """(scope, items): every basket of every scope cut to that scope's frequent items, only
    those still holding ``min_items`` or more."""
    return baskets.select("store_id", "items").mapInArrow(
        partial(_reduce_task, dict(freq), dict(scopes_of), min_items), REDUCED_SCHEMA)


def scope_itemsets(reduced: Any, scope: str, min_count: int, max_len: int) -> Any:
    """FPGrowth on one scope's reduced baskets: its item sets of 3..max_len items with at
    least ``min_count`` baskets, as pandas (items tuple, freq)."""
    import pandas as pd
    from pyspark.ml.fpm import FPGrowth
    from pyspark.sql import functions as F

    part = reduced.where(F.col("scope") == scope).select("items")
    n_red = part.count()
    if n_red == 0 or min_count > n_red:
        return pd.DataFrame({"items": [], "freq": []})
    # FPGrowth keeps sets with freq >= ceil(minSupport × n): exactly min_count
    model = FPGrowth(itemsCol="items", minSupport=max((min_count - 0.5) / n_red, 1e-12),
                     minConfidence=1.0).fit(part)
    fi: Any = (model.freqItemsets.where((F.size("items") >= 3) & (F.size("items") <= max_len))
               .toPandas())
    fi["items"] = [tuple(sorted(x)) for x in fi["items"]]
    return fi


def pairs_needed(itemsets: Any) -> set[tuple[str, str]]:
    """The two-item subsets (a < b) of a scope's three-item sets: their counts are wanted."""
    out: set[tuple[str, str]] = set()
    for items in itemsets["items"]:
        if len(items) == 3:
            a, b, c = sorted(items)
            out.update(((a, b), (a, c), (b, c)))
    return out


def multi_rules(itemsets: Any, single_counts: Mapping[str, int],
                pair_counts: Mapping[tuple[str, str], int], n: int, min_support: float,
                min_confidence: float) -> Any:
    """Rules (2+ item antecedent) → (1 consequent) from a scope's frequent sets of three or
    more items, with mlxtend's formulas on supports ``count / n``; a two-item antecedent's
    count from ``pair_counts`` ((a, b), a < b)."""
    import pandas as pd

    counts: dict[frozenset[str], int] = {}
    for (a, b), c in pair_counts.items():
        if int(c) / float(n) >= min_support:
            counts[frozenset((a, b))] = int(c)
    for items, freq in zip(itemsets["items"], itemsets["freq"]):
        if int(freq) / float(n) >= min_support:
            counts[frozenset(items)] = int(freq)
    rows: list[tuple[Any, ...]] = []
    nf = float(n)
    for itemset, c_ac in counts.items():
        if len(itemset) < 3:
            continue
        for cons in sorted(itemset):
            ante = itemset - {cons}
            c_a = counts.get(ante)
            c_c = single_counts.get(cons)
            if c_a is None or c_c is None:
                continue
            s_ac, s_a, s_c = c_ac / nf, c_a / nf, c_c / nf
            conf = (s_ac * n) / (s_a * n)
            if conf < min_confidence:
                continue
            conviction = math.inf if conf >= 1.0 else (1.0 - s_c) / (1.0 - conf)
            rows.append(("cross", tuple(sorted(ante)), cons, int(np.rint(s_ac * nf)), s_ac,
                         conf, conf / s_c, s_ac - s_a * s_c, conviction,
                         int(np.rint(s_a * nf)), int(np.rint(s_c * nf)), np.nan))
    return pd.DataFrame(rows, columns=RULE_COLUMNS)


def mine_scopes(reduced: Any, jobs: Sequence[tuple[str, int, int]], max_len: int,
                threads: int = 2, done: Callable[[int, int], None] | None = None
                ) -> dict[str, Any]:
    """FPGrowth for every (scope, n, min_count), a few scopes at a time; scope → item sets."""
    out: dict[str, Any] = {}
    if not jobs:
        return out

    def run(job: tuple[str, int, int]) -> tuple[str, Any]:
        scope, _, min_count = job
        return scope, scope_itemsets(reduced, scope, min_count, max_len)

    with ThreadPoolExecutor(max_workers=max(1, threads),
                            thread_name_prefix="chain-fpgrowth") as pool:
        for k, (scope, fi) in enumerate(pool.map(run, jobs), 1):
            out[scope] = fi
            if done is not None:
                done(k, len(jobs))
    return out


__all__ = ["mine_scopes", "min_count_of", "multi_rules", "pairs_needed", "reduced_baskets",
           "scope_itemsets"]
