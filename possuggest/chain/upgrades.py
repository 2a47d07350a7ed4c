"""Upgrade rules of one store from its counts: the candidates ``mine_upgrades`` considers (a
pricier alternative in the same family, or category and product type), judged on the store's
item counts and on how often both sell together (its pair counts), with the miner's formulas.

Upgrades are mined per store only: families, prices and assortment are the store's own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from possuggest.core.config import MiningSettings
from possuggest.mining.miner import RULE_COLUMNS, upgrade_candidates


def upgrade_rules(candidates: list[tuple[str, str]], counts: Mapping[str, int],
                  together: Mapping[tuple[str, str], int], n_baskets: int,
                  settings: MiningSettings) -> Any:
    """The upgrade rules among ``candidates``: ``counts`` = baskets per SKU, ``together`` =
    baskets holding both of a pair (either order; absent = 0)."""
    import pandas as pd

    if not candidates or n_baskets == 0:
        return pd.DataFrame(columns=RULE_COLUMNS)
    a = [c[0] for c in candidates]
    b = [c[1] for c in candidates]
    n_a = np.array([float(counts[s]) for s in a])
    n_b = np.array([float(counts[s]) for s in b])
    both = np.array([float(together.get((x, y), together.get((y, x), 0)))
                     for x, y in candidates])
    either = n_a + n_b - both
    share = np.divide(n_b, either, out=np.zeros_like(n_b), where=either > 0)
    co_rate = np.divide(both, np.minimum(n_a, n_b), out=np.ones_like(n_b),
                        where=np.minimum(n_a, n_b) > 0)
    ok = (n_b >= settings.upgrade_min_count) & (co_rate <= settings.upgrade_max_together) & \
         (n_a > 0)
    n = float(n_baskets)
    keep = np.flatnonzero(ok)
    return pd.DataFrame({
        "kind": "upgrade",
        "antecedent": [(a[i],) for i in keep],
        "consequent": np.array([b[i] for i in keep], dtype=object),
        "count": n_b[ok].astype(np.int64),
        "support": n_b[ok] / n,
        "confidence": share[ok],
        "lift": np.nan,
        "leverage": np.nan,
        "conviction": np.nan,
        "antecedent_count": n_a[ok].astype(np.int64),
        "consequent_count": n_b[ok].astype(np.int64),
        "weight": np.nan,
    }, columns=RULE_COLUMNS)


__all__ = ["upgrade_candidates", "upgrade_rules"]
