"""The what-if explanation (serving/explain.py): the cards are exactly suggest()'s, and every
reason a product is not shown comes from a constructed case that produces it."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from possuggest.core.config import ManualRule, MiningSettings, PolicySettings, UpgradePath
from possuggest.core.products import Product, compatible
from possuggest.core.transactions import Transactions
from possuggest.mining.miner import mine_rules
from possuggest.serving.engine import ScoringParams, SuggestionEngine
from possuggest.serving.explain import LABELS, Explanation, explain, when_at
from possuggest.serving.feedback import Estimate, Feedback, build_feedback
from possuggest.store.rule_store import RuleArrays, RuleSetInfo, RuleStore

N_BASKETS = 10_000
DRILL_BASKETS = 500

# sku, name, category, family, price, stock, active
CATALOG_ROWS = [
    ("DRILL", "Cordless Drill 18V", "Power Tools", "drill", 99.0, 20, True),
    ("DRILL-PRO", "Cordless Drill 18V Pro", "Power Tools", "drill", 149.0, 5, True),
    ("DRILL-24V", "Cordless Drill 24V", "Power Tools", "drill", 169.0, 5, True),
    ("DRILL-MAX", "Cordless Drill 18V Max", "Power Tools", "drill", 179.0, 5, True),
    ("DRILL-ULTRA", "Cordless Drill 18V Ultra", "Power Tools", "drill", 249.0, 5, True),
    ("DRILL-12V", "Cordless Drill 12V", "Power Tools", "drill", 59.0, 5, True),
    ("IMPACT", "Impact Driver 18V", "Power Tools", "drill", 129.0, 5, True),
    ("SAW", "Circular Saw", "Saws", "saw", 129.0, 5, True),
    ("BITS", "Drill Bit Set", "Accessories", "", 19.0, 50, True),
    ("BATT", "Spare Battery 18V", "Power Tools", "", 49.0, 30, True),
    ("CASE", "Tool Case", "Storage", "", 29.0, 30, True),
    ("GLOVES", "Work Gloves", "Safety", "", 8.0, 0, True),
    ("PAINT", "Paint 5L", "Paint", "", 39.0, 10, True),
    ("TABLE", "Workbench", "Storage", "", 299.0, 3, True),
    ("HUB", "AA Batteries 4pk", "Household", "", 5.0, 99, True),
    ("WEAK", "Pencil", "Stationery", "", 1.5, 99, True),
    ("THIN", "Sandpaper", "Abrasives", "", 4.0, 99, True),
    ("LOWCONF", "Wood Glue", "Adhesives", "", 6.0, 99, True),
    ("RAG", "Cleaning Rag", "Cleaning", "", 3.0, 99, True),
    ("OLDCASE", "Old Drill Case", "Storage", "", 25.0, 9, False),
    ("TAPE", "Duct Tape", "Hardware", "", 5.0, 99, True),
    *[(f"M{k}", f"Misc Item {k}", "Misc", "", 10.0 + k, 99, True) for k in range(6)],
]
CATALOG = {r[0]: Product(r[0], r[1], r[2], r[3], r[4], None, r[5], r[6]) for r in CATALOG_ROWS}

# antecedent, consequent, kind, count, confidence, lift
RULES: list[tuple[tuple[str, ...], str, str, float, float, float]] = [
    (("DRILL",), "BITS", "cross", 400, 0.80, 8.0),
    (("DRILL",), "BATT", "cross", 300, 0.60, 6.0),
    (("DRILL",), "IMPACT", "cross", 250, 0.50, 3.0),      # a dearer tier of the drill line
    (("DRILL",), "SAW", "cross", 225, 0.45, 3.0),         # a dearer main item of another line
    (("DRILL",), "TABLE", "cross", 210, 0.42, 3.0),       # far dearer than the basket
    (("DRILL",), "CASE", "cross", 200, 0.40, 5.0),
    (("DRILL",), "DRILL-12V", "cross", 175, 0.35, 0.5),   # same line, less than chance
    (("DRILL",), "GLOVES", "cross", 150, 0.30, 4.0),      # out of stock
    (("DRILL",), "HUB", "cross", 150, 0.30, 1.8),         # goes weakly with everything
    (("DRILL",), "PAINT", "cross", 100, 0.20, 3.0),
    (("DRILL",), "GHOST", "cross", 60, 0.12, 3.0),        # not in the catalogue
    (("DRILL",), "OLDCASE", "cross", 55, 0.11, 3.0),      # inactive
    (("DRILL",), "RAG", "cross", 40, 0.08, 0.8),
    (("DRILL",), "WEAK", "cross", 10, 0.02, 2.6),         # thin: card lift ~2.05
    (("DRILL",), "LOWCONF", "cross", 5, 0.01, 3.0),       # under min_confidence
    (("DRILL",), "THIN", "cross", 1, 0.002, 4.0),         # under min_count (and confidence)
    (("DRILL",), "DRILL-24V", "upgrade", 90, 0.30, float("nan")),   # another voltage
    (("DRILL",), "DRILL-PRO", "upgrade", 60, 0.20, float("nan")),
    (("DRILL",), "DRILL-MAX", "upgrade", 30, 0.10, float("nan")),
    (("DRILL",), "DRILL-ULTRA", "upgrade", 3, 0.01, float("nan")),  # under min_upgrade_share
    *[((f"M{k}",), "HUB", "cross", 50, 0.05, 1.3) for k in range(6)],   # makes HUB a hub
    (("M0",), "M1", "cross", 80, 0.4, 9.0),
]


def make_arrays(rules: Sequence[tuple[tuple[str, ...], str, str, float, float, float]],
                products: dict[str, Product], n_baskets: int = N_BASKETS,
                weight: Sequence[float] | None = None) -> RuleArrays:
    items = {s: 1000.0 for s in products}
    items["DRILL"] = float(DRILL_BASKETS)
    items["GHOST"] = 1000.0
    return RuleArrays(
        rule_set=RuleSetInfo(id=1, n_baskets=n_baskets),
        rule_id=np.arange(len(rules), dtype=np.int64) + 100,
        kind=np.array([r[2] for r in rules], dtype=object),
        antecedent=[r[0] for r in rules],
        consequent=np.array([r[1] for r in rules], dtype=object),
        count=np.array([r[3] for r in rules], dtype=float),
        confidence=np.array([r[4] for r in rules], dtype=float),
        lift=np.array([r[5] for r in rules], dtype=float),
        support=np.array([r[3] / n_baskets for r in rules], dtype=float),
        item_counts=items, products=dict(products),
        weight=None if weight is None else np.asarray(weight, dtype=float))


ARRAYS = make_arrays(RULES, CATALOG)


def engine(products: dict[str, Product] | None = None, feedback: Feedback | None = None,
           scoring: ScoringParams | None = None, arrays: RuleArrays = ARRAYS,
           **policy: Any) -> SuggestionEngine:
    pol = PolicySettings(**{"max_suggestions": 10, **policy})
    return SuggestionEngine(arrays, products=products or CATALOG, policy=pol, scoring=scoring,
                            feedback=feedback)


def why(ex: Explanation, sku: str) -> tuple[str, str]:
    ns = ex.why_not(sku)
    return ns.reason, ns.text


def agrees(ex: Explanation, eng: SuggestionEngine, basket: Sequence[str], **kw: Any) -> None:
    assert ex.suggestions == eng.suggest(basket, **kw)


# -- the cards and their evidence ----------------------------------------------------------------
def test_cards_are_suggests_with_their_rule() -> None:
    eng = engine()
    ex = explain(eng, ["DRILL"])
    agrees(ex, eng, ["DRILL"])
    shown = [c.suggestion.sku for c in ex.cards]
    assert shown[:3] == ["BITS", "BATT", "CASE"] and "DRILL-PRO" in shown
    bits = ex.cards[0]
    assert bits.source == "mined" and bits.evidence is not None
    ev = bits.evidence
    assert (ev.rule_id, ev.antecedent, ev.consequent, ev.kind) == (100, ("DRILL",), "BITS", "cross")
    assert ev.count == 400 and ev.confidence == pytest.approx(0.8) and ev.lift == 8.0
    assert ev.antecedent_count == pytest.approx(500)
    assert ev.card_lift == pytest.approx((400 + 2) / (400 / 8 + 2))       # the policy's shrink
    assert "rule #100" in ev.text and "confidence 80.0%" in ev.text and "lift 8.00" in ev.text
    up = next(c for c in ex.cards if c.suggestion.sku == "DRILL-PRO")
    assert up.suggestion.kind == "upgrade" and up.evidence is not None
    assert up.evidence.kind == "upgrade" and up.evidence.confidence == pytest.approx(0.2)
    assert bits.acceptance is None                     # nothing learned yet
    assert ex.why_not("BITS").reason == "shown"


def test_learned_acceptance_is_shown_beside_the_card() -> None:
    counts = {("", f"M{k}"): (100.0, 20.0, 80.0) for k in range(6)}
    counts[("DRILL", "BITS")] = (200.0, 90.0, 100.0)
    fb = build_feedback(counts, dataclasses.replace(
        __import__("possuggest.core.config", fromlist=["FeedbackSettings"]).FeedbackSettings(),
        exploration="mean"))
    assert fb is not None
    eng = engine(feedback=fb)
    ex = explain(eng, ["DRILL"])
    agrees(ex, eng, ["DRILL"])
    acc = next(c for c in ex.cards if c.suggestion.sku == "BITS").acceptance
    assert acc is not None and acc.level == "pair"
    assert (acc.shown, acc.accepted) == (200.0, 90.0) and 0.3 < acc.rate < 0.5
    assert "accepted 90 of 200 shows" in acc.text


def test_pinned_and_manual_cards_say_so() -> None:
    eng = engine(pinned=[["DRILL", "TAPE"]],
                 manual=[ManualRule(with_sku="DRILL", suggest="M3", reason="Ask about it")])
    ex = explain(eng, ["DRILL"])
    agrees(ex, eng, ["DRILL"])
    by = {c.suggestion.sku: c for c in ex.cards}
    assert by["TAPE"].source == "pinned" and by["TAPE"].evidence is None
    assert by["M3"].source == "manual" and by["M3"].suggestion.reason == "Ask about it"
    assert by["TAPE"].source_text == "Pinned by the manager"


# -- every reason, from a case that produces it ----------------------------------------------------
def test_catalogue_reasons() -> None:
    eng = engine(excluded_categories=["paint"])
    ex = explain(eng, ["DRILL"])
    agrees(ex, eng, ["DRILL"])
    assert why(ex, "GLOVES") == ("out_of_stock", "Out of stock: 0 in stock < min_stock 1")
    assert why(ex, "PAINT")[0] == "excluded_category" and "Paint" in why(ex, "PAINT")[1]
    assert why(ex, "OLDCASE")[0] == "inactive"
    assert why(ex, "GHOST")[0] == "not_in_catalogue"
    listed = {n.sku for n in ex.not_shown}
    assert {"GLOVES", "PAINT", "OLDCASE", "GHOST"} <= listed


def test_blocked_pair_any_and_everything() -> None:
    eng = engine(blocked=[["DRILL", "BITS"], ["*", "BATT"]])
    ex = explain(eng, ["DRILL"])
    agrees(ex, eng, ["DRILL"])
    assert why(ex, "BITS") == ("blocked", "Blocked with Cordless Drill 18V (policy.blocked)")
    assert why(ex, "BATT") == ("blocked", "Blocked with any item (policy.blocked)")
    eng = engine(blocked=[["DRILL", "*"]])
    ex = explain(eng, ["DRILL"])
    assert ex.cards == () and eng.suggest(["DRILL"]) == []
    assert why(ex, "BITS")[0] == "blocked" and "nothing is suggested with" in why(ex, "BITS")[1]


def test_below_each_threshold_names_value_and_setting() -> None:
    ex = explain(engine(), ["DRILL"])
    reason, text = why(ex, "LOWCONF")
    assert reason == "below_threshold"
    assert "1.0% < min_confidence 2.0%" in text and "rule #114" in text
    assert "min_count" not in text
    eng = engine(min_confidence=0.0)
    reason, text = why(explain(eng, ["DRILL"]), "THIN")
    assert reason == "below_threshold" and text.endswith("1 < min_count 2")
    eng = engine(min_lift=1.0)
    ex = explain(eng, ["DRILL"])
    agrees(ex, eng, ["DRILL"])
    assert why(ex, "RAG") == ("below_threshold", "Below a threshold (rule #112 with Cordless "
                                                 "Drill 18V): 0.80 < min_lift 1.00")
    assert why(ex, "DRILL-12V")[0] == "below_threshold"          # lift 0.5 too
    ns = ex.why_not("DRILL-ULTRA")
    assert ns.reason == "below_threshold" and "1.0% < min_upgrade_share 5.0%" in ns.text
    assert ns.data["failed"] == [("min_upgrade_share", 0.01, 0.05)]


def test_wrong_direction_substitute_and_size_variant() -> None:
    eng = engine()
    ex = explain(eng, ["DRILL"])
    agrees(ex, eng, ["DRILL"])
    reason, text = why(ex, "TABLE")
    assert reason == "too_dear"
    assert text == ("Wrong direction: $299 is dearer than the basket allows (2× the dearest "
                    "item $99.00 + $5.00 = $203)")
    assert why(ex, "IMPACT")[0] == "dearer_version"              # same line, dearer
    assert why(ex, "SAW")[0] == "main_item"                      # another line's main item
    assert LABELS["too_dear"] == LABELS["main_item"] == "Wrong direction"
    reason, text = why(ex, "DRILL-12V")
    assert reason == "substitute" and "same family" in text and "lift 0.50" in text
    assert not compatible("Cordless Drill 18V", "Cordless Drill 24V")
    reason, text = why(ex, "DRILL-24V")
    assert reason == "size_variant" and "Cordless Drill 18V" in text
    # an upgrade the till now sells for less than the basket item is no upgrade
    cheaper = {**CATALOG, "DRILL-PRO": dataclasses.replace(CATALOG["DRILL-PRO"], price=89.0)}
    eng = engine(products=cheaper)
    ex = explain(eng, ["DRILL"])
    agrees(ex, eng, ["DRILL"])
    assert why(ex, "DRILL-PRO")[0] == "not_dearer"


def test_upgrade_choices() -> None:
    ex = explain(engine(), ["DRILL"])
    reason, text = why(ex, "DRILL-MAX")
    assert reason == "another_upgrade"
    assert text == "Cordless Drill 18V Pro is offered as the upgrade of Cordless Drill 18V instead"
    eng = engine()
    ex = explain(eng, ["DRILL", "DRILL-PRO"])
    agrees(ex, eng, ["DRILL", "DRILL-PRO"])
    assert why(ex, "DRILL-MAX")[0] == "has_upgrade"
    assert why(ex, "DRILL-PRO")[0] == "in_basket"
    eng = engine(upgrade_paths=[UpgradePath(from_sku="DRILL", to_sku="DRILL-ULTRA")])
    ex = explain(eng, ["DRILL"])
    agrees(ex, eng, ["DRILL"])
    up = next(c for c in ex.cards if c.suggestion.kind == "upgrade")
    assert up.suggestion.sku == "DRILL-ULTRA" and up.source == "manual"
    assert why(ex, "DRILL-PRO")[0] == "another_upgrade"


def test_dismissed_too_often() -> None:
    est = Estimate(shown=60, accepted=1, dismissed=59, alpha=2.0, beta=70.0, upper=0.05,
                   multiplier=0.3, hidden=True)
    fb = Feedback(store_rate=0.2, shown=1000, accepted=200, pairs={("DRILL", "BITS"): est},
                  hidden=frozenset({("DRILL", "BITS")}))
    eng = engine(feedback=fb)
    ex = explain(eng, ["DRILL"])
    agrees(ex, eng, ["DRILL"])
    reason, text = why(ex, "BITS")
    assert reason == "dismissed_too_often"
    assert text == ("Dismissed too often with Cordless Drill 18V: accepted 1 of 60 shows, at "
                    "most 5% likely (store rate 20%)")


def test_hub_filler_and_weak_evidence() -> None:
    ex = explain(engine(), ["DRILL"])
    reason, text = why(ex, "WEAK")
    assert reason == "weak_evidence"
    assert text.startswith("Evidence too weak: card lift 2.05 (lift 2.60 over 10 sales with "
                           "Cordless Drill 18V) < min_card_lift 2.50")
    assert why(ex, "HUB")[0] == "weak_evidence"         # 1.8 is under 2.5 anyway
    eng = engine(min_card_lift=1.5)                       # enough for anything but a hub
    ex = explain(eng, ["DRILL"])
    agrees(ex, eng, ["DRILL"])
    reason, text = why(ex, "HUB")
    assert reason == "hub_filler" and "hub_min_lift 2.00" in text
    assert "RAG" not in {c.suggestion.sku for c in ex.cards}
    assert why(ex, "RAG")[0] == "weak_evidence"


def test_outranked_by_the_limit_and_by_an_upgrade() -> None:
    eng = engine(max_suggestions=3)
    ex = explain(eng, ["DRILL"])
    agrees(ex, eng, ["DRILL"])
    assert [c.suggestion.sku for c in ex.cards] == ["BITS", "BATT", "DRILL-PRO"]
    reason, text = why(ex, "CASE")
    assert reason == "outranked_by_upgrade" and "Cordless Drill 18V Pro" in text
    reason, text = why(ex, "PAINT")
    assert reason == "outranked" and "max_suggestions = 3" in text
    eng = engine(max_suggestions=2, pinned=[["DRILL", "TAPE"], ["DRILL", "M1"],
                                            ["DRILL", "M2"]])
    ex = explain(eng, ["DRILL"])
    assert [c.suggestion.sku for c in ex.cards] == ["TAPE", "DRILL-PRO"]
    assert why(ex, "M1")[0] == "outranked_by_upgrade"
    assert why(ex, "M2") == ("outranked", "Outranked: more pinned and manual cards than "
                                          "max_suggestions = 2")


def test_exclusions_of_the_sale_and_basket_items() -> None:
    eng = engine()
    ex = explain(eng, ["DRILL"], exclude=["BITS"])
    agrees(ex, eng, ["DRILL"], exclude=["BITS"])
    assert why(ex, "BITS")[0] == "excluded"
    assert why(ex, "DRILL")[0] == "in_basket"


def test_no_rule_unknown_and_not_positive() -> None:
    eng = engine()
    ex = explain(eng, ["DRILL", "NOPE"])
    agrees(ex, eng, ["DRILL", "NOPE"])
    assert ex.unknown == ("NOPE",)
    assert why(ex, "TAPE") == ("no_rule", "No rule from this basket suggests it")
    assert why(ex, "M4")[0] == "no_rule"
    assert why(ex, "ZZZ") == ("unknown", "No product ZZZ in the till or the rules")
    assert "TAPE" not in {n.sku for n in ex.not_shown}     # the list holds what rules point at
    # no rule comes first; what else holds is said too
    ns = explain(eng, ["M0"]).why_not("GLOVES")
    assert ns.reason == "no_rule" and ns.also == ("Out of stock: 0 in stock < min_stock 1",)
    # a regression weight that takes the item's score below zero (no popularity prior)
    rules = [(("DRILL",), "BITS", "cross", 400, 0.8, 8.0), (("DRILL",), "CASE", "cross", 200,
                                                            0.4, 5.0)]
    arrays = make_arrays(rules, CATALOG, weight=[0.5, -0.2])
    eng = engine(arrays=arrays, scoring=ScoringParams(prior_weight=0.0))
    ex = explain(eng, ["DRILL"])
    agrees(ex, eng, ["DRILL"])
    assert [c.suggestion.sku for c in ex.cards] == ["BITS"]
    assert why(ex, "CASE")[0] == "not_positive"


def test_empty_engine_and_unknown_basket() -> None:
    eng = SuggestionEngine(None)
    ex = explain(eng, ["DRILL"])
    assert ex.cards == () and ex.not_shown == () and ex.unknown == ("DRILL",)
    assert why(ex, "DRILL")[0] == "unknown"


def test_time_of_day() -> None:
    from possuggest.core.context_time import bucket_of

    assert bucket_of(when_at(9, 30)) == 0 and bucket_of(when_at(9, 30, weekend=True)) == 1
    assert bucket_of(when_at(16, 0)) == 6
    with pytest.raises(ValueError):
        when_at(25, 0)


def test_tracing_costs_no_change_to_the_answer() -> None:
    eng = engine(max_suggestions=3)
    seen: list[tuple[str, str]] = []
    plain = eng.suggest(["DRILL", "M0"])
    traced = eng.suggest(["DRILL", "M0"], tracer=lambda s, r, d: seen.append((s, r)))
    assert plain == traced and seen


# -- the property: explain's cards are suggest()'s, and its reasons hold -----------------------------
def _store_rows(seed: int) -> tuple[dict[str, Product], list[list[str]]]:
    rng = random.Random(seed)
    cats = ["Garden", "Tools", "Paint", "Electrical", "Kitchen"]
    products: dict[str, Product] = {}
    for k in range(60):
        fam = f"line{k // 4}" if k < 16 else ""
        price = round((20 + 40 * (k % 4)) if fam else rng.uniform(1, 120), 2)
        stock = 0 if rng.random() < 0.08 else rng.randint(1, 50)
        products[f"P{k:02d}"] = Product(f"P{k:02d}", f"Product {k}", cats[k % 5], fam, price,
                                        price * 0.6, stock, rng.random() > 0.03)
    skus = list(products)
    baskets: list[list[str]] = []
    for _ in range(3000):
        anchor = rng.choice(skus[:30])
        b = {anchor}
        k = skus.index(anchor)
        for off in (1, 7, 13):
            if rng.random() < 0.45:
                b.add(skus[(k + off) % 60])
        for _ in range(rng.randint(0, 2)):
            b.add(rng.choice(skus))
        baskets.append(sorted(b))
    return products, baskets


class Mined(tuple):  # type: ignore[type-arg]
    def __repr__(self) -> str:        # hypothesis prints the arguments of a failing example
        return "<mined store>"


@pytest.fixture(scope="module")
def mined(tmp_path_factory: pytest.TempPathFactory) -> tuple[RuleArrays, dict[str, Product]]:
    products, baskets = _store_rows(11)
    tx = Transactions.from_baskets(baskets)
    res = mine_rules(tx, MiningSettings(upgrade_min_count=3), products)
    path = tmp_path_factory.mktemp("explain") / "p.db"
    with RuleStore(path) as store:
        store.write_rule_set(res.rules, res.item_counts, list(products.values()),
                             RuleSetInfo(n_baskets=tx.n_baskets))
        arrays = store.load_active()
    assert arrays is not None and len(arrays.rule_id) > 100
    return Mined((arrays, products))


def _policies(arrays: RuleArrays) -> list[tuple[PolicySettings, ScoringParams | None,
                                               Feedback | None]]:
    pairs = [(a[0], c) for a, c in zip(arrays.antecedent, arrays.consequent)][:40:3]
    counts = {(a, c): (200.0, 0.0 if i % 2 else 80.0, 150.0) for i, (a, c) in enumerate(pairs)}
    counts[("", "P59")] = (500.0, 100.0, 400.0)
    from possuggest.core.config import FeedbackSettings

    fb = build_feedback(counts, FeedbackSettings(exploration="mean", hide_after_shows=20))
    assert fb is not None and fb.hidden
    return [
        (PolicySettings(), None, None),
        (PolicySettings(max_suggestions=5, min_card_lift=0.0, bestseller_cards=1,
                        blocked=[list(pairs[0]), ["*", pairs[1][1]]], pinned=[list(pairs[2])],
                        excluded_categories=["Paint"], min_lift=1.0, min_confidence=0.1),
         ScoringParams(multi_weight=0.5), None),
        (PolicySettings(max_suggestions=4, min_card_lift=1.5, hub_share=0.05,
                        accessory_max_price_ratio=0.5), None, fb),
    ]


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_explain_agrees_with_suggest(mined: tuple[RuleArrays, dict[str, Product]],
                                     data: st.DataObject) -> None:
    arrays, products = mined
    k = data.draw(st.integers(0, 2), label="policy")
    policy, scoring, fb = _policies(arrays)[k]
    eng = _engine_cache(k, arrays, products, policy, scoring, fb)
    skus = sorted(products)
    basket = data.draw(st.lists(st.sampled_from(skus + ["UNKNOWN"]), min_size=1, max_size=8,
                                unique=True), label="basket")
    exclude = data.draw(st.lists(st.sampled_from(skus), max_size=2), label="exclude")
    hour = data.draw(st.integers(7, 19), label="hour")
    when = when_at(hour, 0, weekend=data.draw(st.booleans(), label="weekend"))
    ex = explain(eng, basket, when=when, exclude=exclude)
    assert ex.suggestions == eng.suggest(basket, exclude=exclude, when=when)
    shown = {c.suggestion.sku for c in ex.cards}
    listed = [n.sku for n in ex.not_shown]
    assert len(listed) == len(set(listed)) and not shown & set(listed)
    assert not set(listed) & set(basket)
    p = eng.policy
    for n in ex.not_shown:
        assert n.reason in LABELS and n.reason not in ("shown", "unknown") and n.text
        prod = products.get(n.sku)
        if n.reason == "out_of_stock":
            assert prod is not None and prod.stock is not None and prod.stock < p.min_stock
        elif n.reason == "inactive":
            assert prod is not None and not prod.active
        elif n.reason == "excluded_category":
            assert prod is not None and prod.category.lower() in \
                {c.lower() for c in p.excluded_categories}
        elif n.reason == "blocked":
            w = n.data.get("with")
            assert [w, n.sku] in p.blocked or ["*", n.sku] in p.blocked or [w, "*"] in p.blocked
        elif n.reason == "excluded":
            assert n.sku in exclude
        elif n.reason == "below_threshold":
            assert n.data["failed"] and all(v < lim for _, v, lim in n.data["failed"])
        elif n.reason == "weak_evidence":
            assert n.data["card_lift"] < n.data["need"]
        elif n.reason == "too_dear":
            assert n.data["price"] > n.data["dearest"] * n.data["ratio"] + n.data["allowance"]
        elif n.reason == "dismissed_too_often":
            assert fb is not None and fb.hides(tuple(n.data["because"]), n.sku)
    for c in ex.cards:
        assert ex.why_not(c.suggestion.sku).reason == "shown"
        if c.source == "mined":
            assert c.evidence is not None and c.evidence.consequent == c.suggestion.sku
            assert set(c.evidence.antecedent) <= set(basket)


_ENGINES: dict[int, SuggestionEngine] = {}


def _engine_cache(k: int, arrays: RuleArrays, products: dict[str, Product],
                  policy: PolicySettings, scoring: ScoringParams | None,
                  fb: Feedback | None) -> SuggestionEngine:
    eng = _ENGINES.get(k)
    if eng is None or eng.rules is not arrays:
        eng = _ENGINES[k] = SuggestionEngine(arrays, products=products, policy=policy,
                                             scoring=scoring, feedback=fb)
    return eng
