"""The offline evaluation harness: split, cases, metrics, baselines, report."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from possuggest.core.errors import Cancelled
from possuggest.core.transactions import Transactions
from possuggest.evaluation.harness import (
    LIST_LENGTH,
    EvalReport,
    ItemKnnRecommender,
    MlxtendRulesRecommender,
    PopularityRecommender,
    Recommender,
    default_baselines,
    evaluate,
    make_cases,
    rank_metrics,
    split_transactions,
)


def timed(baskets: list[list[str]]) -> Transactions:
    """Baskets with increasing times in list order."""
    keys = [i for i, b in enumerate(baskets) for _ in b]
    codes = [x for b in baskets for x in b]
    times = [1000.0 * i for i, b in enumerate(baskets) for _ in b]
    return Transactions.from_pairs(keys, codes, times)


def random_baskets(n: int, n_items: int, seed: int) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        size = int(rng.integers(1, 5))
        # skewed item choice so there are real co-occurrences and popularity differences
        items = rng.choice(n_items, size=size, p=np.linspace(2, 1, n_items) / np.linspace(
            2, 1, n_items).sum())
        out.append([f"i{x}" for x in items])
    return out


# --------------------------------------------------------------------------- split

def test_random_split_is_deterministic_by_seed() -> None:
    tx = Transactions.from_baskets(random_baskets(200, 10, seed=1))
    a = split_transactions(tx, seed=42)
    b = split_transactions(tx, seed=42)
    c = split_transactions(tx, seed=7)
    assert a.by == "random"
    assert a.train.n_baskets == 160 and a.test.n_baskets == 40
    assert list(a.test.basket_ids) == list(b.test.basket_ids)
    assert list(a.test.basket_ids) != list(c.test.basket_ids)
    assert set(a.train.basket_ids) | set(a.test.basket_ids) == set(range(200))


def test_time_split_sorts_by_time_stably() -> None:
    # basket keys in file order k0..k9; times out of order with ties
    times = [5, 1, 5, 3, 9, 1, 7, 7, 2, 8]
    tx = Transactions.from_pairs([f"k{i}" for i in range(10) for _ in range(2)],
                                 [x for i in range(10) for x in ("a", f"b{i % 3}")],
                                 [float(times[i]) for i in range(10) for _ in range(2)])
    s = split_transactions(tx, train_share=0.8)
    assert s.by == "time"
    assert list(s.train.basket_ids) == ["k1", "k5", "k8", "k3", "k0", "k2", "k6", "k7"]
    assert list(s.test.basket_ids) == ["k9", "k4"]
    assert s.train.basket_time.max() <= s.test.basket_time.min()


def test_train_item_space_is_compact_and_unseen_items_map_to_minus_one() -> None:
    tx = timed([["a", "b"]] * 8 + [["a", "z"], ["y", "z"]])
    s = split_transactions(tx)
    assert list(s.train.items) == ["a", "b"]
    codes = list(tx.items)
    assert s.train_index[codes.index("z")] == -1 and s.train_index[codes.index("y")] == -1
    cases = make_cases(s)
    assert len(cases) == 2
    # basket {y, z}: both unseen, so the hidden item is a miss and the query is empty
    last = int(np.flatnonzero(cases.test_basket == 1)[0])
    assert cases.hidden[last] == -1 and len(cases.query(last)) == 0


# --------------------------------------------------------------------------- cases

def test_cases_hide_one_item_of_each_multi_item_basket() -> None:
    baskets = random_baskets(300, 12, seed=3)
    tx = Transactions.from_baskets(baskets)
    s = split_transactions(tx, seed=5)
    cases = make_cases(s, seed=5)
    test_baskets = s.test.baskets()
    multi = [i for i, b in enumerate(test_baskets) if len(set(b)) >= 2]
    assert list(cases.test_basket) == multi
    assert cases.eligible == len(multi)
    for c in range(len(cases)):
        basket = set(test_baskets[cases.test_basket[c]])
        query = {s.train.items[i] for i in cases.query(c)}
        assert cases.hidden_code[c] in basket
        assert query == {x for x in basket - {cases.hidden_code[c]}
                         if x in set(s.train.items)}
        if cases.hidden[c] >= 0:
            assert s.train.items[cases.hidden[c]] == cases.hidden_code[c]
    again = make_cases(s, seed=5)
    assert np.array_equal(again.hidden, cases.hidden)
    assert (again.queries != cases.queries).nnz == 0


def test_max_cases_is_a_seeded_sample_with_the_same_hidden_items() -> None:
    tx = Transactions.from_baskets(random_baskets(500, 12, seed=4))
    s = split_transactions(tx)
    full = make_cases(s, seed=1)
    capped = make_cases(s, seed=1, max_cases=20)
    assert len(capped) == 20 and capped.eligible == full.eligible
    pos = np.searchsorted(full.test_basket, capped.test_basket)
    assert np.array_equal(full.test_basket[pos], capped.test_basket)
    assert np.array_equal(full.hidden[pos], capped.hidden)
    assert np.array_equal(make_cases(s, seed=1, max_cases=20).test_basket, capped.test_basket)


# --------------------------------------------------------------------------- metrics

def test_rank_metrics_hand_made() -> None:
    pad = [-1] * 6
    lists = np.array([
        [3, 1, 2, 4] + pad,                 # hidden 3 at rank 1
        [1, 2, 5, 6] + pad,                 # hidden 5 at rank 3
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 0],     # hidden 7 at rank 7
        [8, 9, -1, -1] + pad,               # hidden unseen: never a hit
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],     # hidden 9 at rank 10
    ])
    hidden = np.array([3, 5, 7, -1, 9])
    got = rank_metrics(lists, hidden, n_items=20)
    assert got["hr@1"] == pytest.approx(1 / 5)
    assert got["hr@3"] == pytest.approx(2 / 5)
    assert got["hr@5"] == pytest.approx(2 / 5)
    assert got["mrr@10"] == pytest.approx((1 + 1 / 3 + 1 / 7 + 0 + 1 / 10) / 5)
    # items in some top-5: 0,1,2,3,4,5,6,8,9 → 9 of 20
    assert got["coverage"] == pytest.approx(9 / 20)
    assert rank_metrics(np.zeros((0, 10), dtype=np.int64), np.zeros(0, dtype=np.int64),
                        5) == {"hr@1": 0.0, "hr@3": 0.0, "hr@5": 0.0, "mrr@10": 0.0,
                               "coverage": 0.0}


def b_follows_a() -> Transactions:
    """Train: 15 × {a, b}, 25 × {e}; test: 10 × {a, b}. Popularity puts e first."""
    return timed([["a", "b"]] * 15 + [["e"]] * 25 + [["a", "b"]] * 10)


def test_evaluate_hand_made_answer() -> None:
    rep = evaluate(b_follows_a(), default_baselines())
    assert rep.cases == 10
    assert set(rep.methods) == {"popularity", "mlxtend_rules", "item_knn"}
    for name in ("mlxtend_rules", "item_knn"):
        assert rep.methods[name]["hr@1"] == 1.0
        assert rep.methods[name]["mrr@10"] == 1.0
    pop = rep.methods["popularity"]
    assert pop["hr@1"] == 0.0 and pop["hr@3"] == 1.0 and pop["mrr@10"] == 0.5
    assert pop["coverage"] == 1.0            # lists [e, b] and [e, a] cover a, b, e
    assert rep.info["split"] == "time" and rep.info["train_items"] == 3


def test_baselines_rank_the_partner_first_and_never_return_query_items() -> None:
    tx = Transactions.from_baskets([["a", "b", "x"]] * 30 + [["a", "b"]] * 30
                                   + [["x"], ["y"], ["z"], ["x", "y"]] * 20)
    items = list(tx.items)
    for rec in (MlxtendRulesRecommender(), ItemKnnRecommender()):
        rec.fit(tx)
        got = rec.recommend(np.array([items.index("a")]), 3)
        assert items[got[0]] == "b", rec.name
        assert items.index("a") not in got
    pop = PopularityRecommender()
    pop.fit(tx)
    got = pop.recommend(np.array([items.index("x")]), 10)
    assert [items[i] for i in got] == ["a", "b", "y", "z"]


# --------------------------------------------------------------------------- references

def _pop_rank(tx: Transactions) -> np.ndarray:
    counts = np.bincount(tx.item, minlength=tx.n_items)
    order = np.lexsort((np.arange(tx.n_items), -counts))
    rank = np.empty(tx.n_items, dtype=np.int64)
    rank[order] = np.arange(tx.n_items)
    return rank


def _check_order(got: np.ndarray, key: dict[int, tuple], query: set[int], rank: np.ndarray,
                 n_items: int, k: int) -> None:
    """``got`` must be: positive-key items by key desc (ties by popularity), then the rest by
    popularity; never a query item. Keys are compared with a tolerance."""
    cands = [i for i in range(n_items) if i not in query]
    pos = sorted((i for i in cands if i in key), key=lambda i: (tuple(-v for v in key[i]),
                                                                rank[i]))
    rest = sorted((i for i in cands if i not in key), key=lambda i: rank[i])
    want = (pos + rest)[:k]
    assert len(got) == len(want)
    assert not set(got.tolist()) & query
    for g, w in zip(got.tolist(), want, strict=True):
        if g == w:
            continue
        assert g in key and w in key, (got, want)
        assert np.allclose(key[g], key[w], rtol=1e-9, atol=1e-12), (got, want)


def test_item_knn_matches_a_dense_reference() -> None:
    tx = Transactions.from_baskets(random_baskets(400, 9, seed=11))
    x = tx.matrix().toarray()
    co = x.T @ x
    cnt = np.diag(co)
    sim = co / np.sqrt(np.outer(cnt, cnt))
    np.fill_diagonal(sim, 0.0)
    rank = _pop_rank(tx)
    rec = ItemKnnRecommender()
    rec.fit(tx)
    for size in (1, 2, 3):
        for q in itertools.combinations(range(tx.n_items), size):
            score = sim[list(q)].sum(axis=0)
            key = {i: (score[i],) for i in range(tx.n_items) if score[i] > 1e-12}
            _check_order(rec.recommend(np.array(q), 5), key, set(q), rank, tx.n_items, 5)


def test_mlxtend_rules_match_a_counting_reference() -> None:
    baskets = random_baskets(300, 8, seed=12)
    tx = Transactions.from_baskets(baskets)
    sets = [set(tx.items.tolist().index(x) for x in b) for b in baskets]
    n = len(sets)
    min_support, min_conf, max_len = 0.02, 0.05, 3

    def count(s: frozenset[int]) -> int:
        return sum(1 for b in sets if s <= b)

    rank = _pop_rank(tx)
    rec = MlxtendRulesRecommender(min_support=min_support, min_confidence=min_conf,
                                  max_len=max_len)
    rec.fit(tx)
    assert rec.n_rules > 0
    for size in (1, 2, 3):
        for q in itertools.combinations(range(tx.n_items), size):
            key: dict[int, tuple] = {}
            for r in range(1, max_len):
                for ant in itertools.combinations(q, r):
                    a = frozenset(ant)
                    ca = count(a)
                    for y in range(tx.n_items):
                        if y in q:
                            continue
                        cay = count(a | {y})
                        if cay / n < min_support or ca == 0 or cay / ca < min_conf:
                            continue
                        conf = cay / ca
                        k = (conf, conf / (count(frozenset({y})) / n), cay / n)
                        key[y] = max(key.get(y, k), k)
            _check_order(rec.recommend(np.array(q), 6), key, set(q), rank, tx.n_items, 6)


# --------------------------------------------------------------------------- harness

class OnlyRecommend:
    """A recommender without recommend_batch: the harness must use the per-query path."""

    name = "popularity_slow"

    def __init__(self) -> None:
        self.inner = PopularityRecommender()

    def fit(self, train: Transactions) -> None:
        self.inner.fit(train)

    def recommend(self, query: np.ndarray, k: int) -> np.ndarray:
        return self.inner.recommend(query, k)


class Cheater:
    """Breaks the contract: returns the query items first."""

    name = "cheater"

    def fit(self, train: Transactions) -> None:
        self.n = train.n_items

    def recommend(self, query: np.ndarray, k: int) -> np.ndarray:
        return np.concatenate([query, np.arange(self.n)])[:k]


def test_per_query_path_equals_batch_path_and_breaches_are_noted() -> None:
    tx = Transactions.from_baskets(random_baskets(300, 15, seed=8))
    assert isinstance(OnlyRecommend(), Recommender)
    rep = evaluate(tx, [PopularityRecommender(), OnlyRecommend(), Cheater()])
    assert rep.methods["popularity"] == rep.methods["popularity_slow"]
    assert any(n.startswith("cheater:") and "query item" in n for n in rep.notes)
    assert not any(n.startswith("popularity") for n in rep.notes)


def test_report_json_shape_and_table() -> None:
    rep = evaluate(b_follows_a(), default_baselines())
    js = rep.to_json()
    assert set(js) == {"cases", "methods"} and js["cases"] == 10
    assert list(js["methods"]) == ["popularity", "mlxtend_rules", "item_knn"]
    for m in js["methods"].values():
        assert list(m) == ["hr@1", "hr@3", "hr@5", "mrr@10", "coverage"]
    assert json.loads(rep.to_json_text()) == js
    table = rep.to_table()
    assert "HR@1" in table and "MRR@10" in table and "item_knn" in table
    assert "1.0000*" in table and "* best" in table
    widths = {len(line) for line in table.splitlines()[1:6]}
    assert len(widths) == 1                  # fixed width


def test_progress_and_cancel() -> None:
    tx = Transactions.from_baskets(random_baskets(300, 10, seed=9))
    seen: list[float] = []
    evaluate(tx, default_baselines(), progress=lambda f, msg: seen.append(f))
    assert seen[0] == 0.0 and seen[-1] == 1.0
    assert all(0.0 <= f <= 1.0 for f in seen) and seen == sorted(seen)
    calls = {"n": 0}

    def cancel_soon() -> bool:
        calls["n"] += 1
        return calls["n"] > 2

    with pytest.raises(Cancelled):
        evaluate(tx, default_baselines(), cancelled=cancel_soon)


def test_degenerate_inputs() -> None:
    empty = Transactions(basket=np.zeros(0, np.int64), item=np.zeros(0, np.int64),
                         items=np.zeros(0, dtype=object), n_baskets=0)
    rep = evaluate(empty, default_baselines())
    assert rep.cases == 0 and rep.notes
    singles = Transactions.from_baskets([["a"], ["b"], ["a"], ["c"], ["a"]])
    assert evaluate(singles, default_baselines()).cases == 0
    # a catalogue smaller than the list: lists are padded, nothing breaks
    tiny = Transactions.from_baskets([["a", "b"]] * 20)
    rep = evaluate(tiny, default_baselines())
    assert rep.cases == 4
    assert all(v["hr@1"] == 1.0 for v in rep.methods.values())


def test_batch_output_shape() -> None:
    tx = Transactions.from_baskets(random_baskets(200, 30, seed=2))
    q = sp.csr_matrix(([1.0, 1.0, 1.0], ([0, 0, 2], [1, 2, 3])), shape=(3, tx.n_items))
    for rec in default_baselines():
        rec.fit(tx)
        out = rec.recommend_batch(q, LIST_LENGTH)
        assert out.shape == (3, LIST_LENGTH)
        assert not {1, 2} & set(out[0].tolist()) and 3 not in out[2]
        assert (out >= 0).all()


# --------------------------------------------------------------------------- shared data

@pytest.mark.shared_data
def test_shared_data_runs(shared_data: Callable[[str], Path]) -> None:
    from possuggest.evaluation.datasets import read_sales_file

    groceries_csv, bakery_csv = shared_data("groceries.csv"), shared_data("BreadBasket_DMS.csv")
    groceries = read_sales_file(groceries_csv).tx
    rep = evaluate(groceries, default_baselines(), max_cases=400)
    assert isinstance(rep, EvalReport) and rep.cases == 400
    assert rep.info["split"] == "random"
    for v in rep.methods.values():
        assert all(0.0 <= x <= 1.0 for x in v.values())
    bakery = read_sales_file(bakery_csv, "long",
                             ticket_cols=["Transaction"], item_col="Item",
                             time_cols=["Date", "Time"]).tx
    rep = evaluate(bakery, default_baselines())
    assert rep.info["split"] == "time" and rep.cases > 1000
    # every method finds the hidden item in its top 5 for a good share of bakery tickets
    assert min(v["hr@5"] for v in rep.methods.values()) > 0.4
