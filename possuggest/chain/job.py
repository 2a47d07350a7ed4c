"""``possuggest chain mine``: every store's sales mined on Spark, one rule pack per store.

:func:`mine_chain` reads the stores (:mod:`~possuggest.chain.sources`), counts items and pairs
per store, region and chain (:mod:`~possuggest.chain.counting`), mines each store's
multi-item rules with FPGrowth (:mod:`~possuggest.chain.itemsets`) and upgrades
(:mod:`~possuggest.chain.upgrades`),
and writes ``OUT/NAME.pack`` per store (:mod:`possuggest.store.rule_pack`): the store's own
rules (what its refresh would mine from the same sales), its region's and the chain's pair
rules and item counts (the evidence a store with little history borrows, see
:mod:`~possuggest.chain.importer`), its catalogue, the parameters.

Like the refresh it takes ``progress(fraction, message)`` and ``cancelled()``; a cancel stops
the running Spark jobs. Packs are written only once everything is mined, each atomically.
"""

from __future__ import annotations

import logging
import re
import shutil
import time
import uuid
from collections.abc import Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from possuggest import __version__
from possuggest.chain import counting, itemsets, upgrades
from possuggest.chain.session import JobWatch, active_session, spark_session, stop_spark
from possuggest.chain.sources import (
    ChainSales,
    FileLayout,
    StoreMeta,
    StoreSpec,
    TuneFn,
    read_files,
    read_tills,
)
from possuggest.core.config import Settings
from possuggest.core.errors import PossuggestError
from possuggest.core.products import Product
from possuggest.core.progress import CancelledFn, ProgressFn
from possuggest.mining.miner import RULE_COLUMNS
from possuggest.store.rule_pack import RULE_FILE_COLUMNS, write_pack

log = logging.getLogger(__name__)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,99}$")


def check_store_name(name: str) -> str:
    """A store name is the pack's file name: letters, digits, space, dot, dash, underscore."""
    if not _NAME.match(name) or name.endswith((".", " ")):
        raise PossuggestError(f"store name {name!r} cannot name a pack file: use letters, "
                              "digits, spaces, '.', '-' and '_' (at most 100)")
    return name


@dataclass
class FileSource:
    """Exported sales files (``--sales-files``) and, optionally, a catalogue for all stores."""

    pattern: str
    layout: FileLayout
    catalogue: dict[str, Product] = field(default_factory=dict)


@dataclass
class ChainSummary:
    packs: list[Path]
    n_stores: int
    n_baskets: int
    n_regions: int
    seconds: float
    stages: dict[str, float]
    rules: dict[str, int]           # scope → pair + multi-item (+ upgrade) rules

    def text(self) -> str:
        return (f"{len(self.packs)} rule pack(s) written from {self.n_baskets:,} sales of "
                f"{self.n_stores} store(s)"
                + (f" in {self.n_regions} region(s)" if self.n_regions else "")
                + f" in {self.seconds:.1f} s")


def _local_path(url: str) -> Path | None:
    if url.startswith("file://"):
        return Path(url[len("file://"):])
    if "://" in url:
        return None
    return Path(url)


def _remove_work(spark: Any, url: str) -> None:
    local = _local_path(url)
    if local is not None:
        shutil.rmtree(local, ignore_errors=True)
        return
    try:       # HDFS, S3, ...: through Spark's own Hadoop file system
        jvm = spark.sparkContext._jvm
        path = jvm.org.apache.hadoop.fs.Path(url)
        path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()).delete(path, True)
    except Exception as exc:    # a leftover work folder is not worth failing the run
        log.warning("could not remove the work folder %s: %s", url, exc)


def mine_chain(out_dir: str | Path, settings: Settings, *,
               stores: Sequence[StoreSpec] = (), files: FileSource | None = None,
               regions: Mapping[str, str] | None = None, master: str | None = None,
               conf: Mapping[str, str] | None = None, work_dir: str | None = None,
               tune: TuneFn | None = None, spark: Any = None, fpgrowth_threads: int = 2,
               progress: ProgressFn | None = None,
               cancelled: CancelledFn | None = None) -> ChainSummary:
    """Mine the chain and write ``out_dir/NAME.pack`` per store. Give ``stores`` (tills) or
    ``files``. ``regions`` maps store name → region (files may also carry a region column).
    ``tune`` is refresh's tuning hook; ``spark`` an existing session (kept running)."""
    started = time.perf_counter()
    if bool(stores) == (files is not None):
        raise PossuggestError("give the stores' tills (--store NAME=TILL) or sales files "
                              "(--sales-files), one of the two")
    for s in stores:
        check_store_name(s.name)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PossuggestError(f"cannot create {out}: {exc.strerror or exc}") from None
    if regions:
        stores = [StoreSpec(s.name, s.till, regions.get(s.name, s.region)) for s in stores]
    if progress is not None:
        progress(0.0, "starting Spark")
    session = spark if spark is not None else active_session()
    own_spark = session is None          # a session we start, we stop
    if session is None:
        session = spark_session(master, conf)
    # a folder of our own, removed at the end (inside --work-dir when given)
    tag = f".chain-work-{uuid.uuid4().hex[:12]}"
    work = (f"{work_dir.rstrip('/')}/{tag}" if work_dir else str((out / tag).resolve()))
    stages: dict[str, float] = {}
    try:
        with JobWatch(session, progress, cancelled) as watch:
            mark = time.perf_counter()
            stages["start"] = mark - started
            watch.step(0.05, 0.35, f"reading {len(stores) or 'the'} stores' sales")
            with watch.spark_errors("reading the sales"):
                if files is not None:
                    sales = read_files(session, files.pattern, files.layout, settings,
                                       regions, {}, tune)
                    for m in sales.stores.values():
                        check_store_name(m.name)
                        m.products = dict(files.catalogue)
                else:
                    sales = read_tills(session, stores, settings, tune)
            stages["read"] = time.perf_counter() - mark
            packs, rules_per_scope = _mine_and_pack(session, sales, settings, out, work, watch,
                                                    fpgrowth_threads, stages)
    finally:
        try:
            _remove_work(session, work)
        finally:
            if own_spark:
                stop_spark(session)
    n_regions = len({m.region for m in sales.stores.values() if m.region})
    summary = ChainSummary(packs=packs, n_stores=len(sales.stores),
                           n_baskets=sum(m.n_baskets for m in sales.stores.values()),
                           n_regions=n_regions, seconds=time.perf_counter() - started,
                           stages=stages, rules=rules_per_scope)
    if progress is not None:
        progress(1.0, "done")
    log.info("%s", summary.text())
    return summary


def _mine_and_pack(spark: Any, sales: ChainSales, settings: Settings, out: Path, work: str,
                   watch: JobWatch, threads: int, stages: dict[str, float]
                   ) -> tuple[list[Path], dict[str, int]]:
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    mining = settings.mining
    metas = sales.stores
    if not metas:
        raise PossuggestError("no stores to mine")
    hl = float(mining.half_life_days or 0.0)
    mark = time.perf_counter()
    watch.step(0.35, 0.55, "counting items and pairs per store, region and chain")
    bw = counting.with_weights(sales.baskets, hl)
    items_s, pairs_s, n_s = counting.store_counts(bw)
    with watch.spark_errors("counting items and pairs"):
        n_rows = n_s.collect()
    tmax = {int(r["store_id"]): (None if r["tmax"] is None else float(r["tmax"]))
            for r in n_rows}
    for sid in metas:
        tmax.setdefault(sid, None)
    region_of = {sid: m.region for sid, m in metas.items()}
    smap = counting.scope_map(spark, tmax, region_of, hl)
    t = counting.scope_tables(items_s, pairs_s, n_s, smap, weighted=hl > 0)
    t.items = t.items.persist(StorageLevel.MEMORY_AND_DISK)
    t.pairs = t.pairs.persist(StorageLevel.MEMORY_AND_DISK)
    t.n = t.n.persist(StorageLevel.MEMORY_AND_DISK)
    with watch.spark_errors("counting items and pairs"):
        n_scope = {r["scope"]: (int(r["n"]), float(r["nw"])) for r in t.n.collect()}
        t.pairs.count()
    stages["count"] = time.perf_counter() - mark

    mark = time.perf_counter()
    watch.step(0.55, 0.7, "pair rules, EASE weights and context")
    lam = {s: float(mining.ease_lambda) for s in n_scope}
    for sid, m in metas.items():
        lam[counting.store_scope(sid)] = float(m.mining.ease_lambda)
    rules = counting.pair_rules(t, mining.min_count)
    if mining.ease_max_items > 0 and any(v > 0 for v in lam.values()):
        ease = counting.ease_weights_table(spark, t, lam, mining.ease_max_items,
                                           mining.min_count)
        rules = rules.join(ease, ["scope", "antecedent", "consequent"], "left")
    else:
        rules = rules.withColumn("weight", F.lit(None).cast("double"))
    items_tbl = t.items.join(F.broadcast(t.n.select("scope", "nw")), "scope").select(
        "scope", "sku", F.col("cw").alias("count"),
        (F.col("cw") / F.greatest(F.col("nw"), F.lit(1.0))).alias("support"))
    with watch.spark_errors("mining pair rules"):
        rules.write.mode("overwrite").partitionBy("scope").parquet(f"{work}/rules")
        items_all = items_tbl.toPandas()      # a row per scope and product: small
        contexts = _contexts(bw, metas, mining.context)
    stages["pairs"] = time.perf_counter() - mark

    mark = time.perf_counter()
    watch.step(0.7, 0.85, "multi-item rules (FPGrowth)")
    multi: dict[str, Any] = {}
    if mining.max_antecedent >= 2:
        multi = _multi(sales, t, n_scope, metas, mining.multi_min_support,
                       mining.max_antecedent, mining.multi_min_confidence, threads, watch)
    stages["fpgrowth"] = time.perf_counter() - mark

    mark = time.perf_counter()
    watch.step(0.85, 0.88, "upgrades")
    ups = _upgrades(spark, t, metas, n_scope, settings, watch)
    stages["upgrades"] = time.perf_counter() - mark

    mark = time.perf_counter()
    watch.step(0.88, 1.0, "writing rule packs")
    packs: list[Path] = []
    per_scope: dict[str, int] = {}
    shared: dict[str, tuple[Any, Any]] = {}

    items_by_scope = dict(tuple(items_all.groupby("scope", sort=False)))

    def scope_frames(scope: str) -> tuple[Any, Any]:
        with watch.spark_errors("reading mined rules back"):
            r = spark.read.parquet(f"{work}/rules").where(F.col("scope") == scope).toPandas()
        r["scope"] = scope
        i = items_by_scope.get(scope, items_all.iloc[0:0])
        return r, i

    n_packs = len(metas)
    done = 0
    # the frames are gathered here, one pack at a time; CSV, zip and SHA-256 release the
    # GIL, so two packs are written at once beside it
    pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="chain-pack")
    pending: list[Future[str]] = []

    def written(_: Future[str]) -> None:
        nonlocal done
        done += 1
        watch.report(0.88 + 0.12 * done / n_packs, f"{done}/{n_packs} rule packs written")

    try:
        for sid, meta in sorted(metas.items(), key=lambda kv: kv[1].name):
            watch.check()
            while len([f for f in pending if not f.done()]) >= 2:    # bounded memory
                wait(pending, return_when=FIRST_COMPLETED)
            pending.append(pool.submit(
                _write_store_pack, *_store_pack(sid, meta, scope_frames, shared, multi, ups,
                                                contexts, metas, n_scope, settings, spark,
                                                out, per_scope)))
            pending[-1].add_done_callback(written)
        for f in pending:
            packs.append(Path(f.result()))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    stages["packs"] = time.perf_counter() - mark
    for df in (t.items, t.pairs, t.n):
        df.unpersist()
    sales.baskets.unpersist()
    return packs, per_scope


def _write_store_pack(path: Path, manifest: dict[str, Any], rules: Any, items: Any,
                      ctx: Any, products: list[Product]) -> str:
    write_pack(path, manifest, rules, items, ctx, products)
    return str(path)


def _store_pack(sid: int, meta: StoreMeta, scope_frames: Any, shared: dict[str, Any],
                multi: Mapping[str, Any], ups: Mapping[int, Any], contexts: Mapping[int, Any],
                metas: Mapping[int, StoreMeta], n_scope: Mapping[str, Any], settings: Settings,
                spark: Any, out: Path, per_scope: dict[str, int]
                ) -> tuple[Path, dict[str, Any], Any, Any, Any, list[Product]]:
    """One store's pack contents: its own rules (pairs, multi-item, upgrades) and items, its
    region's and the chain's pair rules and items (on its catalogue), its context counts."""
    import pandas as pd

    scope = counting.store_scope(sid)
    r_store, i_store = scope_frames(scope)
    parts = [r_store]
    if scope in multi and len(multi[scope]):
        parts.append(multi[scope].assign(scope=scope))
    if sid in ups and len(ups[sid]):
        parts.append(ups[sid].assign(scope=scope))
    per_scope[meta.name] = int(sum(len(p) for p in parts))
    borrowed_rules, borrowed_items = [], []
    others = ([(counting.region_scope(meta.region), "region")] if meta.region else []) + \
        [(counting.CHAIN, "chain")]
    for other, label in others:
        if other not in shared:
            shared[other] = scope_frames(other)
        r_o, i_o = shared[other]
        if meta.products:
            known = set(meta.products)
            r_o = r_o[r_o["antecedent"].isin(known) & r_o["consequent"].isin(known)]
            i_o = i_o[i_o["sku"].isin(known)]
        borrowed_rules.append(r_o.assign(scope=label))
        borrowed_items.append(i_o.assign(scope=label))
    all_rules = pd.concat([p.assign(scope="store") for p in parts] + borrowed_rules,
                          ignore_index=True)[RULE_FILE_COLUMNS]
    all_items = pd.concat([i_store.assign(scope="store")] + borrowed_items,
                          ignore_index=True)[["scope", "sku", "count", "support"]]
    ctx = contexts.get(sid)
    manifest = _manifest(meta, metas, n_scope, settings, spark, parts)
    return (out / f"{meta.name}.pack", manifest, all_rules, all_items,
            None if ctx is None else ctx.assign(scope="store"), list(meta.products.values()))


def _manifest(meta: StoreMeta, metas: Mapping[int, StoreMeta], n_scope: Mapping[str, Any],
              settings: Settings, spark: Any, parts: list[Any]) -> dict[str, Any]:
    kinds = [p["kind"] for p in parts]
    n_cross = int(sum(int((k == "cross").sum()) for k in kinds))
    n_upgrade = int(sum(int((k == "upgrade").sum()) for k in kinds))
    notes = ([f"recency half-life {settings.mining.half_life_days:g} days on pairs and items"]
             if settings.mining.half_life_days else [])
    scopes: dict[str, Any] = {"store": {
        "name": meta.name, "source": meta.source, "n_baskets": meta.n_baskets,
        "n_items": meta.n_items, "n_cross": n_cross, "n_upgrade": n_upgrade,
        "window_start": meta.window_start, "window_end": meta.window_end,
        "params": meta.params, "notes": notes}}
    if meta.region:
        members = sorted(m.name for m in metas.values() if m.region == meta.region)
        n, nw = n_scope.get(counting.region_scope(meta.region), (0, 0.0))
        scopes["region"] = {"name": meta.region, "stores": members, "n_baskets": n,
                            "n_weighted": nw}
    n, nw = n_scope.get(counting.CHAIN, (0, 0.0))
    scopes["chain"] = {"stores": len(metas), "n_baskets": n, "n_weighted": nw}
    return {"store": meta.name, "region": meta.region,
            "created_at": datetime.now().isoformat(timespec="seconds"),
            "made_by": f"possuggest {__version__}", "spark": str(spark.version),
            "params": asdict(settings.mining), "scopes": scopes}


def _contexts(bw: Any, metas: Mapping[int, StoreMeta], on: bool) -> dict[int, Any]:
    """Per store with sale times: its context counts, complete (as the miner's)."""
    if not on or not any(m.has_times for m in metas.values()):
        return {}
    rows = counting.context_table(bw).toPandas()
    out: dict[int, Any] = {}
    for sid, m in metas.items():
        if not m.has_times or m.n_baskets == 0:
            continue
        df = rows[rows["store_id"] == sid][["bucket", "sku", "count"]].reset_index(drop=True)
        df["bucket"] = df["bucket"].astype(np.int64)
        out[sid] = counting.complete_context(df)
    return out


def _multi(sales: ChainSales, t: counting.ScopeTables, n_scope: Mapping[str, tuple[int, float]],
           metas: Mapping[int, StoreMeta], min_support: float, max_antecedent: int,
           min_confidence: float, threads: int, watch: JobWatch) -> dict[str, Any]:
    """Each store's multi-item rules: scope → rules (RULE_COLUMNS)."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    with watch.spark_errors("finding frequent items"):
        n_df = t.n.select("scope", "n")
        freq_rows = (t.items.where(F.col("scope").startswith("store:"))
                     .join(F.broadcast(n_df), "scope")
                     .where(F.col("c") / F.col("n").cast("double") >= F.lit(float(min_support)))
                     .select("scope", "sku", "c").collect())
    freq: dict[str, dict[str, int]] = {}
    for r in freq_rows:
        freq.setdefault(r["scope"], {})[r["sku"]] = int(r["c"])
    # per store: a pack borrows only pair rules from its region and the chain (the blend),
    # so their item sets would be mined for nothing
    scopes_of = {sid: [counting.store_scope(sid)] for sid in metas}
    wanted = {s for v in scopes_of.values() for s in v}
    jobs = [(s, n_scope[s][0], itemsets.min_count_of(min_support, n_scope[s][0]))
            for s in sorted(freq) if s in wanted and len(freq[s]) >= 2
            and n_scope.get(s, (0, 0.0))[0] > 0]
    if not jobs:
        return {}
    reduced = itemsets.reduced_baskets(sales.baskets, {s: frozenset(v) for s, v in freq.items()},
                                       scopes_of).persist(StorageLevel.MEMORY_AND_DISK)

    def done(k: int, total: int) -> None:
        watch.report(0.7 + 0.15 * k / total, f"multi-item rules: {k}/{total} scopes")

    try:
        with watch.spark_errors("mining frequent item sets (FPGrowth)"):
            found = itemsets.mine_scopes(reduced, jobs, max_antecedent + 1, threads, done)
    finally:
        reduced.unpersist()
    found = {s: fi for s, fi in found.items() if len(fi)}
    # the two-item antecedents' counts: the pairs Spark counted
    want = sorted({(s, a, b) for s, fi in found.items() for a, b in itemsets.pairs_needed(fi)})
    pair_counts: dict[str, dict[tuple[str, str], int]] = {}
    if want:
        spark = reduced.sparkSession
        want_df = spark.createDataFrame(want, "scope string, a string, b string")
        with watch.spark_errors("counting item sets"):
            for r in t.pairs.join(F.broadcast(want_df), ["scope", "a", "b"]).select(
                    "scope", "a", "b", "c").collect():
                pair_counts.setdefault(r["scope"], {})[(r["a"], r["b"])] = int(r["c"])
    out: dict[str, Any] = {}
    for scope, fi in found.items():
        out[scope] = itemsets.multi_rules(fi, freq[scope], pair_counts.get(scope, {}),
                                          n_scope[scope][0], min_support, min_confidence)
    return out


def _upgrades(spark: Any, t: counting.ScopeTables, metas: Mapping[int, StoreMeta],
              n_scope: Mapping[str, tuple[int, float]], settings: Settings,
              watch: JobWatch) -> dict[int, Any]:
    """Each store's upgrade rules (store scope only: families and prices are the store's)."""
    from pyspark.sql import functions as F

    with_catalogue = {sid: m for sid, m in metas.items() if m.products and m.n_baskets}
    if not with_catalogue:
        return {}
    scopes = [counting.store_scope(sid) for sid in with_catalogue]
    with watch.spark_errors("counting upgrade candidates"):
        rows = t.items.where(F.col("scope").isin(scopes)).select("scope", "sku", "c").collect()
    sold: dict[str, dict[str, int]] = {}
    for r in rows:
        sold.setdefault(r["scope"], {})[r["sku"]] = int(r["c"])
    cands: dict[int, list[tuple[str, str]]] = {}
    lookup: list[tuple[str, str, str]] = []
    for sid, m in with_catalogue.items():
        scope = counting.store_scope(sid)
        c = upgrades.upgrade_candidates(m.products, sold.get(scope, {}), settings.mining)
        cands[sid] = c
        lookup.extend((scope, min(a, b), max(a, b)) for a, b in c)
    together: dict[str, dict[tuple[str, str], int]] = {}
    if lookup:
        want = spark.createDataFrame(sorted(set(lookup)), "scope string, a string, b string")
        with watch.spark_errors("counting upgrade candidates"):
            for r in t.pairs.join(F.broadcast(want), ["scope", "a", "b"]).select(
                    "scope", "a", "b", "c").collect():
                together.setdefault(r["scope"], {})[(r["a"], r["b"])] = int(r["c"])
    out: dict[int, Any] = {}
    for sid, c in cands.items():
        scope = counting.store_scope(sid)
        out[sid] = upgrades.upgrade_rules(c, sold.get(scope, {}), together.get(scope, {}),
                                          n_scope[scope][0], settings.mining)
    return out


__all__ = ["ChainSummary", "FileSource", "RULE_COLUMNS", "check_store_name", "mine_chain"]
