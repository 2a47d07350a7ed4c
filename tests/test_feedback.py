"""Learning from the counter: the posterior maths, the events it is counted from, the engine
reordering and hiding cards at the counter only, the periodic rebuild, and the simulated
counter (``possuggest simulate``) whose customers have a known acceptance model."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import make_till
from possuggest.cli.main import main
from possuggest.core.config import FeedbackSettings, HoldoutSettings, Settings, settings_from_dict
from possuggest.core.errors import ConfigError
from possuggest.services import app
from possuggest.services.context import AppContext
from possuggest.services.live import LiveReloader
from possuggest.serving.engine import SuggestionEngine
from possuggest.serving.feedback import Feedback, build_feedback, driver_key
from possuggest.store.rule_store import RuleStore

MEAN = FeedbackSettings(exploration="mean", start_after_shows=0)


def _store_traffic(shown: int = 1000, accepted: int = 200) -> dict[tuple[str, str], Any]:
    """Other cards, so the store's rate is accepted / shown (0.2)."""
    return {("GLOVES", "TAPE"): (shown, accepted, 0)}


# -- the posterior ------------------------------------------------------------------------------
def test_unseen_cards_start_at_the_prior() -> None:
    fb = build_feedback(_store_traffic(), MEAN)
    assert fb is not None and fb.store_rate == pytest.approx(0.2)
    assert fb.multiplier("DRILL-18V", "BITS") == 1.0          # never shown: neutral
    assert fb.item_multiplier("BITS") == 1.0
    # a pair never shown falls back to its item's record
    counts = {**_store_traffic(), ("X", "BITS"): (400, 200, 0)}
    fb = build_feedback(counts, MEAN)
    assert fb is not None
    assert fb.multiplier("DRILL-18V", "BITS") == fb.item_multiplier("BITS") > 1.5
    # a pair shown a few times, on a prior centred on the store's rate, stays near it
    fb = build_feedback({**_store_traffic(), ("DRILL-18V", "BITS"): (2, 0, 2)}, MEAN)
    assert fb is not None and 0.7 < fb.multiplier("DRILL-18V", "BITS") < 1.0
    est = fb.pairs[("DRILL-18V", "BITS")]
    assert est.alpha + est.beta == pytest.approx(MEAN.prior_strength + 2)


def test_multiplier_bounds_and_hiding_after_enough_refusals() -> None:
    for exploration in ("mean", "thompson"):
        s = dataclasses.replace(MEAN, exploration=exploration)
        counts = {**_store_traffic(), ("A", "LOVED"): (300, 290, 0),
                  ("A", "REFUSED"): (300, 0, 300), ("A", "FEW"): (19, 0, 19)}
        fb = build_feedback(counts, s, seed=3)
        assert fb is not None
        assert fb.multiplier("A", "LOVED") == s.max_multiplier
        assert fb.multiplier("A", "REFUSED") == s.min_multiplier
        assert all(s.min_multiplier <= e.multiplier <= s.max_multiplier
                   for e in [*fb.pairs.values(), *fb.items.values()])
        # hidden: enough shows and the upper bound far below the store's rate
        assert fb.hides(("A",), "REFUSED") and not fb.hides(("A",), "LOVED")
        assert not fb.hides(("A",), "FEW")           # 19 shows: under hide_after_shows
        assert not fb.hides(("B",), "REFUSED")       # only the pair, not the item
    # a lukewarm card (half the store's rate) is shown less, not hidden
    fb = build_feedback({**_store_traffic(), ("A", "MEH"): (300, 30, 200)}, MEAN)
    assert fb is not None and not fb.hides(("A",), "MEH")
    assert 0.4 < fb.multiplier("A", "MEH") < 0.7
    # hide_below = 0: never hidden; hide_after_shows is a floor
    never = dataclasses.replace(MEAN, hide_below=0.0)
    fb = build_feedback({**_store_traffic(), ("A", "REFUSED"): (300, 0, 300)}, never)
    assert fb is not None and not fb.hidden
    later = dataclasses.replace(MEAN, hide_after_shows=500)
    fb = build_feedback({**_store_traffic(), ("A", "REFUSED"): (300, 0, 300)}, later)
    assert fb is not None and not fb.hidden


def test_thompson_draws_are_seeded_and_off_or_too_little_data_is_none() -> None:
    s = dataclasses.replace(MEAN, exploration="thompson")
    counts = {**_store_traffic(), ("A", "B"): (5, 1, 3), ("A", "C"): (8, 4, 1)}
    one, two = build_feedback(counts, s, seed=1), build_feedback(counts, s, seed=1)
    other = build_feedback(counts, s, seed=2)
    assert one is not None and two is not None and other is not None
    assert one.pairs == two.pairs and one.pairs != other.pairs
    assert one.same_record(other) and not one.same_record(None)
    assert build_feedback(counts, dataclasses.replace(s, enabled=False)) is None
    assert build_feedback({("A", "B"): (50, 5, 0)},
                          dataclasses.replace(s, start_after_shows=100)) is None
    assert build_feedback({}, s) is None
    assert driver_key(("B", "A")) == "A\tB"


def test_feedback_settings_are_validated() -> None:
    assert Settings().feedback.enabled is True
    assert settings_from_dict({"feedback": {"window_days": 7, "exploration": "mean"}}) \
        .feedback.window_days == 7.0
    for bad in ({"prior_strength": 0}, {"exploration": "greedy"}, {"max_multiplier": 0.5},
                {"min_multiplier": 2}, {"hide_confidence": 1.0}, {"enabled": "yes"}):
        with pytest.raises(ConfigError, match="feedback"):
            settings_from_dict({"feedback": bad})


# -- a small store with rules -------------------------------------------------------------------
@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> AppContext:
    root = tmp_path_factory.mktemp("feedback")
    till = make_till(root / "till.db", messy=False)
    ctx = AppContext.create(str(root / "data"), None, str(till))
    app.run_refresh(app.prepare(ctx))
    return ctx


def _rule_id(store: RuleStore, ante: str, cons: str) -> int:
    active = store.active_rule_set()
    assert active is not None
    return next(r["rule_id"] for r in store.iter_rules(active.id, sku=cons)
                if r["antecedent"] == [ante] and r["consequent"] == cons)


def _event(rs: int, rid: int | None, sku: str, action: str, ts: str = "2026-06-10T10:00:00",
           holdout: bool = False) -> dict[str, Any]:
    return {"ts": ts, "register": "1", "sale_id": "s1", "sku": sku, "kind": "cross",
            "rule_id": rid, "rule_set_id": rs, "action": action, "holdout": holdout}


def test_counts_by_driver_holdout_ignored_and_window(shop: AppContext, tmp_path: Path) -> None:
    db = tmp_path / "possuggest.db"
    with sqlite3.connect(app.make_plan(shop).rules_db) as src, sqlite3.connect(db) as dst:
        src.backup(dst)                    # the shop's rule set, in a database of this test's
    with RuleStore(db) as store:
        active = store.active_rule_set()
        assert active is not None
        rs, rid = active.id, _rule_id(store, "DRILL-18V", "BITS")
        store.log_events(
            [_event(rs, rid, "BITS", "shown") for _ in range(4)]
            + [_event(rs, rid, "BITS", "accepted"), _event(rs, rid, "BITS", "dismissed"),
               _event(rs, rid, "BITS", "declined"),
               _event(rs, rid, "BITS", "shown", holdout=True),          # holdout: not counted
               _event(rs, rid, "BITS", "accepted", holdout=True),
               _event(rs, None, "BITS", "shown"),                      # no rule: driver ""
               _event(rs, rid, "TAPE", "shown"),        # a rule id that is not TAPE's rule
               _event(rs, rid, "BITS", "shown", ts="2026-05-01T09:00:00")])   # older
        counts = store.feedback_counts("2026-06-01T00:00:00", "2026-06-11T00:00:00")
        assert counts == {("DRILL-18V", "BITS"): (4, 1, 2), ("", "BITS"): (1, 0, 0),
                          ("", "TAPE"): (1, 0, 0)}
        assert store.feedback_counts("2026-06-11T00:00:00") == {}
        assert store.feedback_counts()[("DRILL-18V", "BITS")] == (5, 1, 2)
        # exponential decay: an event 40 days older than `until` counts 0.5 ** (40 / 40)
        decayed = store.feedback_counts(None, "2026-06-10T12:00:00", half_life_days=40)
        assert decayed[("DRILL-18V", "BITS")][0] == pytest.approx(4 + 0.5)
        # the window is read through the events' time index
        plan = store.conn.execute("EXPLAIN QUERY PLAN SELECT sku FROM events e "
                                  "WHERE e.holdout = 0 AND e.ts >= ?", ("2026",)).fetchall()
        assert any("events_ts" in str(row) for row in plan)


# -- the engine ----------------------------------------------------------------------------------
def _engine(ctx: AppContext, feedback: Feedback | None) -> SuggestionEngine:
    eng = app.load_engine(app.make_plan(ctx))
    return SuggestionEngine(eng.rules, products=eng.products, policy=eng.policy,
                            scoring=eng.scoring, feedback=feedback)


def test_engine_reorders_and_hides_at_the_counter_only(shop: AppContext) -> None:
    plain = _engine(shop, None)
    before = plain.suggest(["DRILL-18V"])
    assert [s.sku for s in before] == ["BITS", "BATT-18V"]
    # batteries often taken, bits seldom: the order turns, the words stay
    liked = build_feedback({**_store_traffic(), ("DRILL-18V", "BATT-18V"): (200, 120, 10),
                            ("DRILL-18V", "BITS"): (200, 10, 150)}, MEAN)
    assert liked is not None and not liked.hidden
    eng = _engine(shop, liked)
    after = eng.suggest(["DRILL-18V"])
    assert [s.sku for s in after] == ["BATT-18V", "BITS"]
    assert {s.sku: s.reason for s in after} == {s.sku: s.reason for s in before}
    assert {s.sku: s.detail for s in after} == {s.sku: s.detail for s in before}
    # bits always refused: not shown at all
    refused = build_feedback({**_store_traffic(), ("DRILL-18V", "BITS"): (200, 0, 200)}, MEAN)
    assert refused is not None and refused.hides(("DRILL-18V",), "BITS")
    eng = _engine(shop, refused)
    assert [s.sku for s in eng.suggest(["DRILL-18V"])] == ["BATT-18V"]
    # ranking mode (offline evaluation) is untouched by either
    for fb in (liked, refused):
        eng = _engine(shop, fb)
        for basket in (["DRILL-18V"], ["MOW-STD"], ["MOW-STD", "DRILL-18V"], ["GLOVES"]):
            assert eng.suggest(basket, display=False) == plain.suggest(basket, display=False)
    # an upgrade customers always refuse is hidden too
    assert "MOW-DLX" in [s.sku for s in plain.suggest(["MOW-STD"])]
    no_up = build_feedback({**_store_traffic(), ("MOW-STD", "MOW-DLX"): (200, 0, 200)}, MEAN)
    assert "MOW-DLX" not in [s.sku for s in _engine(shop, no_up).suggest(["MOW-STD"])]


def test_load_engine_reads_the_events_and_rebuilds_only_on_news(shop: AppContext) -> None:
    plan = app.make_plan(shop)
    assert app.load_engine(plan).feedback is None           # no events yet
    with RuleStore(plan.rules_db) as store:
        active = store.active_rule_set()
        assert active is not None
        rid = _rule_id(store, "DRILL-18V", "BITS")
        now = time.strftime("%Y-%m-%dT%H:%M:%S")
        store.log_events([_event(active.id, None, "TAPE", "shown", ts=now)] * 100
                         + [_event(active.id, None, "TAPE", "accepted", ts=now)] * 20
                         + [_event(active.id, rid, "BITS", "shown", ts=now)] * 150)
    try:
        eng = app.load_engine(plan)
        assert eng.feedback is not None and eng.feedback.hides(("DRILL-18V",), "BITS")
        assert [s.sku for s in eng.suggest(["DRILL-18V"])] == ["BATT-18V"]
        # carried over when stock or policy change; nothing new: no rebuild
        assert app.engine_with_products(eng, eng.products).feedback is eng.feedback
        assert app.engine_with_policy(eng, eng.policy).feedback is eng.feedback
        assert app.engine_with_feedback(eng, plan.rules_db, plan.settings.feedback) is None
        off = dataclasses.replace(plan.settings.feedback, enabled=False)
        assert app.engine_with_feedback(eng, plan.rules_db, off).feedback is None
    finally:
        with RuleStore(plan.rules_db) as store:
            store.conn.execute("DELETE FROM events")


def test_live_reloader_rebuilds_feedback_every_few_minutes(tmp_path: Path) -> None:
    clock = [1000.0]
    handed: list[Any] = []
    calls: list[Any] = []

    class Engine:
        rule_set_id = None

    def fresh(engine: Any, settings: Settings) -> Any:
        calls.append(engine)
        return Engine()

    settings = Settings(feedback=FeedbackSettings(refresh_minutes=5))
    live = LiveReloader([], tmp_path / "none.db", settings,
                        build_engine=lambda s: None, rebuild_engine=lambda e, s: None,
                        on_settings=lambda s: None, on_engine=handed.append,
                        on_problem=lambda p: None, refresh_feedback=fresh,
                        clock=lambda: clock[0])
    first = Engine()
    live.note_engine(first)
    live.check()
    assert calls == [] and handed == []                # not due yet
    clock[0] += 299.0
    live.check()
    assert calls == []
    clock[0] += 2.0
    live.check()                                       # five minutes: rebuilt, handed over
    assert calls == [first] and len(handed) == 1
    live.check()
    assert len(calls) == 1                             # and not again until the next period
    clock[0] += 301.0
    live.check()
    assert calls == [first, handed[0]] and len(handed) == 2


# -- the simulated counter -----------------------------------------------------------------------
def test_short_simulation_hides_an_always_refused_pair(tmp_path: Path) -> None:
    from possuggest.demo.simulation import CustomerModel, simulate_counter

    # one week of a small store: a weak prior so that a week's refusals are enough
    quick = Settings(feedback=FeedbackSettings(start_after_shows=50, prior_strength=3),
                     holdout=HoldoutSettings(share=0.0))      # every sale counts: no holdout
    customers = CustomerModel(seed=3)
    result = simulate_counter(tmp_path / "sim", weeks=1, sales_per_day=150,
                              history_sales=8_000, settings=quick, customers=customers)
    week = result.weeks[0]
    assert week.sales == 7 * 150 and week.shown > 0 and 0 < week.accepted < week.shown
    fb = result.final
    assert fb is not None and week.hidden == len(fb.hidden)
    assert week.hidden_refused >= 1 and any(customers.always_refused(*k) for k in fb.hidden)
    # whatever is hidden, customers take far less often than the store's rate
    assert all(customers.acceptance(*k) < fb.store_rate / 2 for k in fb.hidden)
    # the events really went into possuggest's database, none of them holdout
    with RuleStore(result.rules_db) as store:
        counts = store.feedback_counts()
    assert sum(c[0] for c in counts.values()) == week.shown
    assert sum(c[1] for c in counts.values()) == week.accepted
    with pytest.raises(Exception, match="folder of its own"):
        simulate_counter(tmp_path / "sim", weeks=1)


def test_customer_model_is_known_and_fixed() -> None:
    from possuggest.demo.simulation import CustomerModel

    m = CustomerModel(seed=5)
    pairs = [(f"A{i}", f"B{i}") for i in range(2000)]
    p = [m.acceptance(*pair) for pair in pairs]
    assert p == [CustomerModel(seed=5).acceptance(*pair) for pair in pairs]
    refused = sum(v == 0.0 for v in p) / len(p)
    keen = sum(v >= m.keen[0] for v in p) / len(p)
    assert abs(refused - m.refuse_share) < 0.04 and abs(keen - m.keen_share) < 0.04


@pytest.mark.slow
def test_simulate_command_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    code = main(["simulate", "--weeks", "1", "--data-dir", str(data), "-q"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "week" in out and "rate" in out and out.splitlines()[2].split()[0] == "1"
    assert not data.exists()                  # the data folder is never used
    code = main(["simulate", "--weeks", "1", "--sales-per-day", "40", "--json", "-q",
                 "--dir", str(tmp_path / "kept"), "--data-dir", str(data)])
    out, err = capsys.readouterr()
    assert code == 0, err
    doc = json.loads(out)
    assert doc["feedback"] is True and [w["week"] for w in doc["weeks"]] == [1]
    assert doc["weeks"][0]["sales"] == 7 * 40
    assert (tmp_path / "kept" / "possuggest.db").exists()
    code = main(["simulate", "--weeks", "0", "--data-dir", str(data)])
    assert code == 2 and "--weeks must be at least 1" in capsys.readouterr().err
