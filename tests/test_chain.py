"""The chain miner on Spark (local mode) against each store's own refresh: three small demo
stores' tills → rule packs → each pack imported into a store → the same rules, confidence and
lift (to 1e-9) as ``possuggest refresh`` mines from the same till; the region's and the
chain's rules equal the single-machine miner on their stores' baskets together; the same
from exported sales files through the command line; the blend and rollback at the store."""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("pyspark")

from possuggest.chain.importer import BlendSettings, import_pack  # noqa: E402
from possuggest.chain.job import ChainSummary, mine_chain  # noqa: E402
from possuggest.chain.session import spark_session, stop_spark  # noqa: E402
from possuggest.chain.sources import StoreSpec  # noqa: E402
from possuggest.cli.main import main  # noqa: E402
from possuggest.core.config import Settings  # noqa: E402
from possuggest.core.transactions import Transactions  # noqa: E402
from possuggest.demo.generator import build_demo_store  # noqa: E402
from possuggest.evaluation.tuning import tune_for_refresh  # noqa: E402
from possuggest.mining.miner import mine_rules  # noqa: E402
from possuggest.mining.refresh import refresh  # noqa: E402
from possuggest.store.rule_pack import read_pack  # noqa: E402
from possuggest.store.rule_store import RuleStore  # noqa: E402
from possuggest.till.reader import TillReader  # noqa: E402

pytestmark = [pytest.mark.slow,
              pytest.mark.filterwarnings("ignore:::pyspark")]   # pyspark's notes on pandas 3

SEEDS = (11, 12, 13)
REGIONS = {"S0": "north", "S1": "north", "S2": "south"}
END = dt.date(2026, 6, 30)
KEY = ["kind", "antecedent", "consequent"]
NUMERIC = ["count", "support", "confidence", "lift", "leverage", "conviction",
           "antecedent_count", "consequent_count", "weight"]


def settings() -> Settings:
    """The defaults, with a recency half-life: the weighted path is the harder one."""
    s = Settings()
    return replace(s, mining=replace(s.mining, half_life_days=120.0))


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    session = spark_session("local[2]", {"spark.sql.shuffle.partitions": "4",
                                         "spark.default.parallelism": "4"})
    yield session
    stop_spark(session)               # and its JVM: nothing of Spark outlives this module


@pytest.fixture(scope="module")
def tills(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("tills")
    out = {}
    for i, seed in enumerate(SEEDS):
        out[f"S{i}"] = build_demo_store(d / f"S{i}.db", sales=3000, seed=seed, end_date=END).path
    return out


@pytest.fixture(scope="module")
def mined(spark: Any, tills: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
          ) -> tuple[Path, ChainSummary, list[tuple[float, str]]]:
    out = tmp_path_factory.mktemp("packs")
    seen: list[tuple[float, str]] = []
    summary = mine_chain(out, settings(), stores=[StoreSpec(n, str(p)) for n, p in tills.items()],
                         regions=REGIONS, tune=tune_for_refresh, spark=spark,
                         progress=lambda f, m: seen.append((f, m)))
    return out, summary, seen


def active_tables(db: Path) -> tuple[Any, pd.DataFrame, pd.DataFrame, pd.DataFrame,
                                     pd.DataFrame]:
    with RuleStore(db) as st:
        info = st.active_rule_set()
        assert info is not None
        q = {t: pd.read_sql_query(f"SELECT * FROM {t} WHERE rule_set_id = ?", st.conn,
                                  params=(info.id,)).drop(columns="rule_set_id")
             for t in ("rules", "item_counts", "context_counts", "products")}
    return info, q["rules"].drop(columns="rule_id"), q["item_counts"], q["context_counts"], \
        q["products"]


def assert_same_rules(a: pd.DataFrame, b: pd.DataFrame, tol: float = 1e-9) -> int:
    """Same (kind, antecedent, consequent) rules, every figure equal to ``tol`` (relative for
    large values). Returns how many rules were compared."""
    m = a.merge(b, on=KEY, how="outer", suffixes=("_a", "_b"), indicator=True)
    odd = m[m["_merge"] != "both"]
    assert odd.empty, f"{len(odd)} rules in one only, e.g.\n{odd.head(5)[KEY + ['_merge']]}"
    for col in NUMERIC:
        if col + "_a" not in m:
            continue
        x = m[col + "_a"].to_numpy(dtype=np.float64)
        y = m[col + "_b"].to_numpy(dtype=np.float64)
        assert np.array_equal(np.isnan(x), np.isnan(y)), col
        ok = ~np.isnan(x)
        np.testing.assert_allclose(y[ok], x[ok], rtol=tol, atol=tol, err_msg=col)
    return len(m)


def test_each_pack_equals_the_stores_own_refresh(mined: Any, tills: dict[str, Path],
                                                 tmp_path: Path) -> None:
    out, summary, seen = mined
    assert sorted(p.name for p in summary.packs) == ["S0.pack", "S1.pack", "S2.pack"]
    assert summary.n_stores == 3 and summary.n_regions == 2
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    kinds = {"multi": 0, "upgrade": 0}
    for name, till in tills.items():
        own_db, pack_db = tmp_path / f"{name}-own.db", tmp_path / f"{name}-pack.db"
        refresh(till, own_db, settings(), tune=tune_for_refresh)
        import_pack(out / f"{name}.pack", pack_db, settings=BlendSettings(enabled=False))
        ia, ra, ca, xa, pa_ = active_tables(own_db)
        ib, rb, cb, xb, pb = active_tables(pack_db)
        assert assert_same_rules(ra, rb) == len(ra) > 1000
        kinds["multi"] += int((ra["antecedent_size"] > 1).sum())
        kinds["upgrade"] += int((ra["kind"] == "upgrade").sum())
        for got, want, key in ((cb, ca, ["sku"]), (xb, xa, ["bucket", "sku"])):
            m = want.merge(got, on=key, how="outer", indicator=True)
            assert (m["_merge"] == "both").all() and len(m) > 100
            np.testing.assert_allclose(m["count_y"], m["count_x"], rtol=1e-9)
        pd.testing.assert_frame_equal(pb.sort_values("sku").reset_index(drop=True),
                                      pa_.sort_values("sku").reset_index(drop=True))
        for field in ("n_baskets", "n_items", "n_cross", "n_upgrade", "window_start",
                      "window_end", "notes"):
            assert getattr(ib, field) == getattr(ia, field), field
        assert ib.params["scoring"] == ia.params["scoring"]
        assert ib.params["tuning"]["status"] == ia.params["tuning"]["status"]
    assert kinds["multi"] > 0 and kinds["upgrade"] > 0      # every kind of rule was compared


def _tx(tills: dict[str, Path], names: list[str]) -> Transactions:
    """The named stores' baskets (as their refresh reads them) together."""
    keys, skus, times = [], [], []
    for name in names:
        with TillReader(tills[name], settings().till) as r:
            tx = r.read_transactions(settings().mining.window_days)
        keys.append(np.array([f"{name}:{b}" for b in tx.basket], dtype=object))
        skus.append(tx.items[tx.item])
        assert tx.basket_time is not None
        times.append(tx.basket_time[tx.basket])
    return Transactions.from_pairs(np.concatenate(keys), np.concatenate(skus),
                                   np.concatenate(times))


@pytest.mark.parametrize("scope, names", [("chain", ["S0", "S1", "S2"]),
                                          ("region", ["S0", "S1"])])
def test_region_and_chain_equal_the_single_machine_miner(mined: Any, tills: dict[str, Path],
                                                         scope: str, names: list[str]) -> None:
    out = mined[0]
    pack = read_pack(out / "S1.pack")
    assert pack.region == "north" and pack.scope_info("region")["stores"] == ["S0", "S1"]
    rules, items, _ = pack.scope(scope)
    res = mine_rules(_tx(tills, names), settings().mining)
    want = res.rules[(res.rules["antecedent"].map(len) == 1)]
    assert assert_same_rules(want.assign(antecedent=[a[0] for a in want["antecedent"]]),
                             rules.assign(antecedent=[a[0] for a in rules["antecedent"]])) > 1000
    m = res.item_counts.merge(items, on="sku", how="outer", indicator=True)
    assert (m["_merge"] == "both").all()
    np.testing.assert_allclose(m["count_y"], m["count_x"], rtol=1e-9)
    np.testing.assert_allclose(m["support_y"], m["support_x"], rtol=1e-9)
    assert pack.scope_info(scope)["n_baskets"] == res.n_baskets


def test_blended_import_and_rollback(mined: Any, tills: dict[str, Path], tmp_path: Path) -> None:
    out = mined[0]
    db = tmp_path / "possuggest.db"
    refresh(tills["S2"], db, settings(), tune=tune_for_refresh)
    _, own, _, _, _ = active_tables(db)
    k = 30
    summary = import_pack(out / "S2.pack", db, settings=BlendSettings(min_count=k))
    assert summary.active and summary.n_thin > 0 and summary.n_borrowed > 0
    _, blended, items, _, _ = active_tables(db)
    pack = read_pack(out / "S2.pack")
    counts = pack.scope("store")[1].set_index("sku")["count"]
    strong = lambda df: df[(df["antecedent_size"] > 1) | (df["kind"] == "upgrade")  # noqa: E731
                           | (df["antecedent"].map(lambda a: counts.get(a, 0.0)) >= k)]
    assert assert_same_rules(strong(own), strong(blended)) > 100
    assert len(blended) > len(own)
    with RuleStore(db) as st:
        sets = st.rule_sets()
        assert [s.active for s in sets] == [True, False]
        st.activate(sets[1].id, pin=True)                  # possuggest rollback
    _, back, _, _, _ = active_tables(db)
    assert assert_same_rules(own, back) == len(own)


def test_sales_files_through_the_command_line(spark: Any, tills: dict[str, Path],
                                              tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """Exported lines (with returns) of all three stores in one CSV; everything in the window."""
    sales = tmp_path / "sales.csv"
    with open(sales, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["shop", "receipt", "item", "quantity", "sold_at"])
        for name, till in tills.items():
            with sqlite3.connect(till) as c:
                w.writerows((name, *row) for row in c.execute(
                    "SELECT l.sale_id, l.sku, l.qty, s.closed_at FROM sale_lines l JOIN sales s"
                    " USING (sale_id) WHERE s.status = 'closed' AND l.voided = 0"))
    catalogue = tmp_path / "catalogue.csv"
    with sqlite3.connect(tills["S0"]) as c, open(catalogue, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["sku", "name", "category", "family", "price", "cost", "stock", "active"])
        w.writerows(c.execute("SELECT sku, name, category, family, price, cost, stock, active"
                              " FROM products"))
    config = tmp_path / "config.toml"
    config.write_text("[mining]\nwindow_days = 36500\nhalf_life_days = 120.0\n")
    out = tmp_path / "packs"
    code = main(["chain", "mine", "--sales-files", str(sales), "--store-col", "shop",
                 "--sale-col", "receipt", "--sku-col", "item", "--qty-col", "quantity",
                 "--time-col", "sold_at", "--catalogue", str(catalogue), "--out", str(out),
                 "--json", "-q", "--config", str(config), "--data-dir", str(tmp_path / "d")])
    res = json.loads(capsys.readouterr().out)
    assert code == 0 and res["stores"] == 3 and len(res["packs"]) == 3
    assert not [p for p in out.iterdir() if p.name.startswith(".")]    # work folder removed
    s = settings()
    s = replace(s, mining=replace(s.mining, window_days=36500))
    for name, till in tills.items():
        own_db, pack_db = tmp_path / f"{name}-own.db", tmp_path / f"{name}-pack.db"
        refresh(till, own_db, s, tune=tune_for_refresh)
        import_pack(out / f"{name}.pack", pack_db, settings=BlendSettings(enabled=False))
        ia, ra, _, _, _ = active_tables(own_db)
        ib, rb, _, _, _ = active_tables(pack_db)
        assert assert_same_rules(ra, rb) == len(ra) > 1000
        assert ib.n_baskets == ia.n_baskets > 2500 and ib.window_end == ia.window_end
        assert math.isclose(ib.params["scoring"]["ease_lambda"], ia.params["scoring"]["ease_lambda"])


def test_cancel_stops_the_run_and_writes_nothing(spark: Any, tills: dict[str, Path],
                                                 tmp_path: Path) -> None:
    from possuggest.core.errors import Cancelled

    seen: list[float] = []

    def cancelled() -> bool:          # the user presses Cancel once the sales are read
        return bool(seen) and max(seen) >= 0.35

    out = tmp_path / "packs"
    with pytest.raises(Cancelled):
        mine_chain(out, settings(), stores=[StoreSpec(n, str(p)) for n, p in tills.items()],
                   spark=spark, progress=lambda f, m: seen.append(f), cancelled=cancelled)
    assert list(out.iterdir()) == []                  # no pack, and the work folder is gone
    assert spark.range(3).count() == 3                # the caller's session still works
