"""Read-only access to the till database: closed sales for mining, products, the open sale.

The till comes first. possuggest never writes to it, never leaves a file next to it, and
never holds a lock the till could wait on for long:

* **How it is opened.** A rollback-journal till, or a WAL till whose ``-wal`` and ``-shm``
  exist (the till has it open, so they are the till's own files), is read through
  ``file:PATH?mode=ro`` with a busy timeout. A WAL till closed cleanly (no ``-wal``/``-shm``)
  is read with ``immutable=1``: a ``mode=ro`` connection would create ``-wal``/``-shm`` owned
  by possuggest's user and leave them there, and a till running as another user then fails
  with "attempt to write a readonly database" (and in a folder possuggest may not write,
  ``mode=ro`` cannot read such a till at all). An immutable read sees no change, so every
  one is checked: the till and the files beside it must look the same before and after it
  (inode, size, times), else it is done again on a fresh connection (by then the till has it
  open, so that one is ``mode=ro``).
* **No race with the till's own clean-up.** On Linux the choice, the opening and each
  immutable read happen under a shared lock on the till file taken the way a SQLite reader
  takes it (an open-file-description lock, so it never merges with SQLite's own locks):
  meanwhile the till's last connection cannot checkpoint and delete its ``-wal``/``-shm``
  (it leaves them, as it does for any reader), so SQLite never finds them gone and creates
  new ones. The lock is held for microseconds, and while it is held no SQLite call of ours
  waits on the till. Elsewhere the choice rests on the files present just before opening.
* **Short reads.** Large reads go in sale-id slices sized from the measured read speed to
  take about 10 ms each (a writer waiting for its lock gets in between: SQLite's pending lock
  stops the next slice from starting first), and nothing stays open between calls.
* **Every query has a time limit** (``till.query_timeout_s``) and stops at once on cancel,
  :meth:`TillReader.interrupt` (any thread) or Ctrl-C (KeyboardInterrupt).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import math
import os
import sqlite3
import struct
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from possuggest.core.config import TillSettings
from possuggest.core.errors import Cancelled, TillError
from possuggest.core.products import OpenSale, Product
from possuggest.core.progress import CancelledFn, ProgressFn, check_cancelled
from possuggest.core.transactions import Transactions
from possuggest.till.mapping import (
    ResolvedMapping,
    normalise_rows,
    probe_sql,
    query_params,
    resolve_mapping,
    wall_clock_seconds,
    wrap,
)
from possuggest.till.schema import (
    OPEN_SALE_COLUMNS,
    PRODUCT_COLUMNS,
    SALE_LINE_COLUMNS,
)

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

_RETRIES = 3
_SLICE_S = 0.008              # aim for read slices this long (a till writer waits at most ~one)
_FIRST_CHUNK = 2_000          # sale ids in the first slice; later ones follow the measured speed
_MIN_CHUNK, _MAX_CHUNK = 50, 200_000
_PROGRESS_OPS = 20_000        # SQLite VM steps between time-limit / cancel checks (~0.1-1 ms)
_RANGE = "likelihood(sale_id > :lo, 0.001) AND likelihood(sale_id <= :hi, 0.001)"

# SQLite's lock bytes (os_unix.c): a reader read-locks PENDING, then the SHARED range
_PENDING_BYTE = 0x40000000
_SHARED_FIRST = _PENDING_BYTE + 2
_SHARED_SIZE = 510
_MAGIC = b"SQLite format 3\x00"
_KEEP_IDLE_FILES = 8

T = TypeVar("T")


def ro_uri(path: Path) -> str:
    """The read-only URI for a database file."""
    return "file:" + urllib.parse.quote(str(path.resolve())) + "?mode=ro"


def parse_time(value: Any) -> float:
    """ISO 8601 text (or a number) to epoch seconds; NaN when unreadable."""
    if value is None:
        return float("nan")
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return float("nan")


# -- the till file: one descriptor per process, a shared lock, the files beside it --------------
_ofd_locks = fcntl is not None and hasattr(fcntl, "F_OFD_SETLK")


class _TillFile:
    """One read-only descriptor on a till file, shared by every reader of it in this process.

    A POSIX process loses *all* its locks on a file when it closes *any* descriptor of it, so
    opening and closing the till file beside SQLite's connections would silently drop their
    locks. This descriptor is opened once per file and closed only when no reader uses it and
    the file is gone or more than a few others are idle. It reads the header and holds an
    open-file-description lock (Linux), which never merges with SQLite's own locks.
    """

    def __init__(self, fd: int, key: tuple[int, int], path: str) -> None:
        self.fd = fd
        self.key = key
        self.path = path
        self.refs = 0
        self.used = 0.0
        self.spare: list[int] = []
        self._mutex = threading.Lock()
        self._holders = 0

    def header(self) -> bytes:
        if hasattr(os, "pread"):
            return os.pread(self.fd, 100, 0)
        with self._mutex:  # pragma: no cover - Windows
            os.lseek(self.fd, 0, os.SEEK_SET)
            return os.read(self.fd, 100)

    def _lock(self, kind: int, start: int, length: int) -> None:
        assert fcntl is not None
        fcntl.fcntl(self.fd, fcntl.F_OFD_SETLK,
                    _flock(kind, start, length))

    def try_share(self) -> bool:
        """Take a shared lock as a SQLite reader does (refused while a writer holds or waits
        for its exclusive lock); False when refused. Without OFD locks: always True."""
        global _ofd_locks
        with self._mutex:
            if self._holders == 0 and _ofd_locks:
                assert fcntl is not None
                try:
                    self._lock(fcntl.F_RDLCK, _PENDING_BYTE, 1)
                except OSError as exc:
                    if exc.errno in (errno.EAGAIN, errno.EACCES):
                        return False
                    _ofd_locks = False
                    log.warning("till file locks unavailable (%s); relying on the files present",
                                exc)
                else:
                    try:
                        self._lock(fcntl.F_RDLCK, _SHARED_FIRST, _SHARED_SIZE)
                    except OSError:
                        return False
                    finally:
                        self._lock(fcntl.F_UNLCK, _PENDING_BYTE, 1)
            self._holders += 1
            return True

    def unshare(self) -> None:
        with self._mutex:
            self._holders -= 1
            if self._holders == 0 and _ofd_locks:
                assert fcntl is not None
                with contextlib.suppress(OSError):
                    self._lock(fcntl.F_UNLCK, _SHARED_FIRST, _SHARED_SIZE)


def _flock(kind: int, start: int, length: int) -> bytes:
    # struct flock: l_type, l_whence (short), l_start, l_len (off_t), l_pid (0 for OFD locks)
    return struct.pack("hhqqi4x", kind, os.SEEK_SET, start, length, 0)


_files_mutex = threading.Lock()
_files: dict[tuple[int, int], _TillFile] = {}


def _file_key(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def _acquire_file(path: Path) -> _TillFile:
    """The process's descriptor on the till file (OSError when it cannot be opened)."""
    name = os.path.abspath(path)
    st = os.stat(name)
    key = (st.st_dev, st.st_ino)
    with _files_mutex:
        f = _files.get(key)
        if f is None:
            fd = os.open(name, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))
            fst = os.fstat(fd)
            got = (fst.st_dev, fst.st_ino)
            f = _files.get(got)
            if f is None:
                f = _files[got] = _TillFile(fd, got, name)
            else:                       # replaced meanwhile by one we hold: closing would unlock
                f.spare.append(fd)
        f.refs += 1
        f.used = time.monotonic()
        _trim_files()
    return f


def _release_file(f: _TillFile) -> None:
    with _files_mutex:
        f.refs -= 1
        f.used = time.monotonic()
        _trim_files()


def _trim_files() -> None:
    idle = sorted((f for f in _files.values() if f.refs == 0), key=lambda f: f.used)
    for i, f in enumerate(idle):
        if i < len(idle) - _KEEP_IDLE_FILES or _file_key(f.path) != f.key:
            del _files[f.key]
            for fd in (f.fd, *f.spare):
                with contextlib.suppress(OSError):
                    os.close(fd)


_Stat = tuple[int, int, int, int] | None


def _fingerprint(path: Path) -> tuple[_Stat, _Stat, _Stat, _Stat]:
    """The till and the files SQLite keeps beside it: (inode, size, mtime, ctime) or None."""
    out: list[_Stat] = []
    for name in (str(path), f"{path}-wal", f"{path}-shm", f"{path}-journal"):
        try:
            st = os.stat(name)
        except FileNotFoundError:
            out.append(None)
        else:
            out.append((st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns))
    return out[0], out[1], out[2], out[3]


def _next_chunk(chunk: int, span: int, took: float) -> int:
    """Sale ids for the next slice so that it takes about ``_SLICE_S`` (at most doubling)."""
    ideal = 2 * chunk if took <= 0 else span * _SLICE_S / took
    return int(max(_MIN_CHUNK, min(_MAX_CHUNK, 2 * chunk, ideal)))


def _sql_order(value: Any) -> tuple[int, Any]:
    """SQLite's order of values of mixed types (numbers < text < blobs), for MAX()."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return (2, bytes(value))
    if isinstance(value, str):
        return (1, value)
    return (0, value)


class _Busy(Exception):
    """The till holds a write lock: the read may be retried."""


# the reader of a till on a database server; till/server.py (imported by the till package)
# puts its ServerReader here, so this module never imports it
_server_reader: list[type[TillReader]] = []


class TillReader:
    """One read-only connection to the till. Use from one thread only (one reader per
    thread); :meth:`interrupt` may be called from any thread."""

    def __new__(cls, path: str | Path = "", settings: TillSettings | None = None,
                cancelled: CancelledFn | None = None) -> TillReader:
        """A till on a database server (``till.url``) is read by till/server.py instead."""
        if cls is TillReader and settings is not None and settings.url:
            return super().__new__(_server_reader[0])
        return super().__new__(cls)

    def __init__(self, path: str | Path, settings: TillSettings | None = None,
                 cancelled: CancelledFn | None = None) -> None:
        self.settings = settings or TillSettings()
        self.path = Path(path)
        m = self.settings.mapping
        # the reference schema is read in sale-id slices; a preset or mapping in one query
        self.custom = bool(self.settings.preset or m.sale_lines or m.products or m.open_sale)
        self._resolved: ResolvedMapping | None = None
        self._product_columns: set[str] = set()     # found by check_columns
        self._open_columns: set[str] = set()
        self._cancelled = cancelled
        self._stop = threading.Event()
        self._conn: sqlite3.Connection | None = None
        self._file: _TillFile | None = None
        # set while reading a cleanly closed WAL till with immutable=1: how the till and the
        # files beside it looked when it was opened; None for a live (mode=ro) connection
        self._snapshot: tuple[_Stat, _Stat, _Stat, _Stat] | None = None
        self._generation = 0
        self._deadline = math.inf
        self._abort: str | None = None

    # -- the queries (see till/mapping.py) ----------------------------------------------------
    def _mapping_dialect(self) -> str:
        """The SQL dialect the mapping is resolved for: SQLite, or a server till's from its
        URL (``postgresql+psycopg://…`` → postgresql)."""
        url = self.settings.url
        return url.split("://", 1)[0].split("+", 1)[0].lower() if url else "sqlite"

    @property
    def resolved(self) -> ResolvedMapping:
        """The queries this till is read with: reference schema, preset or [till.mapping]."""
        if self._resolved is None:
            self._resolved = resolve_mapping(self.settings, self._mapping_dialect())
        return self._resolved

    @property
    def q_lines(self) -> str:
        return self.resolved.sale_lines

    @property
    def q_products(self) -> str:
        return self.resolved.products

    @property
    def q_open(self) -> str | None:
        """None: the till keeps no open sale in its database (the basket API brings it)."""
        return self.resolved.open_sale

    @property
    def has_open_sale(self) -> bool:
        """False when the till keeps no open sale in its database (a preset's or
        ``open_sale = "none"``): the basket API brings the basket instead."""
        return self.q_open is not None

    def _params(self, query: str) -> dict[str, Any]:
        """The named parameters ``query`` uses (:register, :store, :lang)."""
        return dict(query_params(query, self.settings))

    # -- connection -------------------------------------------------------------------------
    def connect(self) -> TillReader:
        """Open and check the till: exists, is SQLite, not locked, mapped columns present."""
        if not self.path.exists():
            raise TillError(f"till database not found: {self.path}")
        if not self.path.is_file():
            raise TillError(f"till database path is not a file: {self.path}")
        try:
            self._open()
            self._run("schema", lambda c: c.execute("PRAGMA schema_version").fetchall())
            self.check_columns()
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        self._drop_connection()
        if self._file is not None:
            _release_file(self._file)
            self._file = None

    def __enter__(self) -> TillReader:
        return self.connect() if self._conn is None else self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            self.connect()
        assert self._conn is not None
        return self._conn

    @property
    def snapshot(self) -> bool:
        """True while reading a cleanly closed WAL till through ``immutable=1``."""
        return self._snapshot is not None

    def interrupt(self) -> None:
        """Stop the running query and every later one (from any thread): they raise
        Cancelled. Used when the panel exits."""
        self._stop.set()
        conn = self._conn
        if conn is not None:
            with contextlib.suppress(sqlite3.Error):
                conn.interrupt()

    def _drop_connection(self) -> None:
        conn, self._conn, self._snapshot = self._conn, None, None
        if conn is not None:
            with contextlib.suppress(sqlite3.Error):
                conn.close()

    def _stopped(self) -> bool:
        return self._stop.is_set() or (self._cancelled is not None and bool(self._cancelled()))

    def _check_stop(self) -> None:
        if self._stopped():
            raise Cancelled("reading the till was cancelled")

    def _pause(self, seconds: float) -> None:
        self._stop.wait(seconds)
        self._check_stop()

    def _locked(self) -> TillError:
        return TillError(f"till database {self.path} is locked by another program "
                         f"(waited {self.settings.busy_timeout_ms} ms)")

    def _open(self) -> None:
        """(Re)open the connection, choosing under the till's shared lock between a live
        ``mode=ro`` connection and an immutable snapshot of a cleanly closed WAL till."""
        self._drop_connection()
        f = self._file
        if f is not None and _file_key(f.path) != f.key:      # replaced or gone
            _release_file(f)
            self._file = f = None
        if f is None:
            try:
                self._file = f = _acquire_file(self.path)
            except FileNotFoundError:
                raise TillError(f"till database not found: {self.path}") from None
            except OSError as exc:
                raise TillError(f"till database {self.path} cannot be opened: "
                                f"{exc.strerror or exc}") from None
        give_up = time.monotonic() + self.settings.busy_timeout_ms / 1000.0
        wait = 0.001
        while True:
            self._check_stop()
            if f.try_share():
                try:
                    if self._try_open(f):
                        return
                finally:
                    f.unshare()
            if time.monotonic() >= give_up:
                raise self._locked()
            self._pause(wait)
            wait = min(wait * 2, 0.02)

    def _try_open(self, f: _TillFile) -> bool:
        """One attempt while the shared lock is held; False when the till holds a write lock."""
        try:
            header = f.header()
            seen = _fingerprint(self.path)
        except OSError as exc:
            raise TillError(f"till database {self.path} cannot be read: "
                            f"{exc.strerror or exc}") from None
        wal_db = len(header) >= 20 and header[:16] == _MAGIC and 2 in (header[18], header[19])
        wal, shm = seen[1] is not None, seen[2] is not None
        live = (wal and shm) or (not wal and not wal_db)
        uri = ro_uri(self.path) + ("" if live else "&immutable=1")
        try:
            # no busy wait while our lock is held: a writer waiting on us would wait on us
            conn = sqlite3.connect(uri, uri=True, timeout=0, isolation_level=None,
                                   check_same_thread=True)
        except sqlite3.Error as exc:
            raise TillError(f"till database {self.path} cannot be opened: {exc}") from None
        conn.set_progress_handler(self._on_progress, _PROGRESS_OPS)
        conn.execute("PRAGMA temp_store = MEMORY")       # no temporary file, anywhere
        if live:
            try:
                # the first read opens the till's -wal/-shm (if any) while they cannot vanish;
                # from then on SQLite's shared lock keeps them
                self._exec("schema", lambda c: c.execute("PRAGMA schema_version").fetchall(),
                           conn)
                conn.execute(f"PRAGMA busy_timeout = {int(self.settings.busy_timeout_ms)}")
            except _Busy:
                conn.close()
                return False
            except BaseException:
                conn.close()
                raise
        elif wal:
            log.warning("till %s has a -wal file but no -shm: reading its last checkpointed "
                        "state", self.path)
        self._conn = conn
        self._snapshot = None if live else seen
        self._generation += 1
        log.debug("till %s opened %s", self.path, "read-only" if live else "as a snapshot")
        return True

    def _on_progress(self) -> int:
        """SQLite calls this every few thousand steps of a query: nonzero stops the query."""
        try:
            if self._stop.is_set():
                self._abort = "stop"
            elif self._cancelled is not None and self._cancelled():
                self._abort = "cancel"
            elif time.monotonic() > self._deadline:
                self._abort = "timeout"
            else:
                return 0
        except KeyboardInterrupt:
            self._abort = "sigint"
        except Exception:
            self._abort = "cancel"
        return 1

    def _exec(self, what: str, fn: Callable[[sqlite3.Connection], T],
              conn: sqlite3.Connection) -> T:
        """Run one query with the time limit; map SQLite's errors to one-line TillErrors."""
        limit = self.settings.query_timeout_s
        self._abort = None
        self._deadline = time.monotonic() + limit
        try:
            return fn(conn)
        except sqlite3.OperationalError as exc:
            msg = str(exc)
            if msg == "interrupted":
                if self._abort == "timeout":
                    raise TillError(f"till query '{what}' did not finish within {limit:g} s "
                                    "(till.query_timeout_s) and was stopped") from None
                if self._abort in ("stop", "cancel") or self._stopped():
                    raise Cancelled("reading the till was cancelled") from None
                # no reason recorded: Ctrl-C arrived while SQLite ran the query (the sqlite3
                # module swallows the KeyboardInterrupt raised in the progress handler)
                raise KeyboardInterrupt from None
            if "locked" in msg or "busy" in msg:
                raise _Busy() from None
            if "no such table" in msg or "no such column" in msg:
                raise TillError(f"till database {self.path}: {msg} — map its schema in the "
                                "config file ([till.mapping])") from None
            raise TillError(f"till database {self.path}: {msg}") from None
        except sqlite3.DatabaseError as exc:
            raise TillError(f"till database {self.path} is not a usable SQLite database: "
                            f"{exc}") from None
        finally:
            self._deadline = math.inf

    def _run(self, what: str, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run one read against the till (``what`` names it in errors): with the time limit,
        cancel and interrupt, a few retries while the till holds a write lock, and on an
        immutable snapshot a check that the till did not change under the read."""
        busy = 0
        changes = 0
        give_up = time.monotonic() + self.settings.busy_timeout_ms / 1000.0
        while True:
            self._check_stop()
            if self._conn is None:
                self._open()
            conn, seen, f = self._conn, self._snapshot, self._file
            assert conn is not None and f is not None
            if seen is None:
                try:
                    return self._exec(what, fn, conn)
                except _Busy:
                    busy += 1
                    if busy >= _RETRIES:
                        raise self._locked() from None
                    self._pause(0.05 * busy)
                    continue
            if not f.try_share():    # the till is changing its journal mode: wait
                if time.monotonic() >= give_up:
                    raise self._locked()
                self._pause(0.002)
                continue
            try:
                if _fingerprint(self.path) == seen:
                    try:
                        result = self._exec(what, fn, conn)
                    except TillError:
                        if _fingerprint(self.path) == seen:
                            raise       # a real error, not a read torn by a change
                    else:
                        if _fingerprint(self.path) == seen:
                            return result
            except OSError as exc:
                raise TillError(f"till database {self.path} cannot be read: "
                                f"{exc.strerror or exc}") from None
            finally:
                f.unshare()
            changes += 1
            if changes > 20:
                raise TillError(f"till database {self.path} kept changing while being read")
            log.debug("till %s changed while being read; reading again", self.path)
            self._open()

    def check_columns(self) -> None:
        """Each of the three queries must return its named columns; name any that are missing.
        The open sale is not checked when the till keeps none in its database."""
        for what, label, query, needed in (
                ("sale_lines", "sales", self.q_lines, SALE_LINE_COLUMNS),
                ("products", "products", self.q_products, PRODUCT_COLUMNS),
                ("open_sale", "open sale", self.q_open, OPEN_SALE_COLUMNS)):
            if query is None:
                continue
            have = self._columns(label, query)
            missing = [c for c in needed if c not in have]
            if missing:
                raise TillError(f"till query '{what}' lacks column(s): {', '.join(missing)}")
            if what == "products":
                self._product_columns = have
            elif what == "open_sale":
                self._open_columns = have

    def _columns(self, what: str, query: str) -> set[str]:
        """The (lower-case) column names a mapped query returns (a check that reads no row
        and works on every dialect: till/mapping.py ``probe_sql``)."""
        params = self._params(query)

        def probe(c: sqlite3.Connection) -> set[str]:
            cur = c.execute(probe_sql(query), params)
            have = {d[0].lower() for d in cur.description}
            cur.close()
            return have

        return self._run(what, probe)

    def _fetchall(self, what: str, sql: str, params: Mapping[str, Any]) -> list[Any]:
        """Every row of one query (see ``_run``)."""
        return self._run(what, lambda c: c.execute(sql, params).fetchall())

    def _sale_id_span(self) -> tuple[int, int] | None:
        """The reference schema's smallest and largest sale id (None: read in one query)."""
        if self.custom:
            return None
        # two queries: SQLite answers a lone MIN() or MAX() of the key from the b-tree's ends,
        # but both in one query scan the whole table (75 ms on a 1M-sale till)
        lo = self._fetchall("sales", "SELECT MIN(sale_id) FROM sales", {})[0][0]
        hi = self._fetchall("sales", "SELECT MAX(sale_id) FROM sales", {})[0][0]
        if isinstance(lo, int) and isinstance(hi, int):
            return int(lo), int(hi)
        return None

    def _staged(self, sql: str, params: Mapping[str, Any]) -> tuple[list[Any], float]:
        """The rows of ``sql`` (sale_id, sku, closed_at) and how long the till was read.

        SQLite first copies them into a temporary table in memory: the till is read (and, in
        rollback-journal mode, locked) only while it does, not while Python builds its
        objects from them (2.5x shorter)."""
        took = [0.0]

        def read(c: sqlite3.Connection) -> list[Any]:
            c.execute("CREATE TEMP TABLE IF NOT EXISTS possuggest_slice (sale_id, sku, closed_at)")
            c.execute("DELETE FROM temp.possuggest_slice")
            began = time.perf_counter()
            c.execute(f"INSERT INTO temp.possuggest_slice {sql}", params)
            took[0] = time.perf_counter() - began
            rows = c.execute("SELECT sale_id, sku, closed_at FROM temp.possuggest_slice "
                             "ORDER BY rowid").fetchall()
            c.execute("DELETE FROM temp.possuggest_slice")
            return rows

        return self._run("sales", read), took[0]

    def _slices(self, span: tuple[int, int], sql: str, params: Mapping[str, Any],
                progress: ProgressFn | None = None,
                cancelled: CancelledFn | None = None) -> Iterator[list[Any]]:
        """``sql`` (``:lo < sale_id <= :hi``) over the span in slices that read the till for
        about ``_SLICE_S`` each: each slice is its own short read, nothing is held between
        them."""
        lo, hi = span
        start, chunk = lo - 1, _FIRST_CHUNK
        while start < hi:
            check_cancelled(cancelled, "refresh cancelled while reading sales")
            end = min(hi, start + chunk)
            began = time.perf_counter()
            rows = self._fetchall("sales", sql, {**params, "lo": start, "hi": end})
            chunk = _next_chunk(chunk, end - start, time.perf_counter() - began)
            yield rows
            if progress:
                progress(min(1.0, (end - lo + 1) / max(1, hi - lo + 1)), "reading sales")
            start = end

    # -- reads ------------------------------------------------------------------------------
    def data_version(self) -> int:
        """Changes when the till commits (``PRAGMA data_version``, plus a count of reopenings:
        a snapshot is reopened when the till's files change)."""
        v = self._run("data version", lambda c: c.execute("PRAGMA data_version").fetchall())
        return (self._generation << 32) | int(v[0][0])

    def latest_closed_at(self, cancelled: CancelledFn | None = None) -> Any:
        """The newest ``closed_at`` of the sales that are mined (read in short slices)."""
        span = self._sale_id_span()
        if span is None:
            rows = normalise_rows(self._fetchall(
                "sales", wrap(self.q_lines, ["MAX(m.closed_at)"]), self._params(self.q_lines)))
            return rows[0][0] if rows else None
        best: Any = None
        sql = f"SELECT MAX(closed_at) FROM ({self.q_lines}) WHERE {_RANGE}"
        for rows in self._slices(span, sql, {}, cancelled=cancelled):
            v = rows[0][0] if rows else None
            if v is not None and (best is None or _sql_order(v) > _sql_order(best)):
                best = v
        return best

    def read_products(self) -> dict[str, Product]:
        """The catalogue by SKU (with barcodes when the products query returns them)."""
        if not self._product_columns:
            self._product_columns = self._columns("products", self.q_products)
        columns = list(PRODUCT_COLUMNS) + (["barcode"] if "barcode" in self._product_columns
                                           else [])
        rows = normalise_rows(self._fetchall("products", wrap(self.q_products, columns),
                                             self._params(self.q_products)))
        out: dict[str, Product] = {}
        for row in rows:
            if row[0] is not None:
                out[str(row[0])] = Product.from_row(*row)
        return out

    def read_open_sale(self, register: str | None = None) -> OpenSale:
        """The register's open sale as the till has it: none when the till keeps no open
        sale in its database (the basket API brings it then). Lines in ring-up order (the
        query's ``line`` column when it has one)."""
        query = self.q_open
        if query is None:
            return OpenSale(None, ())
        if not self._open_columns:
            self._open_columns = self._columns("open sale", query)
        reg = self.settings.register if register is None else register
        params = self._params(query)
        if "register" in params:
            params["register"] = reg
        order = "m.line" if "line" in self._open_columns else ""
        rows = normalise_rows(self._fetchall(
            "open sale", wrap(query, ["sale_id", "sku", "qty"], order=order), params))
        if not rows:
            return OpenSale(None, ())
        sale_id = str(rows[0][0])
        return OpenSale(sale_id, tuple((str(sku), float(qty or 0)) for sid, sku, qty in rows
                                       if str(sid) == sale_id and sku is not None))

    def read_transactions(self, window_days: int | None = None,
                          progress: ProgressFn | None = None,
                          cancelled: CancelledFn | None = None) -> Transactions:
        """Closed, non-void sales in the window ending at the newest sale, as Transactions.

        The window is anchored at the newest closed sale (not the clock), so a history
        exported from a till reads the same on any day.
        """
        log.debug("reading sales from %s", self.path)
        base = f"SELECT sale_id, sku, closed_at FROM ({self.q_lines})"
        parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, str | None]] = []
        canon: dict[Any, str] = {}     # one str object per distinct sku, not one per line

        def take(rows: list[tuple[Any, Any, Any]], since_used: str | None) -> None:
            if rows:
                sid_c, sku_c, closed_c = zip(*rows)
                rows.clear()
                parts.append((np.array(sid_c, dtype=object),
                              np.array([canon[s] if s in canon else canon.setdefault(s, str(s))
                                        for s in sku_c], dtype=object),
                              np.array(closed_c, dtype=object), since_used))

        span = self._sale_id_span()
        if span is not None:
            since = self._newest_first(span, base, window_days, take, progress, cancelled)
            if since is None and any(p[3] is not None for p in parts):
                # the newest closed_at turned out not to be a time (so no window, as before):
                # rows left out under an earlier window start are read after all
                parts.clear()
                self._newest_first(span, base, None, take, progress, cancelled)
            parts.reverse()
        else:
            # a preset or mapping: one query, in time order (the same baskets in the same
            # order whatever the till's sale ids look like)
            since = _window_start(self.latest_closed_at(cancelled), window_days) \
                if window_days else None
            where = "m.sku IS NOT NULL" + (" AND m.closed_at >= :since" if since else "")
            params: dict[str, Any] = self._params(self.q_lines)
            if since:
                params["since"] = since
            check_cancelled(cancelled, "refresh cancelled while reading sales")
            take(normalise_rows(self._fetchall(
                "sales", wrap(self.q_lines, ["sale_id", "sku", "closed_at"], where=where,
                              order="m.closed_at, m.sale_id"), params)), since)
        # rows read under an earlier, lower window start: keep those in the final window
        sale_ids, skus, closed = [], [], []
        for sid_a, sku_a, closed_a, used in parts:
            if since is not None and used != since:
                keep = np.array([v is not None and _sql_order(v) >= (1, since) for v in closed_a],
                                dtype=bool)
                sid_a, sku_a, closed_a = sid_a[keep], sku_a[keep], closed_a[keep]
            sale_ids.append(sid_a)
            skus.append(sku_a)
            closed.append(closed_a)
        if not sale_ids or not sum(len(a) for a in sale_ids):
            return Transactions(np.zeros(0, np.int64), np.zeros(0, np.int64),
                                np.zeros(0, dtype=object), 0)
        sid = np.concatenate(sale_ids)
        sku = np.concatenate(skus)
        closed_at = np.concatenate(closed)
        tx = Transactions.from_pairs(sid, sku)
        # one time per basket: parse only the first line's text of each basket, as the
        # store's wall clock (times kept in UTC are converted to till.timezone)
        import pandas as pd
        first = pd.Series(closed_at).groupby(pd.factorize(sid)[0], sort=True).first()
        tx.basket_time = wall_clock_seconds(first.values, self.resolved.times,
                                            self.settings.timezone)
        log.info("read %d baskets, %d lines, %d items from till (since %s)",
                 tx.n_baskets, len(tx.basket), tx.n_items, since or "the start")
        return tx

    def _newest_first(self, span: tuple[int, int], base: str, window_days: int | None,
                      take: Callable[[list[Any], str | None], None],
                      progress: ProgressFn | None, cancelled: CancelledFn | None) -> str | None:
        """Read the reference schema's sales in slices from the newest sale id down, each a
        short read (see ``_staged``). With a window, the newest ``closed_at`` seen so far sets
        the window start of the next slices: it only ever rises, so the till is read once, with
        no separate pass for the newest sale (rows an earlier start let through are filtered
        again by the caller). Returns the final window start (None: no window)."""
        lo, hi = span
        # likelihood() tells SQLite the sale-id range is selective: without it the planner
        # walks every closed sale via the (status, register) index for each slice and sorts
        # the rows in a temp B-tree (2.5x slower on a 1M-sale till)
        plain = f"{base} WHERE {_RANGE} ORDER BY sale_id"
        windowed = f"{base} WHERE closed_at >= :since AND {_RANGE} ORDER BY sale_id"
        newest: Any = None
        since: str | None = None
        end, chunk = hi, _FIRST_CHUNK
        while end >= lo:
            check_cancelled(cancelled, "refresh cancelled while reading sales")
            start = max(lo - 1, end - chunk)
            used = since
            rows, took = self._staged(plain if used is None else windowed,
                                      {"lo": start, "hi": end} if used is None
                                      else {"lo": start, "hi": end, "since": used})
            chunk = _next_chunk(chunk, end - start, took)
            if window_days and rows:
                top = _sql_max([r[2] for r in rows])
                if top is not None and (newest is None or _sql_order(top) > _sql_order(newest)):
                    newest = top
                    since = _window_start(newest, window_days)
            take(rows, used)
            if progress:
                progress(min(1.0, (hi - start) / max(1, hi - lo + 1)), "reading sales")
            end = start
        return since


def _window_start(latest: Any, window_days: int) -> str | None:
    """The start of a window of ``window_days`` ending at ``latest`` (a closed_at value), as
    text in the same style; None when ``latest`` is not a time."""
    if not latest:
        return None
    t = parse_time(latest)
    if np.isnan(t):
        return None
    sep = latest[10] if isinstance(latest, str) and len(latest) > 10 else "T"
    return (datetime.fromtimestamp(t) - timedelta(days=window_days)).isoformat(
        sep=sep, timespec="seconds")


def _sql_max(values: list[Any]) -> Any:
    """SQLite's MAX() of a column's values (NULLs ignored, numbers < text < blobs)."""
    texts = [v for v in values if type(v) is str]
    if len(texts) == len(values):
        return max(texts, default=None)
    return max((v for v in values if v is not None), key=_sql_order, default=None)


def open_till(path: str | Path, settings: TillSettings | None = None) -> TillReader:
    """Open and check a till database read-only; raises TillError with a one-line message."""
    return TillReader(path, settings).connect()
