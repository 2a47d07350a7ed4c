"""``possuggest evaluate``: offline suggestion quality on the till's history or a sales file,
the engine against the textbook baselines on the same cases."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable
from typing import Any

from possuggest.cli.progressbar import ProgressBar
from possuggest.core.errors import PossuggestError
from possuggest.services.context import AppContext

log = logging.getLogger(__name__)


def _cols(text: str | None) -> list[str] | None:
    return [c.strip() for c in text.split(",") if c.strip()] if text else None


def load_history(args: argparse.Namespace, ctx: AppContext
                 ) -> tuple[Any, list[str], tuple[Any, dict[str, Any]] | None]:
    """The baskets to evaluate on: the named file, else the till database. With the till,
    also its plan and catalogue (for the counter sanity); None for a sales file."""
    if args.file:
        from possuggest.evaluation.datasets import read_sales_file

        loaded = read_sales_file(args.file, args.format, ticket_cols=_cols(args.ticket_col),
                                 item_col=args.item_col, time_cols=_cols(args.time_col),
                                 time_format=args.time_format, delimiter=args.delimiter,
                                 qty_col=args.qty_col)
        return loaded.tx, [loaded.summary(), *loaded.notes], None
    from possuggest.services import app
    from possuggest.till.reader import TillReader

    plan = app.prepare(ctx, bool(getattr(args, "verbose", False)))
    with TillReader(plan.till_path, plan.till_settings) as till:
        tx = till.read_transactions(None)        # the whole history: more cases
        products = till.read_products()
    return (tx, [f"{plan.till_path}: {tx.n_baskets:,} closed sales, {tx.n_items:,} products"],
            (plan, products))


def counter_sanity_of(tx: Any, plan: Any, products: dict[str, Any],
                      progress: Any = None) -> Any:
    """The counter sanity of the cards the panel would show after a refresh over this whole
    history (at the time of its newest sale, so the figures do not depend on the clock),
    with the demo store's ground truth when the till has it."""
    from possuggest.evaluation.sanity import (
        build_engine,
        counter_sanity,
        newest_time,
        read_ground_truth,
    )

    engine = build_engine(tx, products, plan.settings.mining, plan.settings.policy,
                          progress=progress)
    return counter_sanity(products, engine, read_ground_truth(plan.till_path), tx=tx,
                          when=newest_time(tx))


def run_evaluate(args: argparse.Namespace, ctx: AppContext) -> int:
    from possuggest.evaluation.engine_recommender import EngineRecommender
    from possuggest.evaluation.harness import default_baselines, evaluate

    if args.max_cases is not None and args.max_cases < 1:
        raise PossuggestError("--max-cases must be at least 1")
    if args.seed < 0:
        raise PossuggestError(f"--seed must be 0 or more, got {args.seed}")
    tx, notes, till = load_history(args, ctx)
    if tx.n_baskets == 0:
        raise PossuggestError("no baskets to evaluate")
    for note in notes:
        sys.stderr.write(note + "\n")
    bar = ProgressBar()
    recs = [EngineRecommender(ctx.settings.mining, ctx.settings.policy),
            *default_baselines(seed=args.seed)]
    report = evaluate(tx, recs, seed=args.seed, max_cases=args.max_cases,
                      progress=None if args.quiet else bar)
    sanity = None
    if till is not None and till[1]:       # the till, with a catalogue: how the cards read
        sanity = counter_sanity_of(tx, till[0], till[1], None if args.quiet else bar)
    bar.done()
    if args.json:
        if sanity is None:
            sys.stdout.write(report.to_json_text(indent=None) + "\n")
        else:
            sys.stdout.write(json.dumps({**report.to_json(), "sanity": sanity.to_dict()})
                             + "\n")
    else:
        sys.stdout.write(report.to_table() + "\n")
        if sanity is not None:
            sys.stdout.write("\n" + sanity.to_text() + "\n")
    return 0


def add_evaluate_parser(sub: Any, add_globals: Callable[[argparse.ArgumentParser], None]) -> None:
    p = sub.add_parser(
        "evaluate", help="measure suggestion quality offline (engine vs baselines)",
        description="Hide one item of each later basket, suggest from the rest, and score "
                    "HR@1/3/5, MRR@10 and coverage for the engine and the baselines (most "
                    "popular, mlxtend rules by confidence, item-kNN) on the same cases. "
                    "Without FILE, the till database's history is used.")
    add_globals(p)
    p.add_argument("file", nargs="?", help="sales file, a regular file of at most 1 GiB "
                                           "(default: the till database)")
    p.add_argument("--format", choices=("baskets", "long", "fimi"),
                   help="file layout (default: detected)")
    p.add_argument("--ticket-col", help="long format: ticket column(s), comma-separated")
    p.add_argument("--item-col", help="long format: item column")
    p.add_argument("--time-col", help="long format: time column(s), e.g. Date,Time")
    p.add_argument("--time-format", help="strptime format when dates are ambiguous, e.g. %%d-%%m-%%Y")
    p.add_argument("--qty-col", help="long format: quantity column; lines of 0 or less (returns)"
                                     " are left out (default: a column named Quantity or Qty)")
    p.add_argument("--delimiter", help="field separator (default: sniffed)")
    p.add_argument("--seed", type=int, default=42, help="split and hidden-item seed (default 42)")
    p.add_argument("--max-cases", type=int, default=200_000,
                   help="evaluate a seeded sample of at most this many cases (default "
                        "%(default)s, which keeps very large histories to minutes; the report "
                        "says when it sampled)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run_evaluate)
