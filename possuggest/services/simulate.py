"""``possuggest simulate --sales N``: the demo till run headless into possuggest's database,
with simulated customers whose acceptance is known, so that ``possuggest report`` can be
checked against the true uplift (possuggest/demo/sales_simulation.py)."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

from possuggest.core.config import TillSettings
from possuggest.core.errors import PossuggestError
from possuggest.core.progress import CancelledFn, ProgressFn, sub_range
from possuggest.services import app
from possuggest.services.context import AppContext

log = logging.getLogger(__name__)


def sales_plan(ctx: AppContext, folder: Path | None = None) -> app.Plan:
    """Where the simulated sales go: the data folder's demo store and database, or
    ``folder`` (a demo store and ``possuggest.db`` there, made on first use). Never a data
    folder that serves a configured till: its report must hold only real sales."""
    if folder is None:
        if not ctx.uses_demo:
            raise PossuggestError(
                f"this data folder serves the till {ctx.till_path}: simulated sales go only "
                "into a demo store's database; give --dir DIR (then 'possuggest --data-dir "
                "DIR report'), or another --data-dir")
        return app.make_plan(ctx)
    folder = Path(folder)
    if not ctx.uses_demo and folder.resolve() == ctx.paths.data_dir.resolve():
        raise PossuggestError(f"{folder} is the data folder of the till {ctx.till_path}: "
                              "simulated sales never go there; give another folder")
    till = TillSettings(register="1")
    return app.Plan(True, folder / "demo-till.db", till, folder / "possuggest.db",
                    dataclasses.replace(ctx.settings, till=till))


def simulate_sales(ctx: AppContext, n_sales: int, seed: int = 7, folder: Path | None = None,
                   sales_per_day: int = 200, verbose: bool = False,
                   progress: ProgressFn | None = None,
                   cancelled: CancelledFn | None = None) -> Any:
    """Build the demo store and its rules when missing, then ring up ``n_sales`` simulated
    sales through the engine (the config's policy and holdout share) into the plan's
    possuggest database. Returns the demo's SalesRunResult (true uplift included)."""
    from possuggest.demo.sales_simulation import simulate_sales as run

    if n_sales < 1:
        raise PossuggestError(f"--sales must be at least 1, got {n_sales}")
    if sales_per_day < 1:
        raise PossuggestError(f"--sales-per-day must be at least 1, got {sales_per_day}")
    if seed < 0:
        raise PossuggestError(f"--seed must be 0 or more, got {seed}")
    plan = sales_plan(ctx, folder)
    app.start_logging(ctx, verbose)
    plan.till_path.parent.mkdir(parents=True, exist_ok=True)
    if not plan.till_path.exists():
        app.build_demo(plan, sub_range(progress, 0.0, 0.1, cancelled))
    app.ensure_store(plan)
    if not app.has_active_rules(plan):
        app.run_refresh(plan, sub_range(progress, 0.1, 0.3, cancelled), cancelled)
    engine = app.load_engine(plan)
    share = plan.settings.holdout.share
    if share <= 0:
        log.warning("holdout.share is 0: no holdout sales, so the report cannot measure the "
                    "uplift")
    return run(engine, app.demo_model(plan), plan.rules_db, n_sales, seed=seed,
               holdout_share=share, till=plan.till_path, sales_per_day=sales_per_day,
               progress=sub_range(progress, 0.3, 1.0, cancelled), cancelled=cancelled)


__all__ = ["sales_plan", "simulate_sales"]
