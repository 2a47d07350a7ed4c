"""Baskets as sparse (basket, item) pairs: the one input every miner, baseline and evaluator takes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp


@dataclass
class Transactions:
    """A set of baskets. Each (basket, item) pair appears once; items are codes into ``items``.

    ``basket_time`` (one per basket) is present when the source has times: wall-clock seconds,
    i.e. naive local times read as if UTC (see possuggest.core.context_time).
    """

    basket: np.ndarray          # int64, basket index of each pair, 0..n_baskets-1
    item: np.ndarray            # int64, item index of each pair, 0..n_items-1
    items: np.ndarray           # object array: item code (sku) of each item index
    n_baskets: int
    basket_time: np.ndarray | None = None   # float64 wall-clock seconds per basket
    basket_ids: np.ndarray | None = None    # the source's ids per basket (for reports)

    @property
    def n_items(self) -> int:
        return len(self.items)

    @classmethod
    def from_pairs(cls, basket_keys: Sequence[Any] | np.ndarray,
                   item_codes: Sequence[Any] | np.ndarray,
                   times: Sequence[float] | np.ndarray | None = None) -> Transactions:
        """Build from parallel sequences (one entry per line). Duplicate lines collapse.

        ``times`` gives each line's basket time (epoch seconds); a basket takes its first line's.
        Baskets are numbered in order of first appearance.
        """
        import pandas as pd

        bkeys = np.asarray(basket_keys)
        codes, uniq_b = pd.factorize(bkeys, sort=False)
        icodes, uniq_i = pd.factorize(np.asarray(item_codes, dtype=object), sort=True)
        basket = codes.astype(np.int64)
        item = icodes.astype(np.int64)
        n_items = len(uniq_i)
        key = basket * max(n_items, 1) + item
        _, first = np.unique(key, return_index=True)
        first.sort()
        btime = None
        if times is not None:
            t = np.asarray(times, dtype=np.float64)
            btime = np.full(len(uniq_b), np.nan)
            # first line of each basket gives its time
            order = np.arange(len(basket))[::-1]
            btime[basket[order]] = t[order]
        return cls(basket=basket[first], item=item[first], items=np.asarray(uniq_i, dtype=object),
                   n_baskets=len(uniq_b), basket_time=btime,
                   basket_ids=np.asarray(uniq_b))

    @classmethod
    def from_baskets(cls, baskets: Sequence[Sequence[str]]) -> Transactions:
        """Build from a list of baskets (each a list of item codes)."""
        keys = [i for i, b in enumerate(baskets) for _ in b]
        codes = [str(x) for b in baskets for x in b]
        return cls.from_pairs(keys, codes)

    def matrix(self, dtype: npt.DTypeLike = np.float64) -> sp.csr_matrix:
        """Basket x item binary matrix (CSR)."""
        data = np.ones(len(self.basket), dtype=dtype)
        return sp.csr_matrix((data, (self.basket, self.item)),
                             shape=(self.n_baskets, self.n_items))

    def baskets(self) -> list[list[str]]:
        """Baskets as lists of item codes (slow path: for tests and small data)."""
        out: list[list[str]] = [[] for _ in range(self.n_baskets)]
        for b, i in zip(self.basket.tolist(), self.item.tolist()):
            out[b].append(self.items[i])
        return out

    def subset(self, basket_mask: np.ndarray) -> Transactions:
        """The baskets where ``basket_mask`` is True, renumbered in order; items keep their codes."""
        keep = np.flatnonzero(basket_mask)
        remap = np.full(self.n_baskets, -1, dtype=np.int64)
        remap[keep] = np.arange(len(keep))
        sel = remap[self.basket] >= 0
        return Transactions(
            basket=remap[self.basket[sel]], item=self.item[sel], items=self.items,
            n_baskets=len(keep),
            basket_time=None if self.basket_time is None else self.basket_time[keep],
            basket_ids=None if self.basket_ids is None else self.basket_ids[keep])
