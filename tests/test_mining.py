"""Mining agrees with mlxtend exactly, and finds the upgrades the data holds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from mlxtend.frequent_patterns import association_rules, fpgrowth
from mlxtend.preprocessing import TransactionEncoder

from conftest import pattern_baskets
from possuggest.core.config import MiningSettings
from possuggest.core.products import Product
from possuggest.core.transactions import Transactions
from possuggest.mining.miner import (
    frequent_itemsets,
    mine_multi_rules,
    mine_pair_rules,
    mine_rules,
    mine_upgrades,
    recency_weights,
)


def random_baskets(n: int = 3000, items: int = 40, seed: int = 1) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    pop = 1.0 / np.arange(1, items + 1)
    pop /= pop.sum()
    out = []
    for _ in range(n):
        k = int(rng.integers(1, 7))
        b = set(rng.choice(items, size=k, p=pop).tolist())
        if 0 in b and rng.random() < 0.6:
            b.add(7)                        # a planted relation
        out.append([f"i{j:02d}" for j in sorted(b)])
    return out


def mlxtend_rules(baskets: list[list[str]], min_support: float, max_len: int) -> pd.DataFrame:
    te = TransactionEncoder()
    df = pd.DataFrame(te.fit(baskets).transform(baskets), columns=te.columns_)
    fi = fpgrowth(df, min_support=min_support, use_colnames=True, max_len=max_len)
    ar = association_rules(fi, num_itemsets=len(df), metric="confidence", min_threshold=0.0)
    return ar[ar["consequents"].map(len) == 1]


def test_pair_rules_match_mlxtend_exactly() -> None:
    baskets = random_baskets()
    tx = Transactions.from_baskets(baskets)
    ours, _ = mine_pair_rules(tx, min_count=1)
    ref = mlxtend_rules(baskets, min_support=1e-9, max_len=2)
    ref = ref[ref["antecedents"].map(len) == 1]
    assert len(ours) == len(ref)
    ref_map = {(next(iter(a)), next(iter(c))): row for a, c, row in
               zip(ref["antecedents"], ref["consequents"], ref.itertuples())}
    for row in ours.itertuples():
        r = ref_map[(row.antecedent[0], row.consequent)]
        assert row.support == pytest.approx(r.support, abs=1e-12)
        assert row.confidence == pytest.approx(r.confidence, abs=1e-9)
        assert row.lift == pytest.approx(r.lift, abs=1e-9)
        assert row.leverage == pytest.approx(r.leverage, abs=1e-12)
        if np.isfinite(r.conviction):
            assert row.conviction == pytest.approx(r.conviction, rel=1e-9)


def test_min_count_is_exact() -> None:
    tx = Transactions.from_baskets([["a", "b"], ["a", "b"], ["a", "c"]])
    rules, _ = mine_pair_rules(tx, min_count=2)
    assert sorted((r[0], c) for r, c in zip(rules["antecedent"], rules["consequent"])) == \
        [("a", "b"), ("b", "a")]
    assert set(rules["count"]) == {2}


def test_frequent_itemsets_equal_mlxtend() -> None:
    baskets = random_baskets(4000, 60, seed=3)
    te = TransactionEncoder()
    df = pd.DataFrame(te.fit(baskets).transform(baskets), columns=te.columns_)
    ref = fpgrowth(df, min_support=0.004, use_colnames=True, max_len=4)
    ours = frequent_itemsets(Transactions.from_baskets(baskets), 0.004, max_len=4)
    assert dict(zip(ours["itemsets"], ours["support"])) == pytest.approx(
        dict(zip(ref["itemsets"], ref["support"])), abs=1e-12)


def test_multi_rules_match_mlxtend() -> None:
    baskets = random_baskets(4000, 30, seed=5)
    ours = mine_multi_rules(Transactions.from_baskets(baskets), 0.003, 3, 0.0)
    ref = mlxtend_rules(baskets, 0.003, 4)
    ref = ref[ref["antecedents"].map(len) >= 2]
    assert len(ours) == len(ref) > 0
    got = {(a, c): (conf, lift) for a, c, conf, lift in
           zip(ours["antecedent"], ours["consequent"], ours["confidence"], ours["lift"])}
    for a, c, conf, lift in zip(ref["antecedents"], ref["consequents"], ref["confidence"], ref["lift"]):
        g = got[(tuple(sorted(a)), next(iter(c)))]
        assert g[0] == pytest.approx(conf, abs=1e-9)
        assert g[1] == pytest.approx(lift, abs=1e-9)


def test_upgrades_found_and_not_for_co_bought_items() -> None:
    tx = Transactions.from_baskets(pattern_baskets())
    catalog = {
        "MOW-STD": Product("MOW-STD", "Lawn Mower Standard", "Garden", "mower", 249.0),
        "MOW-DLX": Product("MOW-DLX", "Lawn Mower Deluxe", "Garden", "mower", 369.0),
        "GRASS-CATCH": Product("GRASS-CATCH", "Grass Catcher", "Garden", "", 39.0),
        "OIL-4T": Product("OIL-4T", "Engine Oil", "Garden", "", 12.0),
    }
    ups = mine_upgrades(tx, catalog, MiningSettings(upgrade_min_count=3, upgrade_max_together=0.25))
    pairs = set(zip([a[0] for a in ups["antecedent"]], ups["consequent"]))
    assert pairs == {("MOW-STD", "MOW-DLX")}
    share = float(ups["confidence"].iloc[0])
    assert share == pytest.approx(20 / (140 + 20))   # 1 DLX per 7 STD in the pattern


def test_recency_weights_halve_per_half_life() -> None:
    tx = Transactions.from_pairs([1, 2], ["a", "b"], times=[0.0, 10 * 86400.0])
    w = recency_weights(tx, 10.0)
    assert w is not None
    assert w.tolist() == pytest.approx([0.5, 1.0])
    assert recency_weights(tx, 0.0) is None


def test_weighted_pairs_favour_recent_baskets() -> None:
    times = [0.0] * 10 + [100 * 86400.0] * 10
    keys = list(range(20))
    items = ["a"] * 20
    pairs_k = keys + keys
    pairs_i = items + ["b"] * 10 + ["c"] * 10
    tx = Transactions.from_pairs(pairs_k, pairs_i, times=times + times)
    rules, _ = mine_pair_rules(tx, 1, recency_weights(tx, 10.0))
    conf = {(a[0], c): v for a, c, v in zip(rules["antecedent"], rules["consequent"], rules["confidence"])}
    assert conf[("a", "c")] > 0.99 and conf[("a", "b")] < 0.01
    assert set(rules["count"]) == {10}               # plain counts kept for the reasons


def test_mine_rules_cancel() -> None:
    from possuggest.core.errors import Cancelled

    tx = Transactions.from_baskets(pattern_baskets())
    with pytest.raises(Cancelled):
        mine_rules(tx, MiningSettings(), cancelled=lambda: True)


def test_sizes_and_family_less_items_are_not_upgrades() -> None:
    baskets = [["SCR-S"]] * 50 + [["SCR-L"]] * 30 + [["SAW-BLADE"]] * 40 + [["SAW"]] * 20
    tx = Transactions.from_baskets(baskets)
    catalog = {
        "SCR-S": Product("SCR-S", "Wood Screws 3x16", "Fasteners", "wood screws", 4.49),
        "SCR-L": Product("SCR-L", "Wood Screws Pro 4x40", "Fasteners", "wood screws", 6.49),
        "SAW-BLADE": Product("SAW-BLADE", "Hacksaw Blades", "Hand Tools", "", 4.99),
        "SAW": Product("SAW", "Hacksaw 300mm", "Hand Tools", "", 11.99),
    }
    assert mine_upgrades(tx, catalog, MiningSettings()).empty       # +$2 is a size, not a tier
    loose = MiningSettings(upgrade_min_diff=0.0, upgrade_by_category=True)
    pairs = set(zip([a[0] for a in mine_upgrades(tx, catalog, loose)["antecedent"]],
                    mine_upgrades(tx, catalog, loose)["consequent"]))
    assert ("SCR-S", "SCR-L") in pairs and ("SAW-BLADE", "SAW") in pairs


def test_size_variants() -> None:
    from possuggest.core.products import size_variant as size_variants

    assert size_variants("Wood Screws 3.0x16mm 200pk", "Wood Screws 5.0x70mm 100pk")
    assert size_variants("LED Bulb E14 4W", "LED Bulb GU10 5W")
    assert not size_variants("Petrol Lawn Mower 41cm", "Self-Propelled Petrol Mower 46cm")
    assert not size_variants("Cordless Drill Driver 18V", "Cordless Combi Drill 18V 2x2Ah")
