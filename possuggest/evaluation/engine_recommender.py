"""The product's own engine as a Recommender for the offline evaluation: tune and mine the
training baskets exactly as ``possuggest refresh`` would, then ask ``SuggestionEngine.suggest``."""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np
import scipy.sparse as sp

from possuggest.core.config import MiningSettings, PolicySettings
from possuggest.core.transactions import Transactions
from possuggest.evaluation.tuning import Tuning, tune_ranking
from possuggest.serving.engine import ScoringParams, SuggestionEngine
from possuggest.store.rule_store import arrays_from_mining

log = logging.getLogger(__name__)


class EngineRecommender:
    """possuggest's mining + engine, with the store's default settings unless told otherwise.

    The catalogue is unknown in a plain sales file, so every item counts as in stock; no
    upgrades are mined (they need families and prices).

    Like refresh, ``fit`` first tunes the ranking (EASE λ, prior weight, shrink) on the latest
    15% of the training baskets (possuggest.evaluation.tuning), so the engine evaluated is the
    engine the store would run; the choice is in ``notes``. ``tune`` defaults to
    ``mining.tune``, and to off when the caller fixes ``scoring`` (ablations).
    """

    name = "engine"
    uses_time = True       # it reads the hour and weekday of each test basket, nothing else

    def __init__(self, mining: MiningSettings | None = None, policy: PolicySettings | None = None,
                 scoring: ScoringParams | None = None, tune: bool | None = None) -> None:
        self.mining = mining or MiningSettings()
        self.policy = policy or PolicySettings()
        self.scoring = scoring or ScoringParams()
        self.tune = (self.mining.tune and scoring is None) if tune is None else tune
        self.tuning: Tuning | None = None       # what the last fit chose
        self.notes: list[str] = []
        self._engine: SuggestionEngine | None = None
        self._index: dict[str, int] = {}

    def fit(self, train: Transactions) -> None:
        from possuggest.mining.miner import mine_rules

        mining, scoring = self.mining, replace(self.scoring)
        self.tuning = None
        if self.tune:
            self.tuning = tune_ranking(train, self.mining, self.policy, self.scoring)
            mining, scoring = self.tuning.mining, self.tuning.scoring
        res = mine_rules(train, mining)
        arrays = arrays_from_mining(res.rules, res.item_counts, train.n_baskets,
                                    context_counts=res.context_counts)
        self._engine = SuggestionEngine(arrays, products={}, policy=self.policy,
                                        scoring=scoring, require_catalog=False)
        self._items = train.items
        self._index = {str(s): i for i, s in enumerate(train.items)}
        self.notes = [f"{res.n_cross:,} rules mined from {train.n_baskets:,} baskets"]
        if self.tuning is not None:
            self.notes.append(self.tuning.note())

    def recommend(self, query: np.ndarray, k: int, when: float | None = None) -> np.ndarray:
        assert self._engine is not None
        basket = [str(self._items[i]) for i in query]
        # an empty query (every item unseen in training) ranks by what sells most
        out = [self._index[s.sku] for s in self._engine.suggest(basket, n=k, when=when, display=False)
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
