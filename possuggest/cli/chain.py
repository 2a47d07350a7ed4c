"""``possuggest chain mine`` (head office: every store's sales on Apache Spark → one rule pack
per store) and ``possuggest rules import PACK`` (a store: load its pack, blended with the
chain's evidence where its own is thin)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from possuggest.cli.progressbar import ProgressBar
from possuggest.core.errors import PossuggestError
from possuggest.services.context import AppContext


def _pairs(values: list[str] | None, option: str) -> list[tuple[str, str]]:
    """``NAME=VALUE`` options, split at the first '='."""
    out = []
    for v in values or []:
        name, sep, value = v.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise PossuggestError(f"{option} takes NAME=VALUE, got {v!r}")
        out.append((name.strip(), value.strip()))
    return out


def _catalogue(path: str) -> dict[str, Any]:
    """A catalogue CSV (sku, name, category, family, price[, cost, stock, active])."""
    import csv

    from possuggest.core.products import Product

    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise PossuggestError(f"cannot read the catalogue {path}: {exc.strerror or exc}") \
            from None
    if not rows or "sku" not in rows[0]:
        raise PossuggestError(f"{path}: a catalogue needs a header with sku, name, category, "
                              "family, price")
    out = {}
    for k, r in enumerate(rows, 2):
        try:
            p = Product.from_row(r["sku"], r.get("name"), r.get("category"), r.get("family"),
                                 r.get("price") or 0, r.get("cost") or None,
                                 r.get("stock") or None, r.get("active") or None)
        except ValueError as exc:
            raise PossuggestError(f"{path} line {k}: {exc}") from None
        out[p.sku] = p
    return out


def cmd_chain_mine(args: argparse.Namespace, ctx: AppContext) -> int:
    from possuggest.chain.job import FileSource, mine_chain
    from possuggest.chain.sources import FileLayout, StoreSpec
    from possuggest.core.logsetup import setup_logging
    from possuggest.evaluation.tuning import tune_for_refresh

    setup_logging(None, bool(getattr(args, "verbose", False)))
    stores = [StoreSpec(name, till) for name, till in _pairs(args.store, "--store")]
    regions = dict(_pairs(args.region, "--region"))
    conf = dict(_pairs(args.conf, "--conf"))
    if args.sales_files and stores:
        raise PossuggestError("give --store NAME=TILL or --sales-files, not both")
    if not args.sales_files and not stores:
        raise PossuggestError("nothing to mine: give --store NAME=TILL (repeat it per store) "
                              "or --sales-files GLOB --store-col COL")
    for s in stores:
        if "://" not in s.till and not Path(s.till).exists():
            raise PossuggestError(f"--store {s.name}: no till database at {s.till}")
    unknown = sorted(set(regions) - {s.name for s in stores}) if stores else []
    if unknown:
        raise PossuggestError(f"--region names a store not given with --store: "
                              f"{', '.join(unknown)}")
    files = None
    if args.sales_files:
        if not args.store_col:
            raise PossuggestError("--sales-files needs --store-col (the column naming the store)")
        layout = FileLayout(store_col=args.store_col, sale_col=args.sale_col,
                            sku_col=args.sku_col, time_col=args.time_col, qty_col=args.qty_col,
                            region_col=args.region_col, format=args.format)
        files = FileSource(args.sales_files, layout,
                           _catalogue(args.catalogue) if args.catalogue else {})
    elif args.catalogue:
        raise PossuggestError("--catalogue goes with --sales-files (a till has its own)")
    if args.threads < 1:
        raise PossuggestError(f"--threads must be at least 1, got {args.threads}")
    bar = None if args.quiet else ProgressBar()
    summary = mine_chain(args.out, ctx.settings, stores=stores, files=files, regions=regions,
                         master=args.master, conf=conf, work_dir=args.work_dir,
                         tune=tune_for_refresh, fpgrowth_threads=args.threads, progress=bar)
    if bar is not None:
        bar.done()
    if args.json:
        sys.stdout.write(json.dumps({
            "packs": [str(p) for p in summary.packs], "stores": summary.n_stores,
            "sales": summary.n_baskets, "regions": summary.n_regions,
            "seconds": round(summary.seconds, 2),
            "stages": {k: round(v, 2) for k, v in summary.stages.items()},
            "rules": summary.rules}) + "\n")
        return 0
    sys.stdout.write(summary.text() + "\n")
    for p in summary.packs:
        sys.stdout.write(f"  {p}\n")
    return 0


def cmd_rules_import(args: argparse.Namespace, ctx: AppContext) -> int:
    from possuggest.chain.importer import BlendSettings, import_pack
    from possuggest.services.app import start_logging

    start_logging(ctx, bool(getattr(args, "verbose", False)))
    blend = BlendSettings(enabled=not args.no_blend, min_count=args.blend_min_count,
                          strength=args.blend_strength,
                          popularity_strength=args.blend_popularity)
    summary = import_pack(args.pack, ctx.paths.rules_db, keep=ctx.settings.mining.keep_rule_sets,
                          settings=blend)
    if args.json:
        sys.stdout.write(json.dumps({
            "rule_set_id": summary.rule_set_id, "store": summary.store,
            "active": summary.active, "cross": summary.n_cross, "upgrade": summary.n_upgrade,
            "blended_products": summary.n_thin, "borrowed_rules": summary.n_borrowed,
            "checksum": summary.checksum}) + "\n")
        return 0
    sys.stdout.write(summary.text() + "\n")
    return 0


def add_chain_parser(sub: Any, add_globals: Callable[[argparse.ArgumentParser], None]) -> None:
    """``possuggest chain mine``."""
    chain = sub.add_parser("chain", help="head office: mine every store's sales on Apache Spark",
                           description="Mine a chain's stores together on Apache Spark and "
                                       "write one rule pack per store (needs "
                                       "'pip install possuggest[spark]' and Java 17+).")
    add_globals(chain)
    actions = chain.add_subparsers(dest="chain_command", metavar="ACTION", required=True)
    p = actions.add_parser(
        "mine", help="mine the stores' sales into OUT/NAME.pack per store",
        description="Reads every store's sales (their tills, or exported sales files with a "
                    "store column), mines each store's rules exactly as its own refresh "
                    "would, plus each region's and the chain's, and writes OUT/NAME.pack per "
                    "store for 'possuggest rules import'. The [till] and [mining] settings of "
                    "the config apply to every store.")
    add_globals(p)
    p.add_argument("--store", action="append", metavar="NAME=TILL",
                   help="a store and its till database: a file, or a server till's URL "
                        "(postgresql://…, mysql+pymysql://…); repeat per store")
    p.add_argument("--region", action="append", metavar="NAME=REGION",
                   help="the store's region (repeat); rules are mined per region too")
    p.add_argument("--sales-files", metavar="GLOB",
                   help="exported sales lines (Parquet or CSV; any path Spark reads: a "
                        "folder, a glob, hdfs://, s3a://) instead of tills")
    p.add_argument("--store-col", metavar="COL", help="sales files: the store column")
    p.add_argument("--sale-col", default="sale_id", metavar="COL",
                   help="sales files: the sale (receipt) column (default %(default)s)")
    p.add_argument("--sku-col", default="sku", metavar="COL",
                   help="sales files: the product column (default %(default)s)")
    p.add_argument("--time-col", default="closed_at", metavar="COL",
                   help="sales files: the sale's time (default %(default)s)")
    p.add_argument("--qty-col", metavar="COL",
                   help="sales files: quantity; lines of 0 or less (returns) are left out")
    p.add_argument("--region-col", metavar="COL", help="sales files: the region column")
    p.add_argument("--format", choices=("parquet", "csv"),
                   help="sales files' format (default: from the name; else Parquet)")
    p.add_argument("--catalogue", metavar="CSV",
                   help="sales files: the chain's catalogue (sku,name,category,family,price,"
                        "...), for upgrades and the packs")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the rule packs")
    p.add_argument("--master", metavar="URL",
                   help="Spark master: local[*] (default), local[N], spark://HOST:7077, yarn, "
                        "k8s://...; under spark-submit its own master is used")
    p.add_argument("--conf", action="append", metavar="KEY=VALUE",
                   help="a Spark setting (repeat), e.g. spark.driver.memory=8g")
    p.add_argument("--work-dir", metavar="URL",
                   help="where Spark keeps intermediate rules (default: a folder in DIR, "
                        "removed after; on a cluster, a path every node reaches, e.g. hdfs://)")
    p.add_argument("--threads", type=int, default=2,
                   help="FPGrowth runs at once, one per store/region (default %(default)s)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_chain_mine)


def add_rules_import(rules: argparse.ArgumentParser,
                     add_globals: Callable[[argparse.ArgumentParser], None]) -> None:
    """``possuggest rules import PACK`` under the existing ``rules`` command."""
    actions = rules.add_subparsers(dest="rules_command", metavar="[import PACK]",
                                   required=False)
    p = actions.add_parser(
        "import", help="load a rule pack from head office as a new rule set",
        description="Verify a rule pack (format, version, checksum: a bad pack changes "
                    "nothing), then load it as a new rule set, kept in the history "
                    "('possuggest rollback' goes back). Where this store has sold a product "
                    "in fewer than --blend-min-count sales, its rules are blended with the "
                    "region's or chain's (a prior worth --blend-strength sales).")
    add_globals(p)
    p.add_argument("pack", help="the store's rule pack (NAME.pack)")
    p.add_argument("--no-blend", action="store_true",
                   help="load the store's own rules only (what its refresh would mine)")
    p.add_argument("--blend-min-count", type=int, default=50, metavar="K",
                   help="a product's own rules stand alone from K of its sales (default "
                        "%(default)s)")
    p.add_argument("--blend-strength", type=float, default=20.0, metavar="M",
                   help="the chain's confidence counts as M sales (default %(default)s)")
    p.add_argument("--blend-popularity", type=float, default=1000.0, metavar="M",
                   help="the chain's item shares count as M sales (default %(default)s; "
                        "0 = the store's own)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_rules_import)
