"""Basket sources and the sale session, without Qt: watcher, API, simulator, events."""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from conftest import PRODUCTS, make_till, post_json
from possuggest.core.config import MiningSettings, PolicySettings
from possuggest.core.products import Product
from possuggest.demo.simulator import TillSimulator
from possuggest.mining.refresh import refresh
from possuggest.serving.basket_api import BasketApi, basket_handler, parse_basket
from possuggest.serving.engine import SuggestionEngine
from possuggest.serving.events import EventWriter, in_holdout
from possuggest.serving.sale_session import SaleSession, SessionHub
from possuggest.store.rule_store import RuleStore
from possuggest.till.watcher import TillWatcher

CATALOG = {p[0]: Product(p[0], p[1], p[2], p[3], p[4], p[5], p[6], bool(p[7])) for p in PRODUCTS}


@pytest.fixture
def engine(tmp_path: Path, till: Path) -> SuggestionEngine:
    from possuggest.core.config import Settings

    s = Settings(mining=MiningSettings(upgrade_min_count=3))
    refresh(till, tmp_path / "p.db", s)
    with RuleStore(tmp_path / "p.db") as store:
        return SuggestionEngine(store.load_active(), CATALOG, PolicySettings())


def test_session_events_dismiss_and_accept_by_appearance(engine: SuggestionEngine) -> None:
    events: list[dict] = []
    s = SaleSession(engine, "1", sink=events.extend)
    v = s.update("10", ["DRILL-18V"], "watcher")
    assert v.suggestions[0].sku == "BITS"
    shown = [e for e in events if e["action"] == "shown"]
    assert {e["sku"] for e in shown} == {x.sku for x in v.suggestions}
    assert all(e["sale_id"] == "10" and e["rule_set_id"] == engine.rule_set_id for e in shown)
    v = s.dismiss("BITS")
    assert "BITS" not in [x.sku for x in v.suggestions]
    v = s.update("10", ["DRILL-18V", "TAPE"], "watcher")         # same sale: stays dismissed
    assert "BITS" not in [x.sku for x in v.suggestions]
    second = v.suggestions[0].sku
    s.update("10", ["DRILL-18V", "TAPE", second], "watcher")     # customer took it
    acc = [e for e in events if e["action"] == "accepted"]
    assert [(e["sku"], e["source"]) for e in acc] == [(second, "basket")]
    v = s.update("11", ["DRILL-18V"], "watcher")                 # new sale: BITS is back
    assert v.suggestions[0].sku == "BITS"
    n = len(events)
    s.accept("BITS", "key")
    assert events[n]["action"] == "accepted" and events[n]["source"] == "key"
    assert len([e for e in events if e["action"] == "shown" and e["sku"] == "BITS"]) == 2


def test_holdout_sales_get_no_suggestions(engine: SuggestionEngine) -> None:
    hold = [sid for sid in map(str, range(200)) if in_holdout("1", sid, 0.3)]
    assert 30 < len(hold) < 90                                   # about 30%
    assert in_holdout("1", hold[0], 0.3)                          # deterministic
    s = SaleSession(engine, "1", holdout_share=0.3)
    assert s.update(hold[0], ["DRILL-18V"]).suggestions == ()
    assert s.view.holdout


def test_event_writer_off_thread(tmp_path: Path) -> None:
    w = EventWriter(tmp_path / "p.db").start()
    for i in range(50):
        w.put([{"sku": f"S{i}", "action": "shown", "sale_id": "1"}])
    assert w.flush()
    w.close()
    assert not w._thread.is_alive()
    with RuleStore(tmp_path / "p.db") as store:
        assert len(store.events("1")) == 50


def test_watcher_sees_changes_and_recovers(tmp_path: Path) -> None:
    path = make_till(tmp_path / "till.db", open_sale=["MOW-STD"])
    w = TillWatcher(path)
    r = w.poll()
    assert r.state == "ok" and r.sale is not None and r.sale.skus == ["MOW-STD"]
    assert r.products is not None and "TAPE" in r.products
    assert w.poll().sale is None                                 # nothing changed
    c = sqlite3.connect(path)
    sid = c.execute("SELECT MAX(sale_id) FROM sales WHERE status='open'").fetchone()[0]
    c.execute("INSERT INTO sale_lines (sale_id, sku, qty, unit_price, voided) VALUES (?, 'OIL-4T', 1, 12, 0)", (sid,))
    c.commit()
    c.close()
    assert w.poll().sale.skus == ["MOW-STD", "OIL-4T"]
    backup = tmp_path / "backup.db"
    shutil.move(path, backup)
    r = w.poll()
    assert r.state == "missing" and "not found" in r.message
    shutil.move(backup, path)
    r = w.poll()
    assert r.state == "ok" and r.sale.skus == ["MOW-STD", "OIL-4T"]
    path.write_bytes(b"garbage" * 1000)                           # corrupt in place
    assert w.poll().state in ("error", "ok")
    w.close()


def test_watcher_reports_lock(tmp_path: Path) -> None:
    from possuggest.core.config import TillSettings

    path = make_till(tmp_path / "till.db")
    w = TillWatcher(path, TillSettings(busy_timeout_ms=20))
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN EXCLUSIVE")
    try:
        assert w.poll().state == "locked"
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert w.poll().state == "ok"
    w.close()


@pytest.fixture
def api(engine: SuggestionEngine):
    hub = SessionHub(engine)
    server = BasketApi(0, "tok", basket_handler(hub), lambda: {"rule_set": 1}).start()
    host, port = server.address
    yield f"http://{host}:{port}", hub
    server.stop()


def test_api_round_trip_and_errors(api) -> None:
    base, hub = api
    assert base.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(base + "/v1/health", timeout=5) as resp:
        assert json.loads(resp.read())["status"] == "ok"
    body = json.dumps({"register": "2", "sale_id": "9",
                       "items": [{"sku": "DRILL-18V", "qty": 1}, {"sku": "NOPE"}]}).encode()
    code, data = post_json(base + "/v1/basket", body, "tok")
    assert code == 200
    assert data["suggestions"][0] == {"kind": "cross", "sku": "BITS", "name": "Drill Bit Set",
                                      "price": 19.0, "reason": data["suggestions"][0]["reason"]}
    assert hub.session("2").view.basket == ("DRILL-18V", "NOPE")
    assert post_json(base + "/v1/basket", body, None)[0] == 401
    assert post_json(base + "/v1/basket", body, "wrong")[0] == 401
    code, data = post_json(base + "/v1/basket", b"{not json", "tok")
    assert code == 400 and "not valid JSON" in data["error"]
    code, data = post_json(base + "/v1/basket", json.dumps({"items": [{"sku": 5}]}).encode(), "tok")
    assert code == 400 and "items[0]" in data["error"]
    code, data = post_json(base + "/v1/basket", b"x" * (64 * 1024 + 1), "tok")
    assert code == 413


@pytest.mark.parametrize("body, msg", [
    (b"[]", "JSON object"), (b'{"items": 3}', "'items' must be a list"),
    (b'{"items": [], "register": []}', "'register'"),
    (b'{"items": [{"sku": "A", "qty": "two"}]}', "qty must be a number"),
])
def test_parse_basket_rejects(body: bytes, msg: str) -> None:
    with pytest.raises(ValueError, match=msg):
        parse_basket(body)


def test_simulator_rings_up_sales_in_the_till(tmp_path: Path) -> None:
    path = make_till(tmp_path / "till.db", messy=False)
    skus = [p[0] for p in PRODUCTS]

    def sample(rng: np.random.Generator, when: object) -> list[tuple[str, float, float]]:
        return [(str(s), 1.0, 9.0) for s in rng.choice(skus, size=2, replace=False)]

    done = threading.Event()
    sim = TillSimulator(path, sample, register="3", seed=1, line_interval=(0.001, 0.002),
                        pause=(0.001, 0.002), take_suggestion_p=1.0,
                        suggestions=lambda: ["GLOVES"])
    sim.start()
    try:
        w = TillWatcher(path)
        for _ in range(2000):
            if sim.sales_closed >= 3:
                done.set()
                break
            done.wait(0.01)
        assert done.is_set()
    finally:
        sim.stop()
        w.close()
    assert not sim.running and sim.error is None
    c = sqlite3.connect(path)
    rows = c.execute("SELECT status, COUNT(*) FROM sales WHERE register_id='3' GROUP BY status").fetchall()
    gloves = c.execute("SELECT COUNT(*) FROM sale_lines l JOIN sales s USING (sale_id) "
                       "WHERE s.register_id='3' AND l.sku='GLOVES'").fetchone()[0]
    c.close()
    assert dict(rows)["closed"] >= 3 and gloves >= 3              # customers took the suggestion


def test_serve_command_end_to_end(tmp_path: Path) -> None:
    """`possuggest serve` in its own process: prints its address, answers, stops on SIGTERM."""
    import os
    import signal
    import subprocess
    import sys

    till = make_till(tmp_path / "till.db")
    data = tmp_path / "d"
    proc = subprocess.Popen([sys.executable, "-m", "possuggest", "serve", "--port", "0",
                             "--data-dir", str(data), "--till-db", str(till)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            cwd=Path(__file__).parents[1])
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("basket API on http://127.0.0.1:"), line
        base = line.split()[3]
        from possuggest.services.state import AppState

        token = AppState(data / "state.json").api_token()        # generated, owner-only
        assert token and (os.stat(data / "state.json").st_mode & 0o077) == 0
        assert not (data / "config.toml").exists()                # the manager's file: never written
        body = json.dumps({"sale_id": "1", "items": [{"sku": "DRILL-18V"}]}).encode()
        code, answer = post_json(base + "/v1/basket", body, token)
        assert code == 200 and answer["suggestions"][0]["sku"] == "BITS"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    with RuleStore(data / "possuggest.db") as store:      # the shown events were saved
        assert {e["action"] for e in store.events("1")} == {"shown"}


def test_serve_follows_config_edits_and_other_processes_rule_sets(tmp_path: Path) -> None:
    """``serve`` applies a block added to the config and a CLI refresh without a restart."""
    import threading
    import time
    import urllib.request

    from possuggest.cli.main import main as cli_main
    from possuggest.services.context import AppContext
    from possuggest.services.serve import run_serve

    till = make_till(tmp_path / "till.db")
    data = tmp_path / "d"
    data.mkdir()
    cfg = data / "config.toml"
    cfg.write_text("# manager's notes\n[api]\nport = 0\n")
    ctx = AppContext.create(str(data), None, str(till))
    stop = threading.Event()
    lines: list[str] = []
    th = threading.Thread(target=run_serve, args=(ctx,),
                          kwargs={"stop": stop, "announce": lines.append}, daemon=True)
    th.start()
    try:
        deadline = time.monotonic() + 60
        while not lines and time.monotonic() < deadline and th.is_alive():
            stop.wait(0.05)
        base = lines[0].split()[3]
        token = ctx.api_token()
        body = json.dumps({"sale_id": "1", "items": [{"sku": "DRILL-18V"}]}).encode()

        def skus() -> list[str]:
            code, answer = post_json(base + "/v1/basket", body, token)
            assert code == 200
            return [s["sku"] for s in answer["suggestions"]]

        def rule_set() -> int:
            with urllib.request.urlopen(base + "/v1/health", timeout=5) as resp:
                return int(json.loads(resp.read())["rule_set"])

        def within(seconds: float, check) -> bool:
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                if check():
                    return True
                stop.wait(0.05)
            return check()

        assert "BITS" in skus() and rule_set() == 1
        with cfg.open("a") as fh:
            fh.write("[policy]\nblocked = [['DRILL-18V', 'BITS']]\n")
        assert within(2.0, lambda: "BITS" not in skus())
        assert cli_main(["refresh", "-q", "--data-dir", str(data), "--till-db", str(till)]) == 0
        assert within(2.0, lambda: rule_set() == 2)
        assert "BITS" not in skus()                      # the block still holds on the new set
        assert cfg.read_text().startswith("# manager's notes")
    finally:
        stop.set()
        th.join(20)
    assert not th.is_alive()
