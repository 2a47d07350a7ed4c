"""Refresh: read closed sales from the till, mine a new rule set, activate it in one go.

A plain function with ``progress`` and ``cancelled`` callables: the CLI draws a progress bar
from it, the GUI runs it in a worker thread.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from possuggest.core.config import MiningSettings, Settings
from possuggest.core.progress import CancelledFn, ProgressFn, check_cancelled, sub_range
from possuggest.core.transactions import Transactions
from possuggest.store.rule_store import RuleSetInfo, RuleStore
from possuggest.till.reader import TillReader

log = logging.getLogger(__name__)

TuneFn = Callable[[Transactions, Settings, ProgressFn | None, CancelledFn | None],
                  tuple[MiningSettings, dict[str, Any]]]
"""``tune(tx, settings, progress, cancelled) -> (mining settings, params)``: chooses the
ranking's parameters on the window's own sales (possuggest.evaluation.tuning.tune_for_refresh);
the rules are then mined with the returned settings and ``params`` ({"scoring": …,
"tuning": …}) is kept with the rule set."""


@dataclass(frozen=True)
class RefreshSummary:
    rule_set_id: int
    n_baskets: int
    n_items: int
    n_cross: int
    n_upgrade: int
    seconds: float
    window_start: str | None
    window_end: str | None

    def text(self) -> str:
        return (f"rule set {self.rule_set_id} active: {self.n_cross:,} cross-sell and "
                f"{self.n_upgrade:,} upgrade rules from {self.n_baskets:,} sales "
                f"({self.n_items:,} products) in {self.seconds:.1f} s")


def _iso(t: float) -> str | None:
    """Wall-clock seconds back to the till's naive ISO text."""
    if np.isnan(t):
        return None
    return datetime.fromtimestamp(t, tz=timezone.utc).replace(tzinfo=None).isoformat(
        timespec="seconds")


def refresh(till_path: str | Path, store_path: str | Path, settings: Settings,
            progress: ProgressFn | None = None,
            cancelled: CancelledFn | None = None,
            tune: TuneFn | None = None) -> RefreshSummary:
    """Mine the till's sales into a new active rule set. Opens its own connections (so it can
    run in any thread). The previous set stays active until the new one is complete.
    ``tune`` (unless ``mining.tune`` is false) runs between reading and mining."""
    from possuggest.mining.miner import mine_rules  # heavy imports: pandas, mlxtend

    started = time.perf_counter()

    def stage(lo: float, hi: float) -> ProgressFn:
        return sub_range(progress, lo, hi, cancelled, "refresh cancelled")

    # the reader checks ``cancelled`` inside every till query too: a cancel (or the panel's
    # exit) stops even a mapped query that never ends
    with TillReader(till_path, settings.till, cancelled=cancelled) as till:
        products = till.read_products()
        tx = till.read_transactions(settings.mining.window_days, stage(0.0, 0.35), cancelled)
    mining, mine_from = settings.mining, 0.35
    tuned: dict[str, Any] = {}
    if tune is not None and settings.mining.tune:
        mining, tuned = tune(tx, settings, stage(0.35, 0.55), cancelled)
        mine_from = 0.55
    elif tune is not None:
        tuned = {"tuning": {"status": "off"}}
    result = mine_rules(tx, mining, products, stage(mine_from, 0.9), cancelled)
    stage(0.9, 1.0)(0.0, "saving rule set")
    times = tx.basket_time if tx.basket_time is not None and tx.n_baskets else np.array([np.nan])
    w_start = _iso(float(np.nanmin(times))) if not np.all(np.isnan(times)) else None
    w_end = _iso(float(np.nanmax(times))) if not np.all(np.isnan(times)) else None
    info = RuleSetInfo(source=str(till_path), n_baskets=tx.n_baskets, n_items=tx.n_items,
                       n_cross=result.n_cross, n_upgrade=result.n_upgrade,
                       window_start=w_start, window_end=w_end,
                       seconds=time.perf_counter() - started,
                       params={**asdict(mining), **tuned}, notes=result.notes)
    check_cancelled(cancelled, "refresh cancelled")
    store = RuleStore(store_path)
    try:
        rs_id = store.write_rule_set(result.rules, result.item_counts, products.values(), info,
                                     keep=settings.mining.keep_rule_sets,
                                     context_counts=result.context_counts)
    finally:
        store.close()
    summary = RefreshSummary(rs_id, tx.n_baskets, tx.n_items, result.n_cross, result.n_upgrade,
                             time.perf_counter() - started, w_start, w_end)
    if progress is not None:
        progress(1.0, "done")
    log.info("%s", summary.text())
    return summary
