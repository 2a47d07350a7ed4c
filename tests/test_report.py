"""What suggestions earn (services/report.py, ``possuggest report``): every figure checked
against numbers worked out by hand on a small fixture of sales and events, the summaries the
database keeps by triggers, and the bad-input paths (no database, a damaged one, another
program's tables, a bad period, a period with no sales)."""

from __future__ import annotations

import csv
import io
import json
import math
import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from scipy import stats

from possuggest.cli.main import main
from possuggest.services import report as report_mod
from possuggest.services.report import ReportError, build_report, report_csv
from possuggest.store.rule_store import RuleStore

D1, D2, D3 = "2026-03-01", "2026-03-02", "2026-03-03"


def _sale(reg: str, sid: str, day: str, value: float, items: float, holdout: bool = False,
          shown: int = 0, accepted: int = 0, accepted_value: float = 0.0) -> dict[str, Any]:
    return {"register": reg, "sale_id": sid, "started": f"{day}T10:00:00",
            "ended": f"{day}T10:05:00", "holdout": holdout, "items": items, "value": value,
            "n_shown": shown, "n_accepted": accepted, "accepted_value": accepted_value,
            "rule_set_id": 1, "source": "till"}


def _ev(day: str, sku: str, action: str, rule_id: int | None, kind: str = "cross",
        holdout: bool = False, sale: str = "s") -> dict[str, Any]:
    return {"ts": f"{day}T10:01:00", "register": "1", "sale_id": sale, "sku": sku, "kind": kind,
            "rule_id": rule_id, "rule_set_id": 1, "action": action, "source": "till",
            "holdout": holdout}


def make_store(path: Path) -> Path:
    """The fixture. Rule set 1 knows four products and two rules:

    ====  ========  =====   rule 1: A -> B (cross)
    sku   category  price   rule 2: C -> D (upgrade: D instead of C, +10)
    A     Tools     10
    B     Tools      4
    C     Garden    20
    D     Garden    30
    ====  ========  =====

    Sales (value, items; cards shown / accepted, accepted value):

    - treated, register 1, day 1: s1 14.0, 2 items, 1 shown / 1 accepted (B, 4.0);
      s2 10.0, 1 item, 1 shown / 0
    - treated, register 2, day 2: s3 40.0, 2 items, 2 shown / 1 accepted (D, 10.0);
      s4 20.0, 1 item, none shown
    - holdout: h1 register 1 day 1, 10.0, 1 item; h2 register 2 day 2, 20.0, 2 items;
      h3 register 1 day 2, 6.0, 1 item
    - outside days 1-2: s5 register 1 day 3, 99.0 (and one event on day 3)

    Events on days 1-2 (holdout 0): B shown (rule 1), accepted; B shown (rule 1), dismissed;
    D shown (rule 2, upgrade), accepted; B shown by a pinned card (no rule), accepted by key
    and then never rung up (declined). One holdout event, which never counts.
    """
    with RuleStore(path) as store:
        c = store.conn
        c.execute("INSERT INTO rule_sets (id, created_at, active, source) VALUES "
                  "(1, '2026-02-28T00:00:00', 1, 'test')")
        c.executemany("INSERT INTO products (rule_set_id, sku, name, category, family, price,"
                      " cost, stock, active) VALUES (1, ?, ?, ?, '', ?, NULL, 5, 1)",
                      [("A", "Alpha", "Tools", 10.0), ("B", "Bravo", "Tools", 4.0),
                       ("C", "Charlie", "Garden", 20.0), ("D", "Delta", "Garden", 30.0)])
        c.executemany("INSERT INTO rules (rule_set_id, rule_id, kind, antecedent,"
                      " antecedent_size, consequent, count) VALUES (1, ?, ?, ?, 1, ?, 10)",
                      [(1, "cross", "A", "B"), (2, "upgrade", "C", "D")])
        store.log_sales([
            _sale("1", "s1", D1, 14.0, 2, shown=1, accepted=1, accepted_value=4.0),
            _sale("1", "s2", D1, 10.0, 1, shown=1),
            _sale("2", "s3", D2, 40.0, 2, shown=2, accepted=1, accepted_value=10.0),
            _sale("2", "s4", D2, 20.0, 1),
            _sale("1", "h1", D1, 10.0, 1, holdout=True),
            _sale("2", "h2", D2, 20.0, 2, holdout=True),
            _sale("1", "h3", D2, 6.0, 1, holdout=True),
            _sale("1", "s5", D3, 99.0, 3, shown=1),
        ])
        store.log_events([
            _ev(D1, "B", "shown", 1), _ev(D1, "B", "accepted", 1),
            _ev(D1, "B", "shown", 1), _ev(D1, "B", "dismissed", 1),
            _ev(D2, "D", "shown", 2, "upgrade"), _ev(D2, "D", "accepted", 2, "upgrade"),
            _ev(D2, "B", "shown", None), _ev(D2, "B", "accepted", None),
            _ev(D2, "B", "declined", None),
            _ev(D2, "A", "shown", 1, holdout=True),
            _ev(D3, "B", "shown", 1),
        ])
    return path


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return make_store(tmp_path / "possuggest.db")


def test_figures_match_the_hand_worked_numbers(store: Path) -> None:
    rep = build_report(store, date(2026, 3, 1), date(2026, 3, 2))
    # 4 treated sales + 3 holdout sales on days 1-2 (s5 is on day 3)
    assert (rep.sales, rep.treated_sales, rep.holdout_sales) == (7, 4, 3)
    assert rep.holdout_share == pytest.approx(3 / 7)
    # cards: shown B, B, D, pinned B = 4; accepted B, D, pinned B - its decline = 2
    assert (rep.shown, rep.accepted, rep.dismissed) == (4, 2, 1)
    assert rep.acceptance_rate == pytest.approx(2 / 4)
    # attach: of the treated sales shown a card (s1, s2, s3), those that took one (s1, s3)
    assert (rep.sales_with_cards, rep.sales_with_accepted) == (3, 2)
    assert rep.attach_rate == pytest.approx(2 / 3)
    # basket value: treated (14 + 10 + 40 + 20) / 4 = 21; holdout (10 + 20 + 6) / 3 = 12
    assert rep.basket_value == pytest.approx({"treated": 21.0, "holdout": 12.0})
    # items: treated (2 + 1 + 2 + 1) / 4 = 1.5; holdout (1 + 2 + 1) / 3
    assert rep.items_per_basket == pytest.approx({"treated": 1.5, "holdout": 4 / 3})
    # accepted revenue: B at 4 (rule 1) + D's upgrade at 30 - 20 = 10; the pinned B is net 0
    assert rep.accepted_revenue == pytest.approx(14.0)


def test_uplift_interval_is_welchs_worked_by_hand(store: Path) -> None:
    rep = build_report(store, date(2026, 3, 1), date(2026, 3, 2))
    # treated 14, 10, 40, 20: mean 21, squared deviations 49 + 121 + 361 + 1 = 532,
    # variance 532 / 3; holdout 10, 20, 6: mean 12, 4 + 64 + 36 = 104, variance 104 / 2 = 52
    vt, vh, nt, nh = 532 / 3, 52.0, 4, 3
    diff = 21.0 - 12.0                                          # 9 per sale
    at, ah = vt / nt, vh / nh                                   # 44.33 and 17.33
    se = math.sqrt(at + ah)                                     # sqrt(61.67) = 7.853
    df = (at + ah) ** 2 / (at ** 2 / (nt - 1) + ah ** 2 / (nh - 1))     # 4.72
    assert se == pytest.approx(7.8528, abs=1e-4) and df == pytest.approx(4.7218, abs=1e-3)
    t = stats.t.ppf(0.975, df)                                  # about 2.62
    up = rep.uplift_per_1000_sales
    assert up["estimate"] == pytest.approx(9000.0)
    assert up["ci95"] == pytest.approx([1000 * (diff - t * se), 1000 * (diff + t * se)])
    assert up["ci95"][0] < 0 < up["ci95"][1] and not rep.significant
    # as a share of the holdout mean: 21 / 12 - 1 = 75%; delta method:
    # se = sqrt(at / 12^2 + 21^2 * ah / 12^4) = sqrt(0.3079 + 0.3686) = 0.8225
    pse = math.sqrt(at / 144 + 441 * ah / 12 ** 4)
    assert pse == pytest.approx(0.8225, abs=1e-4)
    assert rep.uplift_pct["estimate"] == pytest.approx(75.0)
    assert rep.uplift_pct["ci95"] == pytest.approx([100 * (0.75 - t * pse), 100 * (0.75 + t * pse)])
    # sales needed: at the holdout share h = 3/7, the interval clears zero once
    # N = (t / 9)^2 (vt / (1 - h) + vh / h) = (t / 9)^2 * 431.67 = about 36.6 sales in all
    h = 3 / 7
    total = (t / diff) ** 2 * (vt / (1 - h) + vh / h)
    assert total == pytest.approx(36.6, abs=0.2)
    assert rep.sales_needed == math.ceil(total - 7) == 30
    assert "Welch" in rep.method


def test_breakdowns_by_kind_category_register_rule_and_day(
        store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(report_mod, "MIN_RULE_SHOWS", 1)
    rep = build_report(store, date(2026, 3, 1), date(2026, 3, 2))
    kinds = {r["kind"]: r for r in rep.by_kind}
    # cross: B twice by rule 1 + the pinned B = 3 shown, 1 accepted (revenue 4); upgrade: D
    assert (kinds["cross"]["shown"], kinds["cross"]["accepted"]) == (3, 1)
    assert kinds["cross"]["accepted_revenue"] == pytest.approx(4.0)
    assert (kinds["upgrade"]["shown"], kinds["upgrade"]["accepted"]) == (1, 1)
    assert kinds["upgrade"]["accepted_revenue"] == pytest.approx(10.0)
    cats = {r["category"]: r for r in rep.by_category}
    assert (cats["Tools"]["shown"], cats["Tools"]["accepted"]) == (3, 1)
    assert (cats["Garden"]["shown"], cats["Garden"]["accepted"]) == (1, 1)
    assert [r["category"] for r in rep.by_category] == ["Garden", "Tools"]   # by revenue
    regs = {r["register"]: r for r in rep.by_cashier}
    # register 1: s1, s2, h1, h3; treated (14 + 10) / 2 = 12, holdout (10 + 6) / 2 = 8
    r1 = regs["1"]
    assert (r1["sales"], r1["holdout_sales"], r1["shown"], r1["accepted"]) == (4, 2, 2, 1)
    assert r1["attach_rate"] == pytest.approx(0.5)
    assert r1["basket_value"] == pytest.approx({"treated": 12.0, "holdout": 8.0})
    # register 2: s3, s4, h2; treated (40 + 20) / 2 = 30, holdout 20
    r2 = regs["2"]
    assert (r2["sales"], r2["holdout_sales"], r2["attach_rate"]) == (3, 1, 1.0)
    assert r2["basket_value"] == pytest.approx({"treated": 30.0, "holdout": 20.0})
    best = rep.by_rule["best"]
    # rule 2 earned 10, rule 1 earned 4; the pinned card accepted nothing (net)
    assert [(r["rule_id"], r["accepted_revenue"]) for r in best] == [(2, 10.0), (1, 4.0)]
    assert best[0]["with"] == ["C"] and best[0]["with_names"] == ["Charlie"]
    assert best[0]["name"] == "Delta" and best[1]["acceptance_rate"] == pytest.approx(0.5)
    # worst, by revenue per card shown: pinned B 0 / 1, rule 1 4 / 2, rule 2 10 / 1
    assert [(r["rule_id"], r["sku"]) for r in rep.by_rule["worst"]] == [
        (None, "B"), (1, "B"), (2, "D")]
    # per day: day 1 s1, s2, h1: treated 12, holdout 10 -> 2,000 per 1,000 sales;
    # day 2 s3, s4, h2, h3: treated 30, holdout 13 -> 17,000
    assert [(d["day"], d["sales"], d["holdout_sales"], d["uplift_per_1000_sales"])
            for d in rep.trend] == [(D1, 3, 1, 2000.0), (D2, 4, 2, 17000.0)]
    assert (rep.first_day, rep.last_day) == (D1, D2)


def test_period_and_open_ended_report(store: Path) -> None:
    everything = build_report(store)
    assert everything.sales == 8 and everything.shown == 5      # s5 and its card on day 3
    day3 = build_report(store, date(2026, 3, 3), None)
    assert (day3.sales, day3.holdout_sales, day3.shown) == (1, 0, 1)
    assert day3.uplift_per_1000_sales["estimate"] is None
    assert "at least 2 holdout sales" in day3.message
    # no card was shown MIN_RULE_SHOWS (20) times: no worst cards, and a note says why
    assert everything.by_rule["worst"] == []
    assert everything.notes == ["no card was shown 20 times in this period: no worst cards "
                                "listed"]


def test_no_sales_in_the_period_is_a_message_not_a_crash(store: Path, tmp_path: Path) -> None:
    rep = build_report(store, date(2027, 1, 1), date(2027, 1, 31))
    assert rep.sales == 0 and rep.shown == 0 and rep.acceptance_rate is None
    assert rep.message.startswith("no sales in this period")
    assert rep.to_json()["uplift_per_1000_sales"] == {"estimate": None, "ci95": None}
    with RuleStore(tmp_path / "empty.db"):
        pass
    assert build_report(tmp_path / "empty.db").message.startswith("no sales logged yet")


def test_bad_input_raises_one_line_report_errors(store: Path, tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="no possuggest database"):
        build_report(tmp_path / "missing.db")
    with pytest.raises(ReportError, match="starts .* after it ends"):
        build_report(store, date(2026, 3, 2), date(2026, 3, 1))
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database at all " * 200)
    with pytest.raises(ReportError, match="damaged") as info:
        build_report(junk)
    assert "\n" not in str(info.value)


def test_events_table_of_another_program_is_reported(store: Path) -> None:
    conn = sqlite3.connect(store)
    conn.execute("DROP TABLE events")
    conn.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, what TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(ReportError, match="wrong schema: table events has no column") as info:
        build_report(store)
    assert "\n" not in str(info.value)


def test_damaged_event_pages_are_reported(store: Path) -> None:
    conn = sqlite3.connect(store)
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'event_monthly'"
                        ).fetchone()[0]
    size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    with open(store, "r+b") as fh:                 # the summary's page: garbage
        fh.seek((root - 1) * size)
        fh.write(b"\x0d\xff" * (size // 2))
    with pytest.raises(ReportError, match="damaged") as info:
        build_report(store)
    assert "\n" not in str(info.value)


def test_any_period_counts_exactly_the_events_of_its_days(tmp_path: Path) -> None:
    """Whole months come from the monthly summary, the days at the ends from the daily one:
    for any period the counts are those of the events table itself."""
    import random

    rnd = random.Random(5)
    start = date(2026, 1, 20).toordinal()
    with RuleStore(tmp_path / "p.db") as s:
        s.log_events([_ev(date.fromordinal(start + rnd.randrange(120)).isoformat(),
                          rnd.choice("ABCD"), rnd.choice(["shown", "shown", "accepted"]),
                          rnd.randrange(3)) for _ in range(3000)])
        for _ in range(40):
            a, b = sorted(rnd.sample(range(start - 5, start + 125), 2))
            lo, hi = date.fromordinal(a), date.fromordinal(b)
            for frm, to in ((lo, hi), (lo, None), (None, hi), (lo, lo)):
                where = " AND ".join(["1"] + [f"substr(ts, 1, 10) {op} '{d.isoformat()}'"
                                              for op, d in ((">=", frm), ("<=", to)) if d])
                want = s.conn.execute(f"SELECT SUM(action = 'shown'), SUM(action = 'accepted')"
                                      f" FROM events WHERE {where}").fetchone()
                rep = build_report(tmp_path / "p.db", frm, to)
                assert (rep.shown, rep.accepted) == (want[0] or 0, want[1] or 0), (frm, to)


def test_odd_rows_do_not_crash_the_report(store: Path) -> None:
    conn = sqlite3.connect(store)
    # text where a number belongs, a time that is no date: counted as 0 / left out
    conn.execute("INSERT INTO sales (register, sale_id, ended, value, items) VALUES "
                 "('9', 'x1', '2026-03-01T11:00:00', 'lots', 'some')")
    conn.execute("INSERT INTO events (ts, sku, action, rule_id, rule_set_id) VALUES "
                 "('yesterday', 'B', 'shown', 'one', 77)")
    conn.commit()
    conn.close()
    rep = build_report(store)
    assert rep.sales == 9 and rep.shown == 5                     # the odd event is left out
    assert {r["register"] for r in rep.by_cashier} == {"1", "2", "9"}


def test_summaries_follow_deletes_and_updates(store: Path) -> None:
    with RuleStore(store) as s:
        s.conn.execute("DELETE FROM sales WHERE sale_id = 's4'")
        s.conn.execute("UPDATE events SET action = 'dismissed' WHERE sku = 'D' AND "
                       "action = 'accepted'")
    rep = build_report(store, date(2026, 3, 1), date(2026, 3, 2))
    assert rep.treated_sales == 3 and rep.basket_value["treated"] == pytest.approx(64 / 3)
    assert rep.accepted == 1 and rep.dismissed == 2
    # a logged-again sale (a restart mid-sale) keeps one row: the later basket, cards added
    with RuleStore(store) as s:
        s.log_sales([_sale("1", "s1", D1, 24.0, 3, shown=1, accepted=0)])
        row = [r for r in s.sales() if r["sale_id"] == "s1"]
    assert len(row) == 1 and row[0]["value"] == 24.0 and row[0]["n_shown"] == 2
    rep = build_report(store, date(2026, 3, 1), date(2026, 3, 2))
    assert rep.basket_value["treated"] == pytest.approx((24 + 10 + 40) / 3)


def test_an_older_database_gets_its_summaries_filled_once(store: Path) -> None:
    before = build_report(store).to_json()
    conn = sqlite3.connect(store)                  # as a database from before the summaries
    for name in ("sales_daily_ins", "sales_daily_del", "sales_daily_upd", "event_summary_ins",
                 "event_summary_del", "event_summary_upd"):
        conn.execute(f"DROP TRIGGER {name}")
    conn.execute("DROP TABLE sales_daily")
    conn.execute("DROP TABLE event_daily")
    conn.execute("DROP TABLE event_monthly")
    conn.execute("DELETE FROM meta WHERE key = 'summaries'")
    conn.commit()
    conn.close()
    assert build_report(store).to_json() == before
    with RuleStore(store) as s:                    # opened again: not filled twice
        s.log_events([_ev(D1, "B", "shown", 1)])
    assert build_report(store).shown == before["shown"] + 1


def test_csv_holds_the_summary_and_breakdowns(store: Path) -> None:
    rep = build_report(store, date(2026, 3, 1), date(2026, 3, 2))
    rows = list(csv.reader(io.StringIO(report_csv(rep))))
    assert rows[0] == ["section", "key", "figure", "value"]
    cell = {(r[0], r[1], r[2]): r[3] for r in rows[1:]}
    assert cell[("summary", "", "sales")] == "7"
    assert cell[("summary", "", "uplift_per_1000_sales")] == "9000"
    assert float(cell[("summary", "", "uplift_per_1000_sales_ci95_low")]) < 0
    assert cell[("by_kind", "upgrade", "accepted_revenue")] == "10"
    assert cell[("by_cashier", "2", "basket_value_treated")] == "30"
    assert cell[("trend", D2, "uplift_per_1000_sales")] == "17000"
    assert ("rules_best", "C -> D", "accepted_revenue") in cell


def test_cancel_stops_the_report(store: Path) -> None:
    from possuggest.core.errors import Cancelled

    with pytest.raises(Cancelled):
        build_report(store, cancelled=lambda: True)
    seen: list[float] = []
    build_report(store, progress=lambda f, m: seen.append(f))
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen)


# -- the command -------------------------------------------------------------------------------
def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_report_command_json_text_and_csv(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    data.mkdir()
    make_store(data / "possuggest.db")
    g = ["--data-dir", str(data)]
    code, out, err = run(capsys, "report", "--from", D1, "--to", D2, "--json", *g)
    assert code == 0, err
    doc = json.loads(out)
    for key in ("sales", "holdout_sales", "shown", "accepted", "acceptance_rate",
                "attach_rate", "basket_value", "uplift_per_1000_sales"):
        assert key in doc
    assert (doc["sales"], doc["holdout_sales"], doc["shown"], doc["accepted"]) == (7, 3, 4, 2)
    assert doc["acceptance_rate"] == 0.5 and doc["attach_rate"] == pytest.approx(0.6667)
    assert doc["basket_value"] == {"treated": 21.0, "holdout": 12.0}
    assert doc["uplift_per_1000_sales"]["estimate"] == 9000.0
    low, high = doc["uplift_per_1000_sales"]["ci95"]
    assert low < 9000.0 < high
    code, out, err = run(capsys, "report", "--csv", str(tmp_path / "r.csv"), *g)
    assert code == 0, err
    assert "What suggestions earned, 2026-03-01 to 2026-03-03" in out
    assert "uplift per 1,000 sales" in out and "more sales before the interval" in out
    assert (tmp_path / "r.csv").read_text().startswith("section,key,figure,value\n")
    code, out, err = run(capsys, "report", "--from", "2030-01-01", *g)
    assert code == 0 and "no sales in this period" in out


@pytest.mark.parametrize("argv, message", [
    (["--from", "2026-02-30"], "--from: not a date (YYYY-MM-DD): '2026-02-30'"),
    (["--to", "yesterday"], "--to: not a date"),
    (["--from", D2, "--to", D1], "--from 2026-03-02 is after --to 2026-03-01"),
    (["--csv", "/nonexistent-folder/r.csv"], "--csv: folder does not exist"),
])
def test_report_command_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                  argv: list[str], message: str) -> None:
    data = tmp_path / "data"
    data.mkdir()
    make_store(data / "possuggest.db")
    code, out, err = run(capsys, "report", *argv, "--data-dir", str(data))
    assert code == 2 and out == ""
    assert err.startswith("possuggest: error: ") and message in err
    assert err.count("\n") == 1


def test_report_command_without_a_database(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "report", "--json", "--data-dir", str(tmp_path / "d"))
    assert code == 2 and out == "" and "no possuggest database" in err
    assert not (tmp_path / "d" / "possuggest.db").exists()


@pytest.mark.parametrize("df", [1.5, 4.72, 29.9, 30.0, 45.0, 300.0, 1e5, math.inf])
def test_t_quantile_matches_scipy(df: float) -> None:
    assert report_mod._t_quantile(df) == pytest.approx(stats.t.ppf(0.975, df), abs=1e-7)
