"""A till on a real database server (PostgreSQL, MariaDB), read through ``[till] url``.

Each fixture till (SQLite) is copied into a fresh database on each server and read back
read-only: the same baskets, products, open sale and rules as from the SQLite file; writes
refused through possuggest's session even with an account that may write; the README's
SELECT-only accounts work (password from the environment) and cannot write; the change
token notices a commit within two polls; the till's rows are unchanged after every test
(row counts and a checksum per table).

The servers come from ``scripts/test_servers.sh`` (CI's ``.ci/run`` sources it), which
exports ``POSSUGGEST_TEST_PG_URL`` / ``POSSUGGEST_TEST_MYSQL_URL``; without them these tests
skip, saying so. The URL and password checks at the end need no server.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import sqlite3
import textwrap
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import preset_fixtures
import pytest

from conftest import make_till
from possuggest.core.config import Settings, TillMapping, TillSettings, settings_from_dict
from possuggest.core.errors import Cancelled, ConfigError, TillError
from possuggest.till.reader import TillReader

sa = pytest.importorskip("sqlalchemy", reason="the server tests need the test extra "
                                              "(SQLAlchemy, psycopg, PyMySQL)")
from sqlalchemy import text  # noqa: E402

PG_URL = os.environ.get("POSSUGGEST_TEST_PG_URL", "")
MY_URL = os.environ.get("POSSUGGEST_TEST_MYSQL_URL", "")
README = Path(__file__).resolve().parents[1] / "README.md"
HOW = "run `. scripts/test_servers.sh` first (CI's .ci/run does)"

SERVERS = [
    pytest.param("postgresql", marks=pytest.mark.skipif(
        not PG_URL, reason=f"no PostgreSQL: POSSUGGEST_TEST_PG_URL is not set; {HOW}")),
    pytest.param("mariadb", marks=pytest.mark.skipif(
        not MY_URL, reason=f"no MariaDB: POSSUGGEST_TEST_MYSQL_URL is not set; {HOW}")),
]
OPEN_SALE = ["MOW-STD", "GRASS-CATCH"]
_ISO = re.compile(r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?$")


# -- a fixture till copied onto a server ---------------------------------------------------------
@dataclasses.dataclass
class ServerTill:
    """One fixture till loaded into its own database on one server."""

    kind: str                   # postgresql | mariadb
    url: str                    # the database, as the admin account (may write)
    sqlite_path: Path           # the same till as a SQLite file
    settings: TillSettings      # how possuggest reads it (SQLite: url empty)
    engine: Any                 # admin engine on the database
    layout: str = "reference"   # the till's table layout (tests/preset_fixtures.py)
    annex: str | None = None    # till.store selecting the fixture's second store

    def server_settings(self, **changes: Any) -> TillSettings:
        return dataclasses.replace(self.settings, url=self.url, path="", **changes)

    def reader(self, **changes: Any) -> TillReader:
        return TillReader("", self.server_settings(**changes))


def _server_type(kind: str, decl: str, values: list[Any], pk: bool) -> Any:
    """A server column type for a SQLite column: its declared type, else what it holds
    (ISO text becomes a timestamp, as the tills store times; REAL becomes NUMERIC, so
    prices and quantities come back as Decimal)."""
    d = decl.upper()
    present = [v for v in values if v is not None]
    if "JSON" in d:
        if kind == "postgresql":
            from sqlalchemy.dialects.postgresql import JSONB
            return JSONB()
        return sa.JSON()
    if "DATE" in d or "TIME" in d or (present and all(isinstance(v, str) and _ISO.match(v)
                                                      for v in present)):
        return sa.DateTime()
    if "INT" in d or "BOOL" in d:
        return sa.BigInteger()
    if any(x in d for x in ("REAL", "FLOA", "DOUB", "NUM", "DEC")):
        return sa.Numeric(18, 4)
    if "BLOB" in d:
        return sa.LargeBinary()
    if kind == "mariadb" and pk:
        return sa.String(191)
    return sa.Text()


def _server_value(tp: Any, v: Any) -> Any:
    if v is None:
        return None
    if isinstance(tp, sa.DateTime) and isinstance(v, str):
        return datetime.fromisoformat(v.replace("Z", ""))
    if isinstance(tp, sa.JSON) and isinstance(v, str):
        return json.loads(v)
    return v


def copy_sqlite_till(sqlite_path: Path, engine: Any, kind: str) -> None:
    """Every table of a SQLite till into the server database (same names and columns)."""
    src = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)
    md = sa.MetaData()
    data: list[tuple[Any, list[tuple[Any, ...]]]] = []
    names = [r[0] for r in src.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                       "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    for name in names:
        info = src.execute(f'PRAGMA table_info("{name}")').fetchall()
        rows = src.execute(f'SELECT * FROM "{name}"').fetchall()
        cols = []
        for i, (_cid, col, decl, _nn, _dflt, pk) in enumerate(info):
            tp = _server_type(kind, decl or "", [r[i] for r in rows], bool(pk))
            cols.append(sa.Column(col, tp, primary_key=bool(pk), autoincrement=False))
        table = sa.Table(name, md, *cols)
        data.append((table, rows))
    src.close()
    md.create_all(engine)
    with engine.begin() as conn:
        for table, rows in data:
            cols = list(table.columns)
            batch = [{c.name: _server_value(c.type, v) for c, v in zip(cols, r)} for r in rows]
            for start in range(0, len(batch), 2000):
                conn.execute(table.insert(), batch[start:start + 2000])


def _database_url(admin_url: str, name: str) -> str:
    return sa.engine.make_url(admin_url).set(database=name).render_as_string(
        hide_password=False)


def _admin(kind: str) -> str:
    return PG_URL if kind == "postgresql" else MY_URL


def create_database(kind: str) -> tuple[str, Callable[[], None]]:
    """A new empty database on the server (URL as admin) and how to drop it."""
    name = f"possuggest_t_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(_admin(kind), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()

    def drop() -> None:
        eng = sa.create_engine(_admin(kind), isolation_level="AUTOCOMMIT")
        with eng.connect() as conn:
            if kind == "postgresql":
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            else:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        eng.dispose()

    return _database_url(_admin(kind), name), drop


def table_fingerprints(engine: Any) -> dict[str, tuple[int, str]]:
    """Row count and a checksum of every table: the till must look the same afterwards."""
    out: dict[str, tuple[int, str]] = {}
    insp = sa.inspect(engine)
    with engine.connect() as conn:
        for name in sorted(insp.get_table_names()):
            q = engine.dialect.identifier_preparer.quote(name)
            count = int(conn.execute(text(f"SELECT COUNT(*) FROM {q}")).scalar_one())
            if engine.dialect.name == "postgresql":
                digest = conn.execute(text(
                    f"SELECT md5(COALESCE(string_agg(t::text, '|' ORDER BY t::text), '')) "
                    f"FROM {q} AS t")).scalar_one()
            else:
                digest = conn.execute(text(f"CHECKSUM TABLE {q} EXTENDED")).all()[0][1]
            out[name] = (count, str(digest))
        conn.rollback()
    return out


def _reference_case(folder: Path) -> tuple[Path, TillSettings]:
    path = make_till(folder / "reference.db", open_sale=OPEN_SALE)
    return path, TillSettings(path=str(path), register="1")


@pytest.fixture(scope="module", params=SERVERS)
def till(request: pytest.FixtureRequest,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerTill]:
    kind = request.param
    folder = tmp_path_factory.mktemp(f"till-{kind}")
    sqlite_path, settings = _reference_case(folder)
    url, drop = create_database(kind)
    engine = sa.create_engine(url)
    try:
        copy_sqlite_till(sqlite_path, engine, kind)
        yield ServerTill(kind, url, sqlite_path, settings, engine)
    finally:
        engine.dispose()
        drop()


@pytest.fixture(autouse=True)
def _till_rows_unchanged(request: pytest.FixtureRequest) -> Iterator[None]:
    """After every server test, the till's tables hold exactly what they held before (the
    tests that write do so through the admin account and say which table they restore)."""
    name = next((n for n in ("till", "preset_till") if n in request.fixturenames), None)
    if name is None:
        yield
        return
    t: ServerTill = request.getfixturevalue(name)
    before = table_fingerprints(t.engine)
    yield
    assert table_fingerprints(t.engine) == before


# -- the same till through SQLite and through the server -----------------------------------------
def _read(reader: TillReader) -> tuple[Any, Any, Any]:
    with reader as r:
        return r.read_products(), r.read_transactions(365), r.read_open_sale()


def test_the_server_gives_the_same_baskets_products_open_sale_and_rules(till: ServerTill) -> None:
    from possuggest.mining.miner import mine_rules

    products_l, tx_l, sale_l = _read(TillReader(till.sqlite_path, till.settings))
    reader = till.reader()
    assert type(reader).__name__ == "ServerReader"
    products_s, tx_s, sale_s = _read(reader)
    assert products_s == products_l
    assert tx_s.n_baskets == tx_l.n_baskets > 300
    assert list(tx_s.items) == list(tx_l.items)
    # the same (basket, item) pairs; a server may give one sale's lines in another order
    assert sorted(zip(tx_s.basket.tolist(), tx_s.item.tolist())) == \
        sorted(zip(tx_l.basket.tolist(), tx_l.item.tolist()))
    np.testing.assert_array_equal(tx_s.basket_time, tx_l.basket_time)
    assert [str(x) for x in tx_s.basket_ids] == [str(x) for x in tx_l.basket_ids]
    assert sale_s == sale_l
    assert sale_s.skus == OPEN_SALE
    mining = Settings().mining
    rules_l = mine_rules(tx_l, mining, products_l).rules
    rules_s = mine_rules(tx_s, mining, products_s).rules
    assert len(rules_l) > 5
    assert rules_s.equals(rules_l)


def test_sales_are_streamed_from_a_server_side_cursor(
        till: ServerTill, monkeypatch: pytest.MonkeyPatch) -> None:
    import possuggest.till.server as server

    monkeypatch.setattr(server, "YIELD_PER", 100)
    seen: list[float] = []
    with till.reader() as r:
        tx = r.read_transactions(365, progress=lambda f, _m: seen.append(f))
    assert tx.n_baskets > 300
    assert len(seen) >= 8                   # one report per 100 lines fetched
    assert seen == sorted(seen) and seen[-1] == pytest.approx(1.0)


def test_a_refresh_and_the_commands_read_the_server_till(
        till: ServerTill, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """refresh, suggest, rules and info through ``[till] url`` say what they say for the same
    till read from its SQLite file."""
    from possuggest.cli.main import main

    outputs = []
    for where, line in (("server", f'url = "{till.url}"'),
                        ("file", f'path = "{till.sqlite_path}"')):
        config = tmp_path / f"{where}.toml"
        config.write_text(f'[till]\n{line}\nregister = "1"\n', encoding="utf-8")
        config.chmod(0o600)
        base = ["--data-dir", str(tmp_path / where), "--config", str(config)]
        assert main([*base, "refresh", "-q"]) == 0
        refreshed = capsys.readouterr().out
        assert "401 sales" in refreshed
        assert main([*base, "suggest", "MOW-STD", "DRILL-18V", "--json"]) == 0
        suggested = json.loads(capsys.readouterr().out)
        assert main([*base, "rules", "--json", "--limit", "500"]) == 0
        rules = json.loads(capsys.readouterr().out)
        assert main([*base, "info"]) == 0
        assert "readable" in capsys.readouterr().out
        outputs.append((suggested, rules))
    assert outputs[0] == outputs[1]
    assert len(outputs[0][1]) > 5 and outputs[0][0]


# -- read-only in layers -------------------------------------------------------------------------
def _write_through_session(reader: TillReader) -> None:
    reader._read("write test", lambda c: c.execute(        # type: ignore[attr-defined]
        text("INSERT INTO products (sku, name, price, active) VALUES ('NEW', 'New', 1, 1)")))


def test_writes_are_refused_through_the_session_even_for_an_account_that_may_write(
        till: ServerTill) -> None:
    # the admin account may write: its own connection can (rolled back at once)
    with till.engine.connect() as conn:
        conn.execute(text("INSERT INTO products (sku, name, price, active) "
                          "VALUES ('NEW', 'New', 1, 1)"))
        conn.rollback()
    with till.reader() as r:
        with pytest.raises(TillError, match="refused a write") as err:
            _write_through_session(r)
        assert "\n" not in str(err.value)
        assert r.read_open_sale().skus == OPEN_SALE      # the session still reads after it


def test_each_session_layer_is_in_place(till: ServerTill) -> None:
    settings = till.server_settings(query_timeout_s=7.5)
    from possuggest.till.server import create_readonly_engine

    engine = create_readonly_engine(settings)
    try:
        with engine.connect() as conn:
            if till.kind == "postgresql":
                assert conn.execute(text("SHOW default_transaction_read_only")).scalar() == "on"
                assert conn.execute(text("SHOW transaction_read_only")).scalar() == "on"
                assert conn.execute(text("SHOW statement_timeout")).scalar() == "7500ms"
            else:
                ro, limit = conn.execute(text("SELECT @@session.tx_read_only, "
                                              "@@session.max_statement_time")).one()
                assert int(ro) == 1 and float(limit) == pytest.approx(7.5)
            conn.rollback()
    finally:
        engine.dispose()
    if till.kind == "postgresql":
        # behind a pooler that drops connect options, psycopg's read_only still holds
        from sqlalchemy import create_engine
        bare = create_engine(settings.url, execution_options={"postgresql_readonly": True})
        try:
            with bare.connect() as conn, pytest.raises(sa.exc.DBAPIError, match="read-only"):
                conn.execute(text("INSERT INTO products (sku, name, price, active) "
                                  "VALUES ('NEW', 'New', 1, 1)"))
        finally:
            bare.dispose()


def test_no_transaction_stays_open_between_polls(till: ServerTill) -> None:
    with till.reader() as r:
        r.read_open_sale()
        r.data_version()
        conn = r._server                                      # type: ignore[attr-defined]
        assert conn is not None and not conn.in_transaction()


def _readme_grants(engine_name: str) -> str:
    """The README's SQL block that makes the SELECT-only account for ``engine_name``."""
    text_ = README.read_text(encoding="utf-8")
    blocks = [textwrap.dedent(b) for b in re.findall(r"^([ \t]*```sql\n.*?)^[ \t]*```",
                                                      text_, flags=re.S | re.M)]
    blocks = [b.split("\n", 1)[1] for b in blocks]          # without the ```sql line
    found = [b for b in blocks if b.startswith(f"-- {engine_name}: a SELECT-only account")]
    assert found, f"README.md has no SELECT-only account block for {engine_name}"
    return found[0]


def _statements(sql: str) -> list[str]:
    body = "\n".join(line for line in sql.splitlines() if not line.strip().startswith("--"))
    return [s.strip() for s in body.split(";") if s.strip()]


def test_the_readme_select_only_account_reads_with_the_password_from_the_environment(
        till: ServerTill, monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's GRANT lines, run as written (database and password filled in): the
    account reads the till, and even without possuggest's session it cannot write."""
    db = sa.engine.make_url(till.url).database
    password = "s3cret-" + uuid.uuid4().hex[:8]
    block = _readme_grants("PostgreSQL" if till.kind == "postgresql" else "MariaDB / MySQL")
    sql = block.replace("shop", db or "").replace("change-me", password)
    sql = sql.replace("possuggest'@'%'", "possuggest_reader'@'localhost'")
    sql = re.sub(r"\bpossuggest\b(?!_)", "possuggest_reader", sql)
    admin = sa.create_engine(till.url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            for stmt in _statements(sql):
                conn.execute(text(stmt))
        user_url = sa.engine.make_url(till.url).set(username="possuggest_reader")
        url = user_url.render_as_string(hide_password=False)
        monkeypatch.setenv("POSSUGGEST_TILL_PASSWORD", password)
        with TillReader("", dataclasses.replace(till.server_settings(), url=url)) as r:
            assert r.read_open_sale().skus == OPEN_SALE
        # no session layer at all: the account's rights alone refuse the write
        raw = sa.create_engine(user_url.set(password=password))
        try:
            with raw.connect() as conn:
                if till.kind == "postgresql":
                    # undo the README's role default for the next transaction
                    conn.execute(text("SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE"))
                    conn.commit()
                with pytest.raises(sa.exc.DBAPIError, match="(?i)denied"):
                    conn.execute(text("INSERT INTO products (sku, name, price, active) "
                                      "VALUES ('NEW', 'New', 1, 1)"))
        finally:
            raw.dispose()
        monkeypatch.setenv("POSSUGGEST_TILL_PASSWORD", "wrong")
        with pytest.raises(TillError, match="cannot be reached") as err:
            TillReader("", dataclasses.replace(till.server_settings(), url=url)).connect()
        assert "\n" not in str(err.value) and "wrong" not in str(err.value)
    finally:
        with admin.connect() as conn:
            if till.kind == "postgresql":
                conn.execute(text("DROP OWNED BY possuggest_reader"))
                conn.execute(text("DROP ROLE possuggest_reader"))
            else:
                conn.execute(text("DROP USER 'possuggest_reader'@'localhost'"))
        admin.dispose()


def test_a_query_past_the_time_limit_is_stopped_by_the_server(till: ServerTill) -> None:
    slow = ("SELECT 1 AS sale_id, 'X' AS sku, 1 AS qty FROM (SELECT pg_sleep(5)) AS s"
            if till.kind == "postgresql" else
            "SELECT 1 AS sale_id, 'X' AS sku, COUNT(*) AS qty FROM seq_1_to_1000000000")
    mapping = dataclasses.replace(till.settings.mapping, open_sale=slow)
    reader = till.reader(query_timeout_s=0.3, mapping=mapping)
    # the column check reads no row (WHERE 1 = 0), so connecting is quick
    with reader as r:
        with pytest.raises(TillError, match=r"did not finish within 0.3 s") as err:
            r.read_open_sale()
        assert "\n" not in str(err.value)


def test_interrupt_from_another_thread_stops_a_running_query(till: ServerTill) -> None:
    slow = ("SELECT 1 AS sale_id, 'X' AS sku, 1 AS qty FROM (SELECT pg_sleep(30)) AS s"
            if till.kind == "postgresql" else
            "SELECT 1 AS sale_id, 'X' AS sku, COUNT(*) AS qty FROM seq_1_to_100000000000")
    mapping = dataclasses.replace(till.settings.mapping, open_sale=slow)
    with till.reader(mapping=mapping) as r:
        done = threading.Event()
        stopper = threading.Thread(target=_interrupt_until_read_ends, args=(r, done))
        stopper.start()
        try:
            began = time.monotonic()
            with pytest.raises(Cancelled):
                r.read_open_sale()
            assert time.monotonic() - began < 10
        finally:
            done.set()
            stopper.join()


def _interrupt_until_read_ends(r: TillReader, done: threading.Event) -> None:
    """interrupt() once the reader is in its query, and again until the read has ended: a
    cancel that reaches the server before the query does is lost, so no guess at when the
    query is on the server."""
    while not done.wait(0.02):
        if r._in_query:                                    # type: ignore[attr-defined]
            r.interrupt()


def test_a_cancelled_refresh_stops_inside_the_stream(
        till: ServerTill, monkeypatch: pytest.MonkeyPatch) -> None:
    import possuggest.till.server as server

    monkeypatch.setattr(server, "YIELD_PER", 100)
    stop = threading.Event()
    seen: list[float] = []

    def progress(fraction: float, _msg: str) -> None:
        seen.append(fraction)
        stop.set()                              # cancel once the first rows are in

    reader = TillReader("", till.server_settings(), cancelled=stop.is_set)
    with reader as r, pytest.raises(Cancelled):
        r.read_transactions(365, progress=progress, cancelled=stop.is_set)
    assert len(seen) == 1 and seen[0] < 0.5
    with till.reader() as r:                      # the server is fine afterwards
        assert r.read_open_sale().skus == OPEN_SALE


# -- change detection ----------------------------------------------------------------------------
def _ring_up(till: ServerTill, sku: str) -> Callable[[], None]:
    """Add a line to the open sale through the admin account; returns the undo."""
    with till.engine.begin() as conn:
        sale_id, line_id = conn.execute(text(
            "SELECT MAX(s.sale_id), (SELECT MAX(line_id) FROM sale_lines) FROM sales AS s "
            "WHERE s.status = 'open'")).one()
        conn.execute(text("INSERT INTO sale_lines (line_id, sale_id, sku, qty, unit_price, "
                          "voided) VALUES (:l, :s, :k, 1, 1, 0)"),
                     {"l": line_id + 1, "s": sale_id, "k": sku})

    def undo() -> None:
        with till.engine.begin() as conn:
            conn.execute(text("DELETE FROM sale_lines WHERE line_id = :l"), {"l": line_id + 1})

    return undo


def test_the_watcher_notices_a_commit_within_two_polls(till: ServerTill) -> None:
    from possuggest.till.watcher import TillWatcher

    watcher = TillWatcher("", till.server_settings(), products_every_s=3600)
    undo: Callable[[], None] | None = None
    try:
        first = watcher.poll()
        assert first.state == "ok" and first.sale is not None
        assert first.sale.skus == OPEN_SALE
        assert watcher.poll().sale is None              # nothing changed: nothing new
        # a write still in progress is not seen, its commit is
        conn = till.engine.connect()
        try:
            sale_id, line_id = conn.execute(text(
                "SELECT MAX(sale_id), (SELECT MAX(line_id) FROM sale_lines) FROM sales "
                "WHERE status = 'open'")).one()
            conn.execute(text("INSERT INTO sale_lines (line_id, sale_id, sku, qty, unit_price, "
                              "voided) VALUES (:l, :s, 'OIL-4T', 1, 1, 0)"),
                         {"l": line_id + 1, "s": sale_id})
            assert watcher.poll().sale is None
            conn.commit()
        finally:
            conn.close()

        def undo_insert() -> None:
            with till.engine.begin() as c:
                c.execute(text("DELETE FROM sale_lines WHERE line_id = :l"), {"l": line_id + 1})

        undo = undo_insert
        polls = [watcher.poll() for _ in range(2)]
        changed = [p.sale for p in polls if p.sale is not None]
        assert changed and changed[0].skus == [*OPEN_SALE, "OIL-4T"]
    finally:
        watcher.close()
        if undo is not None:
            undo()


def test_the_change_token_moves_on_a_commit_and_only_then(till: ServerTill) -> None:
    with till.reader() as r:
        a = r.data_version()
        b = r.data_version()
        if till.kind == "postgresql":
            assert a == b                       # the server's own token: quiet when idle
        undo = _ring_up(till, "TAPE")
        try:
            c = r.data_version()
            assert c != b
        finally:
            undo()


def test_a_fingerprint_query_is_the_token_where_the_server_has_none(
        till: ServerTill) -> None:
    if not hasattr(TillMapping(), "change_token"):
        pytest.skip("[till.mapping] change_token is not a setting yet")
    mapping = dataclasses.replace(
        till.settings.mapping,
        change_token="SELECT MAX(line_id), COUNT(*) FROM sale_lines")  # type: ignore[call-arg]
    with till.reader(mapping=mapping) as r:
        a = r.data_version()
        assert r.data_version() == a
        undo = _ring_up(till, "TAPE")
        try:
            assert r.data_version() != a
        finally:
            undo()


# -- every preset's fixture, on each server its till runs on --------------------------------------
def _preset_params() -> list[Any]:
    out = []
    for layout, dialects in preset_fixtures.DIALECTS.items():
        for dialect in dialects:
            if dialect == "sqlite":
                continue
            url, name = (PG_URL, "PostgreSQL") if dialect == "postgresql" else (MY_URL, "MariaDB")
            env = "POSSUGGEST_TEST_PG_URL" if dialect == "postgresql" else \
                "POSSUGGEST_TEST_MYSQL_URL"
            out.append(pytest.param((layout, dialect), id=f"{layout}-{dialect}",
                                    marks=pytest.mark.skipif(
                                        not url, reason=f"no {name}: {env} is not set; {HOW}")))
    return out


@pytest.fixture(scope="module", params=_preset_params())
def preset_till(request: pytest.FixtureRequest,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerTill]:
    """The fake store in one preset's real layout (tests/preset_fixtures.py), written into a
    new database on the server with the till's own column types, and as a SQLite file."""
    layout, dialect = request.param
    kind = "postgresql" if dialect == "postgresql" else "mariadb"
    folder = tmp_path_factory.mktemp(f"preset-{layout}-{kind}")
    sqlite_path = folder / f"{layout}.db"
    preset_fixtures.build_sqlite(layout, sqlite_path)
    data = preset_fixtures.fixture_data(layout, dialect)
    url, drop = create_database(kind)
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            for stmt in data.ddl:
                conn.exec_driver_sql(stmt)
            for table in data.tables:
                rows = data.named_rows(table)
                if rows:
                    conn.execute(text(data.insert_sql(table)), rows)
        settings = TillSettings(path=str(sqlite_path), **data.settings)
        yield ServerTill(kind, url, sqlite_path, settings, engine, layout, data.annex)
    finally:
        engine.dispose()
        drop()


def test_every_preset_reads_the_same_store_from_the_server_as_from_sqlite(
        preset_till: ServerTill) -> None:
    """Baskets, times, products (barcodes too), the open sale and the mined rules: the same
    through the preset's server queries as through its SQLite ones; and one store's sales
    with :store."""
    from possuggest.mining.miner import mine_rules

    t = preset_till
    products_l, tx_l, sale_l = _read(TillReader(t.sqlite_path, t.settings))
    reader = t.reader()
    assert type(reader).__name__ == "ServerReader"
    products_s, tx_s, sale_s = _read(reader)
    assert products_s == products_l and len(products_s) >= 15
    assert tx_s.n_baskets == tx_l.n_baskets > 300
    assert list(tx_s.items) == list(tx_l.items)
    assert sorted(zip(tx_s.basket.tolist(), tx_s.item.tolist())) == \
        sorted(zip(tx_l.basket.tolist(), tx_l.item.tolist()))
    np.testing.assert_array_equal(tx_s.basket_time, tx_l.basket_time)
    assert [str(x) for x in tx_s.basket_ids] == [str(x) for x in tx_l.basket_ids]
    assert sale_s == sale_l
    if t.layout in ("reference", "dolibarr"):          # tills that keep the open sale
        assert sale_s.sale_id is not None
        assert sorted(sale_s.skus) == sorted(
            ln.sku for ln in preset_fixtures.mined_lines(preset_fixtures.OPEN_SALE))
    baskets = [frozenset(products_s[s].name for s in b) for b in tx_s.baskets()]
    assert sorted(map(sorted, baskets)) == sorted(map(sorted, preset_fixtures.expected_baskets()))
    mining = Settings().mining
    assert mine_rules(tx_s, mining, products_s).rules.equals(
        mine_rules(tx_l, mining, products_l).rules)
    if t.annex is not None:
        _, annex_l, _ = _read(TillReader(t.sqlite_path, dataclasses.replace(
            t.settings, store=t.annex)))
        _, annex_s, _ = _read(t.reader(store=t.annex))
        assert 0 < annex_s.n_baskets == annex_l.n_baskets < tx_s.n_baskets
        assert sorted(zip(annex_s.basket.tolist(), annex_s.item.tolist())) == \
            sorted(zip(annex_l.basket.tolist(), annex_l.item.tolist()))


def test_every_presets_change_token_is_quiet_while_the_till_is(preset_till: ServerTill) -> None:
    """Every preset has a fingerprint query (PostgreSQL adds its snapshot): idle, the token
    stays. The reference schema on MariaDB has neither: every poll counts as a change, so
    the watcher reads the open sale each time."""
    with preset_till.reader() as r:
        first = r.data_version()
        if preset_till.layout == "reference" and preset_till.kind == "mariadb":
            assert not r._token_sql                       # type: ignore[attr-defined]
            assert first < r.data_version() < r.data_version()
        else:
            assert r._token_sql                           # type: ignore[attr-defined]
            assert r.data_version() == first == r.data_version()


def test_a_scan_into_dolibarrs_draft_invoice_reaches_the_watcher_within_two_polls(
        preset_till: ServerTill) -> None:
    """Dolibarr TakePOS writes each scan into the terminal's draft invoice: the watcher
    notices the commit (change token) and reads the new line (open sale)."""
    if preset_till.layout != "dolibarr":
        pytest.skip("only Dolibarr keeps the sale being rung up in its database")
    from possuggest.till.watcher import TillWatcher

    t = preset_till
    watcher = TillWatcher("", t.server_settings(), products_every_s=3600)
    added: int | None = None
    try:
        first = watcher.poll()
        assert first.state == "ok" and first.sale is not None and first.sale.skus
        assert watcher.poll().sale is None
        with t.engine.begin() as conn:
            draft = conn.execute(text("SELECT MAX(rowid) FROM llx_facture WHERE fk_statut = 0 "
                                      "AND pos_source = '1'")).scalar_one()
            row = dict(conn.execute(text("SELECT * FROM llx_facturedet WHERE fk_facture = :f "
                                         "ORDER BY rowid"), {"f": draft}).mappings().first()
                       or {})
            added = int(conn.execute(text("SELECT MAX(rowid) FROM llx_facturedet"))
                        .scalar_one()) + 1
            sku, product = conn.execute(text(
                "SELECT ref, rowid FROM llx_product WHERE ref = 'TAPE'")).one()
            row.update(rowid=added, fk_product=product, rang=98, label="Duct Tape")
            cols = ", ".join(row)
            conn.execute(text(f"INSERT INTO llx_facturedet ({cols}) VALUES "
                              f"({', '.join(':' + c for c in row)})"), row)
        changed = [p.sale for p in (watcher.poll(), watcher.poll()) if p.sale is not None]
        assert changed and changed[0].skus[-1] == sku
        assert changed[0].skus[:-1] == first.sale.skus
    finally:
        watcher.close()
        if added is not None:
            with t.engine.begin() as conn:
                conn.execute(text("DELETE FROM llx_facturedet WHERE rowid = :r"), {"r": added})


# -- the URL and the password: no server needed ----------------------------------------------------
@pytest.mark.parametrize("url", [
    "postgresql+psycopg://possuggest:hunter2@db.example/shop",
    "mysql+pymysql://possuggest:@db.example/shop",
    "postgresql+psycopg://possuggest@db.example/shop?password=hunter2",
])
def test_a_url_holding_a_password_is_refused_in_one_line(url: str) -> None:
    with pytest.raises(ConfigError, match="holds a password") as err:
        settings_from_dict({"till": {"url": url}})
    msg = str(err.value)
    assert "\n" not in msg and "hunter2" not in msg and "POSSUGGEST_TILL_PASSWORD" in msg
    with pytest.raises(TillError, match="holds a password") as err2:
        TillReader("", TillSettings(url=url)).connect()
    assert "hunter2" not in str(err2.value)


def test_bad_till_urls_are_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not both"):
        settings_from_dict({"till": {"url": "postgresql://u@h/db", "path": "till.db"}})
    with pytest.raises(ConfigError, match="not a database URL"):
        settings_from_dict({"till": {"url": "shop-db"}})
    with pytest.raises(TillError, match="till.path"):
        TillReader("", TillSettings(url="sqlite:///till.db")).connect()
    with pytest.raises(TillError, match="not supported"):
        TillReader("", TillSettings(url="oracle://u@h/db")).connect()


def test_an_unreachable_server_is_one_line_naming_it_without_the_password(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSSUGGEST_TILL_PASSWORD", "hunter2")
    url = f"postgresql+psycopg://possuggest@/shop?host={tmp_path}"
    with pytest.raises(TillError, match="cannot be reached") as err:
        TillReader("", TillSettings(url=url)).connect()
    msg = str(err.value)
    assert "\n" not in msg and "hunter2" not in msg and "shop" in msg


def test_the_password_comes_from_the_environment_else_the_keyring(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    import types

    from possuggest.till.server import server_url, till_password

    settings = TillSettings(url="postgresql+psycopg://possuggest@db.example/shop",
                            password_env="SHOP_DB_PASSWORD")
    asked: list[tuple[str, str]] = []
    fake = types.ModuleType("keyring")
    fake.get_password = lambda service, user: asked.append((service, user)) or "from-keyring"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "keyring", fake)
    monkeypatch.setenv("SHOP_DB_PASSWORD", "from-env")
    assert till_password(settings) == "from-env"
    assert server_url(settings).password == "from-env"
    monkeypatch.delenv("SHOP_DB_PASSWORD")
    assert till_password(settings) == "from-keyring"
    assert asked == [("possuggest", settings.url)]

    def broken(service: str, user: str) -> str:
        raise RuntimeError("no keyring backend")

    fake.get_password = broken  # type: ignore[attr-defined]
    assert till_password(settings) is None
    monkeypatch.setitem(sys.modules, "keyring", None)      # not installed
    assert till_password(settings) is None
    assert server_url(settings).password is None


@pytest.mark.parametrize("ids", [(7, 9), ("S-7", "S-9")])
def test_streamed_baskets_equal_from_pairs_even_when_a_sales_lines_come_apart(
        ids: tuple[Any, Any]) -> None:
    """What the server reader builds chunk by chunk equals Transactions.from_pairs on the
    same lines, also when one sale's lines arrive in two runs (their times differ)."""
    from possuggest.core.transactions import Transactions
    from possuggest.till.server import _BasketBuilder

    a, b = ids
    rows = [(a, "TAPE", "2026-05-01 10:00:00"), (a, "BITS", "2026-05-01 10:00:00"),
            (b, "TAPE", "2026-05-01 11:00:00"), (a, "SPARK", "2026-05-01 12:00:00"),
            (a, "TAPE", "2026-05-01 12:00:00"), (b, 42, "2026-05-01 13:00:00"),
            (b, None, "2026-05-01 13:00:00")]
    builder = _BasketBuilder()
    builder.add(rows[:3])
    builder.add(rows[3:])
    got = builder.transactions()
    kept = [r for r in rows if r[1] is not None]
    want = Transactions.from_pairs(np.array([r[0] for r in kept], dtype=object),
                                   np.array([str(r[1]) for r in kept], dtype=object))
    assert got.n_baskets == want.n_baskets == 2
    assert list(got.items) == list(want.items)
    assert sorted(zip(got.basket.tolist(), got.item.tolist())) == \
        sorted(zip(want.basket.tolist(), want.item.tolist()))
    assert list(got.basket_ids) == [a, b]
    assert got.basket_time is not None
    assert got.basket_time[1] - got.basket_time[0] == 3600      # each sale's first line

