"""The chain's sales as one Spark table of baskets, from the stores' till databases or from
exported sales files with a store column.

Either way the result is a :class:`ChainSales`: a DataFrame with one row per basket
(``store_id`` int, ``basket`` long, ``t`` double wall-clock seconds or null, ``items`` the
basket's distinct SKUs, sorted) and, per store, a :class:`StoreMeta` (its catalogue, how many
sales, the window, the mining settings tuning chose).

* **Tills** (``--store NAME=TILL``): one Spark task per store reads its till with the store's
  own :class:`~possuggest.till.reader.TillReader` (so mappings and presets apply and the
  window is the refresh's), tunes the ranking on those very baskets as ``possuggest refresh``
  does (the ``tune`` hook), and hands the baskets to Spark as Arrow batches. The tills must be
  readable where the tasks run: any path in local mode, a shared folder on a cluster.
* **Files** (``--sales-files GLOB --store-col COL``): Parquet or CSV lines (sale id, SKU, time,
  optional quantity and region) read by Spark itself, from any file system Spark reaches
  (HDFS, S3, a shared folder); the window and the basket times follow the till reader's
  rules, tuning runs per store in a grouped task.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from functools import partial
from typing import Any

import numpy as np

from possuggest.core.config import MiningSettings, Settings
from possuggest.core.errors import PossuggestError
from possuggest.core.products import Product
from possuggest.core.progress import CancelledFn, ProgressFn
from possuggest.core.transactions import Transactions

log = logging.getLogger(__name__)

TuneFn = Callable[[Transactions, Settings, ProgressFn | None, CancelledFn | None],
                  tuple[MiningSettings, dict[str, Any]]]
"""The refresh's tuning hook (``possuggest.evaluation.tuning.tune_for_refresh``)."""

BASKETS_SCHEMA = "store_id int, basket long, t double, items array<string>, meta string"
_BATCH = 100_000          # baskets per Arrow batch handed to Spark


@dataclass(frozen=True)
class StoreSpec:
    """One store of the chain: its name (the pack is NAME.pack), its till and region."""

    name: str
    till: str = ""
    region: str | None = None


@dataclass
class StoreMeta:
    """What the chain miner knows of one store beside its baskets."""

    store_id: int
    name: str
    region: str | None
    source: str
    n_baskets: int
    n_items: int
    window_start: str | None
    window_end: str | None
    mining: MiningSettings                 # the settings its rules are mined with (tuned)
    params: dict[str, Any]                 # the rule set's params, as refresh keeps them
    products: dict[str, Product] = field(default_factory=dict)
    has_times: bool = False
    seconds: float = 0.0

    def to_json(self) -> str:
        d = asdict(self)
        d["mining"] = asdict(self.mining)
        d["products"] = [p.to_row() for p in self.products.values()]
        return json.dumps(d, allow_nan=False)

    @classmethod
    def from_json(cls, text: str) -> StoreMeta:
        d = json.loads(text)
        d["mining"] = MiningSettings(**d["mining"])
        d["products"] = {str(r[0]): Product.from_row(*r) for r in d["products"]}
        return cls(**d)


@dataclass
class ChainSales:
    baskets: Any                             # Spark DataFrame (see the module docstring)
    stores: dict[int, StoreMeta]


def _iso(t: float) -> str | None:
    """Wall-clock seconds back to the till's naive ISO text (as refresh records windows)."""
    if np.isnan(t):
        return None
    return datetime.fromtimestamp(t, tz=timezone.utc).replace(tzinfo=None).isoformat(
        timespec="seconds")


def tuned_settings(tx: Transactions, settings: Settings, tune: TuneFn | None
                   ) -> tuple[MiningSettings, dict[str, Any]]:
    """The mining settings and the rule set's params exactly as refresh makes them."""
    mining, tuned = settings.mining, dict[str, Any]()
    if tune is not None and settings.mining.tune:
        mining, tuned = tune(tx, settings, None, None)
    elif tune is not None:
        tuned = {"tuning": {"status": "off"}}
    return mining, {**asdict(mining), **tuned}


def store_meta(store_id: int, spec: StoreSpec, tx: Transactions,
               products: Mapping[str, Product], settings: Settings, tune: TuneFn | None,
               source: str, started: float) -> StoreMeta:
    mining, params = tuned_settings(tx, settings, tune)
    times = tx.basket_time if tx.basket_time is not None and tx.n_baskets else np.array([np.nan])
    has = not bool(np.all(np.isnan(times)))
    return StoreMeta(store_id=store_id, name=spec.name, region=spec.region, source=source,
                     n_baskets=tx.n_baskets, n_items=tx.n_items,
                     window_start=_iso(float(np.nanmin(times))) if has else None,
                     window_end=_iso(float(np.nanmax(times))) if has else None,
                     mining=mining, params=params, products=dict(products),
                     has_times=has and tx.basket_time is not None,
                     seconds=time.perf_counter() - started)


def arrow_batches(store_id: int, tx: Transactions, meta: StoreMeta) -> Iterator[Any]:
    """The store's baskets as Arrow record batches of :data:`BASKETS_SCHEMA` (items sorted,
    as the SKUs sort), then one row carrying the store's meta."""
    import pyarrow as pa

    order = np.lexsort((tx.item, tx.basket))
    basket = tx.basket[order]
    values = tx.items[tx.item[order]]
    counts = np.bincount(basket, minlength=tx.n_baskets)
    offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    times = (tx.basket_time if tx.basket_time is not None
             else np.full(tx.n_baskets, np.nan))
    for lo in range(0, tx.n_baskets, _BATCH):
        hi = min(lo + _BATCH, tx.n_baskets)
        off = offsets[lo:hi + 1]
        items = pa.LargeListArray.from_arrays(
            pa.array(off - off[0], type=pa.int64()),
            pa.array(values[off[0]:off[-1]].tolist(), type=pa.string()))
        t = times[lo:hi]
        yield pa.RecordBatch.from_arrays([
            pa.array(np.full(hi - lo, store_id, dtype=np.int32)),
            pa.array(np.arange(lo, hi, dtype=np.int64)),
            pa.array(t, mask=np.isnan(t), type=pa.float64()),
            items.cast(pa.list_(pa.string())),
            pa.nulls(hi - lo, type=pa.string())],
            names=["store_id", "basket", "t", "items", "meta"])
    yield pa.RecordBatch.from_arrays([
        pa.array([store_id], type=pa.int32()), pa.array([-1], type=pa.int64()),
        pa.nulls(1, type=pa.float64()), pa.array([[]], type=pa.list_(pa.string())),
        pa.array([meta.to_json()], type=pa.string())],
        names=["store_id", "basket", "t", "items", "meta"])


def _read_tills_task(settings: Settings, tune: TuneFn | None,
                     batches: Iterator[Any]) -> Iterator[Any]:
    """Spark task: read each store given (one per task) from its till."""
    from possuggest.till.reader import TillReader

    for batch in batches:
        for row in batch.to_pylist():
            started = time.perf_counter()
            spec = StoreSpec(row["name"], row["till"], row["region"])
            till_settings = settings.till
            if "://" in spec.till:        # a till on a database server: its URL
                till_settings = replace(settings.till, url=spec.till, path="")
            with TillReader(spec.till, till_settings) as till:
                products = till.read_products()
                tx = till.read_transactions(settings.mining.window_days)
            meta = store_meta(int(row["store_id"]), spec, tx, products, settings, tune,
                              str(spec.till), started)
            log.info("store %s: %d sales read and tuned in %.1f s", spec.name, tx.n_baskets,
                     meta.seconds)
            yield from arrow_batches(int(row["store_id"]), tx, meta)


def _split(raw: Any, spark: Any) -> ChainSales:
    """Persist the read once; split the meta rows from the baskets."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    raw = raw.persist(StorageLevel.MEMORY_AND_DISK)
    metas = raw.where(F.col("meta").isNotNull()).select("store_id", "meta").collect()
    stores = {int(r["store_id"]): StoreMeta.from_json(r["meta"]) for r in metas}
    baskets = raw.where(F.col("meta").isNull()).drop("meta")
    return ChainSales(baskets=baskets, stores=stores)


def read_tills(spark: Any, stores: Sequence[StoreSpec], settings: Settings,
               tune: TuneFn | None = None) -> ChainSales:
    """Every store's till read (and tuned) in its own Spark task."""
    from pyspark.sql.types import IntegerType, StringType, StructField, StructType

    names = [s.name for s in stores]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise PossuggestError(f"store name given twice: {', '.join(dup)}")
    schema = StructType([StructField("store_id", IntegerType()),
                         StructField("name", StringType()), StructField("till", StringType()),
                         StructField("region", StringType())])
    rows = [(i, s.name, s.till, s.region) for i, s in enumerate(stores)]
    rdd = spark.sparkContext.parallelize(rows, numSlices=max(len(rows), 1))
    specs = spark.createDataFrame(rdd, schema)
    raw = specs.mapInArrow(partial(_read_tills_task, settings, tune), BASKETS_SCHEMA)
    return _split(raw, spark)


@dataclass(frozen=True)
class FileLayout:
    """Columns of exported sales files (one line per row)."""

    store_col: str
    sale_col: str = "sale_id"
    sku_col: str = "sku"
    time_col: str = "closed_at"
    qty_col: str | None = None          # lines of 0 or less (returns) are left out
    region_col: str | None = None
    format: str | None = None           # parquet | csv (default: from the file names)


def _tune_group_task(settings: Settings, tune: TuneFn | None, names: dict[int, str],
                     regions: dict[int, str | None], products: dict[int, dict[str, Product]],
                     sources: dict[int, str], key: Any, pdf: Any) -> Any:
    """Spark grouped task: one store's baskets from files → its meta (tuned)."""
    import pandas as pd

    started = time.perf_counter()
    store_id = int(key[0])
    t = pdf["t"].to_numpy(dtype=np.float64, na_value=np.nan)
    order = np.lexsort((pdf["basket"].to_numpy(), np.where(np.isnan(t), np.inf, t)))
    items = pdf["items"].to_numpy()[order]
    sizes = np.fromiter((len(x) for x in items), dtype=np.int64, count=len(items))
    keys = np.repeat(np.arange(len(items)), sizes)
    flat = np.concatenate([np.asarray(x, dtype=object) for x in items]) if len(items) else \
        np.zeros(0, dtype=object)
    tx = Transactions.from_pairs(keys, flat, np.repeat(t[order], sizes))
    spec = StoreSpec(names[store_id], "", regions.get(store_id))
    meta = store_meta(store_id, spec, tx, products.get(store_id, {}), settings, tune,
                      sources[store_id], started)
    return pd.DataFrame({"store_id": [store_id], "meta": [meta.to_json()]})


def _read_frame(spark: Any, pattern: str, fmt: str | None) -> Any:
    fmt = fmt or ("csv" if pattern.lower().rstrip("*").endswith((".csv", ".csv.gz", ".txt"))
                  else "parquet")
    reader = spark.read
    if fmt == "csv":
        reader = reader.option("header", "true").option("inferSchema", "false")
    try:
        return reader.format(fmt).load(pattern)
    except Exception as exc:
        text = " ".join(str(exc).split()).split(" JVM stacktrace")[0]
        raise PossuggestError(f"cannot read {pattern}: {text[:300]}") from None


def read_files(spark: Any, pattern: str, layout: FileLayout, settings: Settings,
               regions: Mapping[str, str] | None = None,
               products: Mapping[str, Mapping[str, Product]] | None = None,
               tune: TuneFn | None = None) -> ChainSales:
    """Exported sales lines (Parquet or CSV, any Spark path or glob) as the chain's baskets.

    Per store: lines with a quantity of 0 or less are left out, the window is the
    ``mining.window_days`` before the store's newest sale, a basket's time is its earliest
    line's. ``products`` maps store → its catalogue (optional: upgrades need one)."""
    from pyspark.sql import functions as F

    df = _read_frame(spark, pattern, layout.format)
    need = [layout.store_col, layout.sale_col, layout.sku_col]
    optional = [c for c in (layout.time_col, layout.qty_col, layout.region_col) if c]
    missing = [c for c in need + optional if c not in df.columns
               and not (c == layout.time_col and c == "closed_at")]
    if missing:
        raise PossuggestError(f"{pattern}: no column {', '.join(missing)} (columns: "
                              f"{', '.join(df.columns[:12])})")
    time_col = layout.time_col if layout.time_col in df.columns else None
    if time_col is None:
        t = F.lit(None).cast("double")
    elif dict(df.dtypes)[time_col] in ("string", "date", "timestamp", "timestamp_ntz"):
        t = F.to_timestamp(F.col(time_col).cast("string")).cast("double")
    else:
        t = F.col(time_col).cast("double")
    lines = df.select(F.col(layout.store_col).cast("string").alias("store"),
                      F.col(layout.sale_col).cast("string").alias("sale"),
                      F.col(layout.sku_col).cast("string").alias("sku"),
                      t.alias("t"),
                      (F.col(layout.qty_col).cast("double") if layout.qty_col
                       else F.lit(1.0)).alias("qty"),
                      (F.col(layout.region_col).cast("string") if layout.region_col
                       else F.lit(None).cast("string")).alias("region"))
    lines = lines.where(F.col("store").isNotNull() & F.col("sale").isNotNull()
                        & F.col("sku").isNotNull() & (F.col("qty") > 0))
    newest = lines.groupBy("store").agg(F.max("t").alias("tmax"))
    days = float(settings.mining.window_days)
    lines = (lines.join(newest, "store")
             .where(F.col("tmax").isNull() | F.col("t").isNull()
                    | (F.col("t") >= F.col("tmax") - days * 86400.0)))
    store_rows = lines.groupBy("store").agg(F.first("region", ignorenulls=True).alias("region")
                                            ).orderBy("store").collect()
    if not store_rows:
        raise PossuggestError(f"{pattern}: no sales lines")
    region_of = dict(regions or {})
    ids = {r["store"]: i for i, r in enumerate(store_rows)}
    id_df = spark.createDataFrame([(s, i) for s, i in ids.items()], "store string, store_id int")
    baskets = (lines.join(F.broadcast(id_df), "store")
               .groupBy("store_id", "sale")
               .agg(F.min("t").alias("t"), F.array_sort(F.collect_set("sku")).alias("items"))
               .withColumn("basket", F.xxhash64("sale"))
               .select("store_id", "basket", "t", "items"))
    from pyspark import StorageLevel

    baskets = baskets.persist(StorageLevel.MEMORY_AND_DISK)
    names = {i: s for s, i in ids.items()}
    regs = {i: region_of.get(r["store"], r["region"]) for r in store_rows
            for i in [ids[r["store"]]]}
    prods = {ids[s]: dict(p) for s, p in (products or {}).items() if s in ids}
    sources = {i: f"{pattern} ({layout.store_col} = {s})" for s, i in ids.items()}
    def tune_group(key, pdf):  # type: ignore[no-untyped-def]  # (a plain function for Spark)
        return _tune_group_task(settings, tune, names, regs, prods, sources, key, pdf)

    metas = baskets.groupBy("store_id").applyInPandas(tune_group,
                                                      "store_id int, meta string").collect()
    stores = {int(r["store_id"]): StoreMeta.from_json(r["meta"]) for r in metas}
    return ChainSales(baskets=baskets, stores=stores)


__all__ = ["BASKETS_SCHEMA", "ChainSales", "FileLayout", "StoreMeta", "StoreSpec", "TuneFn",
           "read_files", "read_tills", "store_meta", "tuned_settings"]
