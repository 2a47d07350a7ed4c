"""Read-only access to a till on a database server (PostgreSQL, MySQL, MariaDB).

``[till] url = "postgresql+psycopg://possuggest@host/shop"`` (or ``mysql+pymysql://…``)
makes :class:`~possuggest.till.reader.TillReader` hand the till to :class:`ServerReader`,
which reads it through SQLAlchemy 2 Core (the ``postgres`` / ``mysql`` extras). The
high-level reads (products, open sale, mapping checks) are the reader's own; this module
only runs them against the server and streams the sales.

Never writing to the till rests on layers, each enough on its own:

* **The account** (the manager's part): SELECT only, as the README's GRANT lines give it.
* **A read-only session**: PostgreSQL starts every transaction read-only
  (``default_transaction_read_only=on`` as a connect option, and psycopg's ``read_only``
  through SQLAlchemy's ``postgresql_readonly``, which also holds behind a pooler that drops
  connect options); MySQL/MariaDB get ``SET SESSION TRANSACTION READ ONLY`` on connect,
  before any transaction begins. A write through this session is refused by the server.
* **Short transactions**: each read is one transaction, rolled back as soon as it is done;
  nothing stays open between polls (PostgreSQL also ends an idle one after a while).
* **A statement timeout** from ``till.query_timeout_s``: PostgreSQL ``statement_timeout``,
  MariaDB ``max_statement_time``, MySQL ``max_execution_time``.

The password never comes from the config file (a URL holding one is refused): it is read
from the environment variable named by ``till.password_env``, else from the system keyring
(``keyring``, optional: service ``possuggest``, user name = the URL as configured), else
none is sent (peer or trust authentication).

Sales are streamed with a server-side cursor (``stream_results`` + ``yield_per``) straight
into compact arrays, so memory beyond the resulting baskets stays bounded however many sale
lines the till has. SQL Server (``mssql+…``) is accepted but untested: only the account's
rights keep it read-only there.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from array import array
from collections.abc import Callable, Hashable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from possuggest.core.config import TillSettings
from possuggest.core.errors import Cancelled, TillError
from possuggest.core.progress import CancelledFn, ProgressFn, check_cancelled
from possuggest.core.transactions import Transactions
from possuggest.till.change_token import TokenCounter, builtin_token_sql
from possuggest.till.mapping import probe_sql, wall_clock_seconds, wrap
from possuggest.till.reader import TillReader, _server_reader, _window_start

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Connection, Engine

log = logging.getLogger(__name__)

T = TypeVar("T")

KEYRING_SERVICE = "possuggest"
#: sale lines fetched from the server-side cursor at a time (bounded memory)
YIELD_PER = 20_000
_CONNECT_TIMEOUT_S = 10
_EXTRAS = {"postgresql": "postgres", "mysql": "mysql", "mariadb": "mysql"}
_UNTESTED = {"mssql"}
# server error codes
_MY_TIMEOUT = {1969, 3024}      # MariaDB max_statement_time, MySQL max_execution_time
_MY_KILLED = {1317}             # query execution was interrupted (KILL QUERY)
_MY_NO_OBJECT = {1146, 1054}    # no such table / column
_MY_READ_ONLY = {1792}          # cannot execute statement in a READ ONLY transaction


# -- the URL and the password --------------------------------------------------------------------
def server_url(settings: TillSettings) -> URL:
    """The configured URL with the password added (from the environment or the keyring).

    Raises TillError (one line, never repeating a secret) for a URL holding a password, a
    URL SQLAlchemy cannot read, SQLite, or a database this module does not know."""
    try:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError
    except ImportError:
        raise TillError(f"till.url needs SQLAlchemy: {_install_hint(settings.url)}") from None
    try:
        url = make_url(settings.url)
    except ArgumentError:
        raise TillError("till.url is not a database URL (expected "
                        "dialect+driver://user@host/database)") from None
    if url.password is not None or any(k.lower() in ("password", "passwd") for k in url.query):
        raise TillError("till.url holds a password: remove it and set the environment variable "
                        f"{settings.password_env or 'POSSUGGEST_TILL_PASSWORD'} or the system "
                        "keyring instead")
    backend = url.get_backend_name()
    if backend == "sqlite":
        raise TillError("till.url names a SQLite database: set till.path to the file instead")
    if backend not in _EXTRAS and backend not in _UNTESTED:
        raise TillError(f"till.url: {backend} databases are not supported (PostgreSQL, MySQL "
                        "and MariaDB are; SQL Server untested)")
    password = till_password(settings)
    return url if password is None else url.set(password=password)


def till_password(settings: TillSettings) -> str | None:
    """The server password: the environment variable ``till.password_env``, else the system
    keyring (service ``possuggest``, user = ``till.url``), else None."""
    name = settings.password_env
    if name and os.environ.get(name):
        return os.environ[name]
    try:
        import keyring
    except ImportError:
        return None
    try:
        found = keyring.get_password(KEYRING_SERVICE, settings.url)
    except Exception as exc:        # no usable backend, locked keychain, ...
        log.info("system keyring not used: %s", str(exc).splitlines()[0] if str(exc) else exc)
        return None
    return None if found is None else str(found)


def display_url(settings: TillSettings) -> str:
    """The URL as shown in messages and logs (never a password)."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(settings.url).render_as_string(hide_password=True)
    except Exception:
        return "till.url"


def _install_hint(url: str) -> str:
    backend = url.split(":", 1)[0].split("+", 1)[0].lower()
    extra = _EXTRAS.get(backend, "postgres' or 'possuggest[mysql]")
    return f"pip install 'possuggest[{extra}]'"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0].strip() if text else type(exc).__name__


# -- the engine: a read-only session ---------------------------------------------------------------
def create_readonly_engine(settings: TillSettings) -> Engine:
    """A SQLAlchemy engine whose every connection is a read-only session with a statement
    timeout (see the module docstring); one connection at a time, kept between polls."""
    url = server_url(settings)
    try:
        from sqlalchemy import create_engine, event
        from sqlalchemy.exc import NoSuchModuleError
    except ImportError:
        raise TillError(f"till.url needs SQLAlchemy: {_install_hint(settings.url)}") from None
    backend = url.get_backend_name()
    timeout_ms = max(1, int(settings.query_timeout_s * 1000))
    connect_args: dict[str, Any] = {}
    options: dict[str, Any] = {}
    if backend == "postgresql":
        connect_args = {
            "options": f"-c default_transaction_read_only=on -c statement_timeout={timeout_ms} "
                       f"-c idle_in_transaction_session_timeout={max(timeout_ms, 60_000)}",
            "application_name": "possuggest",
            "connect_timeout": _CONNECT_TIMEOUT_S,
        }
        options = {"postgresql_readonly": True}
    elif backend in ("mysql", "mariadb"):
        connect_args = {"connect_timeout": _CONNECT_TIMEOUT_S,
                        # a socket-level guard behind the server's own statement timeout
                        "read_timeout": int(settings.query_timeout_s) + 30}
    else:
        log.warning("%s tills are untested: only the account's rights keep this one read-only "
                    "(give it SELECT only)", backend)
    try:
        # pool_size 1: the reader uses one connection (kept between polls); a second one is
        # only opened to stop a running MySQL query (KILL QUERY)
        engine = create_engine(url, connect_args=connect_args, execution_options=options,
                               pool_size=1, max_overflow=1, pool_pre_ping=True)
    except (ImportError, NoSuchModuleError) as exc:
        raise TillError(f"till.url needs the {url.drivername} driver ({_first_line(exc)}): "
                        f"{_install_hint(settings.url)}") from None
    if backend in ("mysql", "mariadb"):
        seconds = settings.query_timeout_s

        @event.listens_for(engine, "connect")
        def _readonly_session(dbapi_conn: Any, _record: Any) -> None:
            # on a fresh connection, before any transaction begins
            cur = dbapi_conn.cursor()
            try:
                cur.execute("SELECT VERSION()")
                version = str(cur.fetchone()[0])
                cur.execute("SET SESSION TRANSACTION READ ONLY")
                if "mariadb" in version.lower():
                    cur.execute(f"SET SESSION max_statement_time = {seconds:.3f}")
                else:
                    cur.execute(f"SET SESSION max_execution_time = {timeout_ms}")
            finally:
                cur.close()
    return engine


# -- the reader ----------------------------------------------------------------------------------
class ServerReader(TillReader):
    """The till on a database server, read-only (see the module docstring). Made by
    ``TillReader(path, settings)`` when ``settings.url`` is set (``path`` is not used). Use
    from one thread only; :meth:`interrupt` may be called from any thread."""

    def __init__(self, path: str | Path = "", settings: TillSettings | None = None,
                 cancelled: CancelledFn | None = None) -> None:
        super().__init__(path, settings, cancelled)
        self.custom = True              # never the SQLite reference schema's slicing
        self.name = display_url(self.settings)
        self._engine: Engine | None = None
        self._server: Connection | None = None
        self._dialect = ""
        self._mariadb = False
        self._token_sql: list[str] = []
        self._tokens = TokenCounter()
        self._running = threading.Lock()      # held while a query runs (interrupt's cancel)
        self._in_query = False

    # -- connection -------------------------------------------------------------------------
    def connect(self) -> ServerReader:
        """Connect and check the mapped queries' columns; TillError (one line) otherwise."""
        try:
            self._connection()
            self.check_columns()
        except BaseException:
            self.close()
            raise
        return self

    def __enter__(self) -> ServerReader:
        return self.connect() if self._server is None else self

    def close(self) -> None:
        conn, self._server = self._server, None
        engine, self._engine = self._engine, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()
        if engine is not None:
            with contextlib.suppress(Exception):
                engine.dispose()

    @property
    def conn(self) -> Any:
        """No SQLite connection here: the server connection is internal to this reader."""
        raise TillError(f"till {self.name} is a database server, not a SQLite file")

    @property
    def dialect(self) -> str:
        """``postgresql``, ``mysql`` (MySQL and MariaDB), ...; empty before connecting."""
        return self._dialect

    def _connection(self) -> Connection:
        if self._server is not None:
            return self._server
        self._check_stop()
        if self._engine is None:
            self._engine = create_readonly_engine(self.settings)
        from sqlalchemy.exc import DBAPIError

        try:
            conn = self._engine.connect()
        except DBAPIError as exc:
            raise TillError(f"till database {self.name} cannot be reached: "
                            f"{_first_line(exc.orig or exc)}") from None
        self._server = conn
        self._dialect = conn.dialect.name
        self._mariadb = bool(getattr(conn.dialect, "is_mariadb", False))
        builtin = builtin_token_sql(self._dialect, conn.dialect.server_version_info)
        self._token_sql = [q for q in (builtin, self.resolved.change_token) if q]
        conn.rollback()                     # the dialect's first-connect queries
        log.info("till %s connected (%s, read-only session)", self.name, self._dialect)
        return conn

    def interrupt(self) -> None:
        """Stop the running query and every later one (from any thread): they raise
        Cancelled. Used when the panel exits."""
        self._stop.set()
        self._cancel_running("stop")

    def _cancel_running(self, reason: str) -> None:
        """Ask the server to stop the query in progress (from any thread)."""
        conn = self._server
        if conn is None or not self._in_query:
            return
        self._abort = reason
        try:
            dbapi: Any = conn.connection.dbapi_connection
            if dbapi is None:
                return
            if self._dialect == "postgresql":
                cancel = getattr(dbapi, "cancel_safe", None) or dbapi.cancel
                cancel()
            elif self._dialect == "mysql" and self._engine is not None:
                thread_id = int(dbapi.thread_id())
                with self._engine.connect() as killer:
                    killer.exec_driver_sql(f"KILL QUERY {thread_id}")
        except Exception as exc:
            log.debug("could not stop the till query: %s", exc)

    # -- one read: a short read-only transaction, rolled back --------------------------------
    def _read(self, what: str, fn: Callable[[Connection], T], watch: bool = False) -> T:
        """Run ``fn`` in one read-only transaction that is rolled back at once; map server
        errors to one-line TillErrors (``what`` names the read). ``watch``: a long read, so a
        helper thread polls ``cancelled`` and stops the query on the server."""
        from sqlalchemy.exc import DBAPIError, InvalidRequestError, ResourceClosedError

        self._check_stop()
        conn = self._connection()
        self._abort = None
        done = threading.Event()
        watcher = None
        if watch and self._cancelled is not None:
            watcher = threading.Thread(target=self._watch_cancel, args=(done,),
                                       name="possuggest-till-cancel", daemon=True)
        try:
            trans = conn.begin()
            self._in_query = True
            if watcher is not None:
                watcher.start()
            failed = True
            try:
                out = fn(conn)
                failed = False
                return out
            finally:
                self._in_query = False
                done.set()
                if watcher is not None:
                    watcher.join()
                if failed and watch:
                    # a stream stopped half-way: drop the connection rather than drain the
                    # rest of the rows (MySQL) or wait for them; the next read reconnects
                    self._drop()
                else:
                    with contextlib.suppress(Exception):
                        trans.rollback()
        except DBAPIError as exc:
            raise self._mapped(what, exc) from None
        except (ResourceClosedError, InvalidRequestError) as exc:
            self._drop()
            raise TillError(f"till database {self.name}: {_first_line(exc)}") from None

    def _watch_cancel(self, done: threading.Event) -> None:
        while not done.wait(0.05):
            try:
                stop = self._cancelled is not None and bool(self._cancelled())
            except Exception:
                stop = True
            if stop:
                self._cancel_running("cancel")
                return

    def _drop(self) -> None:
        conn, self._server = self._server, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.invalidate()
                conn.close()

    def _mapped(self, what: str, exc: Any) -> BaseException:
        """A server error as a one-line TillError (or Cancelled / KeyboardInterrupt)."""
        orig = exc.orig if getattr(exc, "orig", None) is not None else exc
        code = _mysql_code(orig)
        sqlstate = str(getattr(orig, "sqlstate", "") or "")
        msg = _first_line(orig)
        limit = self.settings.query_timeout_s
        if exc.connection_invalidated:
            self._drop()
            return TillError(f"till database {self.name}: the connection was lost ({msg})")
        if sqlstate == "57014" or code in _MY_TIMEOUT or code in _MY_KILLED:
            if self._abort in ("stop", "cancel") or self._stopped():
                return Cancelled("reading the till was cancelled")
            if self._abort is None and code in _MY_KILLED:
                self._drop()
                return TillError(f"till database {self.name}: query '{what}' was stopped by "
                                 "the server")
            return TillError(f"till query '{what}' did not finish within {limit:g} s "
                             "(till.query_timeout_s) and was stopped")
        if sqlstate == "25006" or code in _MY_READ_ONLY:
            return TillError(f"till database {self.name} refused a write in query '{what}' "
                             f"(possuggest only reads): {msg}")
        if sqlstate in ("42P01", "42703") or code in _MY_NO_OBJECT:
            return TillError(f"till database {self.name}: {msg} — map its schema in the "
                             "config file (till.preset or [till.mapping])")
        if sqlstate.startswith("08") or code in (2002, 2003, 2006, 2013):
            self._drop()
        return TillError(f"till database {self.name}: query '{what}' failed: {msg}")

    # -- what the reader's own reads go through ------------------------------------------------
    def _mapping_dialect(self) -> str:
        """The dialect whose preset queries this till is read with (from the URL)."""
        backend = self.settings.url.split(":", 1)[0].split("+", 1)[0].lower()
        if backend in ("postgresql", "postgres", "mysql", "mariadb") or self.settings.preset:
            return backend      # a preset on another server: resolve_mapping names the problem
        return "sqlite"         # SQL Server with [till.mapping]: the dialect picks no query

    def _fetchall(self, what: str, sql: str, params: Mapping[str, Any]) -> list[Any]:
        from sqlalchemy import text

        def run(conn: Connection) -> list[Any]:
            return [tuple(row) for row in conn.execute(text(sql), dict(params)).fetchall()]

        return self._read(what, run)

    def _columns(self, what: str, query: str) -> set[str]:
        from sqlalchemy import text

        params = self._params(query)

        def probe(conn: Connection) -> set[str]:
            result = conn.execute(text(probe_sql(query)), params)
            try:
                return {str(k).lower() for k in result.keys()}
            finally:
                result.close()

        return self._read(what, probe)

    def _sale_id_span(self) -> tuple[int, int] | None:
        return None

    # -- reads ------------------------------------------------------------------------------
    def data_version(self) -> int:
        """A number that changes when the till commits (see till/change_token.py); with no
        token for this server it changes on every call (the open sale is then re-read)."""
        self._connection()
        if not self._token_sql:
            return self._tokens.advance(None)
        from sqlalchemy import text

        def read(conn: Connection) -> Hashable:
            return tuple(tuple(conn.execute(text(q), self._params(q)).fetchall())
                         for q in self._token_sql)

        return self._tokens.advance(self._read("change token", read))

    def read_transactions(self, window_days: int | None = None,
                          progress: ProgressFn | None = None,
                          cancelled: CancelledFn | None = None) -> Transactions:
        """Closed sales in the window ending at the newest one, streamed from a server-side
        cursor into compact arrays: the same baskets, in the same order, with the same times
        as the SQLite reader gives for the same till (reference schema: by sale id; a preset
        or mapping: by time, then sale id)."""
        from sqlalchemy import text

        since = None
        if window_days:
            check_cancelled(cancelled, "refresh cancelled while reading sales")
            since = _window_start(self.latest_closed_at(cancelled), window_days)
        params: dict[str, Any] = self._params(self.q_lines)
        where = "m.sku IS NOT NULL"
        if since:
            where += " AND m.closed_at >= :since"
            params["since"] = since
        order = "m.sale_id" if self.resolved.reference else "m.closed_at, m.sale_id"
        total = 0
        if progress is not None:
            total = int(self._fetchall("sales", wrap(self.q_lines, ["COUNT(*)"], where=where),
                                       params)[0][0] or 0)
        baskets = _BasketBuilder(self.resolved.times, self.settings.timezone)
        sql = wrap(self.q_lines, ["sale_id", "sku", "closed_at"], where=where, order=order)

        def stream(conn: Connection) -> None:
            size = YIELD_PER
            result = conn.execution_options(stream_results=True, yield_per=size,
                                            max_row_buffer=size).execute(text(sql), params)
            try:
                for part in result.partitions(size):
                    check_cancelled(cancelled, "refresh cancelled while reading sales")
                    self._check_stop()
                    baskets.add(part)
                    if progress is not None:
                        progress(min(1.0, baskets.lines / max(1, total)), "reading sales")
            finally:
                result.close()

        self._read("sales", stream, watch=True)
        tx = baskets.transactions()
        log.info("read %d baskets, %d lines, %d items from till %s (since %s)", tx.n_baskets,
                 baskets.lines, tx.n_items, self.name, since or "the start")
        return tx


_server_reader.append(ServerReader)


def _mysql_code(orig: object) -> int | None:
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int):
        return int(args[0])
    return None


class _BasketBuilder:
    """Sale lines (each sale's lines together, as the ORDER BY gives them) into
    Transactions, chunk by chunk, holding only compact arrays: a basket index and an item
    code per distinct (sale, item), one time and one id per sale (an 8-byte integer when the
    ids are integers), one string per sku. Nothing is kept per line beyond those 16 bytes."""

    def __init__(self, times: str = "local", zone: str = "") -> None:
        self.basket = array("q")
        self.item = array("q")
        self.times = array("d")
        self.int_ids: array[int] | None = array("q")     # while every sale id is an int
        self.ids: list[Any] = []                          # otherwise
        self.codes: dict[str, int] = {}
        self.lines = 0
        self.n_baskets = 0
        self._times_kind = times
        self._zone = zone
        self._last: Any = _Unset
        self._seen: set[int] = set()

    def _add_id(self, sid: Any) -> None:
        if self.int_ids is not None:
            if type(sid) is int and -(2**63) <= sid < 2**63:
                self.int_ids.append(sid)
                return
            self.ids = list(self.int_ids)
            self.int_ids = None
        self.ids.append(sid)

    def add(self, rows: Any) -> None:
        codes, basket, item, seen = self.codes, self.basket, self.item, self._seen
        last, current = self._last, self.n_baskets - 1
        firsts: list[Any] = []
        for sid, sku, closed in rows:
            if sku is None:
                continue
            if sid != last:
                last = sid
                seen.clear()
                current += 1
                self._add_id(sid)
                firsts.append(closed)
            key = sku if type(sku) is str else str(sku)
            code = codes.get(key)
            if code is None:
                code = codes[key] = len(codes)
            if code not in seen:
                seen.add(code)
                basket.append(current)
                item.append(code)
        self.lines += len(rows)
        self._last, self.n_baskets = last, current + 1
        if firsts:
            self.times.extend(wall_clock_seconds(firsts, self._times_kind, self._zone))

    def transactions(self) -> Transactions:
        n_items = len(self.codes)
        if not self.n_baskets:
            return Transactions(np.zeros(0, np.int64), np.zeros(0, np.int64),
                                np.zeros(0, dtype=object), 0)
        names = sorted(self.codes)                   # items in sorted order, as from_pairs
        rank = np.empty(n_items, dtype=np.int64)
        rank[[self.codes[s] for s in names]] = np.arange(n_items)
        item = np.frombuffer(self.item, dtype=np.int64)     # views: no copy of the lines
        item[:] = rank[item]
        basket = np.frombuffer(self.basket, dtype=np.int64)
        times = np.frombuffer(self.times, dtype=np.float64)
        if self.int_ids is not None:
            ids = np.frombuffer(self.int_ids, dtype=np.int64)
        else:
            ids = np.empty(len(self.ids), dtype=object)
            ids[:] = self.ids
        # a sale whose lines came in two runs (its lines' times differ) is one basket
        try:
            uniq, first, inverse = np.unique(ids, return_index=True, return_inverse=True)
        except TypeError:           # ids of mixed types (1 and "1" are two sales, as in SQLite)
            if len(set(ids.tolist())) != len(ids):
                raise TillError("a sale's lines came apart and its sale ids mix numbers and "
                                "text; map sale_id as one type") from None
            uniq = ids
        if len(uniq) != len(ids):
            order = np.argsort(first, kind="stable")
            number = np.empty(len(uniq), dtype=np.int64)
            number[order] = np.arange(len(uniq))
            basket = number[inverse.reshape(-1)][basket]
            keep = first[order]
            ids, times = ids[keep], times[keep]
            _, once = np.unique(basket * max(n_items, 1) + item, return_index=True)
            once.sort()
            basket, item = basket[once], item[once]
        out_ids = np.empty(len(ids), dtype=object)
        out_ids[:] = ids.tolist()
        return Transactions(basket=basket, item=item, items=np.asarray(names, dtype=object),
                            n_baskets=len(ids), basket_time=times, basket_ids=out_ids)


class _UnsetType:
    pass


_Unset: Any = _UnsetType()
