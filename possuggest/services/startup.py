"""What the panel runs at start-up, as plain (Qt-free) functions for a worker thread:
which till to watch (the demo store or the configured till), building the demo store when
it is absent, refreshing rules when there is no active set, and loading the engine.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from possuggest.core.config import Settings, TillSettings
from possuggest.core.errors import TillError
from possuggest.services.context import AppContext

log = logging.getLogger(__name__)

DEMO_SALES = 50_000
DEMO_SEED = 7


@dataclass(frozen=True)
class Plan:
    """Where this panel reads from and writes to."""

    demo: bool                  # the demo store with its till simulator
    till_path: Path
    till_settings: TillSettings
    rules_db: Path              # rule sets and events
    settings: Settings          # as used by refresh (till section matches till_settings)
    demo_sales: int = DEMO_SALES
    demo_seed: int = DEMO_SEED

    @property
    def register(self) -> str:
        return self.till_settings.register


def make_plan(ctx: AppContext, force_demo: bool = False, demo_sales: int = DEMO_SALES,
              demo_seed: int = DEMO_SEED) -> Plan:
    """The demo runs when no till is configured, or when forced (``--demo``).

    A forced demo beside a configured till uses the demo store in the data folder with the
    reference schema, and keeps its rules and events in a separate database, so the store's
    own rule sets and measures are never mixed with demo data.
    """
    settings = ctx.settings
    if ctx.uses_demo or force_demo:
        till_settings = TillSettings(register=settings.till.register or "1",
                                     busy_timeout_ms=settings.till.busy_timeout_ms)
        rules_db = ctx.paths.rules_db if ctx.uses_demo else ctx.paths.data_dir / "demo-possuggest.db"
        return Plan(True, ctx.paths.demo_till_db, till_settings, rules_db,
                    dataclasses.replace(settings, till=till_settings), demo_sales, demo_seed)
    return Plan(False, ctx.till_path, settings.till, ctx.paths.rules_db, settings,
                demo_sales, demo_seed)


def build_demo(plan: Plan, progress: Any = None, cancelled: Any = None) -> None:
    from possuggest.demo.generator import build_demo_store

    log.info("creating the demo store at %s (%d sales)", plan.till_path, plan.demo_sales)
    build_demo_store(plan.till_path, sales=plan.demo_sales, seed=plan.demo_seed,
                     progress=progress, cancelled=cancelled)


def demo_model(plan: Plan) -> Any:
    from possuggest.demo.generator import DemoStoreModel

    return DemoStoreModel(plan.demo_seed)


def ensure_store(plan: Plan, attempts: int = 5) -> None:
    """Create possuggest's database once, before the event writer opens it too: two
    connections creating a fresh WAL database at the same moment can fail with "locked"."""
    import time

    from possuggest.core.errors import RuleStoreError
    from possuggest.store.rule_store import RuleStore

    for attempt in range(attempts):
        try:
            RuleStore(plan.rules_db).close()
            return
        except RuleStoreError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.1 * (attempt + 1))


def has_active_rules(plan: Plan) -> bool:
    from possuggest.store.rule_store import RuleStore

    with RuleStore(plan.rules_db) as store:
        return store.active_rule_set() is not None


def run_refresh(plan: Plan, progress: Any = None, cancelled: Any = None) -> Any:
    from possuggest.mining.refresh import refresh

    return refresh(plan.till_path, plan.rules_db, plan.settings, progress=progress,
                   cancelled=cancelled)


def read_products(plan: Plan) -> dict[str, Any] | None:
    from possuggest.till.reader import TillReader

    try:
        with TillReader(plan.till_path, plan.till_settings) as till:
            return till.read_products()
    except TillError as exc:
        log.warning("using the rule set's product snapshot: %s", exc)
        return None


def load_engine(plan: Plan) -> Any:
    """The engine over the active rule set (an empty engine when there is none yet), with
    live stock from the till when it is readable."""
    from possuggest.serving.engine import SuggestionEngine
    from possuggest.store.rule_store import RuleStore

    with RuleStore(plan.rules_db) as store:
        arrays = store.load_active()
    products = read_products(plan) if arrays is not None else None
    return SuggestionEngine(arrays, products=products, policy=plan.settings.policy)


def engine_with_products(engine: Any, products: dict[str, Any], plan: Plan) -> Any:
    """A new engine over the same rule set with fresh stock and prices (built off-thread and
    swapped in, so a suggest() running in the API thread never sees a half-updated engine)."""
    from possuggest.serving.engine import SuggestionEngine

    return SuggestionEngine(engine.rules, products=products, policy=engine.policy,
                            scoring=engine.scoring)
