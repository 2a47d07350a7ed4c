"""Tuning the ranking to each store: choose EASE λ, the popularity prior's weight and the
shrinkage on a validation split of the store's own history.

Protocol (the same for ``possuggest refresh`` and for the engine in ``possuggest evaluate``):

1. **Split.** The baskets in time order (their given order when there are no times); the
   latest ``VALIDATION_SHARE`` (15%) is held out, the rest is mined.
2. **Cases.** Every held-out basket with two or more items gives one hide-one case per item
   (:func:`validation_cases`), a seeded sample of at most ``MAX_CASES``. With fewer than
   ``MIN_VALIDATION_BASKETS`` such baskets the defaults are kept and the record says so.
3. **Grid.** :data:`GRID`, eleven configs: λ varied with the default prior, the prior weight
   varied with the default λ, shrinkage 20 with and without EASE, and two popularity-led
   configs (a prior weight so large that popularity decides and the rules only break its
   ties), by time of day and overall. Pair counts and the Gram matrix are computed once;
   each λ costs one EASE solve, each (λ, shrink, context shrink) one engine index, and the
   prior weights reuse the same scores.
4. **Score.** The engine's plain ranking (``suggest(..., display=False)``), computed for all
   cases at once from the engine's own index: HR@3, MRR@10 as tie-break.
5. **Choice** (:func:`choose`). The incumbent is the store's configured values (the
   default) — or the overall-popularity-led config when the default scores below it: the
   engine must not fall below popularity on the store's own baskets. Another config replaces
   the incumbent only when it wins on HR@3 by more than ``max(MIN_GAIN, Z_MARGIN × paired
   standard error)`` (:func:`paired_margin`): smaller differences are what another sample of
   the same store's baskets would undo.

The caller mines the final rules on the whole window with the chosen λ and keeps the record
(:meth:`Tuning.params`) with the rule set; the engine reads ``params["scoring"]`` back.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import scipy.sparse as sp

from possuggest.core.config import MiningSettings, PolicySettings, Settings
from possuggest.core.context_time import N_CONTEXT
from possuggest.core.progress import CancelledFn, ProgressFn, check_cancelled, sub_range
from possuggest.core.transactions import Transactions
from possuggest.evaluation.harness import Cases, Split
from possuggest.mining.miner import (
    context_bucket,
    context_counts,
    mine_pair_rules,
    pair_counts,
    pair_weights,
    recency_weights,
)
from possuggest.serving.engine import ScoringParams, SuggestionEngine
from possuggest.store.rule_store import arrays_from_mining

log = logging.getLogger(__name__)

VALIDATION_SHARE = 0.15        # the latest 15% of the window is held out
MAX_CASES = 5_000              # seeded sample of hide-one cases
MIN_VALIDATION_BASKETS = 500   # fewer held-out baskets with 2+ items: the defaults are kept
SEED = 42
K = 3                          # HR@3 decides; MRR@10 breaks ties
LIST_LENGTH = 10
# A challenger must beat the incumbent by Z_MARGIN paired standard errors: the best of ten
# noisy challengers is favoured by luck, and the one-sided 5% level after a Bonferroni
# correction for ten is 2.58 (the configs are strongly correlated, so a little less will
# do). MIN_GAIN keeps a floor for very large samples, where a real but tiny difference is
# not worth a change of ranking.
Z_MARGIN = 2.5
MIN_GAIN = 0.002
POPULARITY_WEIGHT = 10_000.0   # a prior weight at which popularity decides the order
CONTEXT_OFF = 1e9              # a context shrink at which the prior is the overall share
_BLOCK_CELLS = 4_000_000
_CANCELLED = "refresh cancelled"


@dataclass(frozen=True)
class Config:
    """One point of the grid; ``None`` = the store's configured value (the default)."""

    ease_lambda: float | None = None
    prior_weight: float | None = None
    shrink: float | None = None
    context_shrink: float | None = None


class Key(NamedTuple):
    """A grid point resolved against the defaults."""

    ease_lambda: float
    prior_weight: float
    shrink: float
    context_shrink: float


DEFAULT = Config()
#: The floor: overall popularity decides, the rules only break its ties (= the popularity
#: baseline but for exact ties).
POPULARITY = Config(prior_weight=POPULARITY_WEIGHT, context_shrink=CONTEXT_OFF)

#: The grid (eleven configs with the default). λ 0 (EASE off) / 25 / 400 with the default
#: prior; prior weight 0.1 / 1 / 3 with the default λ; thin evidence shrunk harder (20) with
#: EASE off and on; popularity-led by time of day, and overall (the floor). Measured on
#: Groceries, the bakery, a demo store, T10I4D100K and files with no affinities at all
#: (docs/quality.md, "Tuned to each store").
GRID: tuple[Config, ...] = (
    DEFAULT,
    Config(ease_lambda=0.0),
    Config(ease_lambda=25.0),
    Config(ease_lambda=400.0),
    Config(prior_weight=0.1),
    Config(prior_weight=1.0),
    Config(prior_weight=3.0),
    Config(ease_lambda=0.0, shrink=20.0),
    Config(shrink=20.0),
    Config(prior_weight=POPULARITY_WEIGHT),
    POPULARITY,
)


@dataclass
class Tuning:
    """What tuning chose, and the record kept with the rule set."""

    mining: MiningSettings          # the settings to mine the final rules with (λ chosen)
    scoring: ScoringParams          # the ranking's parameters chosen
    record: dict[str, Any] = field(default_factory=dict)

    def scoring_params(self) -> dict[str, Any]:
        """``params["scoring"]``: the chosen values (``ease_lambda`` is the miner's; the
        engine ignores keys ScoringParams does not have)."""
        return {"ease_lambda": float(self.mining.ease_lambda),
                "prior_weight": float(self.scoring.prior_weight),
                "shrink": float(self.scoring.shrink),
                "context_shrink": float(self.scoring.context_shrink)}

    def params(self) -> dict[str, Any]:
        """``{"scoring": {...}, "tuning": {...}}`` for ``RuleSetInfo.params``."""
        return {"scoring": self.scoring_params(), "tuning": self.record}

    def note(self) -> str:
        """One line for reports (the evaluation's notes, the log)."""
        s, r = self.scoring_params(), self.record
        values = (f"λ={s['ease_lambda']:g}, prior_weight={s['prior_weight']:g}, "
                  f"shrink={s['shrink']:g}, context_shrink={s['context_shrink']:g}")
        status = r.get("status")
        if status == "too few baskets":
            return f"ranking not tuned, defaults {values}: {r.get('reason', '')}"
        d, c = r.get("default") or {}, r.get("chosen") or {}
        p, b = r.get("popularity") or {}, r.get("best") or {}
        return (f"ranking {status}: {values}; validation HR@3 {c.get('hr@3', 0):.4f} (default "
                f"{d.get('hr@3', 0):.4f}, popularity-led {p.get('hr@3', 0):.4f}, best "
                f"{b.get('hr@3', 0):.4f}, margin {r.get('margin', 0):.4f})"
                f" on {r.get('cases', 0):,} cases from the latest "
                f"{100 * r.get('validation_share', 0):g}% of {r.get('baskets', 0):,} baskets")


def validation_split(tx: Transactions, share: float = VALIDATION_SHARE) -> Split:
    """The latest ``share`` of the baskets (by time; in their given order without times) as
    the test part, the rest as the training part in its own compact item space."""
    n = tx.n_baskets
    times = tx.basket_time
    if times is not None and not np.all(np.isnan(times)):
        order = np.argsort(np.asarray(times, dtype=np.float64), kind="stable")
        by = "time"
    else:
        order = np.arange(n)
        by = "order"
    n_val = int(math.ceil(share * n)) if n else 0
    held = np.zeros(n, dtype=bool)
    held[order[n - n_val:]] = True
    fit = tx.subset(~held)
    test = tx.subset(held)
    seen = np.unique(fit.item)
    train_index = np.full(tx.n_items, -1, dtype=np.int64)
    train_index[seen] = np.arange(len(seen))
    fit = Transactions(basket=fit.basket, item=train_index[fit.item], items=tx.items[seen],
                       n_baskets=fit.n_baskets, basket_time=fit.basket_time,
                       basket_ids=fit.basket_ids)
    return Split(train=fit, test=test, train_index=train_index, by=by)


def validation_cases(split: Split, seed: int = SEED, max_cases: int = MAX_CASES) -> Cases:
    """Hide-one cases from the held-out baskets with two or more items, each of their items
    hidden in turn (a basket of four gives four cases: more evidence from a small store than
    one case per basket), a seeded sample of at most ``max_cases``. ``eligible`` counts the
    baskets, as in :func:`~possuggest.evaluation.harness.make_cases`."""
    test = split.test
    order = np.lexsort((test.item, test.basket))
    basket, item = test.basket[order], test.item[order]
    size = np.bincount(basket, minlength=test.n_baskets)
    eligible = int((size >= 2).sum())
    pos = np.flatnonzero(size[basket] >= 2)          # one case per (basket, item) line
    if len(pos) > max_cases:
        pick = np.random.default_rng(seed).choice(len(pos), max_cases, replace=False)
        pos = pos[np.sort(pick)]
    n_cases = len(pos)
    starts = np.concatenate(([0], np.cumsum(size)[:-1])) if test.n_baskets else size
    case_b = basket[pos]
    # every line of each case's basket but the hidden one, known to the training part
    lens = size[case_b]
    rows = np.repeat(np.arange(n_cases), lens)
    first = np.cumsum(lens) - lens
    lines = np.repeat(starts[case_b], lens) + np.arange(int(lens.sum())) - np.repeat(first, lens)
    titem = split.train_index[item[lines]]
    keep = (lines != np.repeat(pos, lens)) & (titem >= 0)
    queries = sp.csr_matrix((np.ones(int(keep.sum())), (rows[keep], titem[keep])),
                            shape=(n_cases, split.train.n_items))
    queries.sort_indices()
    hidden_item = item[pos]
    times = None if test.basket_time is None else test.basket_time[case_b]
    return Cases(queries=queries, hidden=split.train_index[hidden_item],
                 hidden_code=test.items[hidden_item], test_basket=case_b, eligible=eligible,
                 times=times)


def paired_margin(hit_a: np.ndarray, hit_b: np.ndarray) -> float:
    """The HR gain of b over a (same cases) that counts as real: ``max(MIN_GAIN, Z_MARGIN ×
    SE)``, SE the standard error of the paired difference (McNemar: only cases where the two
    disagree carry information). Z = 2.5 rather than 2 because the best of several configs is
    compared, which favours a lucky one (see ``Z_MARGIN``)."""
    n = len(hit_a)
    if n == 0:
        return math.inf
    d = hit_b.astype(np.float64) - hit_a.astype(np.float64)
    se = float(np.std(d, ddof=1) / math.sqrt(n)) if n > 1 else math.inf
    return max(MIN_GAIN, Z_MARGIN * se)


@dataclass
class _Ranked:
    key: Key
    hits: np.ndarray                  # bool per case: hidden item in the top K
    rr: np.ndarray                    # reciprocal rank within LIST_LENGTH (0 beyond)

    @property
    def hr(self) -> float:
        return float(self.hits.mean()) if len(self.hits) else 0.0

    @property
    def mrr(self) -> float:
        return float(self.rr.mean()) if len(self.rr) else 0.0

    @property
    def score(self) -> tuple[float, float]:
        """What decides: HR@3, then MRR@10 (rounded so float noise never does)."""
        return round(self.hr, 9), round(self.mrr, 9)

    def summary(self) -> dict[str, float]:
        return {**self.key._asdict(), "hr@3": round(self.hr, 6), "mrr@10": round(self.mrr, 6)}


def resolve(cfg: Config, mining: MiningSettings, base: ScoringParams) -> Key:
    """A grid point with None filled from the defaults (``mining``, ``base``)."""
    def pick(value: float | None, default: float) -> float:
        return float(default if value is None else value)

    return Key(pick(cfg.ease_lambda, mining.ease_lambda), pick(cfg.prior_weight,
                                                                base.prior_weight),
               pick(cfg.shrink, base.shrink), pick(cfg.context_shrink, base.context_shrink))


class _Scorer:
    """The engine's plain ranking for every case at once, read from its own index: the pair
    strengths summed over the query items, plus ``prior_weight`` × the context prior; items
    with no positive score follow in popularity order (the engine's best-seller fill); an
    empty query gets nothing. Not modelled, as they are the manager's and not the ranking's:
    pinned, manual and blocked pairs; nor multi-item rules (``multi_weight`` is 0 by
    default). tests/test_tuning.py checks it against ``suggest(display=False)``."""

    def __init__(self, engine: SuggestionEngine, fit_items: np.ndarray, cases: Cases) -> None:
        ix = engine._ix
        n = len(ix.skus)
        self.n = n
        self.strength = sp.csr_matrix((ix.strength, ix.cons, ix.indptr), shape=(n, n))
        to_eng = np.array([ix.idx[str(s)] for s in fit_items], dtype=np.int64)
        q = cases.queries
        self.queries = sp.csr_matrix((q.data, to_eng[q.indices], q.indptr), shape=(q.shape[0], n))
        self.hidden = np.where(cases.hidden >= 0, to_eng[np.maximum(cases.hidden, 0)], -1)
        self.prior = ix.prior
        use_ctx = ix.prior.shape[0] > N_CONTEXT and engine._has_context
        self.rows = np.full(len(cases), -1, dtype=np.int64)
        if use_ctx and cases.times is not None:
            self.rows = context_bucket(cases.times)      # -1 (all sales) without a time
        rank = np.empty(n)
        rank[ix.pop_order] = np.arange(n)
        self.fill = np.where(ix.popularity > 0, -1.0 - rank / max(n, 1), -np.inf)

    def rank(self, prior_weights: Sequence[float]) -> list[tuple[np.ndarray, np.ndarray]]:
        """(hits@K, reciprocal rank@10) per prior weight."""
        m = len(self.hidden)
        hits = [np.zeros(m, dtype=bool) for _ in prior_weights]
        rr = [np.zeros(m) for _ in prior_weights]
        step = max(1, _BLOCK_CELLS // max(self.n, 1))
        kk = min(LIST_LENGTH, self.n)
        for lo in range(0, m, step):
            hi = min(m, lo + step)
            q = self.queries[lo:hi]
            base = np.asarray((q @ self.strength).todense())
            prior = self.prior[self.rows[lo:hi]]
            qrows = np.repeat(np.arange(hi - lo), np.diff(q.indptr))
            hid = self.hidden[lo:hi]
            nonempty = np.diff(q.indptr) > 0
            for w, pw in enumerate(prior_weights):
                score = base + pw * prior if pw > 0 else base.copy()
                key = np.where(score > 0, score, self.fill[None, :])
                key[qrows, q.indices] = -np.inf
                top = np.argpartition(-key, kk - 1, axis=1)[:, :kk] if kk < self.n \
                    else np.broadcast_to(np.arange(self.n), (hi - lo, self.n))
                tkey = np.take_along_axis(key, top, axis=1)
                order = np.argsort(-tkey, axis=1, kind="stable")
                top = np.take_along_axis(top, order, axis=1)
                tkey = np.take_along_axis(tkey, order, axis=1)
                match = (top == hid[:, None]) & (hid[:, None] >= 0) & np.isfinite(tkey) \
                    & nonempty[:, None]     # an empty query gets no suggestions at all
                found = match.any(axis=1)
                pos = match.argmax(axis=1)
                hits[w][lo:hi] = found & (pos < K)
                rr[w][lo:hi] = np.where(found, 1.0 / (pos + 1), 0.0)
        return list(zip(hits, rr))


def score_grid(split: Split, cases: Cases, keys: Sequence[Key], mining: MiningSettings,
               policy: PolicySettings, base: ScoringParams, progress: ProgressFn | None = None,
               cancelled: CancelledFn | None = None) -> dict[Key, _Ranked]:
    """HR@3 and MRR@10 of the engine's plain ranking for each grid point on the same cases, with rules mined from ``split.train`` as refresh mines them (pairs only:
    multi-item rules do not enter the ranking unless ``multi_weight`` > 0)."""
    step = sub_range(progress, 0.0, 1.0, cancelled, _CANCELLED)
    step(0.0, "tuning: counting pairs")
    fit = split.train
    keys = list(dict.fromkeys(keys))
    weights = recency_weights(fit, mining.half_life_days)
    pairs, item_w = mine_pair_rules(fit, mining.min_count, weights, 0.0, mining.ease_max_items)
    n_eff = float(weights.sum()) if weights is not None else float(fit.n_baskets)
    item_counts = pd.DataFrame({"sku": fit.items, "count": item_w,
                                "support": item_w / max(n_eff, 1.0)})
    ctx = context_counts(fit, weights) if mining.context else None
    gram = pair_counts(fit, weights) if any(k.ease_lambda > 0 for k in keys) else None
    pos = {str(s): i for i, s in enumerate(fit.items)}
    a = np.fromiter((pos[str(t[0])] for t in pairs["antecedent"]), np.int64, len(pairs))
    b = np.fromiter((pos[str(s)] for s in pairs["consequent"]), np.int64, len(pairs))
    step(0.1, "tuning: scoring")

    ranked: dict[Key, _Ranked] = {}
    groups: dict[tuple[float, float, float], list[float]] = {}   # -> prior weights
    for k in keys:
        groups.setdefault((k.ease_lambda, k.shrink, k.context_shrink), []).append(k.prior_weight)
    for lam in dict.fromkeys(k.ease_lambda for k in keys):
        check_cancelled(cancelled, _CANCELLED)
        rules = pairs.copy()
        if lam > 0 and gram is not None:          # one EASE solve per λ
            rules["weight"] = pair_weights(gram, a, b, lam, mining.ease_max_items)
        arrays = arrays_from_mining(rules, item_counts, fit.n_baskets, context_counts=ctx)
        for (g_lam, shrink, ctx_shrink), pws in groups.items():
            if g_lam != lam:
                continue
            check_cancelled(cancelled, _CANCELLED)       # between configs
            engine = SuggestionEngine(arrays, products={}, policy=policy,
                                      scoring=replace(base, shrink=shrink,
                                                      context_shrink=ctx_shrink),
                                      require_catalog=False)
            for pw, (hits, rr) in zip(pws, _Scorer(engine, fit.items, cases).rank(pws)):
                key = Key(lam, pw, shrink, ctx_shrink)
                ranked[key] = _Ranked(key, hits, rr)
            step(0.1 + 0.9 * len(ranked) / len(keys),
                 f"tuning: {len(ranked)} of {len(keys)} configs")
    return ranked


def choose(ranked: dict[Key, _Ranked], default: Key,
           popularity: Key | None = None) -> tuple[_Ranked, str, float, _Ranked]:
    """(chosen, status, margin, incumbent). The incumbent is the default, or the
    popularity-led config when the default scores below it (status "popularity floor"); the
    best config replaces the incumbent only beyond :func:`paired_margin` ("tuned")."""
    incumbent, status = ranked[default], "default kept"
    pop = ranked.get(popularity) if popularity is not None else None
    if pop is not None and pop.score > incumbent.score:
        incumbent, status = pop, "popularity floor"
    best = max(ranked.values(), key=lambda r: r.score)
    margin = paired_margin(incumbent.hits, best.hits)
    if best.key != incumbent.key and best.hr - incumbent.hr > margin:
        return best, "tuned", margin, incumbent
    return incumbent, status, margin, incumbent


def tune_ranking(tx: Transactions, mining: MiningSettings,
                 policy: PolicySettings | None = None, scoring: ScoringParams | None = None,
                 progress: ProgressFn | None = None, cancelled: CancelledFn | None = None,
                 grid: Sequence[Config] = GRID, share: float = VALIDATION_SHARE,
                 max_cases: int = MAX_CASES, min_baskets: int = MIN_VALIDATION_BASKETS,
                 seed: int = SEED) -> Tuning:
    """Choose λ, prior weight, shrink (and context shrink) for ``tx`` (see the module
    docstring). ``mining``
    and ``scoring`` give the defaults; the result's ``mining`` is ``mining`` with the chosen
    λ, ready to mine the whole window."""
    started = time.perf_counter()
    base = scoring or ScoringParams()
    policy = policy or PolicySettings()
    step = sub_range(progress, 0.0, 1.0, cancelled, _CANCELLED)
    step(0.0, "tuning: validation split")
    split = validation_split(tx, share)
    cases = validation_cases(split, seed=seed, max_cases=max_cases)
    default_key = resolve(DEFAULT, mining, base)
    record: dict[str, Any] = {
        "validation_share": share, "baskets": int(tx.n_baskets),
        "validation_baskets": int(split.test.n_baskets), "eligible": int(cases.eligible),
        "cases": int(len(cases)), "split": split.by, "seed": seed,
    }
    if cases.eligible < min_baskets:
        record.update(status="too few baskets",
                      reason=f"{cases.eligible:,} validation baskets with 2+ items, "
                             f"{min_baskets:,} needed: defaults kept")
        log.info("ranking not tuned: %s", record["reason"])
        return Tuning(mining=mining, scoring=replace(base), record=record)

    keys = list(dict.fromkeys([default_key, *(resolve(c, mining, base) for c in grid)]))
    pop_key = resolve(POPULARITY, mining, base)
    ranked = score_grid(split, cases, keys, mining, policy, base, sub_range(step, 0.05, 1.0),
                        cancelled)
    chosen, status, margin, incumbent = choose(ranked, default_key,
                                               pop_key if pop_key in ranked else None)
    best = max(ranked.values(), key=lambda r: r.score)
    record.update(
        status=status, metric="hr@3", configs=len(keys),
        default=ranked[default_key].summary(),
        popularity=ranked[pop_key].summary() if pop_key in ranked else None,
        best=best.summary(), chosen=chosen.summary(), margin=round(margin, 6),
        gain=round(best.hr - incumbent.hr, 6),
        seconds=round(time.perf_counter() - started, 3),
        grid=[r.summary() for r in ranked.values()])
    k = chosen.key
    result = Tuning(mining=replace(mining, ease_lambda=k.ease_lambda),
                    scoring=replace(base, prior_weight=k.prior_weight, shrink=k.shrink,
                                    context_shrink=k.context_shrink), record=record)
    step(1.0, "tuning done")
    log.info("%s (%.1f s)", result.note(), record["seconds"])
    return result


def tune_for_refresh(tx: Transactions, settings: Settings, progress: ProgressFn | None = None,
                     cancelled: CancelledFn | None = None) -> tuple[MiningSettings, dict[str, Any]]:
    """The hook ``possuggest.mining.refresh.refresh`` calls (``tune=``): the mining settings
    to mine the whole window with, and ``{"scoring": …, "tuning": …}`` for the rule set."""
    t = tune_ranking(tx, settings.mining, settings.policy, progress=progress,
                     cancelled=cancelled)
    return t.mining, t.params()


__all__ = ["Config", "DEFAULT", "GRID", "Key", "POPULARITY", "Tuning", "choose", "paired_margin",
           "resolve", "score_grid", "tune_for_refresh", "tune_ranking", "validation_cases",
           "validation_split"]
