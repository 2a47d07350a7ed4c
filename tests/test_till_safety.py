"""The till comes first (issue 12): possuggest leaves no file beside the till, never makes a
till writer fail or wait long, every till query has a time limit and stops on cancel, Ctrl-C
and panel exit, and ``demo-db`` never replaces anything but a demo store it wrote."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import file_hash, make_till
from possuggest.cli.main import main
from possuggest.core.config import Settings, TillMapping, TillSettings, settings_from_dict
from possuggest.core.errors import Cancelled, ConfigError, TillError
from possuggest.demo.generator import build_demo_store, is_demo_store
from possuggest.mining.refresh import refresh
from possuggest.till.reader import TillReader, open_till
from possuggest.till.watcher import TillWatcher

ROOT = os.geteuid() == 0 if hasattr(os, "geteuid") else False
OFD_LOCKS = os.name == "posix" and hasattr(__import__("fcntl"), "F_OFD_SETLK")

# a query that runs for a very long time and returns nothing (finite, so that on code without
# time limits a test fails instead of hanging for ever)
ENDLESS = ("WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 400000000) "
           "SELECT 1 AS sale_id, 'TAPE' AS sku, 1 AS qty, '2026-01-01T10:00:00' AS closed_at "
           "FROM r WHERE i < 0")
LINES = ("SELECT l.sale_id AS sale_id, l.sku AS sku, l.qty AS qty, s.closed_at AS closed_at "
         "FROM sale_lines l JOIN sales s ON s.sale_id = l.sale_id WHERE s.status = 'closed'")
PRODUCTS = "SELECT sku, name, category, family, price, cost, stock, active FROM products"
OPEN = ("SELECT l.sale_id AS sale_id, l.sku AS sku, l.qty AS qty FROM sale_lines l "
        "JOIN sales s ON s.sale_id = l.sale_id WHERE s.status = 'open' AND s.register_id = :register")


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def wait_for(cond: object, timeout: float = 10.0) -> bool:
    """Wait until ``cond()`` is true (checked every few ms); False on timeout."""
    done = threading.Event()
    give_up = time.monotonic() + timeout
    while not cond():                                            # type: ignore[operator]
        if time.monotonic() > give_up:
            return False
        done.wait(0.005)
    return True


# -- defect 1: no file beside the till -------------------------------------------------------
def test_defect_1_no_wal_files_left_beside_a_clean_wal_till(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "pos"
    folder.mkdir()
    till = make_till(folder / "till.db", wal=True, open_sale=["MOW-STD"])
    assert listing(folder) == ["till.db"]          # closed cleanly: no -wal, no -shm
    before = file_hash(till)
    with open_till(till) as t:
        assert t.read_transactions(365).n_baskets == 401
        assert t.read_products()["TAPE"].price == 5.0
        assert t.read_open_sale().skus == ["MOW-STD"]
        v = t.data_version()
        assert t.data_version() == v
        assert listing(folder) == ["till.db"]      # not even while it is open
    w = TillWatcher(till)
    assert w.poll().sale is not None
    assert w.poll().sale is None
    w.close()
    code, out, _ = run(capsys, "--data-dir", str(tmp_path / "d"), "--till-db", str(till),
                       "refresh", "-q")
    assert code == 0, out
    assert listing(folder) == ["till.db"]
    assert file_hash(till) == before


def test_watcher_sees_new_sales_on_a_wal_till_first_read_as_a_snapshot(tmp_path: Path) -> None:
    till = make_till(tmp_path / "till.db", wal=True, open_sale=["MOW-STD"])
    w = TillWatcher(till)
    assert w.poll().sale.skus == ["MOW-STD"]
    till_conn = sqlite3.connect(till, isolation_level=None)      # the till starts
    sid = till_conn.execute("SELECT MAX(sale_id) FROM sales WHERE status = 'open'").fetchone()[0]
    for sku, want in (("OIL-4T", ["MOW-STD", "OIL-4T"]),
                      ("GLOVES", ["MOW-STD", "OIL-4T", "GLOVES"])):
        till_conn.execute("INSERT INTO sale_lines (sale_id, sku, qty, unit_price, voided) "
                          "VALUES (?, ?, 1, 1, 0)", (sid, sku))
        r = w.poll()
        assert r.state == "ok" and r.sale is not None and r.sale.skus == want
        assert not w._reader.snapshot                            # type: ignore[union-attr]
    w.close()
    till_conn.close()


def test_a_snapshot_read_is_done_again_when_the_till_starts_meanwhile(tmp_path: Path) -> None:
    till = make_till(tmp_path / "till.db", wal=True)
    reader = open_till(till)
    assert reader.snapshot
    n = reader.read_transactions().n_baskets
    till_conn = sqlite3.connect(till, isolation_level=None)
    till_conn.execute("INSERT INTO sales VALUES (9999, '1', 'C1', NULL, '2026-11-05T10:00:00', "
                      "'2026-11-05T10:01:00', 'closed')")
    till_conn.execute("INSERT INTO sale_lines VALUES (99999, 9999, 'TAPE', 1, 5, 0)")
    assert reader.read_transactions().n_baskets == n + 1      # not the stale snapshot
    assert not reader.snapshot
    reader.close()
    till_conn.close()


def test_a_wal_file_without_its_shm_is_read_without_creating_one(tmp_path: Path) -> None:
    folder = tmp_path / "pos"
    folder.mkdir()
    till = make_till(folder / "till.db", wal=True, open_sale=["MOW-STD"])
    (folder / "till.db-wal").write_bytes(b"")      # left over, say; mode=ro would add a -shm
    with open_till(till) as t:
        assert t.read_open_sale().skus == ["MOW-STD"]
    assert listing(folder) == ["till.db", "till.db-wal"]


_TILL_SESSION = r"""
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("UPDATE products SET stock = stock + 1 WHERE sku = 'TAPE'")
c.commit()
c.close()
"""


@pytest.mark.skipif(not OFD_LOCKS, reason="open-file-description locks are Linux's")
def test_the_shared_lock_keeps_the_till_from_deleting_its_wal_files_meanwhile(
        tmp_path: Path) -> None:
    """What makes the choice between mode=ro and a snapshot race-free: while possuggest holds
    its shared lock, the till's last connection cannot checkpoint and delete -wal/-shm (so
    SQLite never finds them gone and makes new ones owned by possuggest)."""
    from possuggest.till.reader import _acquire_file, _release_file

    till = make_till(tmp_path / "till.db", wal=True)
    f = _acquire_file(till)
    try:
        assert f.try_share()
        subprocess.run([sys.executable, "-c", _TILL_SESSION, str(till)], check=True)
        assert listing(tmp_path) == ["till.db", "till.db-shm", "till.db-wal"]   # the till's
        f.unshare()
        subprocess.run([sys.executable, "-c", _TILL_SESSION, str(till)], check=True)
        assert listing(tmp_path) == ["till.db"]      # its next clean close removes them
    finally:
        _release_file(f)


_AS_USER = r"""
import json, os, sqlite3, sys
import numpy, pandas
import possuggest.till.reader, possuggest.till.watcher
from possuggest.till.reader import open_till
uid = int(sys.argv[1])
os.setgroups([])
os.setgid(uid)
os.setuid(uid)
path = sys.argv[2]
"""

_READ = r"""
with open_till(path) as t:
    tx = t.read_transactions(365)
    products = t.read_products()
    t.read_open_sale()
    t.data_version()
print(json.dumps({"baskets": tx.n_baskets, "products": len(products)}))
"""

_WRITE = r"""
c = sqlite3.connect(path, timeout=2)
c.execute("INSERT INTO sales VALUES (NULL, '1', 'C01', NULL, '2026-11-03T10:00:00', "
          "'2026-11-03T10:05:00', 'closed')")
c.commit()
c.close()
print("written")
"""


def _as_user(uid: int, body: str, path: Path) -> subprocess.CompletedProcess[str]:
    """Run ``body`` in a fresh Python that drops from root to ``uid`` once it has imported
    what it needs (the interpreter itself may sit in a folder only root can read)."""
    return subprocess.run([sys.executable, "-c", _AS_USER + body, str(uid), str(path)],
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def shared_folder() -> Iterator[Path]:
    """A folder other users can reach (pytest's tmp_path is root's alone)."""
    folder = Path(tempfile.mkdtemp(prefix="possuggest-till-", dir="/tmp"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.skipif(not ROOT, reason="needs root to run the till and possuggest as two "
                                     "different users")
def test_defect_1_a_till_run_by_another_user_still_writes_after_possuggest_read_it(
        shared_folder: Path) -> None:
    till_user, possuggest_user = 64001, 64002
    shared_folder.chmod(0o777)                      # both may create files here
    till = make_till(shared_folder / "till.db", wal=True)
    os.chown(till, till_user, till_user)
    till.chmod(0o644)
    read = _as_user(possuggest_user, _READ, till)
    assert read.returncode == 0, read.stderr
    assert json.loads(read.stdout)["baskets"] == 401
    assert listing(shared_folder) == ["till.db"]    # nothing of possuggest's user's left behind
    write = _as_user(till_user, _WRITE, till)
    assert write.returncode == 0 and "written" in write.stdout, write.stderr
    assert listing(shared_folder) == ["till.db"]


_RUNNING_TILL = r"""
c = sqlite3.connect(path, timeout=2)
c.execute("UPDATE products SET stock = stock + 1 WHERE sku = 'TAPE'")
c.commit()
print("open", flush=True)
sys.stdin.readline()
c.execute("UPDATE products SET stock = stock + 1 WHERE sku = 'TAPE'")
c.commit()
c.close()
print("closed", flush=True)
"""


@pytest.mark.skipif(not ROOT, reason="needs root to run the till and possuggest as two "
                                     "different users")
def test_possuggest_reads_through_the_files_of_a_till_running_as_another_user(
        shared_folder: Path) -> None:
    till_user, possuggest_user = 64001, 64002
    shared_folder.chmod(0o777)
    till = make_till(shared_folder / "till.db", wal=True)
    os.chown(till, till_user, till_user)
    till.chmod(0o644)
    running = subprocess.Popen([sys.executable, "-c", _AS_USER + _RUNNING_TILL, str(till_user),
                                str(till)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               text=True)
    try:
        assert running.stdout is not None and running.stdout.readline().strip() == "open"
        owners = {p.name: p.stat().st_uid for p in shared_folder.iterdir()}
        assert owners == dict.fromkeys(["till.db", "till.db-shm", "till.db-wal"], till_user)
        read = _as_user(possuggest_user, _READ, till)      # its -shm is read-only to us
        assert read.returncode == 0, read.stderr
        assert {p.name: p.stat().st_uid for p in shared_folder.iterdir()} == owners
    finally:
        out, _ = running.communicate("\n", timeout=60)
    assert "closed" in out and listing(shared_folder) == ["till.db"]


def test_defect_1_reads_a_clean_wal_till_in_a_folder_it_cannot_write(
        shared_folder: Path) -> None:
    shared_folder.chmod(0o755)
    till = make_till(shared_folder / "till.db", wal=True, open_sale=["MOW-STD"])
    till.chmod(0o644)
    before = file_hash(till)
    if ROOT:                                        # root writes anywhere: read as nobody
        read = _as_user(65534, _READ, till)
        assert read.returncode == 0, read.stderr
        assert json.loads(read.stdout) == {"baskets": 401, "products": 11}
    else:                                           # pragma: no cover - CI runs as a user
        shared_folder.chmod(0o555)
        try:
            with open_till(till) as t:
                assert t.read_transactions(365).n_baskets == 401
        finally:
            shared_folder.chmod(0o755)
    assert listing(shared_folder) == ["till.db"]
    assert file_hash(till) == before


# -- defect 2: demo-db replaces only a demo store it wrote -----------------------------------
def test_defect_2_demo_db_never_replaces_the_configured_till_or_a_file_it_did_not_write(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = ["--data-dir", str(tmp_path / "d")]
    till = make_till(tmp_path / "till.db", wal=True)
    writer = sqlite3.connect(till)                  # the till is running: its WAL holds a sale
    writer.execute("INSERT INTO sales VALUES (5000, '1', 'C1', NULL, '2026-11-05T10:00:00', "
                   "'2026-11-05T10:01:00', 'closed')")
    writer.commit()
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[till]\npath = "{till}"\n')
    kept = {p.name: file_hash(p) for p in tmp_path.iterdir() if p.is_file()}
    assert "till.db-wal" in kept
    for argv in (["--till-db", str(till), "demo-db", str(till)],
                 ["--till-db", str(till), "demo-db", str(till), "--force"],
                 ["--config", str(cfg), "demo-db", str(till), "--force"],
                 ["demo-db", str(till), "--force"],                  # not a demo store
                 ["demo-db", str(till)]):
        code, out, err = run(capsys, *data, *argv, "--sales", "50", "-q")
        assert code == 2 and out == "", argv
        assert err.count("\n") == 1 and err.startswith("possuggest: error: "), err
        assert "nothing was changed" in err or "never replaces" in err
        assert {p.name: file_hash(p) for p in tmp_path.iterdir() if p.is_file()} == kept
    assert writer.execute("SELECT COUNT(*) FROM sales WHERE sale_id = 5000").fetchone() == (1,)
    writer.close()

    other = tmp_path / "notes.db"
    other.write_text("the owner's notes")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    demo = tmp_path / "demo.db"
    assert run(capsys, *data, "demo-db", str(demo), "--sales", "50", "-q")[0] == 0
    assert is_demo_store(demo)
    link = tmp_path / "link.db"
    link.symlink_to(demo)
    for target in (other, fifo, link):
        code, _, err = run(capsys, *data, "demo-db", str(target), "--force", "--sales", "50", "-q")
        assert code == 2 and "nothing was changed" in err, target
    assert other.read_text() == "the owner's notes"
    assert fifo.is_fifo() and link.is_symlink()
    # a demo store: only with --force, and never when it is the configured till
    before = file_hash(demo)
    code, _, err = run(capsys, *data, "demo-db", str(demo), "--sales", "60", "-q")
    assert code == 2 and "--force" in err and file_hash(demo) == before
    code, _, err = run(capsys, *data, "--till-db", str(demo), "demo-db", str(demo), "--force",
                       "--sales", "60", "-q")
    assert code == 2 and "configured till" in err and file_hash(demo) == before
    code, out, _ = run(capsys, *data, "demo-db", str(demo), "--force", "--sales", "60", "-q")
    assert code == 0 and "60 sales" in out and is_demo_store(demo)


def test_build_demo_store_checks_again_before_it_replaces(tmp_path: Path) -> None:
    path = tmp_path / "d.db"
    calls = {"n": 0}

    def cancelled() -> bool:       # the file appears while the demo store is being built
        calls["n"] += 1
        if calls["n"] == 3:
            path.write_text("someone else's")
        return False

    with pytest.raises(Exception, match="not a demo store"):
        build_demo_store(path, sales=200, cancelled=cancelled, replace="demo")
    assert path.read_text() == "someone else's"
    assert listing(tmp_path) == ["d.db"]


# -- defect 8: a rollback-journal till writer never fails because of a read -----------------
_WRITER = r"""
import json, select, sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], timeout=0.1, isolation_level=None)   # 100 ms busy timeout
ok, failed, worst = 0, 0, 0.0
print("ready", flush=True)
while not select.select([sys.stdin], [], [], 0.003)[0]:
    t = time.perf_counter()
    try:
        c.execute("BEGIN")
        c.execute("INSERT INTO sales (register_id, cashier_id, opened_at, closed_at, status) "
                  "VALUES ('9', 'C9', '2026-11-05T10:00:00', '2026-11-05T10:01:00', 'closed')")
        c.execute("COMMIT")
        ok += 1
    except sqlite3.OperationalError:
        failed += 1
        if c.in_transaction:
            c.execute("ROLLBACK")
    worst = max(worst, time.perf_counter() - t)
print(json.dumps({"ok": ok, "failed": failed, "worst_ms": worst * 1000}), flush=True)
"""


def test_defect_8_a_rollback_till_writer_never_fails_while_sales_are_read(tmp_path: Path) -> None:
    till = tmp_path / "till.db"
    build_demo_store(till, sales=60_000, seed=5)
    writer = subprocess.Popen([sys.executable, "-c", _WRITER, str(till)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
        with open_till(till) as t:
            assert t.latest_closed_at() is not None
            tx = t.read_transactions()          # every sale: ~175,000 lines
            t.read_products()
        assert tx.n_baskets > 50_000
    finally:
        out, _ = writer.communicate("stop\n", timeout=60)
    result = json.loads(out)
    assert result["ok"] >= 10 and result["failed"] == 0, result


def test_read_slices_follow_the_measured_speed(tmp_path: Path) -> None:
    from possuggest.till import reader as reader_module

    target = reader_module._SLICE_S
    assert reader_module._next_chunk(2000, 2000, target / 10) == 4000      # at most doubling
    assert reader_module._next_chunk(2000, 2000, target * 10) == 200       # 10x too slow
    assert reader_module._next_chunk(100, 100, 10.0) == reader_module._MIN_CHUNK
    assert reader_module._next_chunk(150_000, 150_000, 0.0) == reader_module._MAX_CHUNK


# -- defect 9: time limits, cancel, Ctrl-C, panel exit ----------------------------------------
def _endless_till(tmp_path: Path, which: str) -> tuple[Path, TillMapping]:
    till = make_till(tmp_path / "till.db", open_sale=["MOW-STD"])
    queries = {"sale_lines": LINES, "products": PRODUCTS, "open_sale": OPEN, which: ENDLESS}
    if which == "open_sale":
        queries["open_sale"] = ENDLESS.replace(", '2026-01-01T10:00:00' AS closed_at", "")
    return till, TillMapping(**queries)


def test_defect_9_a_mapped_query_that_never_finishes_is_stopped_at_the_time_limit(
        tmp_path: Path) -> None:
    till, mapping = _endless_till(tmp_path, "sale_lines")
    started = time.monotonic()
    with pytest.raises(TillError) as err:
        with open_till(till, TillSettings(mapping=mapping, query_timeout_s=0.3)) as t:
            t.read_transactions(365)
    assert time.monotonic() - started < 10
    assert str(err.value) == ("till query 'sales' did not finish within 0.3 s "
                              "(till.query_timeout_s) and was stopped")
    with pytest.raises(ConfigError, match="below the minimum"):
        settings_from_dict({"till": {"query_timeout_s": 0}})


def test_defect_9_cancel_stops_a_refresh_inside_a_query_that_never_finishes(
        tmp_path: Path) -> None:
    till, mapping = _endless_till(tmp_path, "sale_lines")
    settings = Settings()
    settings.till.mapping = mapping
    calls = {"n": 0}

    def cancelled() -> bool:            # true once the endless query has been running a while
        calls["n"] += 1
        return calls["n"] > 50

    started = time.monotonic()
    with pytest.raises(Cancelled):
        refresh(till, tmp_path / "rules.db", settings, cancelled=cancelled)
    assert time.monotonic() - started < 10


def test_defect_9_the_watcher_stops_at_once_inside_a_query_that_never_finishes(
        tmp_path: Path) -> None:
    till, mapping = _endless_till(tmp_path, "open_sale")
    w = TillWatcher(till, TillSettings(mapping=mapping))
    results: list[object] = []
    thread = threading.Thread(target=lambda: results.append(w.poll()), daemon=True)
    thread.start()
    assert wait_for(lambda: w._reader is not None)          # connected: now in the endless query
    w.interrupt()
    thread.join(10)
    assert not thread.is_alive() and len(results) == 1
    assert w.poll().sale is None                            # stopped: later polls do nothing
    w.close()


def test_defect_9_refresh_stops_on_ctrl_c(tmp_path: Path) -> None:
    till, mapping = _endless_till(tmp_path, "sale_lines")
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[till]\npath = "{till}"\n\n[till.mapping]\n'
                   f"sale_lines = {json.dumps(mapping.sale_lines)}\n"
                   f"products = {json.dumps(mapping.products)}\n"
                   f"open_sale = {json.dumps(mapping.open_sale)}\n")
    proc = subprocess.Popen([sys.executable, "-m", "possuggest", "--data-dir", str(tmp_path / "d"),
                             "--config", str(cfg), "refresh", "-q", "-v"],
                            stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    reading = threading.Event()

    def collect() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line.rstrip("\n"))
            if "reading sales" in line:
                reading.set()

    collector = threading.Thread(target=collect, daemon=True)
    collector.start()
    reading.wait(30)
    proc.send_signal(signal.SIGINT)
    try:
        code = proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail("refresh ignored Ctrl-C")
    collector.join(10)
    assert code == 130
    assert lines[-1] == "possuggest: interrupted"
    assert not any("Traceback" in line for line in lines)


def test_defect_9_the_panel_exits_cleanly_while_the_watcher_runs_a_query_that_never_ends(
        tmp_path: Path) -> None:
    till, mapping = _endless_till(tmp_path, "open_sale")
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[till]\npath = "{till}"\n\n[till.mapping]\n'
                   f"sale_lines = {json.dumps(mapping.sale_lines)}\n"
                   f"products = {json.dumps(mapping.products)}\n"
                   f"open_sale = {json.dumps(mapping.open_sale)}\n")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "possuggest", "--data-dir", str(tmp_path / "d"),
                           "--config", str(cfg), "gui", "--exit-after", "1"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "still running" not in proc.stderr
    assert time.monotonic() - started < 60


def test_reader_interrupt_from_another_thread_stops_the_query(tmp_path: Path) -> None:
    till, mapping = _endless_till(tmp_path, "sale_lines")
    readers: list[TillReader] = []
    errors: list[BaseException] = []

    def read() -> None:                 # a reader is used by the thread that opened it
        try:
            readers.append(TillReader(till, TillSettings(mapping=mapping)).connect())
            readers[0].read_transactions()
        except BaseException as exc:  # noqa: BLE001 - the test looks at what it was
            errors.append(exc)
        finally:
            if readers:
                readers[0].close()

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    assert wait_for(lambda: readers)
    readers[0].interrupt()              # running the endless query, or about to
    thread.join(10)
    assert not thread.is_alive() and len(errors) == 1 and isinstance(errors[0], Cancelled)
