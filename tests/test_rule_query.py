"""The rules browser's queries (store/rule_query.py): filters, sorts, pages, marks and notes
over rule sets written as a refresh writes them, checked against hand-made answers and
against a plain-Python reading of generated rule sets."""

from __future__ import annotations

import math
import random
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from possuggest.core.errors import RuleStoreError
from possuggest.core.products import Product
from possuggest.store.rule_query import (
    SORT_COLUMNS,
    RuleFilter,
    RuleQuery,
    RuleSort,
    select,
)
from possuggest.store.rule_store import RuleSetInfo, RuleStore

PRODUCTS = [
    Product("MOW-STD", "Lawn Mower Standard", "Garden Power", "mower", 249.0),
    Product("MOW-DLX", "Lawn Mower Deluxe", "Garden Power", "mower", 369.0),
    Product("GRASS-CATCH", "Grass Catcher", "Garden Power", "", 39.0),
    Product("OIL-4T", "Engine Oil 4T", "Garden Power", "", 12.0),
    Product("DRILL-18V", "Cordless Drill 18V", "Power Tools", "drill", 99.0),
    Product("BITS", "Drill Bit Set", "Power Tools", "", 19.0),
    Product("GLOVES", "Work Gloves", "Garden Care", "", 8.0),
    Product("TAPE", "duct tape", "Hardware", "", 5.0),
]

# kind, antecedent, consequent, count, confidence, lift   (rule ids 0..8 in this order)
RULES = [
    ("cross", ("MOW-STD",), "GRASS-CATCH", 120, 0.60, 3.0),        # 0
    ("cross", ("MOW-STD",), "OIL-4T", 60, 0.30, 2.0),              # 1
    ("cross", ("GRASS-CATCH", "MOW-STD"), "OIL-4T", 40, 0.45, 3.0),  # 2: two basket items
    ("cross", ("DRILL-18V",), "BITS", 90, 0.75, 5.5),              # 3
    ("cross", ("BITS",), "DRILL-18V", 90, 0.40, 5.5),              # 4
    ("upgrade", ("MOW-STD",), "MOW-DLX", 12, 0.10, float("nan")),  # 5: no lift
    ("cross", ("GLOVES",), "TAPE", 30, 0.20, 1.2),                 # 6
    ("cross", ("TAPE",), "GHOST", 5, 0.05, 0.9),                   # 7: not in the snapshot
    ("cross", ("OIL-4T",), "MOW-STD", 60, 0.50, 2.0),              # 8
]
N_BASKETS = 1000


def rules_frame(rules: list[tuple]) -> pd.DataFrame:
    kind, ante, cons, cnt, conf, lift = zip(*rules)
    cnt_a = np.array(cnt, dtype=float)
    return pd.DataFrame({
        "kind": list(kind), "antecedent": list(ante), "consequent": list(cons),
        "count": cnt_a, "support": cnt_a / N_BASKETS, "confidence": list(conf),
        "lift": list(lift), "leverage": 0.0, "conviction": 1.0,
        "antecedent_count": cnt_a, "consequent_count": cnt_a})


def write_set(path: Path, rules: list[tuple], products: list[Product] = PRODUCTS) -> int:
    items = pd.DataFrame({"sku": [p.sku for p in products], "count": 10.0, "support": 0.01})
    with RuleStore(path) as store:
        return store.write_rule_set(rules_frame(rules), items, products,
                                    RuleSetInfo(n_baskets=N_BASKETS, n_cross=len(rules)))


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "possuggest.db"
    write_set(path, RULES)
    return path


def ids(view, limit: int = 1000) -> list[int]:
    return [r.rule_id for r in view.page(0, limit)]


def test_default_view_is_by_lift_with_names_joined(db: Path) -> None:
    with RuleQuery(db) as rq:
        view = rq.query()
        assert len(view) == len(RULES) and len(view.table) == len(RULES)
        # lift high → low, ties in rule-id order, no lift last
        assert ids(view) == [3, 4, 0, 2, 1, 8, 6, 7, 5]
        top = view.row(0)
        assert (top.suggest_sku, top.suggest_name, top.category) == \
            ("BITS", "Drill Bit Set", "Power Tools")
        assert top.with_skus == ("DRILL-18V",) and top.with_names == ("Cordless Drill 18V",)
        assert top.kind == "cross" and top.count == 90 and math.isclose(top.support, 0.09)
        multi = view.row(view.position_of(2))
        assert multi.with_skus == ("GRASS-CATCH", "MOW-STD")
        assert multi.with_names == ("Grass Catcher", "Lawn Mower Standard")
        ghost = view.row(view.position_of(7))       # a SKU the snapshot lacks: its code
        assert ghost.suggest_name == "GHOST" and ghost.category == ""
        assert math.isnan(view.row(view.position_of(5)).lift)


@pytest.mark.parametrize("column", SORT_COLUMNS)
@pytest.mark.parametrize("descending", [False, True])
def test_every_column_sorts(db: Path, column: str, descending: bool) -> None:
    with RuleQuery(db) as rq:
        rq.set_note("MOW-STD", "OIL-4T", "ask about 2-stroke")
        rq.set_note("DRILL-18V", "BITS", "bits on the end cap")
        view = rq.query(sort=RuleSort(column, descending), pinned=[["BITS", "DRILL-18V"]],
                        blocked=[["GLOVES", "TAPE"]])
        rows = view.page(0, 100)
        notes = {"ask about 2-stroke": 1, "bits on the end cap": 2}

        def key(r):
            return {
                "rule_id": r.rule_id,
                "with": (r.with_names[0].casefold(), r.with_skus[0]),
                "suggest": (r.suggest_name.casefold(), r.suggest_sku),
                "category": (r.category.casefold(), r.suggest_name.casefold(), r.suggest_sku),
                "kind": r.kind == "upgrade", "count": r.count, "support": r.support,
                "confidence": r.confidence,
                "lift": -1.0 if math.isnan(r.lift) else r.lift,
                "status": {"": 0, "pinned": 1, "blocked": 2}[r.status],
                "note": notes.get(r.note, 0),
            }[column]

        # ties keep rule-id order in both directions (Python's sort is stable reversed too)
        expected = sorted(sorted(rows, key=lambda r: r.rule_id), key=key, reverse=descending)
        assert [key(r) for r in rows] == [key(r) for r in expected]
        assert [r.rule_id for r in rows] == [r.rule_id for r in expected]


def test_product_filter_by_name_or_code_on_either_side(db: Path) -> None:
    with RuleQuery(db) as rq:
        def q(**kw) -> set[int]:
            return set(ids(rq.query(RuleFilter(**kw), RuleSort("rule_id", False))))

        assert q(product="mower standard") == {0, 1, 2, 5, 8}       # name, any case
        assert q(product="mow-std", side="with") == {0, 1, 2, 5}    # code, basket side
        assert q(product="MOW-STD", side="suggest") == {8}
        assert q(product="grass", side="with") == {2}               # 2nd item of a basket side
        assert q(product="grass", side="suggest") == {0}
        assert q(product="DUCT TAPE") == {6, 7}
        assert q(product="ghost") == {7}                            # code without a product row
        assert q(product="no such thing") == set()
        assert q(category="power tools") == {3, 4}
        assert q(category="Garden Power", side="with") == {0, 1, 2, 5, 8}
        assert q(category="Garden Power", side="suggest") == {0, 1, 2, 5, 8}
        assert q(category="Hardware", side="with") == {7}
        assert q(product="cordless", category="Power Tools", side="suggest") == {4}
        assert q(product="drill", category="Power Tools", side="suggest") == {3, 4}


def test_kind_and_thresholds(db: Path) -> None:
    with RuleQuery(db) as rq:
        def q(**kw) -> set[int]:
            return set(ids(rq.query(RuleFilter(**kw))))

        assert q(kind="upgrade") == {5}
        assert q(kind="cross") == set(range(9)) - {5}
        assert q(min_count=90) == {0, 3, 4}
        assert q(min_confidence=0.5) == {0, 3, 8}
        assert q(min_lift=3.0) == {0, 2, 3, 4}                     # NaN lift never passes
        assert q(min_lift=2.0, min_confidence=0.45, kind="cross") == {0, 2, 3, 8}
        assert q(min_lift=100) == set()


def test_status_marks_follow_the_config_pairs(db: Path) -> None:
    with RuleQuery(db) as rq:
        view = rq.query(RuleFilter(), RuleSort("rule_id", False),
                        pinned=[["MOW-STD", "GRASS-CATCH"], ["MOW-STD", "OIL-4T"]],
                        blocked=[["*", "TAPE"], ["BITS", "*"], ["MOW-STD", "OIL-4T"],
                                 ["NO-SUCH", "BITS"]])
        status = {r.rule_id: r.status for r in view.page(0, 100)}
        # a pinned pair marks every rule holding it, a block wins over a pin (as in the engine)
        assert status == {0: "pinned", 1: "blocked", 2: "blocked", 3: "", 4: "blocked",
                          5: "", 6: "blocked", 7: "", 8: ""}
        assert view.row(0).pairs == [("MOW-STD", "GRASS-CATCH")]
        assert view.row(2).pairs == [("GRASS-CATCH", "OIL-4T"), ("MOW-STD", "OIL-4T")]
        pinned = rq.query(RuleFilter(status="pinned"), pinned=[["MOW-STD", "GRASS-CATCH"]])
        assert ids(pinned) == [0]
        plain = rq.query(RuleFilter(status="plain"), pinned=[["MOW-STD", "GRASS-CATCH"]],
                         blocked=[["*", "TAPE"]])
        assert set(ids(plain)) == set(range(9)) - {0, 6}


def test_pages_positions_and_sample(db: Path) -> None:
    with RuleQuery(db) as rq:
        view = rq.query(sort=RuleSort("count", True))
        assert ids(view) == [0, 3, 4, 1, 8, 2, 6, 5, 7]
        assert [r.rule_id for r in view.page(3, 2)] == [1, 8]
        assert [r.rule_id for r in view.page(8, 5)] == [7]
        assert view.page(20, 5) == [] and view.page(-3, 2) == view.page(0, 2)
        assert view.position_of(8) == 4 and view.position_of(999) is None
        narrow = rq.query(RuleFilter(kind="upgrade"))
        assert narrow.position_of(0) is None and narrow.position_of(5) == 0
        s = view.sample(2)
        assert sorted(s["rule_id"].tolist()) == [3, 4]              # highest lift
        s = view.sample(2, keep=[6, 999])
        assert sorted(s["rule_id"].tolist()) == [3, 4, 6]           # and the selected one
        assert sorted(narrow.sample(2, keep=[6])["rule_id"].tolist()) == [5]   # not in view
        everything = view.sample(100)
        lift = dict(zip(everything["rule_id"].tolist(), everything["lift"].tolist()))
        assert len(lift) == 9 and lift[5] == 0.0 and lift[3] == 5.5  # no lift: 0


def test_notes_are_kept_by_pair_through_a_refresh(db: Path) -> None:
    with RuleQuery(db) as rq:
        assert rq.note("MOW-STD", "GRASS-CATCH") == ""
        rq.set_note("MOW-STD", "GRASS-CATCH", "  keep the catchers by the mowers ")
        rq.set_note("GRASS-CATCH\tMOW-STD", "OIL-4T", "oil with the pair")
        assert rq.note("MOW-STD", "GRASS-CATCH") == "keep the catchers by the mowers"
        rq.set_note("MOW-STD", "GRASS-CATCH", "moved to aisle 3")       # replaced
        view = rq.query(RuleFilter(status="noted"), RuleSort("rule_id", False))
        assert [(r.rule_id, r.note) for r in view.page(0, 10)] == \
            [(0, "moved to aisle 3"), (2, "oil with the pair")]
        assert view.row(1).with_key == "GRASS-CATCH\tMOW-STD"
        with pytest.raises(RuleStoreError, match="both sides"):
            rq.set_note("", "OIL-4T", "x")
    # a refresh writes a new set in which the pair has another rule id
    write_set(db, [RULES[6], RULES[3], RULES[0]])
    with RuleQuery(db) as rq:
        view = rq.query(RuleFilter(status="noted"))
        assert [(r.rule_id, r.suggest_sku, r.note) for r in view.page(0, 10)] == \
            [(2, "GRASS-CATCH", "moved to aisle 3")]
        rq.set_note("MOW-STD", "GRASS-CATCH", "   ")                  # empty removes it
        assert rq.notes() == {("GRASS-CATCH\tMOW-STD", "OIL-4T"): "oil with the pair"}


def test_loaded_table_is_kept_until_another_set_is_active(db: Path) -> None:
    tables: dict = {}
    with RuleQuery(db, tables) as rq:
        first = rq.table()
        assert rq.table() is first and list(tables) == [first.rule_set.id]
    with RuleQuery(db, tables) as rq:          # a later query (thread) reuses it
        assert rq.table() is first
        new_id = write_set(db, RULES[:3])
        second = rq.table()
        assert second.rule_set.id == new_id and len(second) == 3
        assert list(tables) == [new_id]          # the old one is let go
        assert len(rq.table(first.rule_set.id)) == 9      # an earlier set by id
        with pytest.raises(RuleStoreError, match="no rule set 999"):
            rq.table(999)


def test_no_rule_set_yet_and_old_databases(tmp_path: Path) -> None:
    path = tmp_path / "possuggest.db"
    with RuleQuery(path) as rq, pytest.raises(RuleStoreError, match="no rules yet"):
        rq.query()
    # a database from before rule_notes: the table is added when it is opened
    write_set(path, RULES)
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE rule_notes")
    conn.commit()
    conn.close()
    with RuleQuery(path) as rq:
        assert rq.notes() == {}
        rq.set_note("MOW-STD", "OIL-4T", "fine")
        assert len(rq.query()) == len(RULES)


@pytest.mark.parametrize("bad, message", [
    (RuleFilter(side="left"), "side"), (RuleFilter(kind="cross-sell"), "kind"),
    (RuleFilter(status="starred"), "status"), (RuleFilter(min_lift=-1), "min_lift"),
    (RuleFilter(min_count=float("nan")), "min_count"),
])
def test_bad_filters_are_named(db: Path, bad: RuleFilter, message: str) -> None:
    with RuleQuery(db) as rq, pytest.raises(ValueError, match=message):
        rq.query(bad)
    with pytest.raises(ValueError, match="cannot sort by 'price'"):
        RuleSort("price").check()


def test_generated_sets_match_a_plain_reading(tmp_path: Path) -> None:
    """Random rule sets and random filters: the view holds exactly the rules a plain Python
    reading keeps, in the same order."""
    rng = random.Random(11)
    products = [Product(f"P{i:03d}", f"{rng.choice(['Red', 'Blue', 'Big'])} thing {i}",
                        f"Cat{i % 5}") for i in range(60)]
    rules = []
    seen = set()
    while len(rules) < 2000:
        k = 1 if rng.random() < 0.9 else 2
        ante = tuple(sorted(rng.sample([p.sku for p in products], k)))
        cons = rng.choice(products).sku
        if cons in ante or (ante, cons) in seen:
            continue
        seen.add((ante, cons))
        lift = float("nan") if rng.random() < 0.02 else round(rng.uniform(0.5, 8), 1)
        rules.append(("upgrade" if rng.random() < 0.05 else "cross", ante, cons,
                      rng.randint(2, 40), round(rng.uniform(0, 1), 2), lift))
    db = tmp_path / "gen.db"
    write_set(db, rules, products)
    by_sku = {p.sku: p for p in products}
    pinned = [list(r[1][:1]) + [r[2]] for r in rng.sample(rules, 30)]
    blocked = [list(r[1][:1]) + [r[2]] for r in rng.sample(rules, 30)] + [["*", "P007"]]
    with RuleQuery(db) as rq:
        table = rq.table()
        marks = rq.marks(table, pinned, blocked)
        for _ in range(60):
            flt = RuleFilter(product=rng.choice(["", "", "red", "thing 1", "P02", "big"]),
                             side=rng.choice(["any", "with", "suggest"]),
                             category=rng.choice(["", "", "cat3"]),
                             kind=rng.choice(["", "", "cross", "upgrade"]),
                             min_count=rng.choice([0, 0, 10]),
                             min_confidence=rng.choice([0, 0.5]),
                             min_lift=rng.choice([0, 0, 2.5]),
                             status=rng.choice(["", "", "pinned", "blocked", "plain"]))
            sort = RuleSort(rng.choice(["count", "confidence", "lift", "suggest", "rule_id"]),
                            rng.random() < 0.5)
            view = select(table, marks, flt, sort)
            expected = _plain_reading(rules, by_sku, flt, sort, pinned, blocked)
            assert [r.rule_id for r in view.page(0, len(view))] == expected, (flt, sort)


def _plain_reading(rules, by_sku, flt, sort, pinned, blocked) -> list[int]:
    pin = {tuple(p) for p in pinned}
    blk = {tuple(p) for p in blocked}

    def status(ante, cons):
        if any((a, cons) in blk or ("*", cons) in blk or (a, "*") in blk for a in ante):
            return "blocked"
        return "pinned" if any((a, cons) in pin for a in ante) else ""

    def touches(skus, test):
        return any(test(s) for s in skus)

    def matches_text(s):
        p = by_sku.get(s)
        t = flt.product.casefold()
        return t in s.casefold() or (p is not None and t in p.name.casefold())

    def in_cat(s):
        p = by_sku.get(s)
        return p is not None and p.category.casefold() == flt.category.casefold()

    def sides(ante, cons):
        return {"any": list(ante) + [cons], "with": list(ante), "suggest": [cons]}[flt.side]

    kept = []
    for rid, (kind, ante, cons, cnt, conf, lift) in enumerate(rules):
        lift0 = 0.0 if math.isnan(lift) else lift
        st = status(ante, cons)
        if flt.kind and kind != flt.kind:
            continue
        if cnt < flt.min_count or conf < flt.min_confidence or lift0 < flt.min_lift:
            continue
        if flt.product and not touches(sides(ante, cons), matches_text):
            continue
        if flt.category and not touches(sides(ante, cons), in_cat):
            continue
        if flt.status == "plain" and st or flt.status in ("pinned", "blocked") and \
                st != flt.status:
            continue
        key = {"count": cnt, "confidence": conf, "rule_id": rid,
               "lift": -1.0 if math.isnan(lift) else lift,
               "suggest": (by_sku[cons].name.casefold(), cons)}[sort.column]
        kept.append((key, rid))
    if sort.column == "rule_id":
        out = [rid for _, rid in kept]
        return out[::-1] if sort.descending else out
    order = sorted(kept, key=lambda kr: kr[1])                   # rule-id order for ties
    order.sort(key=lambda kr: kr[0], reverse=sort.descending)  # stable in both directions
    return [rid for _, rid in order]


def test_descending_orders_keep_ties_in_rule_order() -> None:
    from possuggest.store.rule_query import _reverse_keeping_ties

    rng = np.random.default_rng(5)
    for n in (0, 1, 7, 5000):
        values = rng.integers(0, 12, n).astype(float)
        values[rng.random(n) < 0.1] = np.nan
        key = np.nan_to_num(values, nan=-np.inf)
        up = np.argsort(key, kind="stable")
        expected = np.argsort(-key, kind="stable")
        assert _reverse_keeping_ties(up, values).tolist() == expected.tolist()
