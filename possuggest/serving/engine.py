"""The suggestion engine: the active rule set in an in-memory, array-based index.

``suggest(basket)`` combines the evidence of every rule whose antecedent is in the basket,
applies the manager's policy (thresholds, pinned / blocked / manual pairs, upgrade paths,
excluded categories, stock, margin) and returns at most N suggestions, each with the reason
that actually drove it. A 20-item basket against 500,000 rules takes well under a millisecond.

Two stages: the *ranking* (every candidate scored by the evidence, popularity included: what
the offline hit rates measure, ``display=False``) and the *counter* policy on top of it
(``display=True``, the default, what cashiers see): an accessory must serve the basket (not
cost a multiple of it, not be a dearer version of a basket item), must not be an alternative
to a basket item (same line, bought together less than chance), must rest on a rule from the
basket that is clearly stronger than chance (``min_card_lift``; more for items that go
weakly with everything), and popularity alone is never a card unless the manager allows one
labelled best seller. Fewer cards on real evidence beat three padded ones.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from possuggest.core.config import PolicySettings
from possuggest.core.context_time import N_CONTEXT, bucket_of
from possuggest.core.products import Product, compatible
from possuggest.serving.feedback import Feedback
from possuggest.serving.reasons import (
    bestseller_reason,
    cross_reason,
    money,
    popular_reason,
    say_cross,
    say_upgrade,
    store_pick_reason,
    upgrade_reason,
)
from possuggest.store.rule_store import RuleArrays

log = logging.getLogger(__name__)

#: ``suggest(..., tracer=fn)`` calls ``fn(sku, reason, data)`` at each decision that keeps a
#: product off the cards (and once per call with the scored candidates, sku ""), so the
#: manager console can say why (serving/explain.py). None, the default, costs nothing.
Tracer = Callable[[str, str, Mapping[str, Any]], None]


def ineligible_reason(product: Product, min_stock: int, excluded: set[str]
                      ) -> tuple[str, dict[str, Any]] | None:
    """Why a catalogue product may never be offered (None: it may). ``excluded``: the
    policy's excluded categories, lower case."""
    if not product.active:
        return "inactive", {}
    if product.stock is not None and product.stock < min_stock:
        return "out_of_stock", {"stock": product.stock, "min_stock": min_stock}
    if product.category.lower() in excluded:
        return "excluded_category", {"category": product.category}
    return None


@dataclass(frozen=True)
class Suggestion:
    kind: str                 # 'cross' | 'upgrade'
    sku: str
    name: str
    price: float              # cross: the item's price; upgrade: the price difference
    reason: str
    score: float
    unit_price: float = 0.0
    stock: int | None = None
    rule_id: int | None = None
    because: tuple[str, ...] = ()      # basket skus the evidence came from
    source: str = "mined"              # 'mined' | 'pinned' | 'manual' | 'bestseller'
    confidence: float = 0.0            # the evidence's probability (rule confidence / share)
    detail: str = ""                   # the numbers behind the reason, for those who ask

    @property
    def badge(self) -> str:
        return "Upgrade" if self.kind == "upgrade" else "Accessory"

    @property
    def price_text(self) -> str:
        return f"+{money(self.price)}" if self.kind == "upgrade" else money(self.price)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["because"] = list(self.because)
        return d


@dataclass
class ScoringParams:
    """How evidence is turned into a ranking score (tuned with ``possuggest evaluate``; see
    docs/quality.md).

    Every pair rule X→y with X in the basket adds its weight to y's score: the rule's EASE
    regression weight when mined (an item-to-item model fitted on all pairs at once, so
    evidence from every basket item combines without double counting), else its confidence
    shrunk for thin evidence, ``count / (count_X + shrink)``, put on the same scale.
    Multi-item rules add ``multi_weight`` × their shrunk confidence. ``prior_weight`` ×
    the item's share of sales at this time of day and week (or overall) is added last, so
    well-liked items rank well when the basket says little. The reason shown is the single
    largest of these contributions.
    """

    shrink: float = 5.0
    popularity_damping: float = 0.25
    multi_weight: float = 0.0
    prior_weight: float = 0.3
    context_shrink: float = 20.0
    upgrade_weight: float = 1.0
    fill_bestsellers: bool = True
    max_basket_combos: int = 30      # basket items considered for multi-item antecedents


@dataclass
class _Index:
    idx: dict[str, int]
    skus: np.ndarray
    # pair rules, grouped by antecedent (CSR layout)
    indptr: np.ndarray
    cons: np.ndarray
    strength: np.ndarray
    conf: np.ndarray
    lift: np.ndarray
    rid: np.ndarray
    count: np.ndarray              # baskets holding both (the evidence behind the lift)
    # multi-item antecedents: sorted index tuple -> (cons, strength, conf, lift, rid)
    multi: dict[tuple[int, ...], tuple[np.ndarray, ...]]
    multi_members: np.ndarray      # bool per item: appears in some multi antecedent
    # upgrades by base item: list of (target, share, rule_id)
    upgrades: dict[int, list[tuple[int, float, int | None]]]
    popularity: np.ndarray         # support per item
    pop_order: np.ndarray          # items by popularity, best first
    prior: np.ndarray              # (N_CONTEXT + 1, n_items): share of sales per context; last = all


@dataclass
class _Catalog:
    names: list[str]
    price: np.ndarray
    cost: np.ndarray
    stock: list[int | None]
    eligible: np.ndarray
    weight: np.ndarray
    category: list[str]
    family: list[str]
    known: np.ndarray
    why: dict[int, tuple[str, dict[str, Any]]]   # not eligible: why (see ineligible_reason)


class SuggestionEngine:
    """Holds one rule set in memory and answers ``suggest()``. Not thread-safe for writes:
    rebuild a new engine (or call ``set_products`` / ``set_policy``) from one thread."""

    def __init__(self, rules: RuleArrays | None, products: Mapping[str, Product] | None = None,
                 policy: PolicySettings | None = None, scoring: ScoringParams | None = None,
                 require_catalog: bool | None = None,
                 feedback: Feedback | None = None) -> None:
        self.rules = rules
        self.policy = policy or PolicySettings()
        saved = rules.rule_set.params.get("scoring") if rules is not None else None
        if scoring is None and isinstance(saved, dict):    # chosen at refresh (tuning)
            scoring = ScoringParams(**{k: v for k, v in saved.items()
                                       if k in ScoringParams.__dataclass_fields__})
        self.scoring = scoring or ScoringParams()
        if products is None and rules is not None:
            products = rules.products        # the snapshot kept with the rule set
        self.products: dict[str, Product] = dict(products or {})
        self.require_catalog = bool(self.products) if require_catalog is None else require_catalog
        self.feedback = feedback        # learning from the counter (display only; see below)
        self._build()

    # -- building ------------------------------------------------------------------------
    @property
    def rule_set_id(self) -> int | None:
        return None if self.rules is None else self.rules.rule_set.id

    @property
    def n_rules(self) -> int:
        return 0 if self.rules is None else len(self.rules.rule_id)

    def set_policy(self, policy: PolicySettings) -> None:
        self.policy = policy
        self._build()

    def cross_checks(self, confidence: Any, count: Any, lift: Any
                     ) -> tuple[tuple[str, Any, Any], ...]:
        """The policy's thresholds on a cross-sell rule, as (setting, value, passes) for one
        rule or whole columns: the index keeps a rule only when every one passes."""
        p = self.policy
        return (("min_confidence", confidence, confidence >= p.min_confidence),
                ("min_count", count, count >= p.min_count),
                ("min_lift", lift, np.nan_to_num(lift, nan=0.0) >= p.min_lift))

    def upgrade_check(self, share: Any) -> Any:
        """Whether an upgrade rule's share passes ``min_upgrade_share`` (one or a column)."""
        return share >= self.policy.min_upgrade_share

    def set_products(self, products: Mapping[str, Product]) -> None:
        """New stock / prices from the till; only the catalogue vectors are rebuilt."""
        self.products = dict(products)
        if all(s in self._ix.idx for s in self.products):
            self._cat = self._build_catalog(self._ix)
        else:
            self._build()

    def _build(self) -> None:
        r = self.rules
        p = self.policy
        s = self.scoring
        skus: dict[str, int] = {}

        def add(sku: str) -> int:
            i = skus.get(sku)
            if i is None:
                i = skus[sku] = len(skus)
            return i

        for sku in self.products:
            add(sku)
        n_total = 0.0
        if r is not None:
            for sku in r.item_counts:
                add(sku)
            for c in r.consequent:
                add(c)
            for ante in r.antecedent:
                for sku in ante:
                    add(sku)
            n_total = float(r.rule_set.n_baskets) or 1.0
        for rule in p.manual:
            add(rule.with_sku)
            add(rule.suggest)
        for path in p.upgrade_paths:
            add(path.from_sku)
            add(path.to_sku)
        for a, b in p.pinned:
            add(a)
            add(b)
        n = len(skus)
        popularity = np.zeros(n)
        if r is not None:
            for sku, cnt in r.item_counts.items():
                popularity[skus[sku]] = cnt / n_total
        upgrades: dict[int, list[tuple[int, float, int | None]]] = {}
        multi: dict[tuple[int, ...], tuple[np.ndarray, ...]] = {}
        multi_members = np.zeros(n, dtype=bool)
        if r is not None and len(r.rule_id):
            cons = np.fromiter((skus[c] for c in r.consequent), dtype=np.int64,
                               count=len(r.consequent))
            asize = np.fromiter((len(a) for a in r.antecedent), dtype=np.int64,
                                count=len(r.antecedent))
            first = np.fromiter((skus[a[0]] for a in r.antecedent), dtype=np.int64,
                                count=len(r.antecedent))
            is_cross = r.kind == "cross"
            ok = is_cross
            for _, _, passes in self.cross_checks(r.confidence, r.count, r.lift):
                ok = ok & passes
            ante_count = np.where(r.confidence > 0, r.count / np.maximum(r.confidence, 1e-12), 0)
            pop_c = np.maximum(popularity[cons], 1e-9)
            strength = r.count / (ante_count + s.shrink) / np.power(pop_c, s.popularity_damping)
            weight = (r.weight if r.weight is not None and len(r.weight) == len(strength)
                      else np.full(len(strength), np.nan))
            have = np.isfinite(weight) & is_cross & (asize == 1)
            if have.any():
                # rules without an EASE weight (rare items) join on the same scale
                pos = have & (weight > 0) & (strength > 0)
                scale = float(np.median(weight[pos] / strength[pos])) if pos.any() else 1.0
                strength = np.where(have, weight, strength * scale)
            single = ok & (asize == 1)
            order = np.flatnonzero(single)
            order = order[np.argsort(first[order], kind="stable")]
            indptr = np.zeros(n + 1, dtype=np.int64)
            np.add.at(indptr, first[order] + 1, 1)
            indptr = np.cumsum(indptr)
            pair_cons, pair_strength = cons[order], strength[order]
            pair_conf, pair_lift, pair_rid = r.confidence[order], r.lift[order], r.rule_id[order]
            pair_count = r.count[order].astype(float)
            multi_rows = (np.flatnonzero(ok & (asize > 1)) if s.multi_weight > 0
                          else np.zeros(0, dtype=np.int64))
            columns: dict[tuple[int, ...], tuple[list[Any], ...]] = {}
            for i in multi_rows:   # with no weight they would add nothing: not indexed
                key = tuple(sorted(skus[a] for a in r.antecedent[i]))
                m = columns.setdefault(key, ([], [], [], [], []))
                m[0].append(cons[i])
                m[1].append(r.count[i] / (ante_count[i] + s.shrink) * s.multi_weight)
                m[2].append(r.confidence[i])
                m[3].append(r.lift[i])
                m[4].append(r.rule_id[i])
            multi = {k: tuple(np.array(v) for v in vals) for k, vals in columns.items()}
            for key in multi:
                multi_members[list(key)] = True
            for i in np.flatnonzero((r.kind == "upgrade") & self.upgrade_check(r.confidence)):
                upgrades.setdefault(int(first[i]), []).append(
                    (int(cons[i]), float(r.confidence[i]), int(r.rule_id[i])))
        else:
            indptr = np.zeros(n + 1, dtype=np.int64)
            pair_cons = np.zeros(0, dtype=np.int64)
            pair_strength = pair_conf = pair_lift = pair_count = np.zeros(0)
            pair_rid = np.zeros(0, dtype=np.int64)
        for path in p.upgrade_paths:   # manual upgrade paths come first
            lst = upgrades.setdefault(skus[path.from_sku], [])
            lst.insert(0, (skus[path.to_sku], 1.0, None))
        for lst in upgrades.values():
            lst.sort(key=lambda t: -t[1] if t[2] is not None else -2.0)
        self._ix = _Index(
            idx=skus, skus=np.array(list(skus), dtype=object), indptr=indptr, cons=pair_cons,
            strength=pair_strength, conf=pair_conf, lift=pair_lift, rid=pair_rid, count=pair_count,
            multi=multi,
            multi_members=multi_members, upgrades=upgrades, popularity=popularity,
            pop_order=np.argsort(-popularity, kind="stable"),
            prior=self._priors(skus, popularity))
        self._blocked: dict[int, set[int]] = {}
        self._blocked_any: set[int] = set()
        for a, b in p.blocked:
            if b == "*" and a in skus:
                self._blocked.setdefault(skus[a], set()).add(-1)
            elif a == "*" and b in skus:
                self._blocked_any.add(skus[b])
            elif a in skus and b in skus:
                self._blocked.setdefault(skus[a], set()).add(skus[b])
        self._forced: dict[int, list[tuple[int, str, str]]] = {}
        for a, b in p.pinned:
            self._forced.setdefault(skus[a], []).append((skus[b], "", "pinned"))
        for rule in p.manual:
            self._forced.setdefault(skus[rule.with_sku], []).append(
                (skus[rule.suggest], rule.reason, "manual"))
        self._cat = self._build_catalog(self._ix)
        self._has_context = bool(r is not None and r.context)
        self._hubs = self._find_hubs()
        self._build_feedback()

    def _find_hubs(self) -> np.ndarray:
        """Items with weak rules (lift under ``hub_min_lift``) from more than ``hub_share`` of
        the catalogue: they go with everything a little (batteries, tape) and would otherwise
        fill every basket's cards."""
        ix, p = self._ix, self.policy
        n = len(ix.skus)
        if not len(ix.cons):
            return np.zeros(n, dtype=bool)
        weak = np.nan_to_num(ix.lift, nan=0.0) < p.hub_min_lift
        per_item = np.bincount(ix.cons[weak], minlength=n)
        base = max(int(self._cat.known.sum()), int((np.diff(ix.indptr) > 0).sum()), 1)
        return np.asarray(per_item > p.hub_share * base)

    def _priors(self, skus: dict[str, int], popularity: np.ndarray) -> np.ndarray:
        """Each context bucket's share of sales per item, shrunk toward the overall share."""
        from possuggest.core.context_time import N_CONTEXT

        prior = np.tile(popularity, (N_CONTEXT + 1, 1))
        ctx = self.rules.context if self.rules is not None else None
        if ctx:
            k = self.scoring.context_shrink
            for b, counts in ctx.items():
                total = counts.get("*", 0.0)
                row = np.zeros(len(popularity))
                for sku, cnt in counts.items():
                    j = skus.get(sku)
                    if j is not None and sku != "*":
                        row[j] = cnt
                prior[b] = (row + k * popularity) / (total + k)
        return prior

    def _build_catalog(self, ix: _Index) -> _Catalog:
        n = len(ix.skus)
        p = self.policy
        names = list(ix.skus)
        price = np.zeros(n)
        cost = np.full(n, np.nan)
        stock: list[int | None] = [None] * n
        category = [""] * n
        family = [""] * n
        known = np.zeros(n, dtype=bool)
        eligible = np.ones(n, dtype=bool) if not self.require_catalog else np.zeros(n, dtype=bool)
        excluded = {c.lower() for c in p.excluded_categories}
        why: dict[int, tuple[str, dict[str, Any]]] = {}
        for sku, prod in self.products.items():
            i = ix.idx.get(sku)
            if i is None:
                continue
            known[i] = True
            names[i] = prod.name
            price[i] = prod.price
            cost[i] = np.nan if prod.cost is None else prod.cost
            stock[i] = prod.stock
            category[i] = prod.category
            family[i] = prod.family
            no = ineligible_reason(prod, p.min_stock, excluded)
            eligible[i] = no is None
            if no is not None:
                why[i] = no
        weight = np.ones(n)
        if p.margin_weight > 0:
            margin = np.where((price > 0) & ~np.isnan(cost), (price - cost) / np.maximum(price, 1e-9), 0.0)
            weight *= 1.0 + p.margin_weight * np.clip(margin, 0.0, 1.0)
        if p.stock_weight > 0:
            st = np.array([np.nan if v is None else v for v in stock], dtype=float)
            low = np.clip((10.0 - np.nan_to_num(st, nan=10.0)) / 10.0, 0.0, 1.0)
            weight /= 1.0 + p.stock_weight * low
        return _Catalog(names, price, cost, stock, eligible, weight, category, family, known, why)

    # -- answering -----------------------------------------------------------------------
    def name_of(self, sku: str) -> str:
        i = self._ix.idx.get(sku)
        return sku if i is None else self._cat.names[i]

    def known(self, sku: str) -> bool:
        return sku in self._ix.idx

    def suggest(self, basket: Iterable[str], n: int | None = None,
                exclude: Iterable[str] = (), when: float | None = None,
                display: bool = True, tracer: Tracer | None = None) -> list[Suggestion]:
        """At most ``n`` (default: the policy's max) suggestions for the basket, best first.

        Never an item already in the basket, an excluded (e.g. dismissed) item, an inactive
        or out-of-stock item, or an upgrade of an item whose upgrade is already in the basket.
        Unknown SKUs in the basket are ignored. ``when`` (epoch seconds; default now) picks
        the time-of-day context. ``display`` applies the counter policy (see the module
        docstring); without it the plain ranking comes back, as offline evaluation scores it.
        ``tracer`` (see :data:`Tracer`) is told why each product it passes over is not shown.
        """
        ix, cat = self._ix, self._cat
        limit = self.policy.max_suggestions if n is None else n
        b_idx = list(dict.fromkeys(ix.idx[s] for s in basket if s in ix.idx))
        if limit <= 0 or (not b_idx and display):
            return []       # at the counter, no basket evidence means no card
        if not b_idx:       # the ranking of a basket it knows nothing of: what sells most
            skip = set(exclude)
            return [self._cross(int(j), 0.0, bestseller_reason(ix.popularity[j]), None, (),
                                "bestseller")
                    for j in ix.pop_order[: limit + len(skip)]
                    if cat.eligible[j] and ix.popularity[j] > 0 and ix.skus[j] not in skip][:limit]
        in_basket = np.zeros(len(ix.skus), dtype=bool)
        in_basket[b_idx] = True
        allowed = cat.eligible & ~in_basket
        if tracer is not None:
            self._trace_ineligible(tracer)
        for s in exclude:
            k = ix.idx.get(s)
            if k is not None:
                allowed[k] = False
                if tracer is not None:
                    tracer(s, "excluded", {})
        for j in self._blocked_any:
            allowed[j] = False
            if tracer is not None:
                tracer(str(ix.skus[j]), "blocked", {"with": "*"})
        for i in b_idx:
            blk = self._blocked.get(i)
            if blk:
                if -1 in blk:
                    allowed[:] = False
                    if tracer is not None:
                        tracer("*", "blocked", {"with": str(ix.skus[i])})
                    break
                allowed[list(blk)] = False
                if tracer is not None:
                    for j in blk:
                        tracer(str(ix.skus[j]), "blocked", {"with": str(ix.skus[i])})

        out: list[Suggestion] = []
        taken: set[int] = set()
        # 1. manager's pinned and manual pairs
        for i in b_idx:
            for j, reason, src in self._forced.get(i, ()):
                if allowed[j] and j not in taken:
                    text = reason or self._evidence_reason(i, j) or store_pick_reason(cat.names[i])
                    out.append(self._cross(j, 1e9, text, None, (ix.skus[i],), src))
                    taken.add(j)
        # 2. upgrades of basket items; their targets are offered as upgrades, not accessories
        ups = self._upgrades(b_idx, in_basket, allowed, taken, display, tracer)
        if display and self.feedback is not None:
            ups = [u for u in ups if not self._feedback_hides(u[1], tracer)]
        # 3. mined cross-sell evidence from every basket item
        seg = [(ix.indptr[i], ix.indptr[i + 1]) for i in b_idx]
        parts = [(a, b) for a, b in seg if b > a]
        score = np.zeros(len(ix.skus))
        if parts:
            cons = np.concatenate([ix.cons[a:b] for a, b in parts])
            strength = np.concatenate([ix.strength[a:b] for a, b in parts])
            score += np.bincount(cons, weights=strength, minlength=len(score))
        else:
            cons = strength = np.zeros(0)
        multi_hits: list[tuple[tuple[int, ...], tuple[np.ndarray, ...]]] = []
        if ix.multi and len(b_idx) >= 2:
            members = sorted(i for i in b_idx if ix.multi_members[i])[: self.scoring.max_basket_combos]
            for size in (2, 3):
                for key in itertools.combinations(members, size):
                    hit = ix.multi.get(key)
                    if hit is not None:
                        multi_hits.append((key, hit))
                        np.add.at(score, hit[0], hit[1])
        prior_w = self.scoring.prior_weight if self.scoring.fill_bestsellers or display else 0.0
        bucket = bucket_of(when)
        prior = ix.prior[bucket if ix.prior.shape[0] > N_CONTEXT and self._has_context
                         else -1]
        if prior_w > 0:
            score += prior_w * prior
        if display and self.feedback is not None:      # learning from the counter
            score *= self._feedback_factor(parts, cons, strength, prior_w * prior)
        score *= cat.weight
        score[~allowed] = 0.0
        want = limit + 3 + len(taken) if not display else 4 * limit + 12 + len(taken)
        cand = np.flatnonzero(score > 0)
        if len(cand) > want:
            cand = cand[np.argpartition(-score[cand], want)[:want]]
        cand = cand[np.argsort(-score[cand], kind="stable")]
        if tracer is not None:
            tracer("", "scored", {"score": score, "cand": cand, "want": want, "index": ix.idx,
                                  "bucket": bucket if self._has_context else -1,
                                  "limit": limit})
        cross: list[Suggestion] = []
        pairs = self._pairs_to(cand, b_idx, cons) if display else {}
        dearest = self._dearest(b_idx) if display else 0.0
        for c_j in cand:
            if c_j in taken:
                continue
            if display:
                card = self._counter_card(int(c_j), float(score[c_j]), b_idx, multi_hits,
                                          pairs.get(int(c_j), {}), dearest, tracer)
                if card is not None and not self._feedback_hides(card, tracer):
                    cross.append(card)
                    if len(cross) >= limit:
                        break   # upgrades and pinned items are not in `cand`: no more are used
                continue
            cross.append(self._explain(int(c_j), float(score[c_j]), b_idx, parts, cons, strength,
                                       multi_hits, prior_w * float(prior[c_j]),
                                       float(prior[c_j]), bucket if self._has_context else -1))
        # 4. merge: an upgrade goes before cross-sells less likely than its share
        merged = list(out)
        ui = 0
        for c in cross:
            while ui < len(ups) and ups[ui][0] >= self._cross_prob(c):
                merged.append(ups[ui][1])
                ui += 1
            merged.append(c)
        merged.extend(u for _, u in ups[ui:])
        result: list[Suggestion] = []
        seen: set[str] = set()
        for sug in merged:
            if sug.sku not in seen:
                result.append(sug)
                seen.add(sug.sku)
            if len(result) >= limit:
                break
        if ups and limit >= 2 and not any(r.kind == "upgrade" for r in result) \
                and len(result) >= limit and ups[0][1].sku not in seen:
            # an upgrade that qualifies always gets the last slot: upsell is the other half
            if tracer is not None:
                tracer(result[-1].sku, "outranked_by_upgrade", {"upgrade": ups[0][1].sku})
            seen.discard(result[-1].sku)
            result[-1] = ups[0][1]
            seen.add(ups[0][1].sku)
        if len(result) >= limit:
            return result
        # 5. best sellers fill the rest, said as such (at the counter: only as the manager allows)
        fill = (limit if not display else min(limit, len(result) + self.policy.bestseller_cards))
        if self.scoring.fill_bestsellers or display:
            for j in ix.pop_order[: limit + len(b_idx) + 50]:
                if len(result) >= fill:
                    break
                if allowed[j] and ix.skus[j] not in seen and ix.popularity[j] > 0 and \
                        (not display or self._fits_basket(int(j), b_idx, dearest=dearest,
                                                          tracer=tracer)):
                    result.append(self._cross(int(j), 0.0, bestseller_reason(ix.popularity[j]),
                                              None, (), "bestseller"))
                    seen.add(ix.skus[j])
        return result

    # -- learning from the counter (serving/feedback.py) ---------------------------------------
    def _build_feedback(self) -> None:
        """Feedback multipliers on the index: per item, and per pair rule position (the pair's
        own when it has been shown, else its item's)."""
        fb, ix = self.feedback, self._ix
        self._fb_item = np.ones(len(ix.skus))
        self._fb_rule = np.ones(len(ix.cons))
        if fb is None:
            return
        for sku, est in fb.items.items():
            j = ix.idx.get(sku)
            if j is not None:
                self._fb_item[j] = est.multiplier
        self._fb_rule = self._fb_item[ix.cons]
        for (driver, sku), est in fb.pairs.items():
            i, j = ix.idx.get(driver), ix.idx.get(sku)
            if i is not None and j is not None:
                k = self._pair(i, j)
                if k >= 0:
                    self._fb_rule[k] = est.multiplier

    def _feedback_factor(self, parts: list[tuple[int, int]], cons: np.ndarray,
                         strength: np.ndarray, base: np.ndarray) -> np.ndarray:
        """Per item: its feedback multiplier, with the evidence of each basket item weighted by
        that pair's own record (a strength-weighted mean of the pairs' multipliers, the
        item's for the popularity part). Stays within the multipliers' bounds."""
        item = self._fb_item
        if not parts:
            return item
        rule = np.concatenate([self._fb_rule[a:b] for a, b in parts])
        w = np.maximum(strength, 0.0)
        n = len(item)
        num = np.bincount(cons, weights=w * (rule - item[cons]), minlength=n)
        den = np.bincount(cons, weights=w, minlength=n) + np.maximum(base, 0.0)
        return item + np.divide(num, den, out=np.zeros(n), where=den > 0)

    def _feedback_hides(self, sug: Suggestion, tracer: Tracer | None = None) -> bool:
        """A mined card whose (driver, item) pair cashiers' customers keep refusing."""
        fb = self.feedback
        hides = fb is not None and sug.source == "mined" and fb.hides(sug.because, sug.sku)
        if hides and tracer is not None:
            tracer(sug.sku, "dismissed_too_often", {"because": sug.because, "kind": sug.kind,
                                                    "rule_id": sug.rule_id})
        return hides

    # -- the counter policy ------------------------------------------------------------------
    def _pairs_to(self, cand: np.ndarray, b_idx: list[int], cons: np.ndarray
                  ) -> dict[int, dict[int, int]]:
        """For each candidate j: {basket item i: index position of the pair rule i→j}, found in
        one pass over the basket's rules (``cons``, concatenated in ``b_idx`` order) instead of
        a search per (basket item, candidate)."""
        ix = self._ix
        out: dict[int, dict[int, int]] = {}
        if not len(cons) or not len(cand):
            return out
        starts = [(i, int(ix.indptr[i]), int(ix.indptr[i + 1])) for i in b_idx
                  if ix.indptr[i + 1] > ix.indptr[i]]
        owner = np.repeat([i for i, _, _ in starts], [b - a for _, a, b in starts])
        offset = np.concatenate([np.arange(a, b) for _, a, b in starts])
        wanted = np.zeros(len(ix.skus), dtype=bool)
        wanted[cand] = True
        for h in np.flatnonzero(wanted[cons]):
            out.setdefault(int(cons[h]), {}).setdefault(int(owner[h]), int(offset[h]))
        return out

    def _pair(self, i: int, j: int) -> int:
        """Index position of the pair rule i→j, or -1."""
        a, b = self._ix.indptr[i], self._ix.indptr[i + 1]
        if b <= a:
            return -1
        hit = np.flatnonzero(self._ix.cons[a:b] == j)
        return int(a + hit[0]) if len(hit) else -1

    def _card_lift(self, k: int) -> float:
        """The pair's lift, shrunk toward 1 for thin evidence: (both + s) / (expected + s) with
        s = ``card_evidence_shrink``. Four sales that happen to coincide do not make a card;
        four hundred do."""
        lift, both = float(self._ix.lift[k]), float(self._ix.count[k])
        if not lift > 0:
            return 0.0
        s = self.policy.card_evidence_shrink
        return (both + s) / (both / lift + s)

    def _dearest(self, b_idx: list[int]) -> float:
        """The dearest basket item's price (0 when no basket item has a known price)."""
        cat = self._cat
        return max((float(cat.price[i]) for i in b_idx if cat.known[i] and cat.price[i] > 0),
                   default=0.0)

    def _fits_basket(self, j: int, b_idx: list[int], pairs: dict[int, int] | None = None,
                     dearest: float | None = None, tracer: Tracer | None = None) -> bool:
        """Direction and substitutes: may j be offered as an accessory to this basket?
        ``pairs`` ({basket item: pair rule position}) and ``dearest`` (:meth:`_dearest`)
        save working them out again for every candidate."""
        cat, p = self._cat, self.policy
        price_j = float(cat.price[j]) if cat.known[j] else 0.0
        top = self._dearest(b_idx) if dearest is None else dearest
        if top > 0 and price_j > 0 and p.accessory_max_price_ratio > 0 and \
                price_j > top * p.accessory_max_price_ratio + p.accessory_price_allowance:
            if tracer is not None:
                tracer(str(self._ix.skus[j]), "too_dear", {
                    "price": price_j, "dearest": top, "ratio": p.accessory_max_price_ratio,
                    "allowance": p.accessory_price_allowance})
            return False        # the basket item would be the accessory of j, not j of it
        for i in b_idx:
            same_family = bool(cat.family[i]) and cat.family[i] == cat.family[j]
            if same_family and price_j > float(cat.price[i]) > 0:
                if tracer is not None:
                    tracer(str(self._ix.skus[j]), "dearer_version", {
                        "with": str(self._ix.skus[i]), "family": cat.family[j],
                        "price": price_j, "with_price": float(cat.price[i])})
                return False    # a dearer version of a basket item is an upgrade, never an accessory
            if p.lines_are_main_items and cat.family[j] and not same_family and \
                    price_j > float(cat.price[i]) > 0:
                if tracer is not None:
                    tracer(str(self._ix.skus[j]), "main_item", {
                        "with": str(self._ix.skus[i]), "family": cat.family[j],
                        "price": price_j, "with_price": float(cat.price[i])})
                return False    # a dearer main purchase is not what a cheaper item needs
            if same_family or (cat.category[i] and cat.category[i] == cat.category[j]):
                k = self._pair(i, j) if pairs is None else pairs.get(i, -1)
                if k < 0 or not float(self._ix.lift[k]) >= 1.0:
                    if tracer is not None:
                        tracer(str(self._ix.skus[j]), "substitute", {
                            "with": str(self._ix.skus[i]),
                            "same": "family" if same_family else "category",
                            "lift": None if k < 0 else float(self._ix.lift[k])})
                    return False    # an alternative: customers take one or the other
        return True

    def _counter_card(self, j: int, score: float, b_idx: list[int],
                      multi_hits: list[tuple[tuple[int, ...], tuple[np.ndarray, ...]]],
                      pairs: dict[int, int], dearest: float,
                      tracer: Tracer | None = None) -> Suggestion | None:
        """Item j as an accessory card at the counter, or None when it should not be read out.
        ``pairs``: {basket item: position of its pair rule to j} (see :meth:`_pairs_to`)."""
        ix, cat, p = self._ix, self._cat, self.policy
        if not self._fits_basket(j, b_idx, pairs, dearest, tracer):
            return None
        need = max(p.min_card_lift, p.hub_min_lift if self._hubs[j] else 0.0)
        best: tuple[float, tuple[int, ...], float, float, int] | None = None
        for i, k in pairs.items():
            lift = float(ix.lift[k])
            if self._card_lift(k) >= need and (best is None or ix.strength[k] > best[0]):
                best = (float(ix.strength[k]), (i,), float(ix.conf[k]), lift, int(ix.rid[k]))
        for key, (mc, ms, mconf, mlift, mrid) in multi_hits:
            w = np.flatnonzero(mc == j)
            if len(w) and float(mlift[w[0]]) >= need and (best is None or ms[w[0]] > best[0]):
                best = (float(ms[w[0]]), key, float(mconf[w[0]]), float(mlift[w[0]]),
                        int(mrid[w[0]]))
        if best is None:
            if tracer is not None:
                self._trace_weak(tracer, j, pairs, multi_hits, need)
            return None         # popularity alone, or evidence no stronger than chance: filler
        _, key, conf, lift, rid = best
        names = [cat.names[i] for i in key]
        sug = self._cross(j, score, say_cross(names, conf), rid, tuple(ix.skus[i] for i in key),
                          "mined", conf)
        if tracer is not None and len(key) == 1:
            k = pairs[key[0]]
            tracer(sug.sku, "card", {"card_lift": self._card_lift(k), "need": need,
                                     "count": float(ix.count[k]), "rule_id": rid})
        return replace(sug, detail=cross_reason(names, conf, lift))

    def _trace_weak(self, tracer: Tracer, j: int, pairs: dict[int, int],
                    multi_hits: list[tuple[tuple[int, ...], tuple[np.ndarray, ...]]],
                    need: float) -> None:
        """Why :meth:`_counter_card` found no rule strong enough for item j."""
        ix, p = self._ix, self.policy
        lifts = [(self._card_lift(k), i, k) for i, k in pairs.items()]
        for _, (mc, _, _, mlift, _) in multi_hits:
            w = np.flatnonzero(mc == j)
            if len(w):
                lifts.append((float(mlift[w[0]]), -1, -1))
        sku = str(ix.skus[j])
        if not lifts:
            tracer(sku, "no_rule", {})      # scored on popularity alone
            return
        best, i, k = max(lifts, key=lambda t: t[0])
        data: dict[str, Any] = {
            "card_lift": best, "need": need, "min_card_lift": p.min_card_lift,
            "hub_min_lift": p.hub_min_lift, "with": str(ix.skus[i]) if i >= 0 else "",
            "lift": float(ix.lift[k]) if k >= 0 else best,
            "count": float(ix.count[k]) if k >= 0 else None,
            "rule_id": int(ix.rid[k]) if k >= 0 else None}
        hub = bool(self._hubs[j]) and best >= p.min_card_lift
        tracer(sku, "hub_filler" if hub else "weak_evidence", data)

    def _trace_ineligible(self, tracer: Tracer) -> None:
        """Every product that may never be offered, and why (see :func:`ineligible_reason`)."""
        cat, skus = self._cat, self._ix.skus
        for j in np.flatnonzero(~cat.eligible):
            reason, data = cat.why.get(int(j), ("not_in_catalogue", {}))
            tracer(str(skus[j]), reason, data)

    @staticmethod
    def _cross_prob(s: Suggestion) -> float:
        return 1.0 if s.source in ("pinned", "manual") else s.confidence

    def _cross(self, j: int, score: float, reason: str, rule_id: int | None,
               because: Sequence[str], source: str, prob: float = 0.0) -> Suggestion:
        cat = self._cat
        return Suggestion(kind="cross", sku=str(self._ix.skus[j]), name=cat.names[j],
                          price=float(cat.price[j]), reason=reason, score=float(score),
                          unit_price=float(cat.price[j]), stock=cat.stock[j],
                          rule_id=None if rule_id is None else int(rule_id),
                          because=tuple(because), source=source, confidence=prob)

    def _evidence_reason(self, i: int, j: int) -> str | None:
        k = self._pair(i, j)
        if k < 0:
            return None
        return cross_reason([self._cat.names[i]], float(self._ix.conf[k]), float(self._ix.lift[k]))

    def _explain(self, j: int, score: float, b_idx: list[int], parts: list[tuple[int, int]],
                 cons: np.ndarray, strength: np.ndarray,
                 multi_hits: list[tuple[tuple[int, ...], tuple[np.ndarray, ...]]],
                 prior_part: float, share: float, bucket: int) -> Suggestion:
        """The largest single contribution to item j's score gives the reason: a rule, or
        how popular the item is (at this time of day)."""
        ix = self._ix
        best_val = -1.0
        best: tuple[tuple[int, ...], float, float, int] | None = None
        hits = np.flatnonzero(cons == j)
        if len(hits):
            h = hits[np.argmax(strength[hits])]
            best_val = float(strength[h])
            # locate the rule: which segment holds position h
            off = 0
            for bi, (a, b) in zip((i for i in b_idx if ix.indptr[i + 1] > ix.indptr[i]), parts):
                if h < off + (b - a):
                    k = a + (h - off)
                    best = ((bi,), float(ix.conf[k]), float(ix.lift[k]), int(ix.rid[k]))
                    break
                off += b - a
        for key, (mc, ms, mconf, mlift, mrid) in multi_hits:
            w = np.flatnonzero(mc == j)
            if len(w) and float(ms[w[0]]) > best_val:
                best_val = float(ms[w[0]])
                best = (key, float(mconf[w[0]]), float(mlift[w[0]]), int(mrid[w[0]]))
        if best is None or prior_part > best_val:
            reason = popular_reason(share, bucket)
            return self._cross(j, score, reason, None, (), "popular", share)
        key, conf, lift, rid = best
        reason = cross_reason([self._cat.names[i] for i in key], conf, lift)
        return self._cross(j, score, reason, rid, tuple(ix.skus[i] for i in key), "mined", conf)

    def _upgrades(self, b_idx: list[int], in_basket: np.ndarray, allowed: np.ndarray,
                  taken: set[int], display: bool = False, tracer: Tracer | None = None
                  ) -> list[tuple[float, Suggestion]]:
        ix, cat = self._ix, self._cat
        found: list[tuple[float, Suggestion]] = []
        for i in b_idx:
            options = ix.upgrades.get(i)
            if not options:
                continue
            if any(in_basket[t] for t, _, _ in options):
                if tracer is not None:
                    for t, _, _ in options:
                        tracer(str(ix.skus[t]), "has_upgrade", {"with": str(ix.skus[i])})
                continue  # the shopper already has an upgrade of this item
            for t, share, rid in options:
                if not allowed[t] or t in taken:
                    continue
                diff = float(cat.price[t] - cat.price[i])
                if display and rid is not None and (
                        diff <= 0 or not compatible(cat.names[i], cat.names[t])):
                    if tracer is not None:
                        tracer(str(ix.skus[t]), "not_dearer" if diff <= 0 else "size_variant",
                               {"with": str(ix.skus[i]), "diff": diff, "rule_id": rid})
                    continue    # a cheaper item or a size/fitting variant is not an upgrade
                detail = ""
                if rid is None:
                    reason = f"Better choice than {cat.names[i]}"
                    prob = 1.0
                else:
                    reason = upgrade_reason(cat.names[i], share)
                    if display:
                        reason, detail = say_upgrade(cat.names[i], share), reason
                    prob = share * self.scoring.upgrade_weight
                sug = Suggestion(kind="upgrade", sku=str(ix.skus[t]), name=cat.names[t],
                                 price=diff, reason=reason, score=prob * cat.weight[t],
                                 unit_price=float(cat.price[t]), stock=cat.stock[t],
                                 rule_id=rid, because=(str(ix.skus[i]),),
                                 source="mined" if rid is not None else "manual",
                                 confidence=share, detail=detail)
                found.append((prob, sug))
                taken.add(t)
                if tracer is not None:
                    for other, _, _ in options[options.index((t, share, rid)) + 1:]:
                        tracer(str(ix.skus[other]), "another_upgrade",
                               {"with": str(ix.skus[i]), "chosen": str(ix.skus[t])})
                break   # one upgrade per basket item
        found.sort(key=lambda t: -t[0])
        return found


def engine_from_store(store: Any, products: Mapping[str, Product] | None = None,
                      policy: PolicySettings | None = None,
                      scoring: ScoringParams | None = None) -> SuggestionEngine:
    """Load the active rule set from a RuleStore into a new engine (empty when none)."""
    return SuggestionEngine(store.load_active(), products=products, policy=policy, scoring=scoring)


__all__ = ["Suggestion", "SuggestionEngine", "ScoringParams", "engine_from_store"]
