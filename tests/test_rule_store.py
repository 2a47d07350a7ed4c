"""The rule store: sets activate in one transaction, roll back, survive a kill mid-write."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import pattern_baskets
from possuggest.core.config import MiningSettings
from possuggest.core.errors import RuleStoreError
from possuggest.core.products import Product
from possuggest.core.transactions import Transactions
from possuggest.mining.miner import mine_rules
from possuggest.store.rule_store import RuleSetInfo, RuleStore


def _write(store: RuleStore, n_baskets: int = 400, keep: int = 5) -> int:
    tx = Transactions.from_baskets(pattern_baskets(n_baskets))
    res = mine_rules(tx, MiningSettings())
    return store.write_rule_set(res.rules, res.item_counts, [Product("TAPE", "Tape")],
                                RuleSetInfo(n_baskets=tx.n_baskets, n_cross=res.n_cross),
                                keep=keep)


def test_write_activate_rollback_prune(tmp_path: Path) -> None:
    with RuleStore(tmp_path / "p.db") as store:
        assert store.load_active() is None
        ids = [_write(store, keep=3) for _ in range(4)]
        sets = store.rule_sets()
        assert [s.id for s in sets] == ids[::-1][:3]         # oldest pruned
        assert [s.active for s in sets] == [True, False, False]
        store.activate(ids[2])
        active = store.load_active()
        assert active is not None and active.rule_set.id == ids[2]
        assert len(active.rule_id) > 0 and active.products["TAPE"].name == "Tape"
        with pytest.raises(RuleStoreError, match="no rule set 999"):
            store.activate(999)
        assert store.active_rule_set().id == ids[2]


def test_not_a_database(tmp_path: Path) -> None:
    bad = tmp_path / "p.db"
    bad.write_bytes(b"garbage" * 1000)
    with pytest.raises(RuleStoreError, match="unusable"):
        RuleStore(bad)


def test_events_round_trip(tmp_path: Path) -> None:
    with RuleStore(tmp_path / "p.db") as store:
        store.log_events([{"sku": "A", "action": "shown", "sale_id": 5, "register": "1"},
                          {"sku": "A", "action": "accepted", "sale_id": 5, "register": "1"}])
        ev = store.events("5")
        assert [e["action"] for e in ev] == ["shown", "accepted"]


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_kill_mid_write_keeps_previous_active_set(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    with RuleStore(db) as store:
        first = _write(store)
        n_rules = len(store.load_active().rule_id)
    marker = tmp_path / "writing"
    child = textwrap.dedent(f"""
        import threading, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from conftest import pattern_baskets
        from possuggest.core.config import MiningSettings
        from possuggest.mining.miner import mine_rules
        from possuggest.core.products import Product
        from possuggest.store.rule_store import RuleSetInfo, RuleStore
        from possuggest.core.transactions import Transactions
        tx = Transactions.from_baskets(pattern_baskets(800))
        res = mine_rules(tx, MiningSettings())
        def products():
            yield Product("X", "X")
            open({str(marker)!r}, "w").close()   # rules are in, transaction still open
            threading.Event().wait()             # hang here until killed
        RuleStore({str(db)!r}).write_rule_set(res.rules, res.item_counts, products(),
                                              RuleSetInfo(n_baskets=tx.n_baskets))
    """)
    proc = subprocess.Popen([sys.executable, "-c", child], cwd=Path(__file__).parents[1])
    try:
        for _ in range(600):
            if marker.exists() or proc.poll() is not None:
                break
            try:
                proc.wait(timeout=0.1)
            except subprocess.TimeoutExpired:
                pass
        assert marker.exists(), "child never reached the write"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    with RuleStore(db) as store:
        active = store.load_active()
        assert active is not None and active.rule_set.id == first
        assert len(active.rule_id) == n_rules
        assert [s.id for s in store.rule_sets()] == [first]


def test_two_connections_creating_a_fresh_database_at_once(tmp_path: Path) -> None:
    import threading

    errors: list[BaseException] = []
    for i in range(200):
        path = tmp_path / f"p{i}.db"
        start = threading.Barrier(2)

        def open_it(path: Path = path, start: threading.Barrier = start) -> None:
            try:
                start.wait()
                RuleStore(path).close()
            except BaseException as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)

        threads = [threading.Thread(target=open_it) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []


@pytest.mark.slow          # two real `possuggest refresh` runs on a 20,000-sale store
@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_real_refresh_killed_while_saving(tmp_path: Path) -> None:
    """`possuggest refresh` killed as it starts saving: the store holds only complete sets."""
    from possuggest.demo.generator import build_demo_store

    till = tmp_path / "till.db"
    build_demo_store(till, sales=20_000, seed=3)
    data = tmp_path / "d"
    cmd = [sys.executable, "-m", "possuggest", "refresh", "--data-dir", str(data),
           "--till-db", str(till)]
    subprocess.run([*cmd, "-q"], check=True, cwd=Path(__file__).parents[1])
    with RuleStore(data / "possuggest.db") as store:
        first = store.active_rule_set()
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                            cwd=Path(__file__).parents[1])
    assert proc.stderr is not None
    for line in proc.stderr:
        if "saving rule set" in line:
            os.kill(proc.pid, signal.SIGKILL)
            break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    with RuleStore(data / "possuggest.db") as store:
        sets = store.rule_sets()
        active = store.load_active()
        assert active is not None and active.rule_set.id in {s.id for s in sets}
        assert first is not None and first.id in {s.id for s in sets}
        for s in sets:                    # every kept set is whole
            n = store.conn.execute("SELECT COUNT(*) FROM rules WHERE rule_set_id = ?",
                                   (s.id,)).fetchone()[0]
            assert n == s.n_cross + s.n_upgrade
