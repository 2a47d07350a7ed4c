"""Counting on Spark: item counts, pair counts, pair rules with their metrics, EASE weights and
context counts, per scope (each store, each region, the chain), with the definitions of
:mod:`possuggest.mining.miner` so that a store's rules equal its own refresh's.

Counts are taken once per store (one row per basket; every pair of a basket's sorted items is
emitted by Spark's own array functions, no join). A region's and the chain's counts are sums
of their stores' counts: with a recency half-life each store's weights are rescaled to the
scope's newest sale first (``0.5 ** (age / half-life)`` factorises), so the sums are the
counts of the scope's baskets mined as one.

Scope keys: ``store:<id>``, ``region:<name>``, ``chain``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from possuggest.core.context_time import DAYPART_HOURS, N_CONTEXT

log = logging.getLogger(__name__)

CHAIN = "chain"
DAY = 86400.0
# every pair (items[i], items[j]), i < j, of a sorted array of two or more items
_PAIRS = ("flatten(transform(sequence(0, size(items) - 2), i -> transform("
          "slice(items, i + 2, size(items) - i - 1), y -> named_struct('a', items[i], 'b', y))))")


def store_scope(store_id: int) -> str:
    return f"store:{store_id}"


def region_scope(region: str) -> str:
    return f"region:{region}"


@dataclass
class ScopeTables:
    """Spark DataFrames, each with a ``scope`` column: ``items`` (sku, c, cw), ``pairs``
    (a < b, c, cw: every pair seen), ``n`` (n, nw, tmax). ``c`` counts baskets, ``cw`` sums
    recency weights (= ``c`` with no half-life)."""

    items: Any
    pairs: Any
    n: Any
    weighted: bool


def with_weights(baskets: Any, half_life_days: float) -> Any:
    """Each basket's recency weight ``w`` against its store's newest sale (1 with no
    half-life, and for baskets without a time), as ``recency_weights`` does."""
    from pyspark.sql import functions as F

    if not half_life_days:
        return baskets.withColumn("w", F.lit(1.0))
    newest = baskets.groupBy("store_id").agg(F.max("t").alias("tmax"))
    age = (F.col("tmax") - F.col("t")) / F.lit(DAY)
    return (baskets.join(F.broadcast(newest), "store_id")
            .withColumn("w", F.when(F.col("t").isNull() | F.col("tmax").isNull(), F.lit(1.0))
                        .otherwise(F.pow(F.lit(0.5), age / F.lit(float(half_life_days)))))
            .drop("tmax"))


def store_counts(baskets_w: Any) -> tuple[Any, Any, Any]:
    """Per store: item counts, pair counts (a < b) and basket totals."""
    from pyspark.sql import functions as F

    items = (baskets_w.select("store_id", "w", F.explode("items").alias("sku"))
             .groupBy("store_id", "sku")
             .agg(F.count(F.lit(1)).alias("c"), F.sum("w").alias("cw")))
    pairs = (baskets_w.where(F.size("items") >= 2)
             .select("store_id", "w", F.explode(F.expr(_PAIRS)).alias("p"))
             .select("store_id", "w", F.col("p.a").alias("a"), F.col("p.b").alias("b"))
             .groupBy("store_id", "a", "b")
             .agg(F.count(F.lit(1)).alias("c"), F.sum("w").alias("cw")))
    n = (baskets_w.groupBy("store_id")
         .agg(F.count(F.lit(1)).alias("n"), F.sum("w").alias("nw"), F.max("t").alias("tmax")))
    return items, pairs, n


def scope_map(spark: Any, store_tmax: Mapping[int, float | None], regions: Mapping[int, str | None],
              half_life_days: float, chain: bool = True) -> Any:
    """(store_id, scope, factor): which scopes each store's counts go into, and the factor
    that rescales its recency weights to the scope's newest sale."""
    def newest(ids: list[int]) -> float | None:
        ts = [store_tmax[i] for i in ids if store_tmax.get(i) is not None]
        return max(ts) if ts else None      # type: ignore[type-var]

    def factor(scope_tmax: float | None, sid: int) -> float:
        t = store_tmax.get(sid)
        if not half_life_days or scope_tmax is None or t is None:
            return 1.0
        return float(np.power(0.5, ((scope_tmax - t) / DAY) / half_life_days))

    rows: list[tuple[int, str, float]] = []
    by_region: dict[str, list[int]] = {}
    for sid, reg in regions.items():
        if reg:
            by_region.setdefault(reg, []).append(sid)
    chain_t = newest(list(store_tmax))
    for sid in store_tmax:
        rows.append((sid, store_scope(sid), 1.0))
        reg = regions.get(sid)
        if reg:
            rows.append((sid, region_scope(reg), factor(newest(by_region[reg]), sid)))
        if chain:
            rows.append((sid, CHAIN, factor(chain_t, sid)))
    return spark.createDataFrame(rows, "store_id int, scope string, factor double")


def scope_tables(items_s: Any, pairs_s: Any, n_s: Any, smap: Any, weighted: bool) -> ScopeTables:
    """The store counts summed into every scope."""
    from pyspark.sql import functions as F

    m = F.broadcast(smap)
    items = (items_s.join(m, "store_id").groupBy("scope", "sku")
             .agg(F.sum("c").alias("c"), F.sum(F.col("cw") * F.col("factor")).alias("cw")))
    pairs = (pairs_s.join(m, "store_id").groupBy("scope", "a", "b")
             .agg(F.sum("c").alias("c"), F.sum(F.col("cw") * F.col("factor")).alias("cw")))
    n = (n_s.join(m, "store_id").groupBy("scope")
         .agg(F.sum("n").alias("n"), F.sum(F.col("nw") * F.col("factor")).alias("nw"),
              F.max("tmax").alias("tmax")))
    return ScopeTables(items=items, pairs=pairs, n=n, weighted=weighted)


def pair_rules(t: ScopeTables, min_count: int) -> Any:
    """Every one-item rule a→b of each scope whose pair is in ``min_count`` baskets or more,
    with mlxtend's support, confidence, lift, leverage and conviction (on the weighted counts
    with a half-life; ``count`` stays the number of baskets), as ``mine_pair_rules``."""
    from pyspark.sql import functions as F

    strong = t.pairs.where(F.col("c") >= min_count)
    both = strong.select("scope", F.col("a").alias("ante"), F.col("b").alias("cons"), "c", "cw") \
        .unionByName(strong.select("scope", F.col("b").alias("ante"), F.col("a").alias("cons"),
                                   "c", "cw"))
    ia = t.items.select("scope", F.col("sku").alias("ante"), F.col("c").alias("ca"),
                        F.col("cw").alias("cwa"))
    ib = t.items.select("scope", F.col("sku").alias("cons"), F.col("c").alias("cb"),
                        F.col("cw").alias("cwb"))
    j = both.join(ia, ["scope", "ante"]).join(ib, ["scope", "cons"]) \
        .join(F.broadcast(t.n.select("scope", "nw")), "scope")
    s_ab = F.col("cw") / F.col("nw")
    s_a = F.col("cwa") / F.col("nw")
    s_b = F.col("cwb") / F.col("nw")
    conf = s_ab / s_a
    return j.select(
        "scope", F.lit("cross").alias("kind"), F.col("ante").alias("antecedent"),
        F.col("cons").alias("consequent"), F.col("c").cast("long").alias("count"),
        s_ab.alias("support"), conf.alias("confidence"), (conf / s_b).alias("lift"),
        (s_ab - s_a * s_b).alias("leverage"),
        F.when(conf >= 1.0, F.lit(math.inf)).otherwise((F.lit(1.0) - s_b) / (F.lit(1.0) - conf))
        .alias("conviction"),
        F.col("ca").cast("long").alias("antecedent_count"),
        F.col("cb").cast("long").alias("consequent_count"))


def _ease_group(max_items: int, min_count: int, key: Any, pdf: Any) -> Any:
    """One scope's Gram entries among its top items → EASE weight of each of its pair rules
    (``pair_weights`` of the miner: the same top items, the same solve)."""
    import pandas as pd

    from possuggest.mining.miner import ease_weights

    out_cols = ["scope", "antecedent", "consequent", "weight"]
    lam = float(pdf["lam"].iloc[0]) if len(pdf) else 0.0
    if not len(pdf) or lam <= 0 or max_items <= 0:
        return pd.DataFrame(columns=out_cols)
    diag = pdf[pdf["a"] == pdf["b"]]
    order = np.lexsort((diag["a"].to_numpy(dtype=object).astype(str), -diag["g"].to_numpy()))
    top = diag["a"].to_numpy(dtype=object)[order][:max_items]
    pos = {s: i for i, s in enumerate(top)}
    k = len(top)
    off = pdf[pdf["a"] != pdf["b"]]
    ia = np.fromiter((pos.get(s, -1) for s in off["a"]), dtype=np.int64, count=len(off))
    ib = np.fromiter((pos.get(s, -1) for s in off["b"]), dtype=np.int64, count=len(off))
    g = np.zeros((k, k))
    ok = (ia >= 0) & (ib >= 0)
    gv = off["g"].to_numpy(dtype=np.float64)
    g[ia[ok], ib[ok]] = gv[ok]
    g[ib[ok], ia[ok]] = gv[ok]
    dpos = np.fromiter((pos[s] for s in top), dtype=np.int64, count=k)
    g[dpos, dpos] = diag["g"].to_numpy(dtype=np.float64)[order][:max_items]
    w = ease_weights(g, lam)
    rule = ok & (off["c"].to_numpy() >= min_count)
    ra, rb = ia[rule], ib[rule]
    sa = off["a"].to_numpy(dtype=object)[rule]
    sb = off["b"].to_numpy(dtype=object)[rule]
    scope = str(key[0])
    return pd.DataFrame({
        "scope": scope,
        "antecedent": np.concatenate([sa, sb]),
        "consequent": np.concatenate([sb, sa]),
        "weight": np.concatenate([w[ra, rb], w[rb, ra]])})


def ease_weights_table(spark: Any, t: ScopeTables, lam: Mapping[str, float], max_items: int,
                       min_count: int) -> Any:
    """(scope, antecedent, consequent, weight): the EASE weight of every pair rule among each
    scope's ``max_items`` best sellers (by weighted count, ties by SKU, as the miner)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    lam_df = spark.createDataFrame([(s, float(v)) for s, v in lam.items()],
                                   "scope string, lam double")
    rank = F.row_number().over(Window.partitionBy("scope")
                               .orderBy(F.col("cw").desc(), F.col("sku").asc()))
    top = (t.items.join(F.broadcast(lam_df.where(F.col("lam") > 0)), "scope")
           .withColumn("r", rank).where(F.col("r") <= max_items).select("scope", "sku", "cw"))
    ta = top.select("scope", F.col("sku").alias("a"))
    tb = top.select("scope", F.col("sku").alias("b"))
    off = (t.pairs.join(ta, ["scope", "a"]).join(tb, ["scope", "b"])
           .select("scope", "a", "b", F.col("cw").alias("g"), "c"))
    diag = top.select("scope", F.col("sku").alias("a"), F.col("sku").alias("b"),
                      F.col("cw").alias("g"), F.lit(-1).cast("long").alias("c"))
    gram = off.unionByName(diag).join(F.broadcast(lam_df), "scope")

    def ease_group(key, pdf):  # type: ignore[no-untyped-def]  # (a plain function for Spark)
        return _ease_group(max_items, min_count, key, pdf)

    return gram.groupBy("scope").applyInPandas(
        ease_group, "scope string, antecedent string, consequent string, weight double")


def context_table(baskets_w: Any) -> Any:
    """(store_id, bucket, sku, count) per store: weighted sales of each item in each
    time-of-day / weekend bucket, sku '*' = the bucket's baskets (as ``context_counts``)."""
    from pyspark.sql import functions as F

    ts = F.timestamp_seconds(F.col("t"))
    hour = F.hour(ts)
    part = sum((F.when(hour >= h, 1).otherwise(0) for h in DAYPART_HOURS), F.lit(0))
    weekend = F.when(F.dayofweek(ts).isin(1, 7), 1).otherwise(0)
    b = (baskets_w.where(F.col("t").isNotNull())
         .withColumn("bucket", part * 2 + weekend))
    per_item = (b.select("store_id", "bucket", "w", F.explode("items").alias("sku"))
                .groupBy("store_id", "bucket", "sku").agg(F.sum("w").alias("count")))
    totals = (b.groupBy("store_id", "bucket").agg(F.sum("w").alias("count"))
              .withColumn("sku", F.lit("*")))
    return per_item.unionByName(totals)


def complete_context(df: Any) -> Any:
    """One store's context rows with a '*' row for each of the N_CONTEXT buckets (0 when the
    bucket had no sales), as the miner writes them."""
    import pandas as pd

    have = set(df.loc[df["sku"] == "*", "bucket"].astype(int))
    missing = [b for b in range(N_CONTEXT) if b not in have]
    if missing:
        df = pd.concat([df, pd.DataFrame({"bucket": missing, "sku": "*", "count": 0.0})],
                       ignore_index=True)
    return df


__all__ = ["CHAIN", "ScopeTables", "complete_context", "context_table", "ease_weights_table",
           "pair_rules", "region_scope", "scope_map", "scope_tables", "store_counts",
           "store_scope", "with_weights"]
