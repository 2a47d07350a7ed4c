"""Learning from the counter: what cashiers accept and dismiss changes what is shown.

Counts of shown and accepted cards (holdout sales left out, recent events only: see
:meth:`~possuggest.store.rule_store.RuleStore.feedback_counts`) become a Bayesian estimate of
each card's acceptance, per (driver, suggested item) pair: the driver is the basket item (or
items) whose rule the card came from.

* **The store's rate** ``r`` = accepted / shown over every card in the window. Nothing is
  learned before the window holds ``start_after_shows`` shown cards.
* **The item**: Beta(k·r + a, k·(1 − r) + s − a) over all of the item's shows ``s`` and
  acceptances ``a`` (k = ``prior_strength``): a card never shown starts at the store's rate.
* **The pair** falls back to its item: its prior is centred on the item's rate from the
  *other* drivers (so its own events are not counted twice), with the same strength k.
* **Score multiplier**: θ / r, clipped to [``min_multiplier``, ``max_multiplier``]. θ is, with
  ``exploration = "thompson"``, one draw from the posterior per refresh (seeded, so the cards
  stay put between refreshes), else the posterior mean. A card seen little has a wide
  posterior: its draws range from "much worse" to "much better than the store", so it keeps
  being shown now and then until its own record decides. A card never shown gets exactly 1.
* **Hidden**: a pair with at least ``hide_after_shows`` shows whose upper ``hide_confidence``
  bound is under ``hide_below`` × r. Only pairs are hidden; the same item can still be
  shown with another basket item. When its events leave the window it gets another chance.

The engine applies the multipliers and the hidden set at the counter only
(``display=True``); the ranking that offline evaluation scores is unchanged, and a card's
reason always states the rule's own evidence. Pinned and manual cards are the manager's: not
changed here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from possuggest.core.config import FeedbackSettings

SEP = "\t"

#: (driver, sku) -> (shown, accepted, dismissed); driver "" = unknown (see feedback_counts)
Counts = Mapping[tuple[str, str], tuple[float, float, float]]


def driver_key(because: Iterable[str]) -> str:
    """The driver of a card as feedback counts name it: its basket SKUs, sorted, tab-joined."""
    return SEP.join(sorted(because))


@dataclass(frozen=True)
class Estimate:
    """One card's (or item's) record and posterior."""

    shown: float
    accepted: float
    dismissed: float
    alpha: float
    beta: float
    upper: float              # the upper ``hide_confidence`` bound of the acceptance
    multiplier: float
    hidden: bool = False

    @property
    def mean(self) -> float:
        return self.alpha / (self.alpha + self.beta)


@dataclass(frozen=True)
class Feedback:
    """Multipliers and hidden pairs for the engine (see the module docstring)."""

    store_rate: float
    shown: float
    accepted: float
    pairs: dict[tuple[str, str], Estimate] = field(default_factory=dict)
    items: dict[str, Estimate] = field(default_factory=dict)
    hidden: frozenset[tuple[str, str]] = frozenset()

    def multiplier(self, driver: str, sku: str) -> float:
        """The pair's multiplier; else the item's; 1 for a card never shown."""
        est = self.pairs.get((driver, sku)) or self.items.get(sku)
        return 1.0 if est is None else est.multiplier

    def item_multiplier(self, sku: str) -> float:
        est = self.items.get(sku)
        return 1.0 if est is None else est.multiplier

    def hides(self, because: Sequence[str], sku: str) -> bool:
        """Whether a card for ``sku`` driven by the basket items ``because`` is not shown."""
        return bool(because) and (driver_key(because), sku) in self.hidden

    def same_record(self, other: Feedback | None) -> bool:
        """Built from the same counts as ``other`` (its Thompson draws may differ): nothing
        new was learned, so an engine need not be rebuilt."""
        def record(fb: Feedback) -> tuple[object, ...]:
            return (fb.shown, fb.accepted,
                    {k: (e.shown, e.accepted) for k, e in fb.pairs.items()},
                    {k: (e.shown, e.accepted) for k, e in fb.items.items()})

        return other is not None and record(self) == record(other)


def build_feedback(counts: Counts, settings: FeedbackSettings,
                   seed: int | Sequence[int] = 0) -> Feedback | None:
    """The counter's feedback from event counts; None when it is off or has too little data
    (fewer than ``start_after_shows`` shown cards). ``seed`` makes Thompson draws repeatable:
    callers pass the refresh period, so one period's draws stay the same."""
    if not settings.enabled:
        return None
    from scipy.special import betaincinv  # lighter than scipy.stats

    rows: dict[tuple[str, str], tuple[float, float, float]] = {}
    for (driver, sku), (s, a, d) in counts.items():
        s, a, d = max(float(s), 0.0), max(float(a), 0.0), max(float(d), 0.0)
        key = (driver_key(driver.split(SEP)) if driver else "", sku)
        s0, a0, d0 = rows.get(key, (0.0, 0.0, 0.0))
        rows[key] = (s0 + s, a0 + min(a, s), d0 + d)   # an acceptance needs a show
    total_s = sum(v[0] for v in rows.values())
    total_a = sum(v[1] for v in rows.values())
    if total_s <= 0 or total_s < settings.start_after_shows:
        return None
    r = float(np.clip(total_a / total_s, 1e-3, 1.0 - 1e-3))
    k = settings.prior_strength
    items_count: dict[str, tuple[float, float, float]] = {}
    for (_, sku), (s, a, d) in rows.items():
        s0, a0, d0 = items_count.get(sku, (0.0, 0.0, 0.0))
        items_count[sku] = (s0 + s, a0 + a, d0 + d)

    # posteriors: items on the store's rate, pairs on their item's other drivers
    keys: list[tuple[str, str]] = []
    alpha: list[float] = []
    beta: list[float] = []
    record: list[tuple[float, float, float]] = []
    for sku in sorted(items_count):
        s, a, d = items_count[sku]
        keys.append(("*", sku))
        alpha.append(k * r + a)
        beta.append(k * (1.0 - r) + s - a)
        record.append((s, a, d))
    for driver, sku in sorted(rows):
        if not driver:
            continue
        s, a, d = rows[(driver, sku)]
        si, ai, _ = items_count[sku]
        m = (k * r + ai - a) / (k + si - s)          # the item without this pair
        m = float(np.clip(m, 1e-6, 1.0 - 1e-6))
        keys.append((driver, sku))
        alpha.append(k * m + a)
        beta.append(k * (1.0 - m) + s - a)
        record.append((s, a, d))
    if not keys:
        return None
    al = np.maximum(np.asarray(alpha), 1e-9)
    be = np.maximum(np.asarray(beta), 1e-9)
    upper = np.asarray(betaincinv(al, be, settings.hide_confidence), dtype=np.float64)
    if settings.exploration == "thompson":
        theta = np.random.default_rng(seed).beta(al, be)
    else:
        theta = al / (al + be)
    mult = np.clip(theta / r, settings.min_multiplier, settings.max_multiplier)

    pairs: dict[tuple[str, str], Estimate] = {}
    items: dict[str, Estimate] = {}
    hidden: set[tuple[str, str]] = set()
    for n, (driver, sku) in enumerate(keys):
        s, a, d = record[n]
        hide = (driver != "*" and settings.hide_below > 0 and s >= settings.hide_after_shows
                and float(upper[n]) < settings.hide_below * r)
        est = Estimate(shown=s, accepted=a, dismissed=d, alpha=float(al[n]), beta=float(be[n]),
                       upper=float(upper[n]), multiplier=float(mult[n]), hidden=hide)
        if driver == "*":
            items[sku] = est
        else:
            pairs[(driver, sku)] = est
            if hide:
                hidden.add((driver, sku))
    return Feedback(store_rate=r, shown=total_s, accepted=total_a, pairs=pairs, items=items,
                    hidden=frozenset(hidden))


__all__ = ["Counts", "Estimate", "Feedback", "build_feedback", "driver_key"]
