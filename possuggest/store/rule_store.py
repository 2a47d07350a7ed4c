"""possuggest's own database: rule sets (one active, earlier ones kept for rollback), rules,
item counts, a product snapshot per set, and the feedback events.

It never touches the till. A new rule set is written and activated in one transaction, so a
crash or kill mid-refresh leaves the previous active set exactly as it was.

A damaged database (not SQLite, malformed pages, truncated, another program's tables, a folder
in its place) raises :class:`StoreDamaged`; :meth:`RuleStore.open_or_recover` then moves it
aside as ``possuggest.db.damaged-YYYYmmdd-HHMMSS`` (with its ``-wal``/``-shm``) and starts an
empty one, whose rules are mined again from the till. Other SQLite errors become one-line
:class:`~possuggest.core.errors.RuleStoreError` messages (a full disk is named as such).
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import math
import os
import shutil
import sqlite3
import stat
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from possuggest.core.errors import RuleStoreError
from possuggest.core.products import Product
from possuggest.store import migrations
from possuggest.store.migrations import SCHEMA_VERSION as SCHEMA_VERSION  # re-exported

log = logging.getLogger(__name__)

SEP = "\t"

_DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS rule_sets (
    id INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 0,
    source TEXT,
    n_baskets INTEGER,
    n_items INTEGER,
    n_cross INTEGER,
    n_upgrade INTEGER,
    window_start TEXT,
    window_end TEXT,
    seconds REAL,
    params TEXT,
    notes TEXT
);
CREATE TABLE IF NOT EXISTS rules (
    rule_set_id INTEGER NOT NULL,
    rule_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    antecedent TEXT NOT NULL,
    antecedent_size INTEGER NOT NULL,
    consequent TEXT NOT NULL,
    count INTEGER,
    support REAL,
    confidence REAL,
    lift REAL,
    leverage REAL,
    conviction REAL,
    antecedent_count INTEGER,
    consequent_count INTEGER,
    weight REAL,
    PRIMARY KEY (rule_set_id, rule_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS context_counts (
    rule_set_id INTEGER NOT NULL,
    bucket INTEGER NOT NULL,
    sku TEXT NOT NULL,
    count REAL,
    PRIMARY KEY (rule_set_id, bucket, sku)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS item_counts (
    rule_set_id INTEGER NOT NULL,
    sku TEXT NOT NULL,
    count REAL,
    support REAL,
    PRIMARY KEY (rule_set_id, sku)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS products (
    rule_set_id INTEGER NOT NULL,
    sku TEXT NOT NULL,
    name TEXT, category TEXT, family TEXT,
    price REAL, cost REAL, stock INTEGER, active INTEGER,
    PRIMARY KEY (rule_set_id, sku)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rule_notes (
    with_sku TEXT NOT NULL,
    suggest_sku TEXT NOT NULL,
    note TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (with_sku, suggest_sku)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    ts TEXT NOT NULL,
    register TEXT,
    sale_id TEXT,
    sku TEXT NOT NULL,
    kind TEXT,
    rule_id INTEGER,
    rule_set_id INTEGER,
    action TEXT NOT NULL CHECK (action IN ('shown', 'accepted', 'dismissed', 'declined')),
    source TEXT,
    holdout INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS events_sale ON events(register, sale_id);
CREATE INDEX IF NOT EXISTS events_ts ON events(ts);
CREATE TABLE IF NOT EXISTS sales (
    id INTEGER PRIMARY KEY,
    register TEXT NOT NULL,
    sale_id TEXT NOT NULL,
    started TEXT,
    ended TEXT NOT NULL,
    holdout INTEGER NOT NULL DEFAULT 0,
    items REAL NOT NULL DEFAULT 0,
    value REAL NOT NULL DEFAULT 0,
    n_shown INTEGER NOT NULL DEFAULT 0,
    n_accepted INTEGER NOT NULL DEFAULT 0,
    accepted_value REAL NOT NULL DEFAULT 0,
    rule_set_id INTEGER,
    source TEXT,
    UNIQUE (register, sale_id)
);
CREATE INDEX IF NOT EXISTS sales_ended ON sales(ended);
CREATE TABLE IF NOT EXISTS sales_daily (
    day TEXT NOT NULL,
    register TEXT NOT NULL,
    holdout INTEGER NOT NULL,
    n INTEGER NOT NULL DEFAULT 0,
    value REAL NOT NULL DEFAULT 0,
    value_sq REAL NOT NULL DEFAULT 0,
    items REAL NOT NULL DEFAULT 0,
    with_shown INTEGER NOT NULL DEFAULT 0,
    with_accepted INTEGER NOT NULL DEFAULT 0,
    shown INTEGER NOT NULL DEFAULT 0,
    accepted INTEGER NOT NULL DEFAULT 0,
    accepted_value REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (day, register, holdout)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS event_daily (
    day TEXT NOT NULL,
    rule_set_id INTEGER NOT NULL,
    rule_id INTEGER NOT NULL,
    sku TEXT NOT NULL,
    kind TEXT NOT NULL,
    shown INTEGER NOT NULL DEFAULT 0,
    accepted INTEGER NOT NULL DEFAULT 0,
    dismissed INTEGER NOT NULL DEFAULT 0,
    declined INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, rule_set_id, rule_id, sku, kind)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS event_monthly (
    month TEXT NOT NULL,
    rule_set_id INTEGER NOT NULL,
    rule_id INTEGER NOT NULL,
    sku TEXT NOT NULL,
    kind TEXT NOT NULL,
    shown INTEGER NOT NULL DEFAULT 0,
    accepted INTEGER NOT NULL DEFAULT 0,
    dismissed INTEGER NOT NULL DEFAULT 0,
    declined INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (rule_set_id, rule_id, sku, kind, month)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS refresh_runs (
    id INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    seconds REAL,
    started_by TEXT NOT NULL,
    outcome TEXT NOT NULL,
    rule_set_id INTEGER,
    n_baskets INTEGER,
    n_cross INTEGER,
    n_upgrade INTEGER,
    params TEXT,
    message TEXT
);
"""


# -- the report's summaries -------------------------------------------------------------------
# ``sales_daily`` (per day, register, holdout or not: sums and sums of squares of basket value)
# and ``event_daily`` / ``event_monthly`` (cards shown / accepted / dismissed / declined per
# day or month, rule set, rule, item and kind; holdout events left out: they show no card) are
# kept in step with the sales and events tables by triggers, so every writer (an older
# release too) keeps them right. The report reads whole months from ``event_monthly`` and only
# the days at a period's ends from ``event_daily``. The summaries are made, and filled from
# what is there already, in one transaction (:meth:`RuleStore._init_summaries`).
_SALE_ROW = ("substr({r}.ended, 1, 10), {r}.register, {r}.holdout != 0, {n}, {s}{r}.value{e},"
             " {s}{r}.value * {r}.value{e}, {s}{r}.items{e}, {s}({r}.n_shown > 0){e},"
             " {s}({r}.n_accepted > 0){e}, {s}{r}.n_shown{e}, {s}{r}.n_accepted{e},"
             " {s}{r}.accepted_value{e}")
_SALE_ADD = ("INSERT INTO sales_daily SELECT " + _SALE_ROW.format(r="NEW", n=1, s="", e="")
             + " WHERE true ON CONFLICT (day, register, holdout) DO UPDATE SET n = n + 1,"
             " value = value + excluded.value, value_sq = value_sq + excluded.value_sq,"
             " items = items + excluded.items, with_shown = with_shown + excluded.with_shown,"
             " with_accepted = with_accepted + excluded.with_accepted,"
             " shown = shown + excluded.shown, accepted = accepted + excluded.accepted,"
             " accepted_value = accepted_value + excluded.accepted_value;")
_SALE_SUB = ("UPDATE sales_daily SET n = n - 1, value = value - OLD.value,"
             " value_sq = value_sq - OLD.value * OLD.value, items = items - OLD.items,"
             " with_shown = with_shown - (OLD.n_shown > 0),"
             " with_accepted = with_accepted - (OLD.n_accepted > 0),"
             " shown = shown - OLD.n_shown, accepted = accepted - OLD.n_accepted,"
             " accepted_value = accepted_value - OLD.accepted_value"
             " WHERE day = substr(OLD.ended, 1, 10) AND register = OLD.register"
             " AND holdout = (OLD.holdout != 0);")
# the period key of an event: its day, or its month when the day is a date ('' otherwise)
_EVENT_KEYS = {
    "event_daily": ("day", "substr({r}.ts, 1, 10)"),
    "event_monthly": ("month", "CASE WHEN substr({r}.ts, 1, 10) GLOB '[0-9][0-9][0-9][0-9]-"
                               "[0-9][0-9]-[0-9][0-9]' THEN substr({r}.ts, 1, 7) ELSE '' END"),
}
_EVENT_ROW = ("{key}, COALESCE({r}.rule_set_id, -1), COALESCE({r}.rule_id, -1), {r}.sku,"
              " COALESCE({r}.kind, ''), {s}({r}.action = 'shown'){e},"
              " {s}({r}.action = 'accepted'){e}, {s}({r}.action = 'dismissed'){e},"
              " {s}({r}.action = 'declined'){e}")


def _event_add(table: str) -> str:
    col, key = _EVENT_KEYS[table]
    return (f"INSERT INTO {table} SELECT "
            + _EVENT_ROW.format(key=key.format(r="NEW"), r="NEW", s="", e="")
            + f" WHERE NEW.holdout = 0 ON CONFLICT ({col}, rule_set_id, rule_id, sku, kind)"
            " DO UPDATE SET shown = shown + excluded.shown,"
            " accepted = accepted + excluded.accepted,"
            " dismissed = dismissed + excluded.dismissed,"
            " declined = declined + excluded.declined;")


def _event_sub(table: str) -> str:
    col, key = _EVENT_KEYS[table]
    return (f"UPDATE {table} SET shown = shown - (OLD.action = 'shown'),"
            " accepted = accepted - (OLD.action = 'accepted'),"
            " dismissed = dismissed - (OLD.action = 'dismissed'),"
            " declined = declined - (OLD.action = 'declined')"
            f" WHERE OLD.holdout = 0 AND {col} = {key.format(r='OLD')}"
            " AND rule_set_id = COALESCE(OLD.rule_set_id, -1)"
            " AND rule_id = COALESCE(OLD.rule_id, -1) AND sku = OLD.sku"
            " AND kind = COALESCE(OLD.kind, '');")


_EVENT_ADD = _event_add("event_daily") + " " + _event_add("event_monthly")
_EVENT_SUB = _event_sub("event_daily") + " " + _event_sub("event_monthly")
_SUMMARY_DDL = (
    f"CREATE TRIGGER IF NOT EXISTS sales_daily_ins AFTER INSERT ON sales BEGIN {_SALE_ADD} END",
    f"CREATE TRIGGER IF NOT EXISTS sales_daily_del AFTER DELETE ON sales BEGIN {_SALE_SUB} END",
    f"CREATE TRIGGER IF NOT EXISTS sales_daily_upd AFTER UPDATE ON sales BEGIN {_SALE_SUB}"
    f" {_SALE_ADD} END",
    f"CREATE TRIGGER IF NOT EXISTS event_summary_ins AFTER INSERT ON events BEGIN {_EVENT_ADD}"
    " END",
    f"CREATE TRIGGER IF NOT EXISTS event_summary_del AFTER DELETE ON events BEGIN {_EVENT_SUB}"
    " END",
    f"CREATE TRIGGER IF NOT EXISTS event_summary_upd AFTER UPDATE ON events BEGIN {_EVENT_SUB}"
    f" {_EVENT_ADD} END",
)
_SUMMARY_FILL = (
    "DELETE FROM sales_daily",
    "DELETE FROM event_daily",
    "DELETE FROM event_monthly",
    "INSERT INTO sales_daily SELECT " + _SALE_ROW.format(r="s", n="COUNT(*)", s="SUM(", e=")")
    + " FROM sales s GROUP BY 1, 2, 3",
    *(f"INSERT INTO {table} SELECT "
      + _EVENT_ROW.format(key=key.format(r="e"), r="e", s="SUM(", e=")")
      + " FROM events e WHERE e.holdout = 0 GROUP BY 1, 2, 3, 4, 5"
      for table, (_, key) in _EVENT_KEYS.items()),
)
_SUMMARY_VERSION = "1"       # meta 'summaries': the triggers exist and the tables were filled


@dataclass(frozen=True)
class RuleSetInfo:
    """One rule set's record (a row of ``rule_sets``). Refresh fills in what it mined and hands
    it to :meth:`RuleStore.write_rule_set`, which assigns ``id``, ``created_at`` and ``active``
    (the values given for those three are ignored); reads return it complete."""

    id: int = 0                         # 0 until the store has written it
    created_at: str = ""
    active: bool = False
    source: str = ""                    # the till (or file) the sales came from
    n_baskets: int = 0
    n_items: int = 0
    n_cross: int = 0
    n_upgrade: int = 0
    window_start: str | None = None     # the first and last sale mined (till's ISO text)
    window_end: str | None = None
    seconds: float = 0.0                # how long the refresh took
    params: dict[str, Any] = field(default_factory=dict)   # the mining settings used
    notes: list[str] = field(default_factory=list)


@dataclass
class RuleArrays:
    """One rule set, column-wise, ready for the engine's in-memory index."""

    rule_set: RuleSetInfo
    rule_id: np.ndarray
    kind: np.ndarray            # object: 'cross' | 'upgrade'
    antecedent: list[tuple[str, ...]]
    consequent: np.ndarray      # object
    count: np.ndarray
    confidence: np.ndarray
    lift: np.ndarray
    support: np.ndarray
    item_counts: dict[str, float]
    products: dict[str, Product]              # the catalogue as it was when the set was mined
    weight: np.ndarray | None = None          # EASE weight per rule (NaN = none)
    context: dict[int, dict[str, float]] | None = None   # bucket -> sku -> count ('*' = all)


def _num(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if math.isnan(f):
            return None
        if math.isinf(f):
            return 1e308 if f > 0 else -1e308
        return f
    if isinstance(v, (np.integer,)):
        return int(v)
    return v


# -- damage and errors ----------------------------------------------------------------------
# SQLite primary result codes: I/O error / the file is damaged / the disk is full / not a database
_SQLITE_IOERR, _SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_NOTADB = 10, 11, 13, 26
_SIDE_FILES = ("-wal", "-shm", "-journal")


class StoreDamaged(RuleStoreError):
    """possuggest's database is damaged or is not possuggest's; ``reason`` says how.
    :meth:`RuleStore.open_or_recover` moves such a file aside and starts a new one."""

    def __init__(self, path: Path, reason: str,
                 identity: tuple[int, int] | None = None) -> None:
        self.path = Path(path)
        self.reason = " ".join(str(reason).split())[:300]     # one line
        self.identity = identity        # the file found damaged (see recover_store)
        super().__init__(f"possuggest database {self.path} is unusable: damaged "
                         f"({self.reason})")


def _error_code(exc: sqlite3.Error) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)        # Python 3.11+
    if isinstance(code, int):
        return code & 0xFF
    text = str(exc)
    for part, c in (("malformed", _SQLITE_CORRUPT), ("not a database", _SQLITE_NOTADB),
                    ("disk is full", _SQLITE_FULL)):
        if part in text:
            return c
    return None


def _disk_full(folder: Path) -> bool:
    """Next to nothing left on the disk holding ``folder`` (SQLite reports a full disk while
    it sets up its shared-memory file as a plain "disk I/O error")."""
    try:
        return shutil.disk_usage(folder).free < (1 << 20)
    except OSError:
        return False


def store_error(exc: sqlite3.Error, path: Path, consequence: str = "") -> RuleStoreError:
    """A one-line error for an SQLite error on possuggest's database: :class:`StoreDamaged`
    for a damaged file, a message naming the full disk, else SQLite's own words.
    ``consequence`` says what that means, e.g. that the new rule set was not saved."""
    code = _error_code(exc)
    text = " ".join(str(exc).split()) or type(exc).__name__
    if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        return StoreDamaged(path, text)
    if code == _SQLITE_FULL or (code == _SQLITE_IOERR and _disk_full(Path(path).parent)):
        return RuleStoreError(f"no space left on the disk holding {Path(path).parent} ({text})"
                              + (f": {consequence}" if consequence else ""))
    return RuleStoreError(f"possuggest database {path}: {text}"
                          + (f"; {consequence}" if consequence else ""))


def _rollback(conn: sqlite3.Connection) -> None:
    """Undo what is left of a failed transaction. After some errors (a full disk among them)
    SQLite has rolled it back already: a second ROLLBACK would hide the real error."""
    if conn.in_transaction:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error as exc:
            log.warning("rollback failed: %s", exc)


@functools.lru_cache(maxsize=1)
def _expected_columns() -> dict[str, frozenset[str]]:
    """Each table of the schema and its columns, from the DDL itself."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.executescript(_DDL)
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {t: frozenset(r[1] for r in conn.execute(f"PRAGMA table_info({t})"))
                for t in tables}
    finally:
        conn.close()


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def _lone_side_file(path: Path) -> str | None:
    """A ``-wal`` left behind by a database file that is gone: SQLite would replay the old
    pages into a new file of the same name, so it counts as damage."""
    if os.path.lexists(path):
        return None
    wal = Path(f"{path}-wal")
    try:
        if wal.stat().st_size > 0:
            return "the database file is missing but its -wal file was left behind"
    except OSError:
        pass
    return None


def check_store(path: str | Path, thorough: bool = False) -> str | None:
    """Why the database at ``path`` cannot serve as possuggest's (damaged, not SQLite,
    another program's tables, a folder in its place), or None when it is fine or absent.
    ``thorough`` adds SQLite's page-by-page ``quick_check`` (reads the whole file).
    Problems that are not damage (locked, no permission) raise RuleStoreError."""
    p = Path(path)
    lone = _lone_side_file(p)
    if lone is not None or not os.path.lexists(p):
        return lone
    try:
        store = RuleStore(p)
    except StoreDamaged as exc:
        return exc.reason
    try:
        if thorough:
            store.check_integrity()
    except StoreDamaged as exc:
        return exc.reason
    finally:
        store.close()
    return None


def recover_store(path: str | Path, reason: str,
                  identity: tuple[int, int] | None = None) -> Path | None:
    """Move a damaged database aside, with its ``-wal``/``-shm``, as
    ``NAME.damaged-YYYYmmdd-HHMMSS`` in the same folder, so that a new one can be made in its
    place. Returns where it was kept (the kept ``-wal`` when only that was left); None when
    ``identity`` (from before it was found damaged) no longer matches: another process has
    recovered it already. Raises RuleStoreError when it cannot be moved."""
    p = Path(path)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    kept = p.with_name(f"{p.name}.damaged-{stamp}")
    n = 1
    while any(os.path.lexists(f"{kept}{s}") for s in ("", *_SIDE_FILES)):
        n += 1
        kept = p.with_name(f"{p.name}.damaged-{stamp}-{n}")
    why = " ".join(reason.split())
    moved: list[Path] = []
    if os.path.lexists(p):
        if identity is not None and _identity(p) != identity:
            return None
        try:
            os.rename(p, kept)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise RuleStoreError(f"possuggest database {p} is damaged ({why}) and cannot be "
                                 f"moved aside: {exc.strerror or exc}") from None
        moved.append(kept)
    for suffix in _SIDE_FILES:
        try:
            os.rename(f"{p}{suffix}", f"{kept}{suffix}")
            moved.append(Path(f"{kept}{suffix}"))
        except FileNotFoundError:
            pass
        except OSError as exc:   # left in place, it would be read into the new database
            raise RuleStoreError(f"possuggest database {p} is damaged ({why}) and its "
                                 f"{suffix} file cannot be moved aside: "
                                 f"{exc.strerror or exc}") from None
    if not moved:
        return None
    log.info("possuggest database %s is damaged (%s): kept aside as %s", p, why, moved[0].name)
    return moved[0]


class RuleStore:
    """possuggest's own SQLite database (WAL). One RuleStore per thread."""

    upgraded: migrations.Upgrade | None = None     # set when opening upgraded an older schema

    def __init__(self, path: str | Path) -> None:
        """Open (or create) the database. Raises :class:`StoreDamaged` when the file is
        damaged or not possuggest's, RuleStoreError for any other problem."""
        self.path = Path(path)
        conn: sqlite3.Connection | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._check_file()
            conn = sqlite3.connect(str(self.path), timeout=10.0, isolation_level=None)
            self.conn = conn
            self.identity = _identity(self.path)
            for attempt in range(20):
                try:
                    self._init_schema()
                    break
                except sqlite3.OperationalError as exc:
                    # two connections creating a fresh database at once: one waits its turn
                    if "locked" not in str(exc) or attempt == 19:
                        raise
                    time.sleep(0.05 * (attempt + 1))
        except (sqlite3.Error, OSError, RuleStoreError) as exc:
            if conn is not None:
                conn.close()
            if isinstance(exc, RuleStoreError):
                raise
            if isinstance(exc, sqlite3.Error):
                err = store_error(exc, self.path, "possuggest's database cannot be opened")
                if not isinstance(err, StoreDamaged) and "no space left" not in str(err):
                    err = RuleStoreError(f"possuggest database {self.path} is unusable: "
                                         f"{' '.join(str(exc).split())}")
                raise err from None
            raise RuleStoreError(f"possuggest database {self.path} cannot be created: "
                                 f"{exc.strerror or exc}") from None

    def _check_file(self) -> None:
        """Something other than a file where the database should be is damage too."""
        try:
            mode = os.stat(self.path).st_mode
        except FileNotFoundError:
            if os.path.islink(self.path) and not os.path.exists(self.path):
                raise StoreDamaged(self.path, "a link to a file that does not exist") from None
            return
        if stat.S_ISDIR(mode):
            raise StoreDamaged(self.path, "a folder is in its place")
        if not stat.S_ISREG(mode):
            raise StoreDamaged(self.path, "not a regular file")

    def _check_schema(self) -> None:
        """Refuse another program's database: one of possuggest's tables lacks columns, or
        there are tables but none of possuggest's (read before anything is written)."""
        conn = self.conn
        tables = {r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")}
        expected = _expected_columns()
        if tables and not tables & expected.keys():
            raise StoreDamaged(self.path, "not possuggest's: it holds other tables ("
                               + ", ".join(sorted(tables)[:5]) + ")")
        for table in sorted(tables & expected.keys()):
            have = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
            missing = expected[table] - have - ({"weight"} if table == "rules" else set())
            if missing:
                names = sorted(missing)
                raise StoreDamaged(self.path, f"wrong schema: table {table} has no column "
                                   + ", ".join(names[:3]) + (", …" if len(names) > 3 else ""))

    def check_integrity(self) -> None:
        """SQLite's page-by-page check (``PRAGMA quick_check``, reads the whole file):
        raises :class:`StoreDamaged` when it finds damage."""
        try:
            rows = self.conn.execute("PRAGMA quick_check(1)").fetchall()
        except sqlite3.Error as exc:
            raise store_error(exc, self.path) from exc
        if [r[0] for r in rows] != ["ok"]:
            raise StoreDamaged(self.path, "integrity check: " + "; ".join(str(r[0]) for r in rows))

    @classmethod
    def open_or_recover(cls, path: str | Path, thorough: bool = False,
                        damaged: StoreDamaged | None = None) -> tuple[RuleStore, str | None]:
        """Open the database; a damaged one (see :func:`check_store`; ``thorough`` adds the
        page-by-page check) is first moved aside by :func:`recover_store` and a new, empty
        one created. ``damaged``: the error a store raised in use, to recover from it.
        Returns the store and a one-line note when it recovered, else None."""
        p = Path(path)
        note: str | None = None
        found = damaged
        for _ in range(3):
            if found is None:
                identity = _identity(p)
                try:
                    lone = _lone_side_file(p)
                    if lone is not None:
                        raise StoreDamaged(p, lone)
                    store = cls(p)
                    if thorough:
                        try:
                            store.check_integrity()
                        except BaseException:
                            store.close()
                            raise
                    return store, note
                except StoreDamaged as exc:
                    found = exc
                    found.identity = found.identity or identity
            kept = recover_store(p, found.reason, found.identity)
            if kept is not None:
                note = (f"possuggest database {p} was damaged ({found.reason}): kept aside as "
                        f"{kept.name} and a new, empty one created")
            last, found = found, None
        raise last

    def _init_schema(self) -> None:
        conn = self.conn
        migrations.refuse_newer(conn, self.path)    # a newer release's database: untouched
        self._check_schema()
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        # an empty file gets the schema; an older one is backed up and upgraded in one
        # transaction (store/migrations.py)
        self.upgraded = migrations.migrate(conn, self.path, _DDL)
        conn.executescript(_DDL)        # CREATE ... IF NOT EXISTS: nothing left to do but check
        self._init_summaries()

    def _init_summaries(self) -> None:
        """The report's summary triggers, and the summaries filled from the sales and events
        already there (a database from before them), in one transaction: an event another
        process logs meanwhile is counted once, by the fill or by a trigger."""
        conn = self.conn
        done = "SELECT 1 FROM meta WHERE key = 'summaries' AND value = ?"
        if conn.execute(done, (_SUMMARY_VERSION,)).fetchone():
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            if not conn.execute(done, (_SUMMARY_VERSION,)).fetchone():
                for stmt in (*_SUMMARY_DDL, *_SUMMARY_FILL):
                    conn.execute(stmt)
                conn.execute("INSERT OR REPLACE INTO meta VALUES ('summaries', ?)",
                             (_SUMMARY_VERSION,))
            conn.execute("COMMIT")
        except BaseException:
            _rollback(conn)
            raise

    @property
    def db(self) -> Any:
        """The same connection as a ``sqlite_utils.Database`` (imported on first use: it pulls
        in pandas, which the panel's start-up path must not pay for)."""
        import sqlite_utils

        return sqlite_utils.Database(self.conn)

    def close(self) -> None:
        self.conn.close()

    def file_replaced(self) -> bool:
        """Whether the path no longer names the file this store has open (deleted, moved
        aside or replaced by another process): what is written here would be lost."""
        return _identity(self.path) != self.identity

    @contextlib.contextmanager
    def _sql(self, consequence: str = "") -> Iterator[None]:
        """SQLite errors inside become one-line RuleStoreErrors (StoreDamaged for damage)."""
        try:
            yield
        except sqlite3.Error as exc:
            err = store_error(exc, self.path, consequence)
            if isinstance(err, StoreDamaged):
                err.identity = self.identity
            raise err from exc

    def __enter__(self) -> RuleStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- rule sets ------------------------------------------------------------------------
    def write_rule_set(self, rules: Any, item_counts: Any, products: Iterable[Product],
                       info: RuleSetInfo, keep: int = 5, context_counts: Any = None) -> int:
        """Write a complete rule set and make it active (unless a rollback pinned another
        set: then it is only added), all in one transaction.

        ``rules`` is a DataFrame with mining.RULE_COLUMNS; ``item_counts`` has sku, count,
        support; ``products`` is the catalogue snapshot kept with the set. Older sets beyond
        ``keep`` are pruned in the same transaction. Returns the new set's id. A full disk
        or any other SQLite error raises a one-line RuleStoreError with nothing written.
        """
        with self._sql("the new rule set was not saved; the rules in use are unchanged"):
            return self._write_rule_set(rules, item_counts, products, info, keep,
                                        context_counts)

    def _write_rule_set(self, rules: Any, item_counts: Any, products: Iterable[Product],
                        info: RuleSetInfo, keep: int, context_counts: Any) -> int:
        c = self.conn
        c.execute("BEGIN IMMEDIATE")
        try:
            cur = c.execute(
                "INSERT INTO rule_sets (created_at, active, source, n_baskets, n_items, n_cross,"
                " n_upgrade, window_start, window_end, seconds, params, notes)"
                " VALUES (?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (time.strftime("%Y-%m-%dT%H:%M:%S"), info.source,
                 int(info.n_baskets), int(info.n_items), int(info.n_cross), int(info.n_upgrade),
                 info.window_start, info.window_end, float(info.seconds),
                 json.dumps(info.params), json.dumps(info.notes)))
            rs_id = int(cur.lastrowid or 0)
            n = len(rules)
            if n:
                ante = [SEP.join(a) for a in rules["antecedent"]]
                sizes = [len(a) for a in rules["antecedent"]]
                if "weight" not in rules:
                    rules = rules.assign(weight=np.nan)
                cols = [rules[k].to_numpy() for k in
                        ("kind", "consequent", "count", "support", "confidence", "lift",
                         "leverage", "conviction", "antecedent_count", "consequent_count",
                         "weight")]
                rows = ((rs_id, i, cols[0][i], ante[i], sizes[i], cols[1][i],
                         _num(cols[2][i]), _num(cols[3][i]), _num(cols[4][i]), _num(cols[5][i]),
                         _num(cols[6][i]), _num(cols[7][i]), _num(cols[8][i]), _num(cols[9][i]),
                         _num(cols[10][i]))
                        for i in range(n))
                c.executemany("INSERT INTO rules (rule_set_id, rule_id, kind, antecedent,"
                              " antecedent_size, consequent, count, support, confidence, lift,"
                              " leverage, conviction, antecedent_count, consequent_count, weight)"
                              " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
            if context_counts is not None and len(context_counts):
                c.executemany("INSERT INTO context_counts VALUES (?,?,?,?)",
                              ((rs_id, int(b), str(k), float(v)) for b, k, v in
                               zip(context_counts["bucket"], context_counts["sku"],
                                   context_counts["count"])))
            db = self.db
            db["item_counts"].insert_all(
                ({"rule_set_id": rs_id, "sku": str(s), "count": float(k), "support": float(p)}
                 for s, k, p in zip(item_counts["sku"], item_counts["count"],
                                    item_counts["support"])), batch_size=5000)
            c.executemany("INSERT INTO products (rule_set_id, sku, name, category, family, price,"
                          " cost, stock, active) VALUES (?,?,?,?,?,?,?,?,?)",
                          ((rs_id, *p.to_row()) for p in products))
            pinned = self.pinned_rule_set()
            if pinned is None:          # a rollback pins its set: a refresh then only adds
                c.execute("UPDATE rule_sets SET active = (id = ?)", (rs_id,))
            self._prune(keep)
            c.execute("COMMIT")
        except BaseException:
            _rollback(c)
            raise
        log.info("rule set %d written (%d rules)%s", rs_id, len(rules),
                 "" if pinned is None else f"; rule set {pinned} stays active (pinned)")
        return rs_id

    def _prune(self, keep: int) -> None:
        old = [r[0] for r in self.conn.execute(
            "SELECT id FROM rule_sets WHERE active = 0 ORDER BY id DESC LIMIT -1 OFFSET ?",
            (max(keep - 1, 0),))]
        for rs in old:
            for table in ("rules", "item_counts", "products", "context_counts"):
                self.conn.execute(f"DELETE FROM {table} WHERE rule_set_id = ?", (rs,))
            self.conn.execute("DELETE FROM rule_sets WHERE id = ?", (rs,))

    def _info(self, row: sqlite3.Row | tuple[Any, ...]) -> RuleSetInfo:
        (rid, created, active, source, nb, ni, nc, nu, ws, we, secs, params, notes) = row
        return RuleSetInfo(id=int(rid), created_at=created, active=bool(active),
                           source=source or "", n_baskets=nb or 0, n_items=ni or 0,
                           n_cross=nc or 0, n_upgrade=nu or 0, window_start=ws, window_end=we,
                           seconds=secs or 0.0, params=json.loads(params or "{}"),
                           notes=json.loads(notes or "[]"))

    def rule_sets(self) -> list[RuleSetInfo]:
        with self._sql():
            return [self._info(r) for r in self.conn.execute(
                "SELECT id, created_at, active, source, n_baskets, n_items, n_cross, n_upgrade,"
                " window_start, window_end, seconds, params, notes FROM rule_sets"
                " ORDER BY id DESC")]

    def active_rule_set(self) -> RuleSetInfo | None:
        for info in self.rule_sets():
            if info.active:
                return info
        return None

    def pinned_rule_set(self) -> int | None:
        """The rule set a rollback pinned (refreshes then add sets without activating them)."""
        with self._sql():
            row = self.conn.execute(
                "SELECT value FROM meta WHERE key = 'pinned_rule_set'").fetchone()
        return int(row[0]) if row and row[0] else None

    def activate(self, rule_set_id: int, pin: bool = False) -> None:
        """Roll back (or forward) to a kept rule set, in one transaction. ``pin`` keeps it
        active through later refreshes until :meth:`unpin`; without it any pin is cleared."""
        c = self.conn
        with self._sql("the active rule set did not change"):
            c.execute("BEGIN IMMEDIATE")
            try:
                if not c.execute("SELECT 1 FROM rule_sets WHERE id = ?",
                                 (rule_set_id,)).fetchone():
                    raise RuleStoreError(f"no rule set {rule_set_id} (see 'possuggest "
                                         "rule-sets')")
                c.execute("UPDATE rule_sets SET active = (id = ?)", (rule_set_id,))
                c.execute("INSERT OR REPLACE INTO meta VALUES ('pinned_rule_set', ?)",
                          (str(rule_set_id) if pin else "",))
                c.execute("COMMIT")
            except BaseException:
                _rollback(c)
                raise

    def load_active(self) -> RuleArrays | None:
        """The active rule set, column-wise; None when there is none yet."""
        info = self.active_rule_set()
        if info is None:
            return None
        return self.load(info)

    def load(self, info: RuleSetInfo) -> RuleArrays:
        with self._sql():
            return self._load(info)

    def _load(self, info: RuleSetInfo) -> RuleArrays:
        rows = self.conn.execute(
            "SELECT rule_id, kind, antecedent, consequent, count, confidence, lift, support,"
            " weight FROM rules WHERE rule_set_id = ? ORDER BY rule_id", (info.id,)).fetchall()
        if rows:
            rid, kind, ante, cons, cnt, conf, lift, sup, weight = zip(*rows)
        else:
            rid = kind = ante = cons = cnt = conf = lift = sup = weight = ()
        context: dict[int, dict[str, float]] = {}
        for b, sku, cnt_ in self.conn.execute(
                "SELECT bucket, sku, count FROM context_counts WHERE rule_set_id = ?", (info.id,)):
            context.setdefault(int(b), {})[sku] = float(cnt_)
        items = dict(self.conn.execute(
            "SELECT sku, count FROM item_counts WHERE rule_set_id = ?", (info.id,)).fetchall())
        prods = {str(r[0]): Product.from_row(*r) for r in self.conn.execute(
            "SELECT sku, name, category, family, price, cost, stock, active"
            " FROM products WHERE rule_set_id = ?", (info.id,))}
        return RuleArrays(
            rule_set=info,
            rule_id=np.array(rid, dtype=np.int64),
            kind=np.array(kind, dtype=object),
            antecedent=[tuple(a.split(SEP)) for a in ante],
            consequent=np.array(cons, dtype=object),
            count=np.array(cnt, dtype=np.float64),
            confidence=np.array(conf, dtype=np.float64),
            lift=np.array([np.nan if v is None else v for v in lift], dtype=np.float64),
            support=np.array(sup, dtype=np.float64),
            item_counts={str(k): float(v) for k, v in items.items()},
            products=prods,
            weight=np.array([np.nan if v is None else v for v in weight], dtype=np.float64),
            context=context or None)

    def iter_rules(self, rule_set_id: int, sku: str | None = None, kind: str | None = None,
                   limit: int | None = None) -> Iterator[dict[str, Any]]:
        """Rules of a set, strongest first (by lift for cross, share for upgrades)."""
        where = ["rule_set_id = ?"]
        params: list[Any] = [rule_set_id]
        if kind:
            where.append("kind = ?")
            params.append(kind)
        if sku:
            where.append("(consequent = ? OR (SEP || antecedent || SEP) LIKE ?)".replace(
                "SEP", "char(9)"))
            params += [sku, f"%\t{sku}\t%"]
        q = ("SELECT rule_id, kind, antecedent, consequent, count, support, confidence, lift,"
             " leverage, conviction FROM rules WHERE " + " AND ".join(where) +
             " ORDER BY confidence * COALESCE(MIN(lift, 50), 1) DESC, count DESC")
        if limit:
            q += f" LIMIT {int(limit)}"
        with self._sql():
            for r in self.conn.execute(q, params):
                yield {"rule_id": r[0], "kind": r[1], "antecedent": r[2].split(SEP),
                       "consequent": r[3], "count": r[4], "support": r[5], "confidence": r[6],
                       "lift": r[7], "leverage": r[8], "conviction": r[9]}

    # -- events ---------------------------------------------------------------------------
    def log_events(self, events: Iterable[dict[str, Any]]) -> int:
        """Append feedback events (shown / accepted / dismissed) in one transaction; sale
        records (``{"record": "sale", ...}``, see :meth:`log_sales`) among them go into the
        sales table in the same transaction. Returns how many rows were written."""
        batch = list(events)
        sales = [_sale_row(e) for e in batch if e.get("record") == "sale"]
        rows = [(e.get("ts") or time.strftime("%Y-%m-%dT%H:%M:%S"), e.get("register"),
                 None if e.get("sale_id") is None else str(e.get("sale_id")), e["sku"],
                 e.get("kind"), e.get("rule_id"), e.get("rule_set_id"), e["action"],
                 e.get("source"), int(bool(e.get("holdout", False))))
                for e in batch if e.get("record") != "sale"]
        if not rows and not sales:
            return 0
        c = self.conn
        with self._sql():
            c.execute("BEGIN IMMEDIATE")
            try:
                c.executemany("INSERT INTO events (ts, register, sale_id, sku, kind, rule_id,"
                              " rule_set_id, action, source, holdout)"
                              " VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
                if sales:
                    c.executemany(_SALE_UPSERT, sales)
                c.execute("COMMIT")
            except BaseException:
                _rollback(c)
                raise
        return len(rows) + len(sales)

    # -- sales (what the report measures) ---------------------------------------------------
    def log_sales(self, records: Iterable[dict[str, Any]]) -> int:
        """Append ended sales in one transaction, each a dict with ``register``, ``sale_id``,
        ``ended`` and optionally ``started``, ``holdout``, ``items``, ``value``, ``n_shown``,
        ``n_accepted``, ``accepted_value``, ``rule_set_id``, ``source`` (see
        serving/sale_session.py). A sale logged again (the same register and sale id: a
        restart mid-sale) keeps its first start, takes the later basket and adds the cards."""
        return self.log_events({**r, "record": "sale"} for r in records)

    def sales(self, since: str | None = None, until: str | None = None) -> list[dict[str, Any]]:
        """Logged sales with ``since <= ended < until`` (ISO text; None = open), oldest first."""
        cols = ["register", "sale_id", "started", "ended", "holdout", "items", "value",
                "n_shown", "n_accepted", "accepted_value", "rule_set_id", "source"]
        q = f"SELECT {', '.join(cols)} FROM sales WHERE ended >= ? AND ended < ? ORDER BY ended, id"
        with self._sql():
            return [dict(zip(cols, r)) for r in self.conn.execute(
                q, (since or "", until or "\uffff"))]

    def events(self, sale_id: str | None = None) -> list[dict[str, Any]]:
        q = ("SELECT id, ts, register, sale_id, sku, kind, rule_id, rule_set_id, action, source,"
             " holdout FROM events")
        params: tuple[Any, ...] = ()
        if sale_id is not None:
            q += " WHERE sale_id = ?"
            params = (str(sale_id),)
        cols = ["id", "ts", "register", "sale_id", "sku", "kind", "rule_id", "rule_set_id",
                "action", "source", "holdout"]
        with self._sql():
            return [dict(zip(cols, r)) for r in self.conn.execute(q + " ORDER BY id", params)]

    def feedback_counts(self, since: str | None = None, until: str | None = None,
                        half_life_days: float = 0.0
                        ) -> dict[tuple[str, str], tuple[float, float, float]]:
        """Shown / accepted / dismissed cards per (driver, sku) with ``since <= ts < until``
        (the events' ISO text; None = open), holdout sales left out: the counter's feedback.

        The driver is the antecedent of the rule the card came from (its SKUs joined by a tab,
        sorted), found through the event's rule set and rule id; "" when there is none (a
        pinned, manual or best-seller card, or a rule set since pruned). With
        ``half_life_days`` an event counts 0.5 ** (its age in whole days before ``until``, or
        today, / half_life_days). One GROUP BY over the ``events_ts`` index.
        """
        where: list[str] = ["e.holdout = 0"]
        params: list[str] = []
        if since is not None:
            where.append("e.ts >= ?")
            params.append(since)
        if until is not None:
            where.append("e.ts < ?")
            params.append(until)
        day = "substr(e.ts, 1, 10)" if half_life_days > 0 else "''"     # per day to decay
        q = (f"SELECT COALESCE(r.antecedent, ''), e.sku, {day},"
             " SUM(e.action = 'shown'), SUM(e.action = 'accepted'),"
             " SUM(e.action IN ('dismissed', 'declined'))"
             " FROM events e LEFT JOIN rules r ON r.rule_set_id = e.rule_set_id"
             " AND r.rule_id = e.rule_id AND r.consequent = e.sku"
             " WHERE " + " AND ".join(where) + " GROUP BY 1, 2, 3")
        with self._sql():
            rows = self.conn.execute(q, params).fetchall()
        import datetime as dt

        end = (dt.date.fromisoformat(until[:10]) if until else dt.date.today()).toordinal()
        out: dict[tuple[str, str], tuple[float, float, float]] = {}
        for ante, sku, day, shown, accepted, dismissed in rows:
            w = 1.0
            if half_life_days > 0:
                try:
                    age = max(end - dt.date.fromisoformat(day).toordinal(), 0)
                except (TypeError, ValueError):
                    age = 0
                w = 0.5 ** (age / half_life_days)
            key = (SEP.join(sorted(ante.split(SEP))) if ante else "", str(sku))
            s0, a0, d0 = out.get(key, (0.0, 0.0, 0.0))
            out[key] = (s0 + w * shown, a0 + w * accepted, d0 + w * dismissed)
        return out


_SALE_UPSERT = (
    "INSERT INTO sales (register, sale_id, started, ended, holdout, items, value, n_shown,"
    " n_accepted, accepted_value, rule_set_id, source) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
    " ON CONFLICT (register, sale_id) DO UPDATE SET"
    " started = COALESCE(MIN(started, excluded.started), started, excluded.started),"
    " ended = excluded.ended, holdout = excluded.holdout, items = excluded.items,"
    " value = excluded.value, n_shown = n_shown + excluded.n_shown,"
    " n_accepted = n_accepted + excluded.n_accepted,"
    " accepted_value = accepted_value + excluded.accepted_value,"
    " rule_set_id = COALESCE(excluded.rule_set_id, rule_set_id), source = excluded.source")


def _sale_row(r: dict[str, Any]) -> tuple[Any, ...]:
    """One sale record as the sales table's row (a missing register, sale id or end, or a
    figure that is not a number, raises: the event writer then drops that record alone)."""
    for key in ("register", "sale_id", "ended"):
        if r.get(key) is None:
            raise KeyError(f"sale record without {key}")
    rs = r.get("rule_set_id")
    return (str(r["register"]), str(r["sale_id"]), r.get("started"), str(r["ended"]),
            int(bool(r.get("holdout", False))), float(r.get("items") or 0.0),
            float(r.get("value") or 0.0), int(r.get("n_shown") or 0),
            int(r.get("n_accepted") or 0), float(r.get("accepted_value") or 0.0),
            None if rs is None else int(rs), r.get("source"))


def arrays_from_mining(rules: Any, item_counts: Any, n_baskets: int,
                       products: dict[str, Product] | None = None,
                       rule_set_id: int = 0, context_counts: Any = None) -> RuleArrays:
    """A mined rule set straight into the engine's form, without a database (evaluation)."""
    info = RuleSetInfo(id=rule_set_id, active=True, source="memory", n_baskets=int(n_baskets),
                       n_items=len(item_counts), n_cross=int((rules["kind"] == "cross").sum()),
                       n_upgrade=int((rules["kind"] == "upgrade").sum()))
    return RuleArrays(
        rule_set=info,
        rule_id=np.arange(len(rules), dtype=np.int64),
        kind=rules["kind"].to_numpy(dtype=object),
        antecedent=[tuple(a) for a in rules["antecedent"]],
        consequent=rules["consequent"].to_numpy(dtype=object),
        count=rules["count"].to_numpy(dtype=np.float64),
        confidence=rules["confidence"].to_numpy(dtype=np.float64),
        lift=rules["lift"].to_numpy(dtype=np.float64),
        support=rules["support"].to_numpy(dtype=np.float64),
        item_counts={str(s): float(c) for s, c in zip(item_counts["sku"], item_counts["count"])},
        products=products or {},
        weight=(rules["weight"].to_numpy(dtype=np.float64) if "weight" in rules
                else np.full(len(rules), np.nan)),
        context=_context_dict(context_counts))


def _context_dict(df: Any) -> dict[int, dict[str, float]] | None:
    if df is None or not len(df):
        return None
    out: dict[int, dict[str, float]] = {}
    for b, sku, cnt in zip(df["bucket"], df["sku"], df["count"]):
        out.setdefault(int(b), {})[str(sku)] = float(cnt)
    return out
