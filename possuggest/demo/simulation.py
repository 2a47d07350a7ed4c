"""A simulated counter for measuring what the panel learns from cashiers: no Qt, no real time.

Simulated days of sales are rung up against the engine over a small demo store (built and
mined first, in a folder of the simulation's own). Simulated customers have a **known
acceptance model** (:class:`CustomerModel`): every (basket item, suggested item) pair gets a
fixed chance of being taken, drawn once from the seed -- some pairs are always refused, some
often taken. The simulated cashier reads each new card out; the customer takes it (it is rung
up next and logged accepted) or refuses it, and the cashier then dismisses it (a new card may
take its place). Every shown / accepted / dismissed card is logged into a real
``possuggest.db`` through :class:`~possuggest.store.rule_store.RuleStore`, with the simulated
time, and each simulated night the counter's feedback is rebuilt from the events, as a running
panel does every few minutes.

Per simulated week: cards shown and accepted, the acceptance rate, and how often pairs the
customers always refuse were still shown.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from possuggest.core.config import HoldoutSettings, Settings, TillSettings
from possuggest.core.errors import PossuggestError
from possuggest.core.progress import CancelledFn, ProgressFn, check_cancelled
from possuggest.serving.engine import Suggestion, SuggestionEngine
from possuggest.serving.events import in_holdout
from possuggest.serving.feedback import Feedback, build_feedback, driver_key

log = logging.getLogger(__name__)

START = dt.date(2026, 5, 4)         # a Monday in the garden season (the demo's busiest)
TS = "%Y-%m-%dT%H:%M:%S"


def _unit(*parts: object) -> float:
    """A uniform number in [0, 1) fixed by ``parts`` (no random state: any order, any run)."""
    h = hashlib.blake2b("|".join(map(str, parts)).encode("utf-8", "surrogatepass"),
                        digest_size=8).digest()
    return int.from_bytes(h, "big") / 2**64


@dataclass(frozen=True)
class CustomerModel:
    """The simulated customers' known acceptance model: each (driver, item) pair -- driver =
    the basket item(s) the card came from, "" for a card with none -- has one fixed chance of
    being taken, drawn once from ``seed``: ``refuse_share`` of pairs are always refused,
    ``keen_share`` are taken often (uniform in ``keen``), the rest now and then (``lukewarm``)."""

    seed: int = 11
    refuse_share: float = 0.25
    keen_share: float = 0.25
    keen: tuple[float, float] = (0.35, 0.65)
    lukewarm: tuple[float, float] = (0.02, 0.20)

    def acceptance(self, driver: str, sku: str) -> float:
        u = _unit(self.seed, driver, sku, "class")
        if u < self.refuse_share:
            return 0.0
        lo, hi = self.keen if u < self.refuse_share + self.keen_share else self.lukewarm
        return lo + (hi - lo) * _unit(self.seed, driver, sku, "p")

    def always_refused(self, driver: str, sku: str) -> bool:
        return self.acceptance(driver, sku) == 0.0


@dataclass
class WeekStats:
    """One simulated week at the counter (holdout sales show nothing and count nowhere)."""

    week: int
    sales: int = 0
    shown: int = 0
    accepted: int = 0
    dismissed: int = 0
    refused_shown: int = 0          # shows of pairs the customers always refuse
    refused_pairs: set[tuple[str, str]] = field(default_factory=set)   # ... distinct, shown
    pair_shows: dict[tuple[str, str], int] = field(default_factory=dict)
    hidden_refused: int = 0         # always-refused pairs hidden by the feedback at week's end
    hidden: int = 0                 # pairs hidden at week's end
    hidden_wrongly: int = 0         # ... that customers take at least hide_below x the store

    @property
    def rate(self) -> float:
        return self.accepted / self.shown if self.shown else 0.0


@dataclass
class SimulationResult:
    weeks: list[WeekStats]
    feedback: bool                  # whether the counter learned (False: the control run)
    rules_db: Path
    n_rules: int
    history_sales: int
    sales_per_day: int
    seconds: float
    final: Feedback | None = None

    def stopped(self, min_shows: int = 10) -> list[tuple[tuple[str, str], int, int]]:
        """Always-refused pairs shown at least ``min_shows`` times in the first week:
        ``(pair, shows in the first week, shows in the last week)``, most shown first."""
        if not self.weeks:
            return []
        first, last = self.weeks[0], self.weeks[-1]
        out = [(pair, n, last.pair_shows.get(pair, 0)) for pair, n in first.pair_shows.items()
               if pair in first.refused_pairs and n >= min_shows]
        return sorted(out, key=lambda t: (-t[1], t[0]))

    def bar(self) -> tuple[bool, list[str]]:
        """The issue's bar: the acceptance rate of shown cards rises from the first week to the
        last (at least the fourth), and an always-refused rule shown in the first week is no
        longer shown in the last. Returns (passed, one line per check)."""
        if len(self.weeks) < 4:
            return False, [f"needs at least 4 simulated weeks, ran {len(self.weeks)}"]
        first, last = self.weeks[0], self.weeks[-1]
        rises = last.rate > first.rate
        lines = [f"acceptance rate week 1 {first.rate:.1%} -> week {last.week} "
                 f"{last.rate:.1%}: {'rises' if rises else 'does not rise'}"]
        stopped = self.stopped()
        gone = [s for s in stopped if s[2] == 0]
        lines.append(f"always-refused pairs shown >= 10x in week 1: {len(stopped)}, no longer "
                     f"shown in week {last.week}: {len(gone)}")
        return rises and bool(gone), lines


def _wall(moment: dt.datetime) -> float:
    """The engine's clock: naive local time read as UTC (see core.context_time)."""
    return moment.replace(tzinfo=dt.timezone.utc).timestamp()


def simulate_counter(folder: Path, weeks: int = 4, *, sales_per_day: int = 200,
                     seed: int = 7, history_sales: int = 20_000,
                     settings: Settings | None = None,
                     customers: CustomerModel | None = None, learn: bool = True,
                     dismiss_p: float = 1.0, start: dt.date = START,
                     progress: ProgressFn | None = None,
                     cancelled: CancelledFn | None = None) -> SimulationResult:
    """Run ``weeks`` simulated weeks at one register (see the module docstring).

    ``folder`` must not hold a till or possuggest database yet: the demo store
    (``history_sales`` sales up to the day before ``start``) and ``possuggest.db`` are made
    there. ``settings``: the policy, feedback, mining and holdout settings (default: the
    defaults with no holdout: every sale takes part in the learning). ``learn=False`` runs
    the same days with the feedback off (the control). Deterministic for the same arguments.
    """
    from possuggest.demo.generator import DemoStoreModel, build_demo_store
    from possuggest.mining.refresh import refresh
    from possuggest.store.rule_store import RuleStore

    t0 = time.perf_counter()
    if weeks < 1:
        raise PossuggestError(f"the number of simulated weeks must be at least 1, got {weeks}")
    if sales_per_day < 1:
        raise PossuggestError(f"sales per day must be at least 1, got {sales_per_day}")
    settings = settings or Settings(holdout=HoldoutSettings(share=0.0))   # learning, not uplift
    folder = Path(folder)
    till, rules_db = folder / "demo-till.db", folder / "possuggest.db"
    for p in (till, rules_db):
        if p.exists():
            raise PossuggestError(f"{p} exists: the simulation needs a folder of its own")
    report: ProgressFn = progress or (lambda f, m: None)
    customers = customers or CustomerModel()
    fb_settings = settings.feedback if learn else replace(settings.feedback, enabled=False)

    report(0.0, "building the demo store")
    end = start - dt.timedelta(days=1)
    build_demo_store(till, sales=history_sales, seed=seed, end_date=end, replace="nothing",
                     cancelled=cancelled)
    report(0.05, "mining its rules")
    refresh(till, rules_db, replace(settings, till=TillSettings()), cancelled=cancelled)
    model = DemoStoreModel(seed, end)
    rng = np.random.default_rng([seed, 303])
    store = RuleStore(rules_db)
    try:
        rules = store.load_active()
        if rules is None:                                   # pragma: no cover
            raise PossuggestError("the simulated store's refresh made no rule set")
        products = rules.products

        def engine(fb: Feedback | None) -> SuggestionEngine:
            return SuggestionEngine(rules, products=products, policy=settings.policy,
                                    feedback=fb)

        eng = engine(None)
        result = SimulationResult([], learn, rules_db, eng.n_rules, history_sales,
                                  sales_per_day, 0.0)
        register, sale_no = "1", 0
        fb: Feedback | None = None
        for day in range(7 * weeks):
            check_cancelled(cancelled, "the simulation was cancelled")
            if day % 7 == 0:
                result.weeks.append(WeekStats(day // 7 + 1))
            stats = result.weeks[-1]
            date = start + dt.timedelta(days=day)
            opens = dt.datetime.combine(date, dt.time(8))
            offsets = np.sort(rng.uniform(0, 12 * 3600, sales_per_day))
            events: list[dict[str, Any]] = []
            for off in offsets:
                sale_no += 1
                when = opens + dt.timedelta(seconds=float(off))
                sale_id = f"sim-{sale_no}"
                lines = model.sample_sale(rng, when)
                if in_holdout(register, sale_id, settings.holdout.share):
                    continue
                stats.sales += 1
                ts = when.strftime(TS)
                for sug, action in _ring_up(eng, [s for s, q, _ in lines if q > 0],
                                            _wall(when), customers, rng, dismiss_p, stats):
                    events.append({"ts": ts, "register": register, "sale_id": sale_id,
                                   "sku": sug.sku, "kind": sug.kind, "rule_id": sug.rule_id,
                                   "rule_set_id": eng.rule_set_id, "action": action,
                                   "source": "simulation", "holdout": False})
            store.log_events(events)
            day_end = dt.datetime.combine(date + dt.timedelta(days=1), dt.time(0))
            if fb_settings.enabled:
                since = day_end - dt.timedelta(days=fb_settings.window_days)
                counts = store.feedback_counts(since.strftime(TS), day_end.strftime(TS),
                                               fb_settings.half_life_days)
                fb = build_feedback(counts, fb_settings, seed=[seed, day])
                eng = engine(fb)
            if day % 7 == 6:
                hidden = fb.hidden if fb is not None else frozenset()
                stats.hidden = len(hidden)
                stats.hidden_refused = sum(customers.always_refused(d, s) for d, s in hidden)
                if fb is not None:
                    bar = fb_settings.hide_below * fb.store_rate
                    stats.hidden_wrongly = sum(customers.acceptance(d, s) >= bar
                                               for d, s in hidden)
            report(0.1 + 0.9 * (day + 1) / (7 * weeks),
                   f"simulated day {day + 1} of {7 * weeks}")
        result.final = fb
    finally:
        store.close()
    result.seconds = time.perf_counter() - t0
    return result


def _ring_up(eng: SuggestionEngine, lines: list[str], when: float, customers: CustomerModel,
             rng: np.random.Generator, dismiss_p: float,
             stats: WeekStats) -> list[tuple[Suggestion, str]]:
    """One sale: each line rung up in turn; every new card is read out once and taken or
    refused (then dismissed with ``dismiss_p``); a taken item is rung up next. Returns the
    events, (card, "shown" / "accepted" / "dismissed"), in order."""
    events: list[tuple[Suggestion, str]] = []
    basket: list[str] = []
    seen: set[str] = set()          # cards read out in this sale
    dismissed: set[str] = set()
    accepted: set[str] = set()
    queue = list(lines)
    while queue:
        sku = queue.pop(0)
        if sku not in basket:
            basket.append(sku)
        while True:                 # until no new card appears
            cards = eng.suggest(basket, exclude=dismissed | accepted, when=when)
            new = [c for c in cards if c.sku not in seen]
            if not new:
                break
            changed = False
            for card in new:
                seen.add(card.sku)
                driver = driver_key(card.because)
                pair = (driver, card.sku)
                stats.shown += 1
                stats.pair_shows[pair] = stats.pair_shows.get(pair, 0) + 1
                events.append((card, "shown"))
                p = customers.acceptance(driver, card.sku)
                if p == 0.0:
                    stats.refused_shown += 1
                    stats.refused_pairs.add(pair)
                if rng.random() < p:
                    stats.accepted += 1
                    accepted.add(card.sku)
                    events.append((card, "accepted"))
                    queue.insert(0, card.sku)
                    changed = True
                elif rng.random() < dismiss_p:
                    stats.dismissed += 1
                    dismissed.add(card.sku)
                    events.append((card, "dismissed"))
                    changed = True
            if not changed or queue:
                break               # a taken item is rung up next: cards follow that line
    return events


__all__ = ["CustomerModel", "SimulationResult", "WeekStats", "simulate_counter", "START"]
