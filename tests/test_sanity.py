"""Counter sanity (`possuggest.evaluation.sanity`): each measure counts a hand-made failure,
the demo store's ground truth, and `possuggest evaluate` reporting it."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest

from conftest import PRODUCTS, make_till
from possuggest.cli.main import main
from possuggest.core.products import Product
from possuggest.core.transactions import Transactions
from possuggest.demo.generator import DEMO_RELATIONS_TABLE, DemoStoreModel, build_demo_store
from possuggest.evaluation.sanity import (
    PairLift,
    build_engine,
    counter_sanity,
    read_ground_truth,
)
from possuggest.serving.engine import Suggestion
from possuggest.store.rule_store import arrays_from_mining


def _p(sku: str, name: str, price: float, category: str = "Garden", family: str = "",
       active: bool = True, stock: int | None = 10) -> Product:
    return Product(sku=sku, name=name, category=category, family=family, price=price,
                   stock=stock, active=active)


def _card(prod: Product, kind: str = "cross", source: str = "mined",
          base: Product | None = None) -> Suggestion:
    price = prod.price - base.price if kind == "upgrade" and base is not None else prod.price
    return Suggestion(kind=kind, sku=prod.sku, name=prod.name, price=price, reason="",
                      score=1.0, unit_price=prod.price, source=source)


class StubEngine:
    """An engine that answers each single-item basket with hand-made cards."""

    def __init__(self, cards: dict[str, list[Suggestion]], rules: Any = None,
                 policy: Any = None) -> None:
        self.cards = cards
        self.rules = rules
        self.policy = policy if policy is not None else SimpleNamespace(max_suggestions=3)
        self.asked: list[list[str]] = []

    def suggest(self, basket: Sequence[str], n: int | None = None,
                exclude: Iterable[str] = (), when: float | None = None) -> list[Suggestion]:
        self.asked.append(list(basket))
        return list(self.cards.get(basket[0], []))


def _rules(pairs: list[tuple[str, str, float]]) -> Any:
    """Rule arrays holding cross pair rules a -> b with the given lifts."""
    df = pd.DataFrame({
        "kind": "cross", "antecedent": [(a,) for a, _, _ in pairs],
        "consequent": [b for _, b, _ in pairs], "count": 5, "support": 0.1,
        "confidence": 0.5, "lift": [lift for _, _, lift in pairs], "weight": float("nan")})
    skus = sorted({s for a, b, _ in pairs for s in (a, b)})
    counts = pd.DataFrame({"sku": skus, "count": 10.0, "support": 0.1})
    return arrays_from_mining(df, counts, 100)


MOWER = _p("MOW", "Petrol Lawn Mower 41cm", 229.0, family="mowers")
MOWER2 = _p("MOW2", "Self-Propelled Petrol Mower 46cm", 379.0, family="mowers")
BAG = _p("BAG", "Grass Catcher Bag", 39.0)
OIL = _p("OIL", "Engine Oil 600ml", 8.99)
GLOVES = _p("GLV", "Work Gloves", 5.0, category="Workwear")
PLUG = _p("PLUG", "Spark Plug", 5.99)


def _catalogue(*products: Product) -> dict[str, Product]:
    return {p.sku: p for p in products}


# -- each measure counts a hand-made failure ------------------------------------------------------
def test_wrong_direction_counts_a_dear_card_for_a_cheap_item() -> None:
    products = _catalogue(MOWER, BAG, OIL, GLOVES)
    engine = StubEngine({"BAG": [_card(MOWER)],           # $39 -> $229: 5.9x and $190 more
                         "MOW": [_card(BAG), _card(OIL)],  # the right way round
                         "GLV": [_card(OIL)]})             # 1.8x: fine
    rep = counter_sanity(products, engine)
    assert rep.wrong_direction == 1
    assert rep.examples["wrong_direction"] == ["Grass Catcher Bag → Petrol Lawn Mower 41cm"]
    assert rep.wrong_direction_policy is None and rep.policy_ratio is None
    assert engine.asked == [["MOW"], ["BAG"], ["OIL"], ["GLV"]]     # every product, alone


def test_wrong_direction_needs_both_the_ratio_and_the_amount() -> None:
    cheap = _p("CHEAP", "Cable Ties", 2.0)
    card = _p("DEAR", "Tool Bag", 30.0)                   # 15x, but only $28 more
    rep = counter_sanity(_catalogue(cheap, card), StubEngine({"CHEAP": [_card(card)]}))
    assert rep.wrong_direction == 0
    rep = counter_sanity(_catalogue(cheap, card), StubEngine({"CHEAP": [_card(card)]}),
                         ratio=3.0, min_extra=20.0)
    assert rep.wrong_direction == 1


def test_wrong_direction_against_the_managers_ratio() -> None:
    products = _catalogue(MOWER, BAG, OIL)
    policy = SimpleNamespace(accessory_max_price_ratio=2.0, accessory_price_allowance=10.0,
                             max_suggestions=3)
    # oil $8.99 -> bag $39: 4.3x, $30 more: under the bar, above 2 x 8.99 + 10
    engine = StubEngine({"OIL": [_card(BAG)], "BAG": [_card(MOWER)]}, policy=policy)
    rep = counter_sanity(products, engine)
    assert rep.wrong_direction == 1
    assert rep.wrong_direction_policy == 2
    d = rep.to_dict()
    assert d["policy_ratio"] == {"ratio": 2.0, "allowance": 10.0}
    assert d["wrong_direction_policy"] == 2


def test_substitutes_same_family_or_category_bought_together_less_than_chance() -> None:
    trimmer = _p("TRM", "Petrol Line Trimmer 25cc", 169.0, family="trimmers")
    cutter = _p("CUT", "Pro Brushcutter 33cc", 319.0, family="trimmers")
    line = _p("LINE", "Trimmer Line", 9.99)
    products = _catalogue(trimmer, cutter, line)
    # lifts from the rules: the cutter with a trimmer 0.4 (alternatives), line with it 6
    rules = _rules([("CUT", "TRM", 0.4), ("CUT", "LINE", 6.0), ("TRM", "LINE", 6.0)])
    engine = StubEngine({"CUT": [_card(trimmer), _card(line)], "TRM": [_card(line)]}, rules)
    rep = counter_sanity(products, engine)
    assert rep.substitutes == 1
    assert rep.examples["substitutes"] == ["Pro Brushcutter 33cc → Petrol Line Trimmer 25cc"]


def test_substitutes_lift_from_counts_when_no_rule() -> None:
    a = _p("A", "Trimmer A", 100.0, family="trimmers")
    b = _p("B", "Trimmer B", 120.0, family="trimmers")
    c = _p("C", "Goggles", 9.0)
    # A and B never together; A and C often together
    tx = Transactions.from_baskets([["A", "C"]] * 20 + [["B"]] * 20 + [["C"]] * 10)
    engine = StubEngine({"A": [_card(b), _card(c)]})
    lift = PairLift(None, tx)
    assert lift("A", "B") == 0.0 and lift("A", "C") == pytest.approx(50 * 20 / (20 * 30))
    rep = counter_sanity(_catalogue(a, b, c), engine, tx=tx)
    assert rep.substitutes == 1                        # only A -> B (C: same category, lift 1.7)


def test_variant_upgrades_are_not_compatible_names() -> None:
    e14 = _p("E14", "LED Candle Bulb E14 4W", 2.99, family="bulbs")
    gu10 = _p("GU10", "LED Spotlight GU10 5W 3pk", 7.99, family="bulbs")
    products = _catalogue(MOWER, MOWER2, e14, gu10)
    engine = StubEngine({"E14": [_card(gu10, "upgrade", base=e14)],
                         "MOW": [_card(MOWER2, "upgrade", base=MOWER)]})
    rep = counter_sanity(products, engine)
    assert rep.upgrade_cards == 2 and rep.cross_cards == 0
    assert rep.variant_upgrades == 1
    assert rep.examples["variant_upgrades"] == ["LED Candle Bulb E14 4W → LED Spotlight GU10 5W 3pk"]


def test_filler_share_and_empty_share() -> None:
    products = _catalogue(MOWER, BAG, OIL, GLOVES)
    engine = StubEngine({"MOW": [_card(BAG), _card(GLOVES, source="popular")],
                         "BAG": [_card(OIL), _card(GLOVES, source="bestseller")],
                         "OIL": []})
    rep = counter_sanity(products, engine)
    assert rep.card_slots == 4 and rep.filler_cards == 2
    assert rep.filler_share == pytest.approx(0.5)
    assert rep.empty_baskets == 2 and rep.empty_share == pytest.approx(0.5)   # OIL, GLV


def test_concentration_and_its_rules() -> None:
    batt = _p("BATT", "AA Batteries", 3.99, category="Electrical")
    products = _catalogue(MOWER, BAG, OIL, PLUG, batt)
    # the batteries card in 3 of 5 baskets: twice on a weak rule, once as filler
    rules = _rules([("MOW", "BATT", 1.2), ("BAG", "BATT", 3.0), ("OIL", "PLUG", 4.0)])
    engine = StubEngine({"MOW": [_card(batt)], "BAG": [_card(batt)],
                         "OIL": [_card(PLUG), _card(batt, source="popular")]}, rules)
    rep = counter_sanity(products, engine)
    assert rep.concentration == pytest.approx(3 / 5)
    top = rep.concentration_top[0]
    assert (top["sku"], top["baskets"], top["all_lift_ge_2"]) == ("BATT", 3, False)
    assert top["min_lift"] == 0.0                      # the filler card has no rule
    assert rep.concentration_over == 1
    # with strong rules behind every appearance the share is allowed
    engine = StubEngine({"MOW": [_card(batt)], "BAG": [_card(batt)], "OIL": [_card(batt)]},
                        _rules([("MOW", "BATT", 2.5), ("BAG", "BATT", 3.0),
                                ("OIL", "BATT", 2.0)]))
    rep = counter_sanity(products, engine)
    assert rep.concentration_top[0]["all_lift_ge_2"] is True
    assert rep.concentration_over == 0


def test_inactive_products_are_not_scanned() -> None:
    old = _p("OLD", "Old Rake", 9.0, active=False)
    engine = StubEngine({})
    rep = counter_sanity(_catalogue(MOWER, old), engine)
    assert rep.baskets == 1 and engine.asked == [["MOW"]]


def test_precision_and_recall_against_ground_truth() -> None:
    products = _catalogue(MOWER, MOWER2, BAG, OIL, PLUG, GLOVES)
    truth = [("MOW", "BAG", "accessory"), ("MOW", "OIL", "accessory"),
             ("MOW", "PLUG", "accessory"), ("OIL", "PLUG", "together"),
             ("PLUG", "OIL", "together"), ("MOW", "MOW2", "upgrade")]
    engine = StubEngine({
        "MOW": [_card(BAG), _card(GLOVES), _card(MOWER2, "upgrade", base=MOWER)],
        "BAG": [_card(MOWER)],                                   # the reverse of an accessory
        "OIL": [_card(PLUG)],                                    # together: right
        "MOW2": [_card(MOWER, "upgrade", base=MOWER2)],          # not an upgrade pair
    })
    rep = counter_sanity(products, engine, truth)
    assert rep.cross_cards == 4 and rep.cross_correct == 2
    assert rep.cross_precision == pytest.approx(0.5)
    assert rep.upgrade_precision == pytest.approx(0.5)
    assert rep.accessory_pairs == 3 and rep.accessory_recall == pytest.approx(1 / 3)
    assert rep.cross_kinds["reverse_accessory"] == 1 and rep.cross_kinds["noise"] == 1
    assert rep.examples["cross_misses"][0] == "Grass Catcher Bag → Petrol Lawn Mower 41cm"
    # without ground truth the precision is not claimed
    rep = counter_sanity(products, engine)
    assert rep.cross_precision is None and rep.to_dict()["cross_precision"] is None


def test_report_json_and_text() -> None:
    products = _catalogue(MOWER, BAG, OIL)
    engine = StubEngine({"BAG": [_card(MOWER)], "MOW": [_card(BAG, source="popular")]})
    rep = counter_sanity(products, engine, [("MOW", "BAG", "accessory")], when=1_750_000_000.0)
    d = json.loads(json.dumps(rep.to_dict()))
    for key in ("baskets", "card_slots", "wrong_direction", "wrong_direction_policy",
                "substitutes", "variant_upgrades", "filler_share", "concentration",
                "concentration_top", "empty_share", "cross_precision", "upgrade_precision",
                "accessory_recall", "examples", "when", "context"):
        assert key in d, key
    assert d["card_slots"] == 2 and d["wrong_direction"] == 1 and d["filler_share"] == 0.5
    assert d["context"] and d["when"].startswith("2025-06-15")
    text = rep.to_text()
    assert "Counter sanity" in text and "wrong direction" in text
    assert "Grass Catcher Bag → Petrol Lawn Mower 41cm" in text


# -- the real engine on a small till --------------------------------------------------------------
def test_counter_sanity_with_the_real_engine(tmp_path: Path) -> None:
    from possuggest.till.reader import TillReader

    till = make_till(tmp_path / "till.db")
    with TillReader(till) as reader:
        tx = reader.read_transactions()
        products = reader.read_products()
    engine = build_engine(tx, products)
    rep = counter_sanity(products, engine, tx=tx, when=1_750_000_000.0)
    assert rep.baskets == sum(1 for p in PRODUCTS if p[7])
    assert rep.card_slots == rep.cross_cards + rep.upgrade_cards > 0
    assert read_ground_truth(till) is None


# -- the demo store's ground truth ----------------------------------------------------------------
def test_demo_relations() -> None:
    rel = DemoStoreModel().relations()
    assert ("MOW-STD", "MOW-CATCH") in rel.accessory
    assert ("MOW-CATCH", "MOW-STD") not in rel.accessory          # direction
    assert ("MOW-PRO", "MOW-MULCH") in rel.accessory
    assert ("MOW-STD", "MOW-MULCH") not in rel.accessory          # chance 0 with this tier
    assert {("SEED-TOM", "SEED-CAR"), ("SEED-CAR", "SEED-TOM")} <= rel.together
    assert ("MOW-STD", "MOW-DLX") in rel.upgrade and ("MOW-DLX", "MOW-STD") not in rel.upgrade
    assert ("LED-E14-4W", "LED-GU10-5W") not in rel.upgrade       # a shopping list, not tiers
    assert ("ROL-SET-7", "ROL-SET") not in rel.upgrade
    assert ("PNT-EMUL-STD", "ROL-SET-7") in rel.accessory        # the discontinued predecessor
    rows = rel.rows()
    assert rows == sorted(rows)
    assert len(rows) == len(rel.accessory) + len(rel.together) + len(rel.upgrade)


@pytest.fixture(scope="module")
def demo_till(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sanity") / "demo.db"
    build_demo_store(path, sales=3000)
    return path


def test_demo_store_carries_its_ground_truth(demo_till: Path) -> None:
    rows = read_ground_truth(demo_till)
    assert rows is not None
    assert sorted(rows) == DemoStoreModel().relations().rows()
    conn = sqlite3.connect(demo_till)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        conn.close()
    assert tables == {"products", "sales", "sale_lines", DEMO_RELATIONS_TABLE}


def test_evaluate_json_includes_sanity_on_the_demo_till(demo_till: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["evaluate", "--json", "-q", "--till-db", str(demo_till),
                 "--data-dir", str(tmp_path / "d")])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"cases", "methods", "sanity"}
    assert set(data["methods"]) == {"engine", "popularity", "mlxtend_rules", "item_knn"}
    s = data["sanity"]
    assert s["ground_truth"] is True and s["baskets"] > 400 and s["card_slots"] > 0
    for key in ("wrong_direction", "substitutes", "variant_upgrades", "filler_share",
                "concentration", "empty_share", "cross_precision", "accessory_recall"):
        assert s[key] is not None, key
    assert 0.0 <= s["cross_precision"] <= 1.0


def test_evaluate_text_prints_sanity_after_the_table(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    till = make_till(tmp_path / "till.db")
    assert main(["evaluate", "-q", "--till-db", str(till), "--data-dir", str(tmp_path / "d")]) == 0
    out = capsys.readouterr().out
    assert out.index("engine ") < out.index("Counter sanity")
    assert "precision" not in out                       # no ground truth in a plain till


def test_evaluate_sales_file_has_no_sanity(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "b.csv"
    f.write_text("\n".join(["bread,butter", "beer,crisps", "milk,bread"] * 100) + "\n")
    assert main(["evaluate", str(f), "--format", "baskets", "--json", "-q",
                 "--data-dir", str(tmp_path / "d")]) == 0
    assert "sanity" not in json.loads(capsys.readouterr().out)
