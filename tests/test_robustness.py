"""Issue 12's robustness defects, each with a test named after it: a damaged or missing
possuggest.db is moved aside and rebuilt (CLI, serve, panel); a full disk during refresh is
one line and keeps the previous rule set; bad command-line input and hostile sales files
(huge fields, devices, pipes) are one-line errors; a config file others can write and a short
API token are refused. Plus a bounded hypothesis fuzz of the sales-file readers."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import make_till
from possuggest.cli.main import main
from possuggest.core.errors import ConfigError, InputFileError, PossuggestError
from possuggest.evaluation import datasets
from possuggest.evaluation.datasets import read_sales_file
from possuggest.store.rule_store import RuleStore

POSIX = os.name == "posix"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, *words: str) -> str:
    """Exit 2, stderr a single 'possuggest: error: …' line holding ``words``."""
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("possuggest: error: "), err
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


def kept_aside(data: Path) -> list[Path]:
    return sorted(p for p in data.iterdir()
                  if re.fullmatch(r"possuggest\.db\.damaged-\d{8}-\d{6}(-\d+)?", p.name))


# -- a damaged or missing possuggest.db (defects 10a and 12a) --------------------------------
def _refreshed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[list[str], Path]:
    till = make_till(tmp_path / "till.db")
    data = tmp_path / "data"
    g = ["--data-dir", str(data), "--till-db", str(till)]
    assert run(capsys, "refresh", "-q", *g)[0] == 0
    return g, data / "possuggest.db"


def _checkpoint(db: Path) -> None:
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def _truncate(db: Path) -> None:
    _checkpoint(db)
    data = db.read_bytes()
    db.write_bytes(data[: len(data) // 3])


def _garbage(db: Path) -> None:
    db.write_bytes(b"not a database at all " * 500)


def _wrong_schema(db: Path) -> None:
    db.unlink()
    conn = sqlite3.connect(db)
    conn.executescript("CREATE TABLE rule_sets (y); CREATE TABLE rules (x);")
    conn.close()


def _another_programs(db: Path) -> None:
    db.unlink()
    make_till(db)                      # e.g. the till copied over possuggest's database


def _folder(db: Path) -> None:
    db.unlink()
    db.mkdir()
    (db / "something").write_text("x")


DAMAGE = {"truncated": _truncate, "garbage": _garbage, "wrong_schema": _wrong_schema,
          "another_programs_database": _another_programs, "folder": _folder}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_defect_12_damaged_store_is_kept_aside_and_rebuilt(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: str) -> None:
    g, db = _refreshed(tmp_path, capsys)
    for side in ("-wal", "-shm"):
        Path(f"{db}{side}").unlink(missing_ok=True)
    DAMAGE[damage](db)
    code, out, err = run(capsys, "suggest", "DRILL-18V", "--json", *g)
    assert code == 0 and "Traceback" not in err, err
    assert json.loads(out)[0]["sku"] == "BITS"          # rules mined again from the till
    said = [ln for ln in err.splitlines() if "damaged" in ln]
    kept = kept_aside(db.parent)
    assert len(said) == 1 and len(kept) == 1, err
    assert f"kept aside as {kept[0].name}" in said[0]
    assert "rules are mined again from the till" in said[0]
    # the new database is possuggest's and healthy; the damaged one is kept as it was
    with RuleStore(db) as store:
        assert store.active_rule_set() is not None
    assert kept[0].is_dir() == (damage == "folder")


def test_defect_12_damage_found_page_by_page_by_the_managers_commands(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Pages overwritten in the middle: the header is fine, SQLite opens the file; the
    manager's commands check it page by page and move it aside before listing anything."""
    g, db = _refreshed(tmp_path, capsys)
    _checkpoint(db)
    conn = sqlite3.connect(db)
    page, count = (conn.execute(f"PRAGMA {p}").fetchone()[0] for p in ("page_size", "page_count"))
    conn.close()
    with open(db, "r+b") as f:
        for n in range(2, count):          # every page but the header's
            f.seek(n * page)
            f.write(b"\xde\xad\xbe\xef" * (page // 4))
    code, out, err = run(capsys, "rule-sets", *g)
    assert code == 0 and "Traceback" not in err, err
    assert "no rule sets yet" in out and len(kept_aside(db.parent)) == 1
    assert "run 'possuggest refresh' to mine the rules again" in err
    code, out, err = run(capsys, "refresh", "-q", *g)
    assert code == 0 and "rule set 1 active" in out


def test_defect_10_missing_store_with_its_wal_left_behind_is_rebuilt(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """possuggest.db deleted but its -wal left: SQLite would replay the old pages into the
    new file; the leftovers are moved aside and the rules mined again."""
    g, db = _refreshed(tmp_path, capsys)
    conn = sqlite3.connect(db, isolation_level=None)   # a write the -wal holds
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    conn.execute("UPDATE rule_sets SET notes = notes")
    wal = Path(f"{db}-wal").read_bytes()
    conn.close()
    db.unlink()
    Path(f"{db}-shm").unlink(missing_ok=True)
    Path(f"{db}-wal").write_bytes(wal or b"x" * 4096)
    code, out, err = run(capsys, "suggest", "DRILL-18V", *g)
    assert code == 0 and "Traceback" not in err, err
    kept = [p for p in db.parent.iterdir() if re.fullmatch(r"possuggest\.db\.damaged-[\d-]+-wal",
                                                            p.name)]
    assert len(kept) == 1 and f"kept aside as {kept[0].name}" in err
    assert "-wal file was left behind" in err
    with RuleStore(db) as store:
        assert store.active_rule_set() is not None


def test_defect_12_serve_starts_with_a_damaged_store(tmp_path: Path) -> None:
    from possuggest.services.context import AppContext
    from possuggest.services.serve import run_serve

    till = make_till(tmp_path / "till.db")
    data = tmp_path / "d"
    data.mkdir()
    (data / "config.toml").write_text("[api]\nport = 0\n")
    (data / "possuggest.db").write_bytes(b"garbage" * 1000)
    ctx = AppContext.create(str(data), None, str(till))
    stop = threading.Event()
    said = threading.Event()
    lines: list[str] = []
    failed: list[BaseException] = []

    def announce(text: str) -> None:
        lines.append(text)
        said.set()

    def serve() -> None:
        try:
            run_serve(ctx, stop=stop, announce=announce)
        except BaseException as exc:  # noqa: BLE001 - asserted below
            failed.append(exc)
            said.set()

    th = threading.Thread(target=serve, daemon=True)
    th.start()
    try:
        assert said.wait(60) and not failed, failed
        base = re.search(r"http://\S+", lines[0]).group(0)  # type: ignore[union-attr]
        with urllib.request.urlopen(base + "/v1/health", timeout=10) as resp:
            health = json.loads(resp.read())
        assert int(health["rule_set"]) >= 1           # the rules were mined again
        assert len(kept_aside(data)) == 1
    finally:
        stop.set()
        th.join(30)
    assert not th.is_alive()


def test_defect_12_panel_shows_a_banner_for_a_damaged_store(harness, qtbot,  # type: ignore[no-untyped-def]
                                                             tmp_path: Path) -> None:
    from panel_harness import WAIT_MS, make_context

    from possuggest.ui.controller import PanelOptions

    till = make_till(tmp_path / "till.db")
    ctx = make_context(tmp_path / "data", till)
    ctx.paths.rules_db.write_bytes(b"garbage" * 1000)
    controller, window = harness.open(ctx, PanelOptions(api_port=0))
    qtbot.waitUntil(lambda: "store" in window.banners and controller.rules_state == "ready",
                    timeout=WAIT_MS)
    banner = window.banners["store"]
    kept = kept_aside(ctx.paths.data_dir)
    assert banner.level == "warn" and len(kept) == 1
    assert "damaged" in banner.text and f"kept aside as {kept[0].name}" in banner.text
    assert "Rules are being rebuilt from the till" in banner.text
    assert controller.engine is not None and controller.engine.rules is not None


# -- a full disk during refresh (defect 12b) --------------------------------------------------
def test_defect_12_disk_full_during_refresh_is_one_line_and_keeps_the_rules(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    g, db = _refreshed(tmp_path, capsys)
    init = RuleStore._init_schema

    def no_room_to_grow(self: RuleStore) -> None:   # the disk is full: the file cannot grow
        init(self)
        pages = self.conn.execute("PRAGMA page_count").fetchone()[0]
        self.conn.execute(f"PRAGMA max_page_count = {pages}")

    monkeypatch.setattr(RuleStore, "_init_schema", no_room_to_grow)
    code, out, err = run(capsys, "refresh", "-q", *g)
    line = assert_one_line_error(code, err, "no space left on the disk holding",
                                 str(db.parent), "database or disk is full",
                                 "the rules in use are unchanged")
    assert "rollback" not in line and out == ""
    monkeypatch.undo()
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("SELECT id, active FROM rule_sets").fetchall() == [(1, 1)]
        for table in ("rules", "item_counts", "products"):      # nothing half-written
            assert conn.execute(f"SELECT count(*) FROM {table} WHERE rule_set_id != 1"
                                ).fetchone()[0] == 0
    finally:
        conn.close()


# -- bad input on the command line (defect 12c) ----------------------------------------------
def test_defect_12_csv_field_over_128k_is_one_line(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "sales.csv"
    f.write_text('bread,milk\n"' + "x" * 140_000 + '",butter\nmilk,eggs\n', encoding="utf-8")
    code, _, err = run(capsys, "--data-dir", str(tmp_path / "d"), "evaluate", str(f),
                       "--format", "baskets", "-q")
    assert_one_line_error(code, err, "sales.csv", "line 2", "longer than 131,072 characters")


def test_defect_12_negative_seed_is_one_line(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "demo-db", str(tmp_path / "demo.db"), "--seed", "-1", "-q")
    assert_one_line_error(code, err, "--seed must be 0 or more")
    assert not (tmp_path / "demo.db").exists()
    f = tmp_path / "b.csv"
    f.write_text("a,b\nb,c\na,c\n", encoding="utf-8")
    code, _, err = run(capsys, "--data-dir", str(tmp_path / "d"), "evaluate", str(f),
                       "--seed", "-1", "-q")
    assert_one_line_error(code, err, "--seed must be 0 or more")


@pytest.mark.parametrize("fmt", ["%", "%Q", "%Y-%m-%d%", "%Y%Y"])
def test_defect_12_bad_time_format_is_one_line(tmp_path: Path, fmt: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "long.csv"
    f.write_text("Transaction,Item,Date\n1,a,2020-01-01\n1,b,2020-01-01\n2,a,2020-01-02\n",
                 encoding="utf-8")
    code, _, err = run(capsys, "--data-dir", str(tmp_path / "d"), "evaluate", str(f),
                       "--time-format", fmt, "-q")
    assert_one_line_error(code, err, f"time format {fmt!r} is not a valid strptime pattern")


def _evaluate_in_a_child(tmp_path: Path, target: str) -> subprocess.CompletedProcess[str]:
    """`possuggest evaluate TARGET` in a child process with 2 GiB of address space at most,
    stopped after 60 s: a regression runs out of memory or hangs there, not in pytest."""
    def limit() -> None:  # pragma: no cover - runs in the child
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))

    return subprocess.run(
        [sys.executable, "-m", "possuggest", "--data-dir", str(tmp_path / "d"), "evaluate",
         target, "-q"], capture_output=True, text=True, timeout=60, preexec_fn=limit,
        env={**os.environ, "POSSUGGEST_SITE_CONFIG": str(tmp_path / "none.toml")})


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_defect_12_evaluate_dev_zero_is_refused(tmp_path: Path) -> None:
    done = _evaluate_in_a_child(tmp_path, "/dev/zero")
    assert_one_line_error(done.returncode, done.stderr, "/dev/zero is not a regular file")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_defect_12_evaluate_fifo_is_refused_without_hanging(tmp_path: Path) -> None:
    fifo = tmp_path / "sales.csv"
    os.mkfifo(fifo)
    done = _evaluate_in_a_child(tmp_path, str(fifo))
    assert_one_line_error(done.returncode, done.stderr, "is not a regular file")
    with pytest.raises(InputFileError, match="not a regular file"):
        read_sales_file(fifo)


def test_defect_12_sales_file_over_the_size_limit_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(datasets, "MAX_FILE_BYTES", 1000)
    f = tmp_path / "big.csv"
    f.write_text("a,b\n" * 500, encoding="utf-8")
    with pytest.raises(InputFileError, match="2,000 bytes, more than the 1,000 bytes a sales "
                                             "file may have") as err:
        read_sales_file(f)
    assert "\n" not in str(err.value)
    f.write_text("a,b\n" * 100, encoding="utf-8")
    assert read_sales_file(f).tx.n_baskets == 100


# -- the manager's config (defect 13) --------------------------------------------------------
@pytest.mark.skipif(not POSIX, reason="POSIX file modes")
def test_defect_13_world_writable_config_is_refused(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from possuggest.core.config import load_settings

    cfg = tmp_path / "config.toml"
    cfg.write_text("[till]\nregister = \"2\"\n", encoding="utf-8")
    cfg.chmod(0o666)
    with pytest.raises(ConfigError) as err:
        load_settings(cfg)
    msg = str(err.value)
    assert "\n" not in msg and str(cfg) in msg and f"chmod o-w {cfg}" in msg
    code, _, err_text = run(capsys, "--data-dir", str(tmp_path / "d"), "--config", str(cfg),
                            "info")
    assert_one_line_error(code, err_text, "every user", f"chmod o-w {cfg}")
    cfg.chmod(0o644)
    assert load_settings(cfg).till.register == "2"


@pytest.mark.skipif(not POSIX, reason="POSIX file modes")
def test_defect_13_config_writable_by_a_shared_group_is_refused(tmp_path: Path) -> None:
    import grp
    import pwd

    from possuggest.core.config import check_config_permissions

    cfg = tmp_path / "config.toml"
    cfg.write_text("", encoding="utf-8")
    st = os.stat(cfg)
    owner = pwd.getpwuid(st.st_uid)
    shared = next((g for g in grp.getgrall() if g.gr_gid != owner.pw_gid), None)
    if shared is None:
        pytest.skip("no group other than the owner's own")

    def as_if(mode: int, gid: int) -> os.stat_result:
        return os.stat_result((mode, st.st_ino, st.st_dev, 1, st.st_uid, gid, 0, 0, 0, 0))

    with pytest.raises(ConfigError, match=rf"group '{re.escape(shared.gr_name)}'.*chmod g-w"):
        check_config_permissions(cfg, as_if(0o100664, shared.gr_gid))
    check_config_permissions(cfg, as_if(0o100644, shared.gr_gid))     # not group-writable
    own = grp.getgrgid(owner.pw_gid)
    if own.gr_name == owner.pw_name and set(own.gr_mem) <= {owner.pw_name}:
        check_config_permissions(cfg, as_if(0o100664, owner.pw_gid))  # a private group: fine


@pytest.mark.parametrize("token, why", [
    ("x", "too short (1 character)"),
    ("s3cr3t-but-15ch", "too short (15 characters)"),
    ("sixteen chars ok", "visible ASCII"),
    ("jöker-jöker-jöker", "visible ASCII"),
])
def test_defect_13_weak_api_token_is_refused(token: str, why: str) -> None:
    from possuggest.core.config import settings_from_dict

    with pytest.raises(ConfigError) as err:
        settings_from_dict({"api": {"token": token}})
    msg = str(err.value)
    assert "'api.token'" in msg and why in msg and "\n" not in msg
    assert token not in msg                      # a secret is never echoed


def test_api_token_of_16_visible_characters_or_none_is_accepted() -> None:
    from possuggest.core.config import settings_from_dict

    assert settings_from_dict({"api": {"token": "k" * 16}}).api.token == "k" * 16
    assert settings_from_dict({"api": {"token": ""}}).api.token == ""


# -- fuzz: the sales-file readers never fail with anything but a one-line error ---------------
FUZZ = settings(max_examples=300, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
_PIECES = st.sampled_from(
    list(',;\t"\n\r |abcXYZ0129-:/.%\x00é€Ａ') +
    ["Transaction", "Item", "Date", "Time", "Quantity", "NONE", "2020-01-02", "01/02/2020",
     "13/02/2020 10:30", "-1", "1e400", "nan", "99999999999999999999999", "\ufeff", "\ud800"])
_TEXT = st.lists(_PIECES, max_size=200).map("".join)
_ENCODING = st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "cp1252", "latin-1"])
_FORMAT = st.sampled_from([None, "baskets", "long", "fimi"])


def _read_or_one_line_error(path: Path, data: bytes, fmt: str | None, **kw: object) -> None:
    path.write_bytes(data)
    try:
        loaded = read_sales_file(path, fmt, **kw)  # type: ignore[arg-type]
    except PossuggestError as exc:
        msg = str(exc)
        assert msg and "\n" not in msg, repr(msg)
        return
    tx = loaded.tx
    assert len(tx.basket) == len(tx.item) and tx.n_baskets >= 0
    if len(tx.basket):
        assert tx.basket.max() < tx.n_baskets and tx.item.max() < tx.n_items


@FUZZ
@given(data=st.binary(max_size=3000), fmt=_FORMAT, suffix=st.sampled_from([".csv", ".dat"]))
def test_fuzz_sales_file_random_bytes(tmp_path: Path, data: bytes, fmt: str | None,
                                      suffix: str) -> None:
    _read_or_one_line_error(tmp_path / f"f{suffix}", data, fmt)


@FUZZ
@given(text=_TEXT, encoding=_ENCODING, fmt=_FORMAT,
       time_cols=st.sampled_from([None, "Date", "Date,Time", "Nope", ""]),
       time_format=st.one_of(st.sampled_from([None, "%d/%m/%Y", "epoch", "%Y-%m-%d %H:%M"]),
                             st.text(max_size=6)),
       delimiter=st.one_of(st.sampled_from([None, ",", ";", "\t", "|"]), st.text(max_size=2)),
       qty_col=st.sampled_from([None, "Quantity", "Nope"]))
def test_fuzz_sales_file_csvish_text(tmp_path: Path, text: str, encoding: str,
                                     fmt: str | None, time_cols: str | None,
                                     time_format: str | None, delimiter: str | None,
                                     qty_col: str | None) -> None:
    _read_or_one_line_error(tmp_path / "f.csv", text.encode(encoding, errors="replace"), fmt,
                            time_cols=time_cols, time_format=time_format, delimiter=delimiter,
                            qty_col=qty_col)


@FUZZ
@given(rows=st.lists(st.lists(_TEXT.map(lambda s: s.replace("\n", "").replace("\r", "")),
                              max_size=5), max_size=40),
       header=st.sampled_from(["Transaction,Item,Date,Quantity", "Transaction;Item", ""]),
       encoding=_ENCODING, fmt=_FORMAT,
       ticket_cols=st.sampled_from([None, "Transaction", "Transaction,Date", ""]),
       item_col=st.sampled_from([None, "Item", "", "Nope"]))
def test_fuzz_sales_file_rows(tmp_path: Path, rows: list[list[str]], header: str,
                              encoding: str, fmt: str | None, ticket_cols: str | None,
                              item_col: str | None) -> None:
    text = header + "\n" + "\n".join(",".join(r) for r in rows)
    _read_or_one_line_error(tmp_path / "f.csv", text.encode(encoding, errors="replace"), fmt,
                            ticket_cols=ticket_cols, item_col=item_col)
