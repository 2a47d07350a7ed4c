"""The application's use cases, shared by the CLI, ``serve`` and the panel.

Each function takes the :class:`~possuggest.services.context.AppContext` (or the
:class:`Plan` made from it) and does one job: decide which till and rule database to use,
check the till, build the demo store, refresh, load the engine, list and roll back rule sets,
answer a basket, report where everything is. Long jobs take ``progress`` and ``cancelled``
callables. Nothing here prints or knows about Qt; heavy imports stay inside the functions.
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from possuggest.core.config import (
    FeedbackSettings,
    HoldoutSettings,
    PolicySettings,
    Settings,
    TillSettings,
)
from possuggest.core.errors import PossuggestError, RuleStoreError, TillError
from possuggest.core.logsetup import setup_logging
from possuggest.core.progress import CancelledFn, ProgressFn
from possuggest.services.context import AppContext

log = logging.getLogger(__name__)

DEMO_SALES = 50_000
DEMO_SEED = 7


class UnknownSku(PossuggestError):
    """A SKU given on the command line is not in the catalogue or the rules."""


@dataclass(frozen=True)
class Plan:
    """Where this process reads from and writes to."""

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

    def with_settings(self, settings: Settings) -> Plan:
        """The same plan under new settings (the till section stays the demo's in a demo)."""
        till = self.till_settings if self.demo else settings.till
        return dataclasses.replace(self, settings=dataclasses.replace(settings, till=till),
                                   till_settings=till)


def make_plan(ctx: AppContext, force_demo: bool = False, demo_sales: int = DEMO_SALES,
              demo_seed: int = DEMO_SEED) -> Plan:
    """The demo runs only when no till is configured, or when forced (``--demo``).

    With no till configured the demo store lives in the data folder, unless that folder has
    served a configured till (then :class:`DataFolderInUse` is raised: the demo never writes
    into a real store's folder). A forced demo beside a configured till keeps everything in
    the ``demo`` sub-folder, so the store's own rule sets and events never mix with demo data.
    """
    settings = ctx.settings
    if ctx.uses_demo or force_demo:
        till_settings = TillSettings(register=settings.till.register or "1",
                                     busy_timeout_ms=settings.till.busy_timeout_ms,
                                     query_timeout_s=settings.till.query_timeout_s)
        if ctx.uses_demo:
            ctx.check_demo_allowed()
            till_path, rules_db = ctx.paths.demo_till_db, ctx.paths.rules_db
        else:
            folder = ctx.paths.data_dir / "demo"
            till_path, rules_db = folder / "demo-till.db", folder / "possuggest.db"
        return Plan(True, till_path, till_settings, rules_db,
                    dataclasses.replace(settings, till=till_settings), demo_sales, demo_seed)
    if ctx.till_override is not None and settings.till.url:
        # --till-db names a file: it is read, not the configured server
        settings = dataclasses.replace(settings,
                                       till=dataclasses.replace(settings.till, url=""))
    return Plan(False, ctx.till_path, settings.till, ctx.paths.rules_db, settings,
                demo_sales, demo_seed)


# -- the till ---------------------------------------------------------------------------------
def check_till(plan: Plan) -> None:
    """Open the till read-only once: exists, is SQLite, not locked, columns present."""
    from possuggest.till.reader import TillReader

    TillReader(plan.till_path, plan.till_settings).connect().close()


def read_products(plan: Plan) -> dict[str, Any] | None:
    from possuggest.till.reader import TillReader

    try:
        with TillReader(plan.till_path, plan.till_settings) as till:
            return till.read_products()
    except TillError as exc:
        log.warning("using the rule set's product snapshot: %s", exc)
        return None


def build_demo(plan: Plan, progress: ProgressFn | None = None,
               cancelled: CancelledFn | None = None) -> None:
    from possuggest.demo.generator import build_demo_store

    log.info("creating the demo store at %s (%d sales)", plan.till_path, plan.demo_sales)
    plan.till_path.parent.mkdir(parents=True, exist_ok=True)
    build_demo_store(plan.till_path, sales=plan.demo_sales, seed=plan.demo_seed,
                     progress=progress, cancelled=cancelled)


def demo_model(plan: Plan) -> Any:
    from possuggest.demo.generator import DemoStoreModel

    return DemoStoreModel(plan.demo_seed)


def start_logging(ctx: AppContext, verbose: bool = False) -> None:
    """Create the data folder and the rotating log file (only after input has been checked)."""
    ctx.paths.ensure()
    setup_logging(ctx.paths.log_file, verbose, paths=ctx.paths)   # first start: where it all is


def prepare(ctx: AppContext, verbose: bool = False, needs_till: bool = True,
            progress: ProgressFn | None = None) -> Plan:
    """What every command that reads the till does first: check a configured till before
    anything is written anywhere, start logging, build the demo store on first use."""
    plan = make_plan(ctx)
    if needs_till and not plan.demo:
        check_till(plan)
    start_logging(ctx, verbose)
    _open_store(plan.rules_db).close()      # a damaged one is moved aside and rebuilt
    if not plan.demo:
        ctx.claim_for_till()
    ctx.remember_good_settings()
    if needs_till and plan.demo:
        if not plan.till_path.exists():
            log.warning("No till configured: creating the demo store at %s", plan.till_path)
            build_demo(plan, progress)
        check_till(plan)
    return plan


# -- possuggest's own database ------------------------------------------------------------------
REMINE = "rules are mined again from the till"


def _open_store(path: Path, thorough: bool = False, damaged: Any = None,
                then: str = REMINE) -> Any:
    """possuggest's database; a damaged one is moved aside and a new one made first, and a
    warning (one line, on stderr for commands) says so and what happens ``then``."""
    from possuggest.store.rule_store import RuleStore

    store, note = RuleStore.open_or_recover(path, thorough=thorough, damaged=damaged)
    if note:
        log.warning("%s; %s", note, then)
    return store


def _read_store(path: Path, read: Any, then: str = REMINE) -> Any:
    """``read(store)`` on possuggest's database; when damage only shows while reading, the
    database is moved aside and rebuilt, and ``read`` runs again on the new, empty one."""
    from possuggest.store.rule_store import StoreDamaged

    try:
        with _open_store(path, then=then) as store:
            return read(store)
    except StoreDamaged as exc:
        with _open_store(path, damaged=exc, then=then) as store:
            return read(store)


def ensure_store(plan: Plan, attempts: int = 5) -> str | None:
    """Create possuggest's database once, before the event writer opens it too (two
    connections creating a fresh WAL database at the same moment can fail with "locked"),
    and check it page by page: a damaged one is moved aside and a new, empty one made.
    Returns the one-line note saying so, else None."""
    from possuggest.store.rule_store import RuleStore, StoreDamaged

    for attempt in range(attempts):
        try:
            store, note = RuleStore.open_or_recover(plan.rules_db, thorough=True)
            store.close()
            if note:
                log.warning("%s", note)
            return note
        except RuleStoreError as exc:
            if isinstance(exc, StoreDamaged) or "locked" not in str(exc) \
                    or attempt == attempts - 1:
                raise
            time.sleep(0.1 * (attempt + 1))
    return None


def has_active_rules(plan: Plan) -> bool:
    return bool(_read_store(plan.rules_db, lambda store: store.active_rule_set() is not None))


@dataclass(frozen=True)
class RefreshOutcome:
    """A finished refresh: its summary, and the pinned set that stayed active, if any."""

    summary: Any                # mining.refresh.RefreshSummary
    pinned: int | None = None

    @property
    def n_cross(self) -> int:
        return int(self.summary.n_cross)

    @property
    def n_upgrade(self) -> int:
        return int(self.summary.n_upgrade)

    @property
    def n_baskets(self) -> int:
        return int(self.summary.n_baskets)

    def text(self) -> str:
        s = self.summary
        if self.pinned is None:
            return str(s.text())
        return (f"rule set {s.rule_set_id} saved but not active: rule set {self.pinned} is "
                f"pinned by a rollback ('possuggest rollback --release' makes the newest active)"
                f"; {s.n_cross:,} cross-sell and {s.n_upgrade:,} upgrade rules from "
                f"{s.n_baskets:,} sales in {s.seconds:.1f} s")


def run_refresh(plan: Plan, progress: ProgressFn | None = None,
                cancelled: CancelledFn | None = None) -> RefreshOutcome:
    """Mine the till into a new rule set; it becomes active unless a rollback pinned one.
    The ranking's parameters are tuned on the store's own sales first (``mining.tune``)."""
    from possuggest.evaluation.tuning import tune_for_refresh
    from possuggest.mining.refresh import refresh
    from possuggest.store.rule_store import StoreDamaged

    try:
        summary = refresh(plan.till_path, plan.rules_db, plan.settings, progress=progress,
                          cancelled=cancelled, tune=tune_for_refresh)
    except StoreDamaged as exc:         # found while saving: move it aside, mine again
        _open_store(plan.rules_db, damaged=exc).close()
        summary = refresh(plan.till_path, plan.rules_db, plan.settings, progress=progress,
                          cancelled=cancelled, tune=tune_for_refresh)
    pinned = _read_store(plan.rules_db, lambda store: store.pinned_rule_set())
    return RefreshOutcome(summary, pinned)


# -- the engine -----------------------------------------------------------------------------------
def load_engine(plan: Plan, products: Mapping[str, Any] | None = None) -> Any:
    """The engine over the active rule set (an empty engine when there is none yet), with
    live stock from the till when it is readable."""
    from possuggest.serving.engine import SuggestionEngine

    arrays = _read_store(plan.rules_db, lambda store: store.load_active())
    if arrays is not None and products is None:
        products = read_products(plan)
    feedback = None if arrays is None else read_feedback(plan.rules_db, plan.settings.feedback)
    return SuggestionEngine(arrays, products=products, policy=plan.settings.policy,
                            feedback=feedback)


def engine_with_products(engine: Any, products: Mapping[str, Any]) -> Any:
    """A new engine over the same rule set with fresh stock and prices (built off-thread and
    swapped in, so a suggest() running in the API thread never sees a half-updated engine)."""
    from possuggest.serving.engine import SuggestionEngine

    return SuggestionEngine(engine.rules, products=products, policy=engine.policy,
                            scoring=engine.scoring, feedback=engine.feedback)


def engine_with_policy(engine: Any, policy: PolicySettings) -> Any:
    """A new engine over the same rule set and products under the manager's new policy."""
    from possuggest.serving.engine import SuggestionEngine

    return SuggestionEngine(engine.rules, products=engine.products or None, policy=policy,
                            scoring=engine.scoring, feedback=engine.feedback)


# -- learning from the counter ----------------------------------------------------------------------
def read_feedback(rules_db: Path, settings: FeedbackSettings, now: float | None = None) -> Any:
    """The counter's feedback (serving/feedback.py) from the events of the last
    ``window_days``; None when it is off, when there are too few events yet, or when the
    events cannot be read (suggestions then go without it: it is logged)."""
    from possuggest.serving.feedback import build_feedback

    if not settings.enabled:
        return None
    now = time.time() if now is None else now
    since = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(now - settings.window_days * 86400))
    try:
        counts = _read_store(rules_db, lambda store: store.feedback_counts(
            since, None, settings.half_life_days))
    except RuleStoreError as exc:
        log.warning("feedback from the counter not used: %s", exc)
        return None
    # one Thompson draw per refresh period: the cards stay put between refreshes
    return build_feedback(counts, settings, seed=int(now // (settings.refresh_minutes * 60)))


def engine_with_feedback(engine: Any, rules_db: Path, settings: FeedbackSettings,
                         now: float | None = None) -> Any:
    """A new engine over the same rule set, products and policy with fresh feedback from the
    counter; None when the events say nothing new (the current engine stays)."""
    from possuggest.serving.engine import SuggestionEngine

    if engine is None or engine.rules is None:
        return None
    feedback = read_feedback(rules_db, settings, now)
    old = engine.feedback
    if feedback is None and old is None:
        return None
    if feedback is not None and feedback.same_record(old):
        return None
    return SuggestionEngine(engine.rules, products=engine.products or None, policy=engine.policy,
                            scoring=engine.scoring, feedback=feedback)


def simulate(ctx: AppContext, weeks: int = 4, sales_per_day: int = 200, seed: int = 7,
             learn: bool = True, folder: Path | None = None,
             progress: ProgressFn | None = None, cancelled: CancelledFn | None = None) -> Any:
    """The simulated counter (possuggest/demo/simulation.py): ``weeks`` weeks of sales on a
    small demo store whose customers have a known acceptance model, the panel learning from
    them each simulated night. Runs in ``folder`` (which must not hold a simulation yet), by
    default a temporary folder removed afterwards: never the data folder. The feedback
    settings are the config's; everything else is the defaults (it is the demo's store)."""
    import tempfile

    from possuggest.demo.simulation import simulate_counter

    # learning is measured on every sale: no holdout here (--sales measures the uplift)
    settings = Settings(feedback=ctx.settings.feedback, holdout=HoldoutSettings(share=0.0))
    if folder is not None:
        own = {ctx.paths.data_dir.resolve(), ctx.paths.rules_db.parent.resolve()}
        if Path(folder).resolve() in own:
            raise PossuggestError(f"{folder} is possuggest's data folder: simulated events "
                                  "never go there; give another folder")
        Path(folder).mkdir(parents=True, exist_ok=True)
        return simulate_counter(Path(folder), weeks, sales_per_day=sales_per_day, seed=seed,
                                settings=settings, learn=learn, progress=progress,
                                cancelled=cancelled)
    with tempfile.TemporaryDirectory(prefix="possuggest-simulate-") as tmp:
        return simulate_counter(Path(tmp), weeks, sales_per_day=sales_per_day, seed=seed,
                                settings=settings, learn=learn, progress=progress,
                                cancelled=cancelled)


def load_engine_for(ctx: AppContext, plan: Plan, auto_refresh: bool = True,
                    progress: ProgressFn | None = None) -> Any:
    """For commands: the engine, refreshing first when there is no rule set yet."""
    if auto_refresh and not has_active_rules(plan):
        log.warning("No rule set yet: refreshing from the till first")
        run_refresh(plan, progress)
    engine = load_engine(plan)
    if auto_refresh and engine.rules is None:   # damage found while loading: rebuilt empty
        run_refresh(plan, progress)
        engine = load_engine(plan)
    return engine


def resolve_skus(engine: Any, skus: Sequence[str]) -> list[str]:
    """SKUs as the catalogue spells them (case-insensitive); an unknown one is an error with
    the closest codes and names offered."""
    catalogue: dict[str, str] = {}
    names: dict[str, str] = {}
    for sku, prod in (engine.products or {}).items():
        catalogue.setdefault(sku.casefold(), sku)
        names.setdefault(str(getattr(prod, "name", sku)).casefold(), sku)
    for sku, prod in (engine.products or {}).items():     # a scanned barcode is a SKU too
        code = str(getattr(prod, "barcode", "") or "")
        if code:
            catalogue.setdefault(code.casefold(), sku)
    out: list[str] = []
    for raw in skus:
        if engine.known(raw) or raw in (engine.products or {}):
            out.append(raw)
            continue
        hit = catalogue.get(raw.casefold()) or names.get(raw.casefold())
        if hit is not None:
            out.append(hit)
            continue
        close = difflib.get_close_matches(raw.casefold(), list(catalogue) + list(names), n=3,
                                          cutoff=0.6)
        offers = [catalogue.get(c) or names[c] for c in close]
        hint = ""
        if offers:
            shown = [f"{s} ({engine.name_of(s)})" if engine.name_of(s) != s else s
                     for s in dict.fromkeys(offers)]
            hint = f"; did you mean {' or '.join(shown)}?"
        raise UnknownSku(f"unknown SKU '{raw}'{hint}")
    return out


def suggest(ctx: AppContext, skus: Sequence[str], n: int | None = None,
            verbose: bool = False) -> list[Any]:
    """Suggestions for a basket, as the panel would show them."""
    if n is not None and n < 1:
        raise PossuggestError(f"-n must be at least 1, got {n}")
    plan = prepare(ctx, verbose)
    engine = load_engine_for(ctx, plan)
    basket = resolve_skus(engine, skus)
    return list(engine.suggest(basket, n=n))


# -- rule sets --------------------------------------------------------------------------------------
def _store(ctx: AppContext, verbose: bool) -> Any:
    """For the manager's commands: checked page by page, so a damaged database is moved
    aside before anything is listed or changed."""
    start_logging(ctx, verbose)
    return _open_store(ctx.paths.rules_db, thorough=True,
                       then="run 'possuggest refresh' to mine the rules again")


def rule_sets(ctx: AppContext, verbose: bool = False) -> tuple[list[Any], int | None]:
    """Kept rule sets, newest first, and the pinned one (if a rollback pinned it)."""
    with _store(ctx, verbose) as store:
        return store.rule_sets(), store.pinned_rule_set()


def ranking_text(params: Mapping[str, Any]) -> str:
    """One line on how a rule set ranks suggestions, from its ``params``: the values chosen
    at refresh (``params["scoring"]``, defaults for what is not recorded) and what tuning
    found (``params["tuning"]``: validation HR@3 of the choice and of the default)."""
    from possuggest.serving.engine import ScoringParams

    scoring, tuning = params.get("scoring") or {}, params.get("tuning") or {}
    default = ScoringParams()
    lam = scoring.get("ease_lambda", params.get("ease_lambda"))
    values = ", ".join(
        f"{label} {value:g}" for label, value in (
            ("λ", lam), ("prior weight", scoring.get("prior_weight", default.prior_weight)),
            ("shrink", scoring.get("shrink", default.shrink)))
        if isinstance(value, (int, float)))
    context = scoring.get("context_shrink", default.context_shrink)
    if isinstance(context, (int, float)) and context >= 1e6:
        values += ", popularity overall (not by time of day)"
    elif isinstance(context, (int, float)) and context != default.context_shrink:
        values += f", context shrink {context:g}"
    status = tuning.get("status")
    if status is None:
        return f"{values} (not tuned)"
    if status == "off":
        return f"{values} (not tuned: mining.tune = false)"
    if status == "too few baskets":
        return f"{values} (defaults: {tuning.get('reason', 'too few sales to tune')})"
    chosen, dflt = tuning.get("chosen") or {}, tuning.get("default") or {}
    what = {"popularity floor": "popularity-led, the default fell below popularity"}.get(
        str(status), str(status))
    return (f"{values} ({what}; validation HR@3 {chosen.get('hr@3', 0.0):.3f}, default "
            f"{dflt.get('hr@3', 0.0):.3f}, margin {tuning.get('margin', 0.0):.3f}; "
            f"{tuning.get('cases', 0):,} cases from the latest "
            f"{100 * tuning.get('validation_share', 0.0):g}% of {tuning.get('baskets', 0):,} "
            f"sales)")


def list_rules(ctx: AppContext, sku: str | None = None, kind: str | None = None,
               limit: int = 50, verbose: bool = False) -> tuple[Any, list[dict[str, Any]]]:
    """The active rule set and its strongest rules (optionally about one SKU or kind)."""
    if limit < 1:
        raise PossuggestError(f"--limit must be at least 1, got {limit}")
    with _store(ctx, verbose) as store:
        active = store.active_rule_set()
        if active is None:
            raise RuleStoreError("no rule set yet: run 'possuggest refresh' first")
        return active, list(store.iter_rules(active.id, sku=sku, kind=kind, limit=limit))


def rollback(ctx: AppContext, target: int | None = None, verbose: bool = False) -> int:
    """Make an earlier rule set active and pin it: later refreshes add sets without
    activating them until :func:`release` (a rollback stays in effect)."""
    with _store(ctx, verbose) as store:
        sets = store.rule_sets()
        active = next((s for s in sets if s.active), None)
        if target is None:
            older = [s.id for s in sets if active is not None and s.id < active.id]
            if not older:
                raise RuleStoreError("no earlier rule set to roll back to")
            target = older[0]
        store.activate(target, pin=True)
    log.info("rule set %d made active and pinned by rollback", target)
    return target


def release(ctx: AppContext, verbose: bool = False) -> int:
    """Undo a rollback's pin: the newest rule set becomes active again."""
    with _store(ctx, verbose) as store:
        sets = store.rule_sets()
        if not sets:
            raise RuleStoreError("no rule sets yet: run 'possuggest refresh' first")
        store.activate(sets[0].id, pin=False)
    log.info("pin released: rule set %d active", sets[0].id)
    return int(sets[0].id)


# -- what the manager's policy names ---------------------------------------------------------------
def policy_warnings(policy: PolicySettings, products: Mapping[str, Any] | None) -> list[str]:
    """Pins, blocks, manual rules, upgrade paths and excluded categories naming a SKU or
    category the till does not have (each named once)."""
    if not products:
        return []
    skus = set(products)
    categories = {str(getattr(p, "category", "")) for p in products.values()}
    unknown: dict[str, list[str]] = {}

    def check(sku: str, where: str) -> None:
        if sku != "*" and sku not in skus:
            unknown.setdefault(sku, []).append(where)

    for i, (a, b) in enumerate(policy.pinned):
        check(a, f"policy.pinned[{i}]")
        check(b, f"policy.pinned[{i}]")
    for i, (a, b) in enumerate(policy.blocked):
        check(a, f"policy.blocked[{i}]")
        check(b, f"policy.blocked[{i}]")
    for i, m in enumerate(policy.manual):
        check(m.with_sku, f"policy.manual[{i}]")
        check(m.suggest, f"policy.manual[{i}]")
    for i, u in enumerate(policy.upgrade_paths):
        check(u.from_sku, f"policy.upgrade_paths[{i}]")
        check(u.to_sku, f"policy.upgrade_paths[{i}]")
    out = [f"unknown SKU '{sku}' in {', '.join(dict.fromkeys(where))}"
           for sku, where in unknown.items()]
    out += [f"unknown category '{c}' in policy.excluded_categories"
            for c in policy.excluded_categories if c not in categories]
    return out


# -- where everything is ----------------------------------------------------------------------------
def info(ctx: AppContext) -> tuple[list[tuple[str, str]], list[str]]:
    """(label, value) lines for installers, and warnings about the manager's policy."""
    from possuggest import __version__
    from possuggest.store.rule_store import RuleStore

    files = []
    for path in ctx.paths.config_files:
        files.append(f"{path}" + ("" if path.exists() else " (absent)"))
    warnings: list[str] = []
    try:
        plan = make_plan(ctx)
    except PossuggestError as exc:
        plan = None
        till, till_state = str(ctx.till_path), str(exc)
    schema = _till_schema(ctx.settings.till if plan is None else plan.till_settings)
    if plan is not None:
        till = f"{plan.till_path}" + (" (demo store)" if plan.demo else "")
        if plan.demo and not plan.till_path.exists():
            till_state = "not built yet: the demo store is created on first use"
        else:
            try:
                check_till(plan)
                till_state = "readable"
            except PossuggestError as exc:
                till_state = str(exc)
            if till_state == "readable":
                warnings = policy_warnings(ctx.settings.policy, read_products(plan))
    active = "none yet (run 'possuggest refresh')"
    ranking = ""
    if ctx.paths.rules_db.exists():
        try:
            with RuleStore(ctx.paths.rules_db) as store:
                rs, pinned = store.active_rule_set(), store.pinned_rule_set()
        except RuleStoreError as exc:
            rs, pinned, active = None, None, str(exc)
        if rs is not None:
            active = (f"{rs.id}, made {rs.created_at}: {rs.n_cross:,} cross-sell and "
                      f"{rs.n_upgrade:,} upgrade rules from {rs.n_baskets:,} sales"
                      + (" (pinned by rollback)" if pinned == rs.id else ""))
            ranking = ranking_text(rs.params)
    rows = [("version", __version__), ("data folder", str(ctx.paths.data_dir))]
    rows += [(f"config file {i}" if len(files) > 1 else "config file", f)
             for i, f in enumerate(files, 1)]
    rows += [("state file", str(ctx.paths.state_file)), ("log file", str(ctx.paths.log_file)),
             ("rule database", str(ctx.paths.rules_db)), ("till database", till),
             ("till schema", schema), ("till status", till_state),
             ("active rule set", active)]
    if ranking:
        rows.append(("ranking", ranking))
    return rows, warnings


def _till_schema(till: TillSettings) -> str:
    """How the till is read: the reference schema, a preset (and its dialect) or a mapping."""
    from possuggest.till.mapping import dialect_of, resolve_mapping

    try:
        dialect = dialect_of(till.url.split("://", 1)[0]) if till.url else "sqlite"
        return resolve_mapping(till, dialect).label
    except PossuggestError as exc:
        return str(exc)


__all__ = [
    "Plan", "RefreshOutcome", "UnknownSku", "make_plan", "check_till", "prepare",
    "read_products", "build_demo", "demo_model", "ensure_store", "has_active_rules",
    "run_refresh", "load_engine", "load_engine_for", "engine_with_products",
    "engine_with_policy", "read_feedback", "engine_with_feedback", "simulate", "resolve_skus",
    "suggest", "rule_sets", "list_rules", "rollback", "release", "policy_warnings", "info",
    "start_logging", "ranking_text",
]
