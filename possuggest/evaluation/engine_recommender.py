"""The product's own engine as a Recommender for the offline evaluation: mine the training
baskets exactly as ``possuggest refresh`` would, then ask ``SuggestionEngine.suggest``."""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np
import scipy.sparse as sp

from possuggest.core.config import MiningSettings, PolicySettings
from possuggest.core.transactions import Transactions
from possuggest.serving.engine import ScoringParams, SuggestionEngine
from possuggest.store.rule_store import arrays_from_mining

log = logging.getLogger(__name__)


class EngineRecommender:
    """possuggest's mining + engine, with the store's default settings unless told otherwise.

    The catalogue is unknown in a plain sales file, so every item counts as in stock; no
    upgrades are mined (they need families and prices).
    """

    name = "engine"
    uses_time = True       # it reads the hour and weekday of each test basket, nothing else

    def __init__(self, mining: MiningSettings | None = None, policy: PolicySettings | None = None,
                 scoring: ScoringParams | None = None) -> None:
        self.mining = mining or MiningSettings()
        self.policy = policy or PolicySettings()
        self.scoring = scoring or ScoringParams()
        self.notes: list[str] = []
        self._engine: SuggestionEngine | None = None
        self._index: dict[str, int] = {}

    def fit(self, train: Transactions) -> None:
        from possuggest.mining.miner import mine_rules

        res = mine_rules(train, self.mining)
        arrays = arrays_from_mining(res.rules, res.item_counts, train.n_baskets,
                                    context_counts=res.context_counts)
        self._engine = SuggestionEngine(arrays, products={}, policy=self.policy,
                                        scoring=replace(self.scoring), require_catalog=False)
        self._items = train.items
        self._index = {str(s): i for i, s in enumerate(train.items)}
        self.notes = [f"{res.n_cross:,} rules mined from {train.n_baskets:,} baskets"]

    def recommend(self, query: np.ndarray, k: int, when: float | None = None) -> np.ndarray:
        assert self._engine is not None
        basket = [str(self._items[i]) for i in query]
        if not basket:
            # an empty query (every item unseen in training): the engine suggests nothing
            return np.zeros(0, dtype=np.int64)
        out = [self._index[s.sku] for s in self._engine.suggest(basket, n=k, when=when)
               if s.sku in self._index]
        return np.array(out, dtype=np.int64)

    def recommend_batch(self, queries: sp.csr_matrix, k: int,
                        times: np.ndarray | None = None) -> np.ndarray:
        out = np.full((queries.shape[0], k), -1, dtype=np.int64)
        for r in range(queries.shape[0]):
            q = queries.indices[queries.indptr[r]:queries.indptr[r + 1]]
            when = None if times is None or np.isnan(times[r]) else float(times[r])
            rec = self.recommend(q, k, when)[:k]
            out[r, :len(rec)] = rec
        return out
