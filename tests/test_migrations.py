"""Upgrades keep everything: a data folder written by release 0.1.0 (schema 2; made with that
release's own code, see tests/fixtures/make_release_data.py) opens in this release with its
rules, rule-set history, events, settings, state and PIN; the upgrade runs in one transaction
after a backup, a SIGKILL part-way leaves the old database as it was, a failing step undoes the
whole upgrade, and a database from a newer release is refused untouched."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
from datetime import date
from pathlib import Path

import pytest
import sqlite_utils

from conftest import file_hash
from possuggest.cli.main import main
from possuggest.core.errors import RuleStoreError
from possuggest.services.context import AppContext, last_good_settings
from possuggest.services.pin import PinGuard
from possuggest.services.state import AppState
from possuggest.store import migrations
from possuggest.store.migrations import (
    SCHEMA_VERSION,
    STEPS,
    Step,
    StoreTooNew,
    backups,
    ddl_statements,
    migrate,
    take_backup,
)
from possuggest.store.rule_store import _DDL, RuleStore, _expected_columns

FIXTURES = Path(__file__).parent / "fixtures"
RELEASE = FIXTURES / "data-v0.1.0"
EXPECTED = json.loads((FIXTURES / "data-v0.1.0.expected.json").read_text(encoding="utf-8"))
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def old(tmp_path: Path) -> Path:
    """A copy of release 0.1.0's data folder."""
    folder = tmp_path / "data"
    shutil.copytree(RELEASE, folder)
    return folder


def _sql(db: Path, query: str, args: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    # the committed fixture is opened as immutable: no -wal or -shm made beside it
    mode = "immutable=1" if db.resolve().parent == RELEASE.resolve() else "mode=ro"
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?{mode}", uri=True)
    try:
        return conn.execute(query, args).fetchall()
    finally:
        conn.close()


def _version(db: Path) -> int:
    return int(_sql(db, "SELECT value FROM meta WHERE key = 'schema_version'")[0][0])


def _tables(db: Path) -> set[str]:
    return {str(r[0]) for r in _sql(db, "SELECT name FROM sqlite_master WHERE type = 'table'")}


def _content(db: Path) -> dict[str, object]:
    """What the release wrote, as figures and sums that must survive the upgrade."""
    return {
        "rule_sets": _sql(db, "SELECT id, created_at, active, n_cross, n_upgrade, params"
                              " FROM rule_sets ORDER BY id"),
        "rules": _sql(db, "SELECT rule_set_id, COUNT(*), SUM(count), ROUND(SUM(lift), 6),"
                          " ROUND(SUM(weight), 6) FROM rules GROUP BY rule_set_id"),
        "events": _sql(db, "SELECT id, ts, register, sale_id, sku, kind, rule_id, rule_set_id,"
                           " action, source, holdout FROM events ORDER BY id"),
        "products": _sql(db, "SELECT rule_set_id, COUNT(*) FROM products GROUP BY 1"),
        "item_counts": _sql(db, "SELECT rule_set_id, COUNT(*) FROM item_counts GROUP BY 1"),
        "context_counts": _sql(db, "SELECT rule_set_id, COUNT(*) FROM context_counts GROUP BY 1"),
        "meta": _sql(db, "SELECT key, value FROM meta WHERE key != 'schema_version'"
                         " AND key != 'summaries' ORDER BY key"),
    }


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(list(args)) == 0, capsys.readouterr().err
    return capsys.readouterr().out


def test_the_fixture_is_release_0_1_0s_data_folder() -> None:
    assert EXPECTED["schema_version"] == 2 and _version(RELEASE / "possuggest.db") == 2
    assert not (RELEASE / "possuggest.db-wal").exists()
    assert "sales" not in _tables(RELEASE / "possuggest.db")
    assert sorted(p.name for p in RELEASE.iterdir()) == ["config.toml", "possuggest.db",
                                                          "state.json"]


def test_release_data_folder_opens_with_everything_kept(
        old: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = old / "possuggest.db"
    before = _content(db)
    config = (old / "config.toml").read_bytes()
    # the manager set a PIN (state.json) before the new release first opened the folder
    PinGuard(AppState(old / "state.json")).set_pin("4321", "4321")

    sets = json.loads(_run(capsys, "--data-dir", str(old), "rule-sets", "--json"))

    # the rule-set history, the active set and the rollback's pin
    assert [(s["id"], s["active"], s["pinned"], s["n_cross"], s["n_upgrade"]) for s in sets] == [
        (s["id"], bool(s["active"]), str(s["id"]) == EXPECTED["pinned_rule_set"], s["n_cross"],
         s["n_upgrade"]) for s in sorted(EXPECTED["rule_sets"], key=lambda s: -s["id"])]
    # every rule, event, snapshot and setting in the database, at the new version
    assert _version(db) == SCHEMA_VERSION == 3
    assert _content(db) == before
    assert {str(k): n for k, n in _sql(db, "SELECT rule_set_id, COUNT(*) FROM rules GROUP BY 1")
            } == EXPECTED["rules_per_set"]
    assert dict(_sql(db, "SELECT action, COUNT(*) FROM events GROUP BY 1")) == EXPECTED["events"]
    assert set(_expected_columns()) <= _tables(db)
    # the old events count in the report's summaries
    shown = _sql(db, "SELECT SUM(shown), SUM(accepted), SUM(dismissed) FROM event_daily")[0]
    assert shown == (EXPECTED["events"]["shown"], EXPECTED["events"]["accepted"],
                     EXPECTED["events"].get("dismissed", 0))
    # the backup: the release's database as it was, in the data folder
    kept = backups(db)
    assert [p.parent for p in kept] == [old / "backups"] and "-schema2-" in kept[0].name
    assert _version(kept[0]) == 2 and _content(kept[0]) == before
    assert "sales" not in _tables(kept[0])

    # settings: the manager's config is read and never rewritten; state and PIN kept
    assert (old / "config.toml").read_bytes() == config
    ctx = AppContext.create(str(old))
    assert ctx.settings.policy.max_suggestions == 2
    assert ctx.settings.mining.keep_rule_sets == 4
    assert set(EXPECTED["state_keys"]) <= set(ctx.state.data)
    assert ctx.state.look() == EXPECTED["look"]
    assert ctx.api_token() == EXPECTED["api_token"]
    assert last_good_settings(ctx.state) is not None
    assert PinGuard(ctx.state).verify("4321")

    # and the upgraded folder works on: refresh (pinned set stays active), release, suggest
    from possuggest.demo.generator import build_demo_store

    build_demo_store(old / "demo-till.db", sales=1500, seed=11, end_date=date(2025, 11, 28))
    _run(capsys, "--data-dir", str(old), "refresh", "-q")
    sets = json.loads(_run(capsys, "--data-dir", str(old), "rule-sets", "--json"))
    assert [(s["id"], s["active"]) for s in sets] == [(3, False), (2, False), (1, True)]
    _run(capsys, "--data-dir", str(old), "rollback", "--release")
    cards = json.loads(_run(capsys, "--data-dir", str(old), "suggest", "MOW-STD", "--json"))
    assert 1 <= len(cards) <= 2 and all(c["sku"] != "MOW-STD" for c in cards)
    assert _content(db)["events"] == before["events"]
    assert len(backups(db)) == 1                  # upgraded once
    assert PinGuard(AppState(old / "state.json")).verify("4321")


_PAUSE = """
import sys
from possuggest.store import migrations
from possuggest.store.rule_store import RuleStore

def pause(conn, ddl):
    conn.execute("CREATE TABLE half_done (x)")      # changes that must not survive the kill
    conn.execute("UPDATE rules SET lift = -1")
    conn.execute("DELETE FROM events")
    sys.stdout.write("paused\\n")
    sys.stdout.flush()
    sys.stdin.readline()                            # inside the transaction until killed

migrations.STEPS = (*migrations.STEPS, migrations.Step(99, "pause", pause))
RuleStore(sys.argv[1])
"""


def test_an_upgrade_killed_part_way_leaves_the_old_database_usable(old: Path) -> None:
    db = old / "possuggest.db"
    before = _content(db)
    tables = _tables(db)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get(
        "PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-c", _PAUSE, str(db)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()       # the upgrade's steps ran, nothing committed
        assert line == "paused\n", proc.stderr.read() if proc.stderr else ""
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    # the old database, exactly as the release left it (its own code opens it as ever)
    assert _sql(db, "PRAGMA integrity_check") == [("ok",)]
    assert _version(db) == 2
    assert _tables(db) == tables            # no half_done, no schema 3 tables
    assert _content(db) == before
    assert len(backups(db)) == 1            # taken before the steps, complete

    # the next start upgrades it properly
    with RuleStore(db) as store:
        assert store.upgraded is not None and store.upgraded.from_version == 2
        assert store.pinned_rule_set() == int(EXPECTED["pinned_rule_set"])
    assert _version(db) == 3 and _content(db) == before
    assert "half_done" not in _tables(db)
    assert len(backups(db)) == 2


def test_a_database_from_a_newer_release_is_refused_untouched(
        old: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = old / "possuggest.db"
    conn = sqlite3.connect(db)
    conn.execute("UPDATE meta SET value = '7' WHERE key = 'schema_version'")
    conn.execute("ALTER TABLE events DROP COLUMN source")    # a later release changed a table
    conn.commit()
    conn.close()
    digest = file_hash(db)

    with pytest.raises(StoreTooNew) as err:
        RuleStore(db)
    message = str(err.value)
    assert "newer release" in message and "schema 7" in message and "up to 3" in message
    assert "\n" not in message
    with pytest.raises(StoreTooNew):             # not taken for damage: never moved aside
        RuleStore.open_or_recover(db, thorough=True)
    assert main(["--data-dir", str(old), "rule-sets"]) == 2
    out = capsys.readouterr()
    assert out.out == "" and out.err.count("\n") == 1 and "newer release" in out.err

    assert file_hash(db) == digest
    assert sorted(p.name for p in old.iterdir() if p.name.startswith("possuggest.db")) == [
        "possuggest.db"]
    assert not (old / "backups").exists()


def test_a_failing_step_undoes_the_whole_upgrade_table_rebuilds_included(old: Path) -> None:
    db = old / "possuggest.db"
    before = _content(db)

    def rebuild_events(conn: sqlite3.Connection, ddl: str) -> None:
        # a table rebuild with sqlite-utils inside the upgrade's transaction
        sqlite_utils.Database(conn)["events"].transform(drop={"source"})

    def broken(conn: sqlite3.Connection, ddl: str) -> None:
        conn.execute("INSERT INTO no_such_table VALUES (1)")

    conn = sqlite3.connect(db, isolation_level=None)
    try:
        with pytest.raises(RuleStoreError) as err:
            migrate(conn, db, _DDL, steps=(*STEPS, Step(4, "rebuild", rebuild_events),
                                           Step(5, "broken", broken)))
        assert "could not be upgraded from schema 2 to 5" in str(err.value)
        assert "no_such_table" in str(err.value) and "left as it was" in str(err.value)
        assert not conn.in_transaction
    finally:
        conn.close()
    assert _version(db) == 2 and _content(db) == before
    assert "sales" not in _tables(db)
    assert "source" in {r[1] for r in _sql(db, "PRAGMA table_info(events)")}

    conn = sqlite3.connect(db, isolation_level=None)
    try:
        done = migrate(conn, db, _DDL, steps=(*STEPS, Step(4, "rebuild", rebuild_events)))
    finally:
        conn.close()
    assert done is not None and (done.from_version, done.to_version) == (2, 4)
    assert _version(db) == 4
    assert "source" not in {r[1] for r in _sql(db, "PRAGMA table_info(events)")}
    assert _sql(db, "SELECT COUNT(*) FROM events") == [(sum(EXPECTED["events"].values()),)]


def test_no_backup_no_upgrade(old: Path) -> None:
    db = old / "possuggest.db"
    (old / "backups").write_text("a file where the backups folder goes")
    with pytest.raises(RuleStoreError) as err:
        RuleStore(db)
    assert "backup could not be written" in str(err.value)
    assert "nothing was changed" in str(err.value)
    assert _version(db) == 2
    assert not list((old).glob("backups*.partial"))


def test_the_last_few_backups_are_kept(old: Path) -> None:
    db = old / "possuggest.db"
    made = [take_backup(db, 2, keep=3) for _ in range(5)]
    assert backups(db) == made[-3:]
    assert [p.exists() for p in made] == [False, False, True, True, True]
    assert not list((old / "backups").glob("*.partial"))


def test_a_new_database_gets_the_current_schema_without_a_backup(tmp_path: Path) -> None:
    db = tmp_path / "possuggest.db"
    with RuleStore(db) as store:
        assert store.upgraded is None
    assert _version(db) == SCHEMA_VERSION
    assert set(_expected_columns()) <= _tables(db)
    assert not (tmp_path / "backups").exists()
    with RuleStore(db) as store:                  # opening again changes nothing
        assert store.upgraded is None


def test_a_first_release_database_steps_through_every_version(old: Path) -> None:
    db = old / "possuggest.db"
    conn = sqlite3.connect(db)
    conn.execute("ALTER TABLE rules DROP COLUMN weight")
    conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    n_rules = _sql(db, "SELECT COUNT(*) FROM rules")
    with RuleStore(db) as store:
        assert store.upgraded is not None
        assert (store.upgraded.from_version, store.upgraded.to_version) == (1, 3)
        assert store.pinned_rule_set() == 1
    assert "weight" in {r[1] for r in _sql(db, "PRAGMA table_info(rules)")}
    assert _sql(db, "SELECT COUNT(*) FROM rules") == n_rules
    assert "-schema1-" in backups(db)[0].name


def test_two_processes_opening_at_once_upgrade_once(old: Path) -> None:
    db = old / "possuggest.db"
    start = threading.Barrier(2)
    results: list[object] = []

    def open_it() -> None:
        start.wait()
        try:
            with RuleStore(db) as store:
                results.append(store.upgraded)
        except BaseException as exc:   # pragma: no cover - reported below
            results.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(results) == 2 and sum(r is not None for r in results) == 1
    assert not any(isinstance(r, BaseException) for r in results)
    assert len(backups(db)) == 1 and _version(db) == 3


def test_the_schema_splits_into_statements() -> None:
    statements = ddl_statements(_DDL)
    assert all(s.upper().startswith("CREATE ") and s.endswith(";") for s in statements)
    assert len(statements) == _DDL.upper().count("CREATE ")
    with pytest.raises(ValueError, match="incomplete"):
        ddl_statements("CREATE TABLE x (a")
    assert migrations.STEPS[-1].version == SCHEMA_VERSION
