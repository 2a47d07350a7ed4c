"""Counter sanity: how the cards a cashier would see read at the counter.

Hit rates (:mod:`possuggest.evaluation.harness`) measure the ranking; this measures what is
shown. Every active product is scanned alone (a single-item basket) and the engine is asked
exactly as the panel asks it, ``engine.suggest([sku])`` with the default number of cards (a
fixed ``when`` may be given so that the time-of-day context, and so the figures, do not
depend on the hour the measure runs). Each card is then checked against the rules of
PRODUCT.md, "What makes a good card":

* **wrong direction**: an accessory card priced at least ``ratio`` x the scanned item *and*
  at least ``min_extra`` more (the grass bag scanned, the mower shown). When the engine's
  policy has ``accessory_max_price_ratio`` the cards above the manager's own limit are
  counted too (ratio x the scanned price plus ``accessory_price_allowance`` when the policy
  has one);
* **substitutes**: an accessory card sharing a non-empty family, or the category, with the
  scanned item while the pair's lift is below 1 (customers take one or the other). The lift
  is the mined pair rule's (scanned -> card); a pair without a rule (seen together fewer than
  the mining ``min_count`` times) gets its lift counted from ``tx`` when given, else 0;
* **variant upgrades**: an upgrade card whose two names are not
  :func:`possuggest.core.products.compatible` (a lamp fitting, a voltage, a size only);
* **filler share**: the share of card slots whose ``source`` is ``popular`` or ``bestseller``;
* **concentration**: the largest share of single-item baskets that one product's card
  appears in, with the top five and whether every rule behind their appearances has lift
  >= ``min_hub_lift`` (a filler card has no rule, so it fails);
* **empty share**: baskets that get no card at all.

With the store's ground truth (the demo till's ``demo_relations`` table: directed pairs of
kind ``accessory``, ``together`` or ``upgrade``, see :func:`read_ground_truth`) also the
precision of accessory cards (the pair is an accessory or bought-together pair), of upgrade
cards (an upgrade pair) and the recall of accessory pairs (of the accessory pairs whose
scanned item is active and whose accessory is active and in stock, the share shown as a
card; ``accessory_recall_max`` is the most the number of card slots allows). The accessory
cards that miss are broken down in ``cross_kinds``: the reverse of an accessory pair (the
mower for the bag), a pair of tiers (an upgrade shown as an accessory), two accessories of
one core item (oil and line, both bought with a petrol trimmer), and plain noise.

Qt-free; no demo import (the layer contract): the ground truth arrives as plain rows.
"""

from __future__ import annotations

import math
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from possuggest.core.config import MiningSettings, PolicySettings
from possuggest.core.context_time import bucket_label, bucket_of
from possuggest.core.products import Product, compatible
from possuggest.core.progress import ProgressFn, sub_range
from possuggest.core.transactions import Transactions

#: Suggestion sources that are not evidence about the basket.
FILLER_SOURCES = frozenset({"popular", "bestseller"})
#: The demo till's ground-truth table (written by possuggest.demo.generator).
GROUND_TRUTH_TABLE = "demo_relations"
GROUND_TRUTH_KINDS = ("accessory", "together", "upgrade")
EXAMPLES = 5
TOP = 5


@dataclass
class SanityReport:
    """The counter-sanity figures; :meth:`to_dict` for JSON, :meth:`to_text` to read."""

    baskets: int = 0                       # active products scanned alone
    card_slots: int = 0
    cross_cards: int = 0
    upgrade_cards: int = 0
    when: str | None = None                # the time asked for (None: the clock, as the panel)
    context: str | None = None             # its time-of-day bucket
    ratio: float = 3.0
    min_extra: float = 40.0
    wrong_direction: int = 0
    policy_ratio: float | None = None      # the manager's accessory_max_price_ratio, if any
    policy_allowance: float = 0.0
    wrong_direction_policy: int | None = None
    substitutes: int = 0
    variant_upgrades: int = 0
    filler_cards: int = 0
    empty_baskets: int = 0
    max_share: float = 0.15
    min_hub_lift: float = 2.0
    concentration: float = 0.0
    concentration_top: list[dict[str, Any]] = field(default_factory=list)
    concentration_over: int = 0            # products above max_share with a rule under min_hub_lift
    ground_truth: bool = False
    cross_correct: int = 0
    upgrade_correct: int = 0
    accessory_pairs: int = 0
    accessory_shown: int = 0
    accessory_recall_max: float | None = None
    cross_kinds: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)

    # -- derived -------------------------------------------------------------------------------
    @staticmethod
    def _share(num: int, den: int) -> float | None:
        return num / den if den else None

    @property
    def filler_share(self) -> float:
        return self.filler_cards / self.card_slots if self.card_slots else 0.0

    @property
    def empty_share(self) -> float:
        return self.empty_baskets / self.baskets if self.baskets else 0.0

    @property
    def cross_precision(self) -> float | None:
        return self._share(self.cross_correct, self.cross_cards) if self.ground_truth else None

    @property
    def complement_precision(self) -> float | None:
        """Accessory cards that serve what was scanned: a true accessory, an item of the
        same shopping list, or a co-accessory (another accessory of the main item the
        scanned accessory belongs to: harness → trimmer line, both for the brushcutter)."""
        if not self.ground_truth or not self.cross_cards:
            return None
        ok = self.cross_correct + self.cross_kinds.get("sibling_accessory", 0)
        return ok / self.cross_cards

    @property
    def upgrade_precision(self) -> float | None:
        return self._share(self.upgrade_correct, self.upgrade_cards) if self.ground_truth \
            else None

    @property
    def accessory_recall(self) -> float | None:
        return self._share(self.accessory_shown, self.accessory_pairs) if self.ground_truth \
            else None

    def to_dict(self) -> dict[str, Any]:
        def r(v: float | None) -> float | None:
            return None if v is None else round(v, 4)

        return {
            "baskets": self.baskets, "card_slots": self.card_slots,
            "cross_cards": self.cross_cards, "upgrade_cards": self.upgrade_cards,
            "when": self.when, "context": self.context,
            "wrong_direction": self.wrong_direction,
            "wrong_direction_bar": {"ratio": self.ratio, "min_extra": self.min_extra},
            "wrong_direction_policy": self.wrong_direction_policy,
            "policy_ratio": (None if self.policy_ratio is None else
                             {"ratio": self.policy_ratio, "allowance": self.policy_allowance}),
            "substitutes": self.substitutes,
            "variant_upgrades": self.variant_upgrades,
            "filler_cards": self.filler_cards, "filler_share": r(self.filler_share),
            "concentration": r(self.concentration),
            "concentration_top": [{**t, "share": r(t["share"]), "min_lift": r(t["min_lift"])}
                                  for t in self.concentration_top],
            "concentration_bar": {"share": self.max_share, "min_lift": self.min_hub_lift},
            "concentration_over": self.concentration_over,
            "empty_baskets": self.empty_baskets, "empty_share": r(self.empty_share),
            "ground_truth": self.ground_truth,
            "cross_precision": r(self.cross_precision),
            "complement_precision": r(self.complement_precision),
            "upgrade_precision": r(self.upgrade_precision),
            "accessory_recall": r(self.accessory_recall),
            "accessory_recall_max": r(self.accessory_recall_max),
            "accessory_pairs": self.accessory_pairs if self.ground_truth else None,
            "cross_kinds": dict(self.cross_kinds) if self.ground_truth else None,
            "examples": {k: list(v) for k, v in self.examples.items()},
        }

    def to_text(self) -> str:
        def pct(v: float | None) -> str:
            return "n/a" if v is None else f"{v * 100:.1f}%"

        ctx = f", {self.context}" if self.context else ""
        lines = [f"Counter sanity: {self.baskets:,} products scanned alone{ctx}; "
                 f"{self.card_slots:,} card slots ({self.cross_cards:,} accessory, "
                 f"{self.upgrade_cards:,} upgrade), {self.empty_baskets:,} baskets with no "
                 f"card ({pct(self.empty_share)})"]
        rows: list[tuple[str, str, str]] = [
            (f"wrong direction (>= {self.ratio:g}x and ${self.min_extra:g} more)",
             f"{self.wrong_direction:,}", "wrong_direction")]
        if self.wrong_direction_policy is not None:
            extra = f" + ${self.policy_allowance:g}" if self.policy_allowance else ""
            rows.append((f"above the policy's {self.policy_ratio:g}x{extra}",
                         f"{self.wrong_direction_policy:,}", "wrong_direction_policy"))
        rows += [("substitutes as accessories", f"{self.substitutes:,}", "substitutes"),
                 ("variant upgrades", f"{self.variant_upgrades:,}", "variant_upgrades"),
                 ("filler share (popular / best seller)",
                  f"{pct(self.filler_share)} ({self.filler_cards:,})", "filler")]
        top = self.concentration_top[0] if self.concentration_top else None
        conc = pct(self.concentration) + (f" ({top['name']})" if top else "")
        rows.append(("concentration (largest share of baskets)", conc, ""))
        if self.ground_truth:
            rows += [("accessory-card precision (true accessory or together)",
                      pct(self.cross_precision), "cross_misses"),
                     ("complement precision (also co-accessories)",
                      pct(self.complement_precision), ""),
                     ("upgrade precision", pct(self.upgrade_precision), "wrong_upgrades"),
                     ("accessory recall", f"{pct(self.accessory_recall)} of "
                      f"{self.accessory_pairs:,} pairs (at most {pct(self.accessory_recall_max)})",
                      "")]
        width = max(len(label) for label, _, _ in rows)
        for label, value, key in rows:
            lines.append(f"  {label:<{width}}  {value}")
            for ex in self.examples.get(key, [])[:EXAMPLES] if key else []:
                lines.append(f"  {'':<{width}}    {ex}")
        if self.concentration_top:
            lines.append("  most shown: " + "; ".join(
                f"{t['name']} {pct(t['share'])}"
                + ("" if t["all_lift_ge_2"] else f" (min lift {t['min_lift'] or 0:.2f})")
                for t in self.concentration_top))
        if self.ground_truth and self.cross_kinds:
            lines.append("  accessory cards by truth: " + ", ".join(
                f"{k} {v:,}" for k, v in self.cross_kinds.items()))
        return "\n".join(lines)


# -- lifts ----------------------------------------------------------------------------------------
class PairLift:
    """Lift of a directed pair: the mined pair rule's, else counted from ``tx``, else 0."""

    def __init__(self, rules: Any, tx: Transactions | None = None) -> None:
        self._rule: dict[tuple[str, str], float] = {}
        if rules is not None and len(rules.rule_id):
            for kind, ante, cons, lift in zip(rules.kind, rules.antecedent, rules.consequent,
                                              rules.lift, strict=True):
                if kind == "cross" and len(ante) == 1 and math.isfinite(float(lift)):
                    self._rule[(str(ante[0]), str(cons))] = float(lift)
        self._co: Any = None
        self._index: dict[str, int] = {}
        self._n = 0.0
        if tx is not None and tx.n_baskets:
            x = tx.matrix(np.float64)
            self._co = (x.T @ x).tocsr()
            self._index = {str(s): i for i, s in enumerate(tx.items)}
            self._n = float(tx.n_baskets)

    def rule(self, a: str, b: str) -> float | None:
        """The lift of the mined pair rule a -> b, None when there is none."""
        return self._rule.get((a, b))

    def __call__(self, a: str, b: str) -> float:
        lift = self._rule.get((a, b))
        if lift is not None:
            return lift
        if self._co is None:
            return 0.0
        i, j = self._index.get(a), self._index.get(b)
        if i is None or j is None:
            return 0.0
        ca, cb, cab = float(self._co[i, i]), float(self._co[j, j]), float(self._co[i, j])
        return self._n * cab / (ca * cb) if ca > 0 and cb > 0 else 0.0


# -- the measure ----------------------------------------------------------------------------------
def _name(products: Mapping[str, Product], sku: str, fallback: str = "") -> str:
    p = products.get(sku)
    return p.name if p is not None else (fallback or sku)


def counter_sanity(products: Mapping[str, Product], engine: Any,
                   ground_truth: Iterable[tuple[str, str, str]] | None = None,
                   ratio: float = 3.0, min_extra: float = 40.0, *,
                   tx: Transactions | None = None, when: float | None = None,
                   max_share: float = 0.15, min_hub_lift: float = 2.0) -> SanityReport:
    """Scan every active product alone and check the cards (see the module docstring).

    ``products``: the till's catalogue; ``engine``: a SuggestionEngine (anything with
    ``suggest(basket, when=...)``, ``rules`` and ``policy``); ``ground_truth``: ``(a, b,
    kind)`` rows; ``tx``: the history the rules were mined from (exact lifts for pairs
    without a rule); ``when``: wall-clock seconds for the time-of-day context (None = now).
    """
    rep = SanityReport(ratio=ratio, min_extra=min_extra, max_share=max_share,
                       min_hub_lift=min_hub_lift)
    if when is not None:
        rep.when = datetime.fromtimestamp(when, tz=timezone.utc).replace(tzinfo=None).isoformat(
            timespec="minutes")
        rep.context = bucket_label(bucket_of(when))
    policy = getattr(engine, "policy", None)
    policy_ratio = getattr(policy, "accessory_max_price_ratio", None)
    if policy_ratio is not None and float(policy_ratio) > 0:
        rep.policy_ratio = float(policy_ratio)
        rep.policy_allowance = float(getattr(policy, "accessory_price_allowance", 0.0) or 0.0)
        rep.wrong_direction_policy = 0
    lift = PairLift(getattr(engine, "rules", None), tx)

    truth: dict[str, set[tuple[str, str]]] = {k: set() for k in GROUND_TRUTH_KINDS}
    if ground_truth is not None:
        rep.ground_truth = True
        for a, b, kind in ground_truth:
            truth.setdefault(str(kind), set()).add((str(a), str(b)))
    complements = truth["accessory"] | truth["together"]
    reverse = {(b, a) for a, b in truth["accessory"]}
    upgrade_any = truth["upgrade"] | {(b, a) for a, b in truth["upgrade"]}
    accessories_of: dict[str, set[str]] = defaultdict(set)
    for a, b in truth["accessory"]:
        accessories_of[a].add(b)
    siblings = {(x, y) for accs in accessories_of.values() for x in accs for y in accs if x != y}

    # examples: key -> (severity, text), the worst (lowest) first, then in scan order
    found: dict[str, list[tuple[tuple[float, ...], str]]] = defaultdict(list)
    miss_order = {"reverse_accessory": 0, "noise": 1, "upgrade_pair": 2, "sibling_accessory": 3}
    kinds: Counter[str] = Counter()
    appear: dict[str, list[tuple[str, Any]]] = defaultdict(list)    # card sku -> (scanned, card)
    shown: set[tuple[str, str]] = set()
    scanned = [p for p in products.values() if p.active]
    slots_max = 0
    for p in scanned:
        cards = list(engine.suggest([p.sku], when=when))
        rep.baskets += 1
        rep.card_slots += len(cards)
        if not cards:
            rep.empty_baskets += 1
        slots_max = max(slots_max, len(cards))
        for c in cards:
            text = f"{p.name} → {c.name}"
            appear[c.sku].append((p.sku, c))
            if c.source in FILLER_SOURCES:
                rep.filler_cards += 1
                found["filler"].append(((0.0,), text))
            if c.kind == "upgrade":
                rep.upgrade_cards += 1
                if not compatible(p.name, c.name):
                    rep.variant_upgrades += 1
                    found["variant_upgrades"].append(((0.0,), text))
                if rep.ground_truth:
                    if (p.sku, c.sku) in truth["upgrade"]:
                        rep.upgrade_correct += 1
                    else:
                        found["wrong_upgrades"].append(((0.0,), text))
                continue
            rep.cross_cards += 1
            shown.add((p.sku, c.sku))
            price = float(c.unit_price or c.price)
            if p.price > 0 and price >= ratio * p.price and price - p.price >= min_extra:
                rep.wrong_direction += 1
                found["wrong_direction"].append(((-price / p.price,), text))
            if rep.policy_ratio is not None and p.price > 0 and \
                    price > rep.policy_ratio * p.price + rep.policy_allowance:
                rep.wrong_direction_policy = (rep.wrong_direction_policy or 0) + 1
                found["wrong_direction_policy"].append(((-price / p.price,), text))
            card = products.get(c.sku)
            if card is not None:
                same_family = bool(p.family) and p.family == card.family
                if same_family or (bool(p.category) and p.category == card.category):
                    pl = lift(p.sku, c.sku)
                    if pl < 1.0:
                        rep.substitutes += 1
                        found["substitutes"].append(((0.0 if same_family else 1.0, pl), text))
            if rep.ground_truth:
                pair = (p.sku, c.sku)
                if pair in complements:
                    rep.cross_correct += 1
                    kinds["accessory" if pair in truth["accessory"] else "together"] += 1
                else:
                    kind = ("reverse_accessory" if pair in reverse else
                            "upgrade_pair" if pair in upgrade_any else
                            "sibling_accessory" if pair in siblings else "noise")
                    kinds[kind] += 1
                    found["cross_misses"].append(((float(miss_order[kind]),), text))

    # concentration: the products whose card appears in the most single-item baskets
    ranked = sorted(appear.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    n = max(rep.baskets, 1)

    def min_rule_lift(sku: str, seen: list[tuple[str, Any]]) -> float:
        worst = math.inf
        for scan, c in seen:
            rl = None if c.source in FILLER_SOURCES else lift.rule(scan, sku)
            worst = min(worst, rl if rl is not None else 0.0)
        return worst

    for sku, seen in ranked[:TOP]:
        ml = min_rule_lift(sku, seen)
        rep.concentration_top.append({
            "sku": sku, "name": _name(products, sku, seen[0][1].name), "baskets": len(seen),
            "share": len(seen) / n, "min_lift": ml, "all_lift_ge_2": ml >= min_hub_lift})
    rep.concentration = len(ranked[0][1]) / n if ranked else 0.0
    rep.concentration_over = sum(1 for sku, seen in ranked if len(seen) / n > max_share
                                 and min_rule_lift(sku, seen) < min_hub_lift)

    if rep.ground_truth:
        rep.cross_kinds = {k: kinds.get(k, 0) for k in
                           ("accessory", "together", "reverse_accessory", "upgrade_pair",
                            "sibling_accessory", "noise")}
        active = {p.sku for p in scanned}
        sellable = {s for s, p in products.items() if p.active and (p.stock is None or p.stock > 0)}
        pairs = [(a, b) for a, b in truth["accessory"] if a in active and b in sellable]
        rep.accessory_pairs = len(pairs)
        rep.accessory_shown = sum(1 for pr in pairs if pr in shown)
        per_item = Counter(a for a, _ in pairs)
        cap = slots_max or int(getattr(policy, "max_suggestions", 3) or 3)
        rep.accessory_recall_max = (sum(min(cap, k) for k in per_item.values()) / len(pairs)
                                    if pairs else None)
    for key, items in found.items():
        rep.examples[key] = _pick_examples(items)
    return rep


def _pick_examples(items: list[tuple[tuple[float, ...], str]]) -> list[str]:
    """Up to EXAMPLES texts, worst first, one per distinct card before any card repeats (so
    twenty "… → AA Batteries" do not hide every other case)."""
    ordered = [t for _, t in sorted(items, key=lambda it: it[0])]   # stable: then scan order
    picked: list[str] = []
    cards: set[str] = set()
    for text in ordered:
        card = text.split(" → ", 1)[-1]
        if card not in cards and len(picked) < EXAMPLES:
            picked.append(text)
            cards.add(card)
    for text in ordered:
        if len(picked) >= EXAMPLES:
            break
        if text not in picked:
            picked.append(text)
    return picked


# -- inputs ---------------------------------------------------------------------------------------
def read_ground_truth(till_path: str | Path) -> list[tuple[str, str, str]] | None:
    """The ``demo_relations`` rows of a till database (read-only), None when it has none
    (every till but the demo store)."""
    from possuggest.till.reader import ro_uri

    try:
        conn = sqlite3.connect(ro_uri(Path(till_path)), uri=True, timeout=5.0)
    except sqlite3.Error:
        return None
    try:
        have = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                            (GROUND_TRUTH_TABLE,)).fetchone()
        if not have:
            return None
        return [(str(a), str(b), str(k)) for a, b, k in conn.execute(
            f"SELECT a, b, kind FROM {GROUND_TRUTH_TABLE}")]
    except sqlite3.Error:
        return None
    finally:
        conn.close()


def build_engine(tx: Transactions, products: Mapping[str, Product],
                 mining: MiningSettings | None = None, policy: PolicySettings | None = None,
                 progress: ProgressFn | None = None) -> Any:
    """The engine ``possuggest refresh`` + the panel would build from this history: rules
    mined with the catalogue (so upgrades too), the till's products, the manager's policy."""
    from possuggest.mining.miner import mine_rules
    from possuggest.serving.engine import SuggestionEngine
    from possuggest.store.rule_store import arrays_from_mining

    step = sub_range(progress, 0.0, 1.0)
    res = mine_rules(tx, mining or MiningSettings(), dict(products),
                     progress=lambda f, m: step(f, f"counter sanity: {m}"))
    arrays = arrays_from_mining(res.rules, res.item_counts, tx.n_baskets,
                                products=dict(products), context_counts=res.context_counts)
    return SuggestionEngine(arrays, products=products, policy=policy or PolicySettings())


def newest_time(tx: Transactions) -> float | None:
    """The time of the newest basket (wall-clock seconds), None without times."""
    t = tx.basket_time
    if t is None or not len(t) or bool(np.all(np.isnan(t))):
        return None
    return float(np.nanmax(t))


__all__ = ["SanityReport", "PairLift", "counter_sanity", "read_ground_truth", "build_engine",
           "newest_time", "FILLER_SOURCES", "GROUND_TRUTH_TABLE"]
