"""Affinity mining: exact pair rules from sparse counts, multi-item rules via mlxtend, upgrades.

Pair rules (one-item antecedent) are counted exactly at any support with one sparse matrix
product ``Xᵀ·diag(w)·X``. Rules with 2–3 item antecedents come from mlxtend's ``fpgrowth`` and
``association_rules`` above a support floor. Metrics follow mlxtend's definitions.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Container, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from possuggest.core.config import MiningSettings
from possuggest.core.context_time import DAYPART_HOURS, N_CONTEXT
from possuggest.core.products import Product, compatible
from possuggest.core.progress import CancelledFn, ProgressFn, sub_range
from possuggest.core.transactions import Transactions

log = logging.getLogger(__name__)

RULE_COLUMNS = ["kind", "antecedent", "consequent", "count", "support", "confidence", "lift",
                "leverage", "conviction", "antecedent_count", "consequent_count", "weight"]

SEP = "\t"   # antecedent item separator in stored rules


@dataclass
class MiningResult:
    """Rules (DataFrame with RULE_COLUMNS; ``antecedent`` is a tuple of skus) and item counts."""

    rules: pd.DataFrame
    item_counts: pd.DataFrame           # sku, count, support
    n_baskets: int
    context_counts: pd.DataFrame | None = None   # bucket, sku, count ('*' = all baskets)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def n_cross(self) -> int:
        return int((self.rules["kind"] == "cross").sum())

    @property
    def n_upgrade(self) -> int:
        return int((self.rules["kind"] == "upgrade").sum())


def recency_weights(tx: Transactions, half_life_days: float) -> np.ndarray | None:
    """Weight 0.5**(age / half-life) per basket, age from the newest basket; None when off."""
    if not half_life_days or tx.basket_time is None or tx.n_baskets == 0:
        return None
    t = tx.basket_time
    newest = np.nanmax(t)
    age_days = np.nan_to_num((newest - t) / 86400.0, nan=0.0)
    return np.power(0.5, age_days / half_life_days)


def _metrics(c_ab: np.ndarray, c_a: np.ndarray, c_b: np.ndarray, n: float) -> dict[str, np.ndarray]:
    """mlxtend's definitions of support, confidence, lift, leverage and conviction."""
    s_ab, s_a, s_b = c_ab / n, c_a / n, c_b / n
    conf = s_ab / s_a
    with np.errstate(divide="ignore", invalid="ignore"):
        conviction = np.where(conf >= 1.0, np.inf, (1.0 - s_b) / (1.0 - conf))
    return {"support": s_ab, "confidence": conf, "lift": conf / s_b,
            "leverage": s_ab - s_a * s_b, "conviction": conviction}


def pair_counts(tx: Transactions, weights: np.ndarray | None = None) -> sp.coo_matrix:
    """Co-occurrence counts of every item pair (diagonal = item counts), exactly, as COO."""
    x = tx.matrix(np.float64)
    if weights is None:
        c = (x.T @ x).tocoo()
    else:
        c = (x.T @ sp.diags(weights) @ x).tocoo()
    return c


def ease_weights(gram: np.ndarray, lam: float) -> np.ndarray:
    """EASE (Steck 2019): the closed-form item-to-item regression B = I − P·diag(1/diag(P)),
    P = (G + λI)⁻¹, with a zero diagonal. ``gram`` is the (weighted) co-occurrence matrix."""
    g = np.array(gram, dtype=np.float64, copy=True)
    g[np.diag_indices_from(g)] += lam
    p = np.linalg.inv(g)
    b = -p / np.diag(p)
    np.fill_diagonal(b, 0.0)
    return b


def pair_weights(gram: sp.spmatrix, a: np.ndarray, b: np.ndarray, lam: float,
                 max_items: int) -> np.ndarray:
    """EASE weight of each pair rule a→b; NaN where an item is outside the ``max_items`` most
    frequent (the engine then falls back to the rule's confidence)."""
    out = np.full(len(a), np.nan)
    n_items = gram.shape[0]
    if not len(a) or n_items == 0 or lam <= 0:
        return out
    counts = np.asarray(gram.diagonal()).ravel()
    top = np.argsort(-counts, kind="stable")[:max_items]
    pos = np.full(n_items, -1)
    pos[top] = np.arange(len(top))
    sub = gram.tocsr()[top][:, top].toarray()
    w = ease_weights(sub, lam)
    ok = (pos[a] >= 0) & (pos[b] >= 0)
    out[ok] = w[pos[a[ok]], pos[b[ok]]]
    return out


def context_bucket(epoch_seconds: np.ndarray) -> np.ndarray:
    """Context bucket of each time (see context_time), vectorised. NaN times give -1."""
    t = np.asarray(epoch_seconds, dtype=np.float64)
    out = np.full(len(t), -1, dtype=np.int64)
    ok = ~np.isnan(t)
    if ok.any():
        stamps = pd.to_datetime(t[ok], unit="s")      # wall-clock seconds: no time zone
        hour = stamps.hour.to_numpy()
        weekend = (stamps.day_of_week.to_numpy() >= 5).astype(np.int64)
        out[ok] = np.digitize(hour, DAYPART_HOURS) * 2 + weekend
    return out


def context_counts(tx: Transactions, weights: np.ndarray | None = None) -> pd.DataFrame | None:
    """How often each item sells in each context bucket (sku '*' = baskets in the bucket)."""
    if tx.basket_time is None or tx.n_baskets == 0 or np.all(np.isnan(tx.basket_time)):
        return None
    bucket = context_bucket(tx.basket_time)
    w = np.ones(tx.n_baskets) if weights is None else weights
    line_bucket = bucket[tx.basket]
    ok = line_bucket >= 0
    cnt = np.zeros((N_CONTEXT, tx.n_items))
    np.add.at(cnt, (line_bucket[ok], tx.item[ok]), w[tx.basket[ok]])
    totals = np.bincount(bucket[bucket >= 0], weights=w[bucket >= 0], minlength=N_CONTEXT)
    rows_b, rows_i = np.nonzero(cnt)
    df = pd.DataFrame({"bucket": np.concatenate([rows_b, np.arange(N_CONTEXT)]),
                       "sku": np.concatenate([tx.items[rows_i].astype(object),
                                              np.array(["*"] * N_CONTEXT, dtype=object)]),
                       "count": np.concatenate([cnt[rows_b, rows_i], totals])})
    return df


def mine_pair_rules(tx: Transactions, min_count: int,
                    weights: np.ndarray | None = None, ease_lambda: float = 0.0,
                    ease_max_items: int = 3000) -> tuple[pd.DataFrame, np.ndarray]:
    """Every one-item rule a→b whose pair is seen in at least ``min_count`` baskets.

    Returns the rules and the (possibly weighted) item counts. With weights, ``count`` stays
    the plain number of baskets and the metrics use the weighted counts. With
    ``ease_lambda`` > 0 each rule also gets its EASE regression ``weight``.
    """
    x = tx.matrix(np.float64)
    raw = (x.T @ x).tocoo()
    item_raw = np.asarray(x.sum(axis=0)).ravel()
    off = raw.row != raw.col
    keep = off & (raw.data >= min_count)
    a, b, cnt = raw.row[keep], raw.col[keep], raw.data[keep]
    if weights is None:
        n = float(tx.n_baskets)
        item_w = item_raw
        c_ab = cnt
        gram = raw
    else:
        n = float(weights.sum())
        xw = sp.diags(weights) @ x
        item_w = np.asarray(xw.sum(axis=0)).ravel()
        gram = (x.T @ xw).tocsr()
        c_ab = np.asarray(gram[a, b]).ravel()
    m = _metrics(c_ab, item_w[a], item_w[b], n)
    w_ease = pair_weights(gram, a, b, ease_lambda, ease_max_items)
    df = pd.DataFrame({
        "kind": "cross",
        "antecedent": [(s,) for s in tx.items[a]],
        "consequent": tx.items[b],
        "count": cnt.astype(np.int64),
        **m,
        "antecedent_count": item_raw[a].astype(np.int64),
        "consequent_count": item_raw[b].astype(np.int64),
        "weight": w_ease,
    })
    return df, item_w


def frequent_itemsets(tx: Transactions, min_support: float, max_len: int,
                      min_len: int = 1) -> pd.DataFrame:
    """mlxtend fpgrowth on the baskets, with exact supports over all baskets.

    Baskets holding fewer than two frequent items cannot contain a frequent itemset of two or
    more items, so they are left out of the FP-tree (a large saving on till data); the supports
    of longer itemsets are exact all the same, and single items are counted directly.
    Returns columns ``support``, ``count``, ``itemsets`` (frozensets of item codes).
    """
    from mlxtend.frequent_patterns import fpgrowth

    n = tx.n_baskets
    if n == 0:
        return pd.DataFrame({"support": [], "count": [], "itemsets": []})
    x = tx.matrix(np.float64).tocsc()
    counts = np.asarray(x.sum(axis=0)).ravel()
    freq_items = np.flatnonzero(counts / float(n) >= min_support)
    singles = pd.DataFrame({"support": counts[freq_items] / float(n),
                            "count": counts[freq_items].astype(np.int64),
                            "itemsets": [frozenset([s]) for s in tx.items[freq_items]]})
    if max_len < 2 or len(freq_items) < 2:
        return singles if min_len <= 1 else singles.iloc[0:0]
    xr = x[:, freq_items].tocsr()
    row_len = np.diff(xr.indptr)
    rows = np.flatnonzero(row_len >= 2)
    xr = xr[rows]
    n_red = len(rows)
    min_count = math.ceil(min_support * n - 1e-9)
    out = [singles] if min_len <= 1 else []
    if n_red and min_count <= n_red:
        # a slightly lower relative threshold on the reduced rows; exact filter afterwards
        ms_red = max((min_count - 0.5) / n_red, 1e-12)
        # columns 0..k-1 (mlxtend rejects sparse integer column names not starting at 0)
        frame = pd.DataFrame.sparse.from_spmatrix(xr.astype(bool))
        fi = fpgrowth(frame, min_support=ms_red, use_colnames=True, max_len=max_len)
        fi = fi[fi["itemsets"].map(len) >= 2]
        cnt = np.rint(fi["support"].to_numpy() * n_red).astype(np.int64)
        fi = pd.DataFrame({"support": cnt / float(n), "count": cnt,
                           "itemsets": [frozenset(tx.items[freq_items[list(s)]])
                                        for s in fi["itemsets"]]})
        fi = fi[fi["support"] >= min_support]
        fi = fi[fi["itemsets"].map(len) >= min_len]
        out.append(fi)
    return pd.concat(out, ignore_index=True) if out else singles.iloc[0:0]


def mine_multi_rules(tx: Transactions, min_support: float, max_antecedent: int,
                     min_confidence: float) -> pd.DataFrame:
    """Rules with 2..max_antecedent item antecedents and one consequent, via mlxtend."""
    from mlxtend.frequent_patterns import association_rules

    if max_antecedent < 2 or tx.n_baskets == 0:
        return pd.DataFrame(columns=RULE_COLUMNS)
    fi = frequent_itemsets(tx, min_support, max_len=max_antecedent + 1)
    if not (fi["itemsets"].map(len) >= 3).any():
        return pd.DataFrame(columns=RULE_COLUMNS)
    ar = association_rules(fi[["support", "itemsets"]], num_itemsets=tx.n_baskets,
                           metric="confidence", min_threshold=min_confidence)
    ar = ar[(ar["antecedents"].map(len) >= 2) & (ar["consequents"].map(len) == 1)]
    if ar.empty:
        return pd.DataFrame(columns=RULE_COLUMNS)
    n = float(tx.n_baskets)
    return pd.DataFrame({
        "kind": "cross",
        "antecedent": [tuple(sorted(a)) for a in ar["antecedents"]],
        "consequent": [next(iter(c)) for c in ar["consequents"]],
        "count": np.rint(ar["support"].to_numpy() * n).astype(np.int64),
        "support": ar["support"].to_numpy(),
        "confidence": ar["confidence"].to_numpy(),
        "lift": ar["lift"].to_numpy(),
        "leverage": ar["leverage"].to_numpy(),
        "conviction": ar["conviction"].to_numpy(),
        "antecedent_count": np.rint(ar["antecedent support"].to_numpy() * n).astype(np.int64),
        "consequent_count": np.rint(ar["consequent support"].to_numpy() * n).astype(np.int64),
        "weight": np.nan,
    })


def _name_head(name: str) -> str:
    words = [w for w in name.lower().split() if w.isalpha() and len(w) > 2]
    return words[0] if words else ""


def upgrade_candidates(catalog: Mapping[str, Product], sold: Container[str],
                       settings: MiningSettings) -> list[tuple[str, str]]:
    """(from, to) SKU pairs that could be upgrades: both sold in the window (``sold``),
    ``to`` active, in the same family (or, for family-less items, the same category and
    product type), dearer by the configured ratio and amount, and compatible by name."""
    groups: dict[tuple[str, str], list[Product]] = {}
    for item in catalog.values():
        if item.sku not in sold or item.price <= 0:
            continue
        if item.family:
            key = ("family", item.family)
        elif settings.upgrade_by_category and item.category:
            key = ("category", f"{item.category}|{_name_head(item.name)}")
        else:
            continue
        groups.setdefault(key, []).append(item)
    pairs: list[tuple[str, str]] = []
    for members in groups.values():
        if len(members) < 2:
            continue
        for p in members:
            for q in members:
                if q.sku == p.sku or not q.active:
                    continue
                ratio = q.price / p.price
                if settings.upgrade_min_ratio <= ratio <= settings.upgrade_max_ratio and \
                        q.price - p.price >= settings.upgrade_min_diff and \
                        compatible(p.name, q.name):
                    pairs.append((p.sku, q.sku))
    return pairs


def mine_upgrades(tx: Transactions, catalog: Mapping[str, Product],
                  settings: MiningSettings) -> pd.DataFrame:
    """Upgrade candidates X→Y: Y is a pricier alternative in the same family (optionally,
    for family-less items, the same category and product type), bought instead of X rather
    than with it, and dearer by a ratio and an amount that make it an upgrade, not a size.

    ``confidence`` is Y's share among shoppers who bought X or Y; ``count`` is Y's buyers.
    """
    if tx.n_baskets == 0 or not catalog:
        return pd.DataFrame(columns=RULE_COLUMNS)
    index = {sku: i for i, sku in enumerate(tx.items)}
    x = tx.matrix(np.float64)
    counts = np.asarray(x.sum(axis=0)).ravel()
    pairs = upgrade_candidates(catalog, index, settings)
    if not pairs:
        return pd.DataFrame(columns=RULE_COLUMNS)
    a = np.array([index[p] for p, _ in pairs])
    b = np.array([index[q] for _, q in pairs])
    xc = x.tocsc()
    together = np.asarray((xc[:, a].multiply(xc[:, b])).sum(axis=0)).ravel()
    n_a, n_b = counts[a], counts[b]
    either = n_a + n_b - together
    share = np.divide(n_b, either, out=np.zeros_like(n_b), where=either > 0)
    co_rate = np.divide(together, np.minimum(n_a, n_b), out=np.ones_like(n_b),
                        where=np.minimum(n_a, n_b) > 0)
    ok = (n_b >= settings.upgrade_min_count) & (co_rate <= settings.upgrade_max_together) & \
         (n_a > 0)
    a, b, share, n_b_ok, n_a_ok = a[ok], b[ok], share[ok], n_b[ok], n_a[ok]
    n = float(tx.n_baskets)
    return pd.DataFrame({
        "kind": "upgrade",
        "antecedent": [(s,) for s in tx.items[a]],
        "consequent": tx.items[b],
        "count": n_b_ok.astype(np.int64),
        "support": n_b_ok / n,
        "confidence": share,
        "lift": np.nan,
        "leverage": np.nan,
        "conviction": np.nan,
        "antecedent_count": n_a_ok.astype(np.int64),
        "consequent_count": n_b_ok.astype(np.int64),
        "weight": np.nan,
    })


def mine_rules(tx: Transactions, settings: MiningSettings,
               catalog: Mapping[str, Product] | None = None,
               progress: ProgressFn | None = None,
               cancelled: CancelledFn | None = None) -> MiningResult:
    """All rules for one rule set: pairs, multi-item antecedents, upgrades (these need the
    ``catalog``: families and prices)."""
    started = time.perf_counter()
    step = sub_range(progress, 0.0, 1.0, cancelled, "refresh cancelled")
    step(0.0, "counting pairs")
    weights = recency_weights(tx, settings.half_life_days)
    pairs, item_w = mine_pair_rules(tx, settings.min_count, weights, settings.ease_lambda,
                                    settings.ease_max_items)
    ctx = context_counts(tx, weights) if settings.context else None
    notes = []
    if weights is not None:
        notes.append(f"recency half-life {settings.half_life_days:g} days on pairs and items")
    step(0.3, f"{len(pairs):,} pair rules; mining item sets")
    multi = mine_multi_rules(tx, settings.multi_min_support, settings.max_antecedent,
                             settings.multi_min_confidence)
    step(0.8, f"{len(multi):,} multi-item rules; finding upgrades")
    ups = mine_upgrades(tx, catalog or {}, settings)
    step(0.95, f"{len(ups):,} upgrades")
    frames = [f for f in (pairs, multi, ups) if not f.empty]
    rules = (pd.concat(frames, ignore_index=True) if frames
             else pd.DataFrame(columns=RULE_COLUMNS))
    n_eff = float(weights.sum()) if weights is not None else float(tx.n_baskets)
    item_counts = pd.DataFrame({"sku": tx.items, "count": item_w,
                                "support": item_w / max(n_eff, 1.0)})
    res = MiningResult(rules=rules[RULE_COLUMNS], item_counts=item_counts,
                       n_baskets=tx.n_baskets, context_counts=ctx,
                       seconds=time.perf_counter() - started, notes=notes)
    step(1.0, "mining done")
    log.info("mined %d cross and %d upgrade rules from %d baskets in %.1fs",
             res.n_cross, res.n_upgrade, tx.n_baskets, res.seconds)
    return res
