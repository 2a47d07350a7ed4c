"""Offline evaluation of suggestion quality: a leave-one-out hit-rate harness and baselines.

The protocol (PRODUCT.md, "How quality is measured offline"):

1. **Split.** When baskets have times they are sorted by time (stable, so equal times keep file
   order) and the first ``train_share`` (80%) is the training set, the rest the test set.
   Without times the baskets are shuffled with ``numpy.random.default_rng(seed)`` first.
2. **Cases.** Every test basket with at least two distinct items becomes one case: one item,
   chosen with the seeded generator, is hidden; the other items are the query. Query items
   never seen in training are dropped from the query (a query may end up empty). A hidden item
   never seen in training stays a case and is a miss for every method. ``max_cases`` keeps a
   seeded sample of the cases (the hidden item of a basket does not depend on the cap).
3. **Ranking.** Each :class:`Recommender` is fitted on the training baskets (in the training
   item space: only items seen in training, see :class:`Split`) and asked for its top 10 for
   every query.
4. **Metrics**, over the same cases for every method:

   - ``hr@k`` (k = 1, 3, 5): share of cases whose hidden item is among the first k suggestions;
   - ``mrr@10``: mean over cases of 1/rank of the hidden item when it is in the first 10,
     else 0;
   - ``coverage``: number of distinct items that appear in at least one case's top-5 list,
     divided by the number of items seen in training (the catalogue a method could suggest).
     A method that always suggests the same five items has coverage 5/n_items.

Recommenders implement ``name``, ``fit(train)`` and ``recommend(query, k)``; when they also
have ``recommend_batch(queries, k)`` (``queries`` a CSR basket × item matrix in the training
item space, result an ``(n, k)`` int array padded with -1) the harness uses it, in batches.
An optional ``notes`` list attribute is copied into the report (e.g. "subsampled to ...").

Baselines: :class:`PopularityRecommender`, :class:`MlxtendRulesRecommender` (mlxtend fpgrowth
+ association_rules, ranked by confidence) and :class:`ItemKnnRecommender` (item-item cosine).
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd
import scipy.sparse as sp

from possuggest.core.progress import CancelledFn, ProgressFn, check_cancelled, sub_range
from possuggest.core.transactions import Transactions

log = logging.getLogger(__name__)

_CANCELLED = "evaluation cancelled"

#: Length of the list asked of every method (MRR is computed at 10).
LIST_LENGTH = 10
METRICS = ("hr@1", "hr@3", "hr@5", "mrr@10", "coverage")

# Dense score blocks are kept under about this many cells per batch (8 bytes each).
_BLOCK_CELLS = 8_000_000
_MAX_BATCH = 4096


# --------------------------------------------------------------------------- protocol

@runtime_checkable
class Recommender(Protocol):
    """What the harness needs of a method.

    ``recommend(query, k)``: ``query`` holds item indices in the training item space
    (``train.items``), the result up to ``k`` item indices, best first, never a query item.
    Optional: ``recommend_batch(queries, k) -> np.ndarray`` for a CSR matrix of queries
    (one row per case, result ``(n_rows, k)`` padded with -1), and ``notes: list[str]``.
    """

    name: str

    def fit(self, train: Transactions) -> None: ...

    def recommend(self, query: np.ndarray, k: int) -> np.ndarray: ...


# --------------------------------------------------------------------------- split and cases

@dataclass
class Split:
    """Training and test baskets.

    ``train`` is re-coded to a compact item space: ``train.items`` holds only the items that
    occur in a training basket, so every recommender's catalogue is what it could have learnt.
    ``test`` keeps the input's item space; ``train_index[i]`` maps an input item index to the
    training index, or -1 when the item never occurs in training. ``by`` is ``"time"`` or
    ``"random"``.
    """

    train: Transactions
    test: Transactions
    train_index: np.ndarray
    by: str


def split_transactions(tx: Transactions, train_share: float = 0.8, seed: int = 42) -> Split:
    """Split by time when ``tx.basket_time`` exists, else by a seeded random permutation.

    The first ``floor(train_share * n_baskets)`` baskets in that order are the training set.
    Baskets without a time (NaN) sort last.
    """
    if not 0.0 < train_share < 1.0:
        raise ValueError(f"train_share must be between 0 and 1, got {train_share}")
    n = tx.n_baskets
    if tx.basket_time is not None:
        order = np.argsort(np.asarray(tx.basket_time, dtype=np.float64), kind="stable")
        by = "time"
    else:
        order = np.random.default_rng(seed).permutation(n)
        by = "random"
    n_train = int(math.floor(train_share * n))
    train_mask = np.zeros(n, dtype=bool)
    train_mask[order[:n_train]] = True
    # keep the chosen order inside each part (time order, or the shuffled order)
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    train = _reorder(tx.subset(train_mask), rank[train_mask])
    test = _reorder(tx.subset(~train_mask), rank[~train_mask])

    seen = np.unique(train.item)
    train_index = np.full(tx.n_items, -1, dtype=np.int64)
    train_index[seen] = np.arange(len(seen))
    train = Transactions(basket=train.basket, item=train_index[train.item],
                         items=tx.items[seen], n_baskets=train.n_baskets,
                         basket_time=train.basket_time, basket_ids=train.basket_ids)
    log.info("split by %s: %d training baskets (%d items), %d test baskets",
             by, train.n_baskets, train.n_items, test.n_baskets)
    return Split(train=train, test=test, train_index=train_index, by=by)


def _reorder(tx: Transactions, key: np.ndarray) -> Transactions:
    """Renumber baskets in the order of ``key`` (one value per basket)."""
    order = np.argsort(key, kind="stable")
    new_of_old = np.empty(tx.n_baskets, dtype=np.int64)
    new_of_old[order] = np.arange(tx.n_baskets)
    return Transactions(
        basket=new_of_old[tx.basket], item=tx.item, items=tx.items, n_baskets=tx.n_baskets,
        basket_time=None if tx.basket_time is None else tx.basket_time[order],
        basket_ids=None if tx.basket_ids is None else tx.basket_ids[order])


@dataclass
class Cases:
    """Leave-one-out cases: ``queries`` (CSR, one row per case, columns = training items),
    ``hidden`` (training index of the hidden item, -1 when unseen in training),
    ``hidden_code`` (its item code) and ``test_basket`` (its index in ``Split.test``)."""

    queries: sp.csr_matrix
    hidden: np.ndarray
    hidden_code: np.ndarray
    test_basket: np.ndarray
    eligible: int            # test baskets with two or more items (cases before any cap)
    times: np.ndarray | None = None   # epoch seconds of each case's basket, when known

    def __len__(self) -> int:
        return len(self.hidden)

    def query(self, i: int) -> np.ndarray:
        """The query of case ``i`` as item indices."""
        q = self.queries
        return q.indices[q.indptr[i]:q.indptr[i + 1]]


def make_cases(split: Split, seed: int = 42, max_cases: int | None = None) -> Cases:
    """One case per test basket with at least two distinct items (see the module docstring)."""
    test = split.test
    rng = np.random.default_rng(seed)
    order = np.lexsort((test.item, test.basket))
    basket = test.basket[order]
    item = test.item[order]
    counts = np.bincount(basket, minlength=test.n_baskets)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1])) if test.n_baskets else counts
    eligible = np.flatnonzero(counts >= 2)
    offset = np.floor(rng.random(len(eligible)) * counts[eligible]).astype(np.int64)
    hidden_pos = starts[eligible] + offset
    chosen = np.arange(len(eligible))
    if max_cases is not None and max_cases < len(eligible):
        chosen = np.sort(rng.choice(len(eligible), size=max_cases, replace=False))
    case_baskets = eligible[chosen]
    hidden_pos = hidden_pos[chosen]

    # query pairs: every pair of a chosen basket except the hidden one, known to training
    case_of_basket = np.full(test.n_baskets, -1, dtype=np.int64)
    case_of_basket[case_baskets] = np.arange(len(case_baskets))
    pair_case = case_of_basket[basket]
    is_hidden = np.zeros(len(basket), dtype=bool)
    is_hidden[hidden_pos] = True
    titem = split.train_index[item]
    sel = (pair_case >= 0) & ~is_hidden & (titem >= 0)
    n_train_items = split.train.n_items
    queries = sp.csr_matrix(
        (np.ones(int(sel.sum()), dtype=np.float64), (pair_case[sel], titem[sel])),
        shape=(len(case_baskets), n_train_items))
    queries.sort_indices()
    hidden_item = item[hidden_pos]
    times = None if test.basket_time is None else test.basket_time[case_baskets]
    return Cases(queries=queries, hidden=split.train_index[hidden_item],
                 hidden_code=test.items[hidden_item], test_basket=case_baskets,
                 eligible=len(eligible), times=times)


# --------------------------------------------------------------------------- metrics and report

def rank_metrics(lists: np.ndarray, hidden: np.ndarray, n_items: int) -> dict[str, float]:
    """HR@1/3/5, MRR@10 and coverage of top-``LIST_LENGTH`` lists (-1 = empty slot).

    ``hidden`` -1 (unseen in training) never matches. Coverage = distinct items in the first
    five columns / ``n_items``.
    """
    n = len(hidden)
    if n == 0:
        return dict.fromkeys(METRICS, 0.0)
    lists = lists[:, :LIST_LENGTH]
    match = (lists == hidden[:, None]) & (hidden[:, None] >= 0)
    found = match.any(axis=1)
    rank = np.where(found, match.argmax(axis=1) + 1, 0)
    out = {f"hr@{k}": float(np.mean(found & (rank <= k))) for k in (1, 3, 5)}
    out["mrr@10"] = float(np.sum(np.where(found, 1.0 / np.maximum(rank, 1), 0.0)) / n)
    top5 = lists[:, :5]
    shown = np.unique(top5[top5 >= 0])
    out["coverage"] = float(len(shown) / n_items) if n_items else 0.0
    return out


@dataclass
class EvalReport:
    """The result of :func:`evaluate`.

    ``methods``: name → metrics (``hr@1``, ``hr@3``, ``hr@5``, ``mrr@10``, ``coverage``).
    ``timings``: name → ``fit_s`` (seconds to fit), ``recommend_s`` (seconds for all cases),
    ``per_case_ms``. ``info``: the data and split (baskets, items, cases with an unseen hidden
    item, empty queries). ``notes``: one-line remarks (subsampling, contract breaches).
    """

    cases: int
    methods: dict[str, dict[str, float]]
    timings: dict[str, dict[str, float]] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """``{"cases": N, "methods": {name: {"hr@1": …, "hr@3": …, "hr@5": …,
        "mrr@10": …, "coverage": …}}}`` as a JSON-ready dict (values rounded to 6 places)."""
        return {"cases": int(self.cases),
                "methods": {name: {m: round(float(v[m]), 6) for m in METRICS}
                            for name, v in self.methods.items()}}

    def to_json_text(self, indent: int | None = 2) -> str:
        """:meth:`to_json` as JSON text."""
        return json.dumps(self.to_json(), indent=indent)

    def to_table(self) -> str:
        """A fixed-width table, one row per method; ``*`` marks the best value per metric."""
        names = list(self.methods)
        heads = ["method", "HR@1", "HR@3", "HR@5", "MRR@10", "coverage", "fit s", "ms/case"]
        best = {m: max((self.methods[n][m] for n in names), default=0.0) for m in METRICS}
        rows = []
        for n in names:
            row = [n]
            for m in METRICS:
                v = self.methods[n][m]
                row.append(f"{v:.4f}{'*' if names and v == best[m] and len(names) > 1 else ' '}")
            t = self.timings.get(n, {})
            row.append(f"{t.get('fit_s', float('nan')):.2f}")
            row.append(f"{t.get('per_case_ms', float('nan')):.3f}")
            rows.append(row)
        widths = [max(len(r[i]) for r in [heads, *rows]) for i in range(len(heads))]
        def fmt(r: Sequence[str]) -> str:
            return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                             for i, (c, w) in enumerate(zip(r, widths, strict=True)))
        lines = [f"{self.cases:,} cases"
                 + (f" ({self.info['split']} split, {self.info.get('train_baskets', 0):,} "
                    f"training baskets, {self.info.get('test_baskets', 0):,} test baskets)"
                    if "split" in self.info else ""),
                 fmt(heads), fmt(["-" * w for w in widths])]
        lines += [fmt(r) for r in rows]
        if len(names) > 1:
            lines.append("* best in column")
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


# --------------------------------------------------------------------------- the harness

def _batch_size(n_items: int) -> int:
    return int(max(1, min(_MAX_BATCH, _BLOCK_CELLS // max(n_items, 1))))


def _run_method(rec: Recommender, cases: Cases, progress: ProgressFn,
                cancelled: CancelledFn | None) -> tuple[np.ndarray, float]:
    """Top-``LIST_LENGTH`` lists for all cases (padded with -1) and the seconds it took."""
    msg = f"{rec.name}: ranking"
    n = len(cases)
    k = LIST_LENGTH
    out = np.full((n, k), -1, dtype=np.int64)
    batch_fn = getattr(rec, "recommend_batch", None)
    t0 = time.perf_counter()
    if callable(batch_fn):
        size = int(getattr(rec, "batch_size", 0) or _batch_size(cases.queries.shape[1]))
        for lo in range(0, n, size):
            check_cancelled(cancelled, _CANCELLED)
            hi = min(n, lo + size)
            if getattr(rec, "uses_time", False) and cases.times is not None:
                # context-aware methods see when each basket was rung up, nothing else
                got = np.asarray(batch_fn(cases.queries[lo:hi], k, times=cases.times[lo:hi]),
                                 dtype=np.int64)
            else:
                got = np.asarray(batch_fn(cases.queries[lo:hi], k), dtype=np.int64)
            if got.ndim != 2 or got.shape[0] != hi - lo:
                raise ValueError(f"{rec.name}.recommend_batch returned shape {got.shape}, "
                                 f"expected ({hi - lo}, {k})")
            w = min(k, got.shape[1])
            out[lo:hi, :w] = got[:, :w]
            progress(hi / max(n, 1), msg)
    else:
        step = max(1, n // 100)
        for i in range(n):
            if i % step == 0:
                check_cancelled(cancelled, _CANCELLED)
                progress(i / max(n, 1), msg)
            got = np.asarray(rec.recommend(cases.query(i), k), dtype=np.int64)[:k]
            out[i, :len(got)] = got
        progress(1.0, msg)
    return out, time.perf_counter() - t0


def _contract_breaches(lists: np.ndarray, queries: sp.csr_matrix) -> tuple[int, int]:
    """(lists holding a query item, lists holding an item twice)."""
    n, k = lists.shape
    if n == 0:
        return 0, 0
    m = max(queries.shape[1], 1)
    rows = np.repeat(np.arange(n, dtype=np.int64), k)
    flat = lists.ravel()
    valid = flat >= 0
    keys = rows[valid] * m + flat[valid]
    qrows = np.repeat(np.arange(n, dtype=np.int64), np.diff(queries.indptr))
    qkeys = qrows * m + queries.indices.astype(np.int64)
    in_query = np.isin(keys, qkeys)
    bad_q = len(np.unique(rows[valid][in_query]))
    uniq, cnt = np.unique(keys, return_counts=True)
    bad_d = len(np.unique(uniq[cnt > 1] // m))
    return bad_q, bad_d


def evaluate(tx: Transactions, recommenders: Sequence[Recommender], seed: int = 42,
             train_share: float = 0.8, max_cases: int | None = None,
             progress: ProgressFn | None = None,
             cancelled: CancelledFn | None = None) -> EvalReport:
    """Split ``tx``, build the cases, fit and query every recommender on the same cases.

    ``progress(fraction, message)`` is called as work advances; when ``cancelled()`` returns
    True the run stops with :class:`~possuggest.core.errors.Cancelled`.
    """
    report = sub_range(progress, 0.0, 1.0)      # clamps to 0..1

    def check() -> None:
        check_cancelled(cancelled, _CANCELLED)

    report(0.0, "splitting baskets")
    split = split_transactions(tx, train_share=train_share, seed=seed)
    cases = make_cases(split, seed=seed, max_cases=max_cases)
    check()
    n_cases = len(cases)
    q_sizes = np.diff(cases.queries.indptr)
    info: dict[str, Any] = {
        "split": split.by, "baskets": tx.n_baskets, "items": tx.n_items,
        "train_baskets": split.train.n_baskets, "test_baskets": split.test.n_baskets,
        "train_items": split.train.n_items, "eligible_test_baskets": cases.eligible,
        "hidden_unseen": int((cases.hidden < 0).sum()),
        "empty_queries": int((q_sizes == 0).sum()),
        "mean_query_items": float(q_sizes.mean()) if n_cases else 0.0, "seed": seed,
    }
    notes: list[str] = []
    if n_cases == 0:
        notes.append("no test basket has two or more items: nothing to evaluate")
        log.warning("evaluation: no cases")
    if max_cases is not None and cases.eligible > n_cases:
        notes.append(f"cases: a seeded sample of {n_cases:,} of {cases.eligible:,}")
    if info["hidden_unseen"]:
        notes.append(f"{info['hidden_unseen']:,} cases hide an item never seen in training "
                     "(a miss for every method)")

    methods: dict[str, dict[str, float]] = {}
    timings: dict[str, dict[str, float]] = {}
    n_rec = max(len(recommenders), 1)
    base, span = 0.02, 0.98 / n_rec
    for idx, rec in enumerate(recommenders):
        lo = base + idx * span
        check()
        report(lo, f"{rec.name}: fitting")
        t0 = time.perf_counter()
        rec.fit(split.train)
        fit_s = time.perf_counter() - t0
        check()
        report(lo + 0.4 * span, f"{rec.name}: ranking")
        lists, rec_s = _run_method(rec, cases, sub_range(report, lo + 0.4 * span, lo + span),
                                   cancelled)
        methods[rec.name] = rank_metrics(lists, cases.hidden, split.train.n_items)
        timings[rec.name] = {"fit_s": fit_s, "recommend_s": rec_s,
                             "per_case_ms": 1000.0 * rec_s / max(n_cases, 1)}
        bad_q, bad_d = _contract_breaches(lists, cases.queries)
        if bad_q:
            notes.append(f"{rec.name}: {bad_q:,} lists contain a query item (contract breach)")
        if bad_d:
            notes.append(f"{rec.name}: {bad_d:,} lists contain an item twice (contract breach)")
        notes.extend(f"{rec.name}: {n}" for n in getattr(rec, "notes", []) or [])
        log.info("evaluation %s: %s (fit %.2fs, rank %.2fs)", rec.name,
                 {m: round(v, 4) for m, v in methods[rec.name].items()}, fit_s, rec_s)
    report(1.0, "done")
    return EvalReport(cases=n_cases, methods=methods, timings=timings, info=info, notes=notes)


# --------------------------------------------------------------------------- ranking helpers

def _popularity(train: Transactions) -> tuple[np.ndarray, np.ndarray]:
    """(items most frequent first, ties by index; a tie-break weight in (0, 1] per item,
    larger for more popular items)."""
    counts = np.bincount(train.item, minlength=train.n_items)
    order = np.lexsort((np.arange(train.n_items), -counts))
    weight = np.empty(train.n_items, dtype=np.float64)
    weight[order] = 1.0 - np.arange(train.n_items) / max(train.n_items, 1)
    return order, weight


def top_k(scores: np.ndarray, queries: sp.csr_matrix, pop_weight: np.ndarray,
          k: int) -> np.ndarray:
    """Best ``k`` items per row of a dense score block, query items excluded.

    Items with a positive score come first, by score (exact ties go to the more popular item);
    the remaining slots are filled by popularity. Rows run short only when the catalogue
    minus the query has fewer than ``k`` items (padded with -1).
    """
    n, m = scores.shape
    key = np.where(scores > 0, scores * (1.0 + 1e-9 * pop_weight), pop_weight - 2.0)
    rows = np.repeat(np.arange(n), np.diff(queries.indptr))
    key[rows, queries.indices] = -np.inf
    kk = min(k, m)
    if kk < m:
        part = np.argpartition(-key, kk - 1, axis=1)[:, :kk]
    else:
        part = np.broadcast_to(np.arange(m), (n, m)).copy()
    pkey = np.take_along_axis(key, part, axis=1)
    o = np.argsort(-pkey, axis=1, kind="stable")
    best = np.take_along_axis(part, o, axis=1)
    best[np.take_along_axis(pkey, o, axis=1) == -np.inf] = -1
    if kk < k:
        best = np.hstack([best, np.full((n, k - kk), -1, dtype=best.dtype)])
    return best.astype(np.int64)


class _BatchBase:
    """``recommend`` in terms of ``recommend_batch``, and shared popularity."""

    name = "base"

    def __init__(self) -> None:
        self.notes: list[str] = []
        self._order = np.zeros(0, dtype=np.int64)
        self._pop_weight = np.zeros(0)
        self._n_items = 0

    def _fit_popularity(self, train: Transactions) -> None:
        self._n_items = train.n_items
        self._order, self._pop_weight = _popularity(train)

    def recommend(self, query: np.ndarray, k: int) -> np.ndarray:
        q = np.unique(np.asarray(query, dtype=np.int64))
        q = q[(q >= 0) & (q < self._n_items)]
        mat = sp.csr_matrix((np.ones(len(q)), (np.zeros(len(q), dtype=np.int64), q)),
                            shape=(1, self._n_items))
        row = self.recommend_batch(mat, k)[0]
        return row[row >= 0]

    def recommend_batch(self, queries: sp.csr_matrix, k: int) -> np.ndarray:
        raise NotImplementedError


# --------------------------------------------------------------------------- baselines

class PopularityRecommender(_BatchBase):
    """The most frequent training items (by basket count, ties by item index), minus the query."""

    name = "popularity"

    def fit(self, train: Transactions) -> None:
        self._fit_popularity(train)

    def recommend_batch(self, queries: sp.csr_matrix, k: int) -> np.ndarray:
        n = queries.shape[0]
        longest = int(np.diff(queries.indptr).max()) if n else 0
        cand = self._order[:k + longest]
        if len(cand) == 0:
            return np.full((n, k), -1, dtype=np.int64)
        in_query = queries[:, cand].toarray() > 0
        pos = np.argsort(in_query, axis=1, kind="stable")[:, :k]
        out = cand[pos]
        out[np.take_along_axis(in_query, pos, axis=1)] = -1
        if out.shape[1] < k:
            out = np.hstack([out, np.full((n, k - out.shape[1]), -1, dtype=np.int64)])
        return out


class ItemKnnRecommender(_BatchBase):
    """Item-item cosine similarity on the binary basket × item matrix.

    sim(i, j) = co-count(i, j) / sqrt(count(i) · count(j)), self-similarity 0. A candidate's
    score is the sum of its similarities to the query items; candidates with score 0 (and
    any remaining slots) are filled by popularity.
    """

    name = "item_knn"

    def __init__(self) -> None:
        super().__init__()
        self._sim = sp.csr_matrix((0, 0))

    def fit(self, train: Transactions) -> None:
        self._fit_popularity(train)
        x = train.matrix(np.float64).tocsc()
        co = (x.T @ x).tocsr()
        d = co.diagonal()
        inv = np.where(d > 0, 1.0 / np.sqrt(np.maximum(d, 1e-300)), 0.0)
        sim = sp.diags(inv) @ co @ sp.diags(inv)
        sim = sp.csr_matrix(sim)
        sim.setdiag(0.0)
        sim.eliminate_zeros()
        self._sim = sim

    def recommend_batch(self, queries: sp.csr_matrix, k: int) -> np.ndarray:
        scores = (queries @ self._sim).toarray()
        return top_k(scores, queries, self._pop_weight, k)


class MlxtendRulesRecommender(_BatchBase):
    """The textbook method: mlxtend ``fpgrowth`` + ``association_rules`` ranked by confidence.

    Fit: ``fpgrowth(min_support, use_colnames=True, max_len)`` on the one-hot training
    baskets, then ``association_rules(metric="confidence", min_threshold=min_confidence)``.
    Only rules with a one-item consequent are kept: with this ranking they lose nothing,
    since conf(X → {y}) ≥ conf(X → {y, z}) for the same X.

    Recommend: the rules whose antecedent is contained in the query and whose consequent is
    not in it; each candidate item takes its best rule, ranked by confidence, ties by lift,
    then support (then the more popular item). Remaining slots are filled by popularity, as a
    practitioner would do.

    On large inputs mlxtend (pure Python FP-tree, dense one-hot frame) is the bottleneck:
    when the training set exceeds ``max_baskets`` baskets (or the one-hot frame would exceed
    ``max_cells`` cells) a seeded random sample of baskets is mined instead, and this is said
    in ``notes``. Supports are then estimated on the sample; ``min_support`` stays a share.
    """

    name = "mlxtend_rules"

    def __init__(self, min_support: float = 0.001, min_confidence: float = 0.01,
                 max_len: int = 3, max_baskets: int = 100_000, max_cells: int = 100_000_000,
                 seed: int = 42) -> None:
        super().__init__()
        self.min_support = min_support
        self.min_confidence = min_confidence
        self.max_len = max_len
        self.max_baskets = max_baskets
        self.max_cells = max_cells
        self.seed = seed
        self.batch_size = 1024
        self.n_rules = 0
        self.n_itemsets = 0
        self._ant = sp.csr_matrix((0, 0))
        self._ant_len = np.zeros(0, dtype=np.int64)
        self._cons = np.zeros(0, dtype=np.int64)
        self._score = np.zeros(0)

    def fit(self, train: Transactions) -> None:
        from mlxtend.frequent_patterns import association_rules, fpgrowth

        self.notes = []
        self._fit_popularity(train)
        m = train.n_items
        x = train.matrix(np.float64)
        n = x.shape[0]
        cap = min(self.max_baskets, max(1, self.max_cells // max(m, 1)))
        if n > cap:
            keep = np.sort(np.random.default_rng(self.seed).choice(n, size=cap, replace=False))
            x = x[keep]
            self.notes.append(f"mined a seeded sample of {cap:,} of {n:,} training baskets "
                              "(mlxtend is too slow/memory-hungry for all)")
            log.info("mlxtend rules: sampled %d of %d baskets", cap, n)
        n_mined = x.shape[0]
        self.notes.append(f"min_support={self.min_support:g} (≥ {self.min_support * n_mined:.1f}"
                          f" baskets), max_len={self.max_len}, "
                          f"min_confidence={self.min_confidence:g}")
        self._ant = sp.csr_matrix((0, m))
        self._ant_len = np.zeros(0, dtype=np.int64)
        self._cons = np.zeros(0, dtype=np.int64)
        self._score = np.zeros(0)
        self.n_rules = self.n_itemsets = 0
        if n_mined == 0 or m == 0:
            return
        df = pd.DataFrame(x.astype(bool).toarray(), columns=list(range(m)))
        freq = fpgrowth(df, min_support=self.min_support, use_colnames=True,
                        max_len=self.max_len)
        self.n_itemsets = len(freq)
        if not (freq["itemsets"].map(len) > 1).any():
            self.notes.append("no frequent itemset of two or more items: popularity only")
            return
        rules = association_rules(freq, num_itemsets=n_mined, metric="confidence",
                                  min_threshold=self.min_confidence,
                                  return_metrics=["support", "confidence", "lift"])
        rules = rules[rules["consequents"].map(len) == 1]
        self.n_rules = len(rules)
        self.notes.append(f"{self.n_itemsets:,} frequent itemsets, "
                          f"{self.n_rules:,} one-consequent rules")
        if not len(rules):
            return
        ants = rules["antecedents"].tolist()
        lens = np.fromiter((len(a) for a in ants), dtype=np.int64, count=len(ants))
        cols = np.fromiter((int(i) for a in ants for i in a), dtype=np.int64,
                           count=int(lens.sum()))
        self._ant = sp.csr_matrix(
            (np.ones(len(cols)), cols, np.concatenate(([0], np.cumsum(lens)))),
            shape=(len(ants), m))
        self._ant_len = lens
        self._cons = np.fromiter((int(next(iter(c))) for c in rules["consequents"]),
                                 dtype=np.int64, count=len(rules))
        conf = rules["confidence"].to_numpy(np.float64)
        lift = rules["lift"].to_numpy(np.float64)
        supp = rules["support"].to_numpy(np.float64)
        # dense rank of (confidence, lift, support): equal keys share a score
        keys = np.round(np.column_stack([conf, lift, supp]), 12)
        uniq, inv = np.unique(keys, axis=0, return_inverse=True)   # ascending lexicographic
        self._score = (inv.ravel() + 1).astype(np.float64)
        log.info("mlxtend rules: %d itemsets, %d rules (%d distinct scores)",
                 self.n_itemsets, self.n_rules, len(uniq))

    def recommend_batch(self, queries: sp.csr_matrix, k: int) -> np.ndarray:
        n, m = queries.shape
        scores = np.zeros((n, m), dtype=np.float64)
        if len(self._cons):
            hits = (queries @ self._ant.T).tocoo()
            ok = hits.data >= self._ant_len[hits.col] - 0.5
            r, rule = hits.row[ok], hits.col[ok]
            np.maximum.at(scores, (r, self._cons[rule]), self._score[rule])
        return top_k(scores, queries, self._pop_weight, k)


def default_baselines(seed: int = 42) -> list[Recommender]:
    """The three baselines every evaluation runs beside the engine."""
    return [PopularityRecommender(), MlxtendRulesRecommender(seed=seed), ItemKnnRecommender()]
