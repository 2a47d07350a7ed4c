"""The demo till run headless and as fast as it can, to check what ``possuggest report``
measures against an uplift known in advance (``possuggest simulate --sales N``).

Sales are drawn from the demo store's shopping model and rung up line by line through the
same path a till's sales take: :class:`~possuggest.serving.sale_session.SessionHub` with the
engine, the holdout draw, the card events and one sale record per ended sale, logged into a
real ``possuggest.db``; each sale is also written, closed, into the demo till (only a demo
store: :func:`~possuggest.demo.generator.is_demo_store`). Time is simulated: sales spread
over the days ending on ``end``, ``sales_per_day`` a day, between 8:00 and 20:00.

The simulated customers follow the known acceptance model of
:class:`~possuggest.demo.simulation.CustomerModel`: the cashier reads each new card out; an
item the customer meant to buy anyway is taken at once (rung up next, no extra revenue: the
"accepted" event overstates what the card earned, as at a real counter); otherwise the
customer takes it with the pair's probability *p* (a cross-sell adds one unit at its price,
an upgrade replaces the basket item by the dearer one), or refuses it, and the cashier
dismisses it with ``dismiss_p`` (a new card may take its place).

Because *p* is known for every card read out, the **true uplift** is known: a treated sale's
expected extra revenue is the sum over its cards of *p* x the card's change to the basket
value, whatever the cards were (each card's decision has probability *p* given all that came
before it). Its mean over the treated sales, x 1,000, is ``true_uplift_per_1000_sales``: what
the report's estimate (treated minus holdout mean basket value, x 1,000) is an estimate of.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from possuggest.core.errors import PossuggestError
from possuggest.core.progress import CancelledFn, ProgressFn, check_cancelled
from possuggest.demo.simulation import CustomerModel
from possuggest.serving.engine import Suggestion, SuggestionEngine
from possuggest.serving.feedback import driver_key
from possuggest.serving.sale_session import BasketUpdate, SaleSession, SessionHub, SessionView

log = logging.getLogger(__name__)

OPEN_HOUR, HOURS = 8, 12          # the simulated store is open 8:00-20:00
LINE_SECONDS = 4.0                # simulated seconds between lines


class SaleModel(Protocol):
    """What draws a customer's own basket (demo.generator.DemoStoreModel does)."""

    def sample_sale(self, rng: np.random.Generator,
                    when: dt.datetime) -> list[tuple[str, float, float]]: ...


@dataclass
class SalesRunResult:
    """One headless run: counts, and the uplift the customers' model makes true."""

    sales: int
    holdout_sales: int
    shown: int                      # cards read out
    accepted: int                   # cards taken (those meant to be bought anyway included)
    expected_extra: float           # sum over treated sales of the expected extra revenue
    realised_extra: float           # ... of the extra revenue that happened
    first_day: dt.date
    last_day: dt.date
    rules_db: Path
    till: Path | None
    seconds: float
    seed: int

    @property
    def treated_sales(self) -> int:
        return self.sales - self.holdout_sales

    @property
    def true_uplift_per_1000_sales(self) -> float:
        """1,000 x the expected extra revenue per sale with suggestions (the model's truth)."""
        return 1000 * self.expected_extra / self.treated_sales if self.treated_sales else 0.0

    @property
    def realised_uplift_per_1000_sales(self) -> float:
        return 1000 * self.realised_extra / self.treated_sales if self.treated_sales else 0.0


def _wall(moment: dt.datetime) -> float:
    """Wall-clock seconds: naive local time read as UTC (see core.context_time)."""
    return moment.replace(tzinfo=dt.timezone.utc).timestamp()


class _Till:
    """The demo till the sales are written into (closed), or sale ids of the run's own."""

    def __init__(self, path: Path | None, seed: int) -> None:
        from possuggest.demo.generator import is_demo_store

        self.path = path
        self.seed = seed
        self.n = 0
        self.conn: sqlite3.Connection | None = None
        if path is not None:
            if not is_demo_store(path):
                raise PossuggestError(f"{path} is not a demo store written by possuggest: "
                                      "simulated sales are only ever written into one")
            self.conn = sqlite3.connect(path, timeout=10.0, isolation_level=None)
            self.conn.execute("BEGIN IMMEDIATE")

    def open_sale(self, register: str, when: dt.datetime) -> str:
        self.n += 1
        if self.conn is None:
            return f"sim{self.seed}-{self.n}"
        stamp = when.isoformat(timespec="seconds")
        cur = self.conn.execute(
            "INSERT INTO sales (register_id, cashier_id, customer_id, opened_at, status)"
            " VALUES (?, ?, NULL, ?, 'open')", (register, f"C{int(register):02d}"
                                                if register.isdigit() else "C01", stamp))
        return str(cur.lastrowid)

    def close_sale(self, sale_id: str, lines: dict[str, tuple[float, float]],
                   when: dt.datetime) -> None:
        if self.conn is None:
            return
        self.conn.executemany(
            "INSERT INTO sale_lines (sale_id, sku, qty, unit_price, voided) VALUES (?,?,?,?,0)",
            [(int(sale_id), sku, qty, price) for sku, (qty, price) in lines.items()])
        self.conn.execute("UPDATE sales SET status = 'closed', closed_at = ? WHERE sale_id = ?",
                          (when.isoformat(timespec="seconds"), int(sale_id)))

    def commit(self) -> None:
        if self.conn is not None:
            self.conn.execute("COMMIT")
            self.conn.execute("BEGIN IMMEDIATE")

    def close(self, commit: bool) -> None:
        if self.conn is None:
            return
        try:
            self.conn.execute("COMMIT" if commit else "ROLLBACK")
        finally:
            self.conn.close()
            self.conn = None


def simulate_sales(engine: SuggestionEngine, model: SaleModel, rules_db: Path, n_sales: int,
                   *, seed: int = 7, holdout_share: float = 0.1, till: Path | None = None,
                   customers: CustomerModel | None = None, registers: int = 3,
                   sales_per_day: int = 200, end: dt.date | None = None,
                   dismiss_p: float = 0.5, progress: ProgressFn | None = None,
                   cancelled: CancelledFn | None = None) -> SalesRunResult:
    """Ring up ``n_sales`` simulated sales (see the module docstring) through a SessionHub
    over ``engine``, logging events and sale records into ``rules_db``; with ``till`` (a demo
    store) each sale is written there too. Deterministic for the same arguments and engine.
    Committed a simulated day at a time; on cancel, the day under way is left out of both."""
    from possuggest.store.rule_store import RuleStore

    t0 = time.perf_counter()
    if n_sales < 1:
        raise PossuggestError(f"the number of simulated sales must be at least 1, got {n_sales}")
    if sales_per_day < 1:
        raise PossuggestError(f"sales per day must be at least 1, got {sales_per_day}")
    report: ProgressFn = progress or (lambda f, m: None)
    customers = customers or CustomerModel(seed=seed)
    end = end or dt.date.today()
    n_days = math.ceil(n_sales / sales_per_day)
    first = end - dt.timedelta(days=n_days - 1)
    rng = np.random.default_rng([seed, 909])
    prices = {sku: p.price for sku, p in engine.products.items()}
    clock = [0.0]
    batch: list[dict[str, Any]] = []
    hub = SessionHub(engine, holdout_share, batch.extend, sale_sink=batch.extend,
                     clock=lambda: clock[0])
    regs = [str(r + 1) for r in range(max(1, registers))]
    result = SalesRunResult(0, 0, 0, 0, 0.0, 0.0, first, end, Path(rules_db), till, 0.0, seed)
    store = RuleStore(rules_db)
    sink = _Till(till, seed)
    ok = False
    try:
        done = 0
        for day in range(n_days):
            check_cancelled(cancelled, "the simulation was cancelled")
            date = first + dt.timedelta(days=day)
            today = min(sales_per_day, n_sales - done)
            offsets = np.sort(rng.uniform(0, HOURS * 3600, today))
            for k, off in enumerate(offsets):
                when = dt.datetime.combine(date, dt.time(OPEN_HOUR)) + \
                    dt.timedelta(seconds=float(off))
                register = regs[(done + k) % len(regs)]
                sale_id = sink.open_sale(register, when)
                lines = model.sample_sale(rng, when)
                session = hub.session(register)
                rung, expected, realised, holdout = _ring_up(
                    session, register, sale_id, lines, when, clock, customers, rng, prices,
                    dismiss_p, result)
                result.sales += 1
                result.holdout_sales += holdout
                result.expected_extra += expected
                result.realised_extra += realised
                sink.close_sale(sale_id, rung, when + dt.timedelta(
                    seconds=LINE_SECONDS * (len(rung) + 1)))
            done += today
            store.log_events(batch)
            batch.clear()
            sink.commit()
            report((day + 1) / n_days, f"simulated day {day + 1} of {n_days}")
        ok = True
    finally:
        sink.close(commit=ok)
        store.close()
    result.seconds = time.perf_counter() - t0
    return result


def _ring_up(session: SaleSession, register: str, sale_id: str,
             lines: list[tuple[str, float, float]], when: dt.datetime, clock: list[float],
             customers: CustomerModel, rng: np.random.Generator, prices: dict[str, float],
             dismiss_p: float, result: SalesRunResult
             ) -> tuple[dict[str, tuple[float, float]], float, float, bool]:
    """One sale, line by line, the customer answering each card read out. Returns the lines
    rung up (sku -> (qty, unit price)), the expected and realised extra revenue, and whether
    the sale was in the holdout."""
    wanted: dict[str, tuple[float, float]] = {}
    for sku, qty, unit in lines:                       # the customer's own basket
        q, _ = wanted.get(sku, (0.0, unit))
        wanted[sku] = (q + qty, unit)
    queue = [(sku, q, u) for sku, (q, u) in wanted.items()]
    rung: dict[str, tuple[float, float]] = {}
    seen: set[str] = set()
    expected = realised = 0.0
    t = _wall(when)
    view: SessionView | None = None

    def apply() -> SessionView:
        clock[0] = t
        return session.apply(BasketUpdate(
            register, sale_id, tuple((s, q) for s, (q, _) in rung.items()), "simulation"))

    while queue:
        sku, qty, unit = queue.pop(0)
        q0, _ = rung.get(sku, (0.0, unit))
        rung[sku] = (q0 + qty, unit)
        t += LINE_SECONDS
        view = apply()
        while view is not None:
            new = [c for c in view.suggestions if c.sku not in seen]
            if not new:
                break
            after: SessionView | None = None
            for card in new:
                seen.add(card.sku)
                result.shown += 1
                later = next((i for i, item in enumerate(queue) if item[0] == card.sku), None)
                if later is not None:       # meant to buy it anyway: taken now, earns nothing
                    result.accepted += 1
                    queue.insert(0, queue.pop(later))
                    continue
                p = customers.acceptance(driver_key(card.because), card.sku)
                delta, swap = _card_change(card, rung, prices)
                expected += p * delta
                if rng.random() < p:
                    result.accepted += 1
                    realised += delta
                    if swap is not None:    # an upgrade: the dearer one instead
                        q, _ = rung.pop(swap)
                        queue.insert(0, (card.sku, q, prices.get(card.sku, 0.0)))
                    else:
                        queue.insert(0, (card.sku, 1.0, prices.get(card.sku, 0.0)))
                elif rng.random() < dismiss_p:
                    after = session.dismiss(card.sku, "simulation")
            view = None if queue else after    # a card taken is rung up next
    holdout = bool(session.view.holdout)
    t += LINE_SECONDS
    clock[0] = t
    session.apply(BasketUpdate(register, None, (), "simulation"))     # paid: the sale ends
    return rung, expected, realised, holdout


def _card_change(card: Suggestion, rung: dict[str, tuple[float, float]],
                 prices: dict[str, float]) -> tuple[float, str | None]:
    """What taking ``card`` changes in the basket's value (at the catalogue prices the
    sale record uses), and the basket item an upgrade replaces (None for a cross-sell)."""
    if card.kind == "upgrade":
        base = next((b for b in card.because if b in rung), None)
        if base is not None:
            qty = rung[base][0]
            return qty * (prices.get(card.sku, 0.0) - prices.get(base, 0.0)), base
    return prices.get(card.sku, 0.0), None


__all__ = ["SalesRunResult", "SaleModel", "simulate_sales"]
