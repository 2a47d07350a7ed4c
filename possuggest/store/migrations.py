"""possuggest's database schema versions: the steps from each older version to the current
one, run forward in ONE transaction after a backup, and the refusal of a newer database.

The version is kept in the ``meta`` table (``schema_version``). Opening a database
(:class:`~possuggest.store.rule_store.RuleStore`) calls :func:`migrate`:

- an empty file gets the whole current schema, at the current version;
- an older database is first copied, with SQLite's online backup API, to
  ``backups/possuggest-schemaN-YYYYmmdd-HHMMSS-micros.db`` beside it (the last :data:`KEEP_BACKUPS`
  are kept), then every step above its version runs, and the new version is written, all in
  one ``BEGIN IMMEDIATE`` transaction: a crash, a kill or a full disk part-way leaves the
  database exactly as the older release left it (the next start tries again);
- a database from a NEWER release (a downgrade) is refused with :class:`StoreTooNew` and left
  untouched, never moved aside as damaged.

Versions: 1, the first release (no EASE weights); 2, release 0.1.0 (``rules.weight``); 3, the
sales the report measures and their daily summaries, the cards' daily and monthly summaries,
the history of refreshes and the manager's rule notes.

A step that only adds tables or columns runs plain SQL. A step that must change an existing
table's columns or constraints rebuilds it with sqlite-utils (version 4 or later, which works
inside this transaction with savepoints)::

    sqlite_utils.Database(conn)["events"].transform(...)

Steps never commit: the transaction is this module's.
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from possuggest.core.errors import RuleStoreError

log = logging.getLogger(__name__)

SCHEMA_VERSION = 3          # what this release writes
BACKUP_DIR = "backups"      # beside the database, in the data folder
KEEP_BACKUPS = 3


class StoreTooNew(RuleStoreError):
    """The database was written by a newer possuggest (a downgrade): it is left untouched."""

    def __init__(self, path: Path, found: int, supported: int) -> None:
        self.path = Path(path)
        self.found = found
        self.supported = supported
        super().__init__(
            f"possuggest database {self.path} was written by a newer release of possuggest "
            f"(schema {found}; this release reads up to {supported}): run that release again, "
            f"or restore a copy from {self.path.parent / BACKUP_DIR}; nothing was changed")


@dataclass(frozen=True)
class Step:
    """One step forward: after it the database is at ``version``. ``apply(conn, ddl)`` gets
    the connection inside the migration's transaction and the current schema's DDL."""

    version: int
    what: str
    apply: Callable[[sqlite3.Connection, str], None]


@dataclass(frozen=True)
class Upgrade:
    """What :func:`migrate` did to an older database."""

    from_version: int
    to_version: int
    backup: Path
    seconds: float


def ddl_statements(ddl: str) -> list[str]:
    """The statements of a DDL script, one by one (``executescript`` would commit first)."""
    out: list[str] = []
    part = ""
    for line in ddl.splitlines(keepends=True):
        part += line
        if sqlite3.complete_statement(part):
            out.append(part.strip())
            part = ""
    if part.strip():
        raise ValueError(f"incomplete SQL statement in the schema: {part.strip()[:60]}")
    return out


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}


def _add_rule_weights(conn: sqlite3.Connection, ddl: str) -> None:
    if "weight" not in _columns(conn, "rules"):
        conn.execute("ALTER TABLE rules ADD COLUMN weight REAL")


def _create_missing(conn: sqlite3.Connection, ddl: str) -> None:
    """Every table and index of the schema that is not there yet (``IF NOT EXISTS``)."""
    for statement in ddl_statements(ddl):
        conn.execute(statement)


STEPS: tuple[Step, ...] = (
    Step(2, "the EASE weight of each rule (rules.weight)", _add_rule_weights),
    Step(3, "sales and their summaries, card summaries, refresh history, rule notes",
         _create_missing),
)


def schema_version(conn: sqlite3.Connection) -> int | None:
    """The database's schema version; None for an empty database. A database with tables but
    no version predates versions (1). Raises RuleStoreError when the version is not a number."""
    if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
                    ).fetchone():
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is not None:
            try:
                return int(row[0])
            except (TypeError, ValueError):
                raise RuleStoreError(f"possuggest database: schema version {row[0]!r} is not a "
                                     "number") from None
    tables = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table'"
                          " AND name NOT LIKE 'sqlite_%'").fetchone()
    return 1 if tables else None


def refuse_newer(conn: sqlite3.Connection, path: Path,
                 supported: int = SCHEMA_VERSION) -> int | None:
    """Raise :class:`StoreTooNew` for a database from a newer release; else its version."""
    found = schema_version(conn)
    if found is not None and found > supported:
        raise StoreTooNew(path, found, supported)
    return found


_STAMP = re.compile(r"-schema\d+-(\d{8}-\d{6}-\d{6})(?:-\d+)?\.db$")


def backups(db_path: Path) -> list[Path]:
    """The backups taken before upgrades of this database, oldest first."""
    folder = Path(db_path).parent / BACKUP_DIR
    stem = Path(db_path).stem
    try:
        found = [(m.group(1), p.name, p) for p in folder.glob(f"{stem}-schema*.db")
                 if (m := _STAMP.search(p.name)) and p.is_file()]
    except OSError:
        return []
    return [p for _, _, p in sorted(found)]


def take_backup(db_path: Path, version: int, keep: int = KEEP_BACKUPS) -> Path:
    """Copy the database's last committed state (SQLite's backup API, through a read-only
    connection of its own) to the backups folder; keep the newest ``keep``. The copy is
    written under a temporary name and renamed when complete. :func:`migrate` calls it while
    holding the write lock, so what is copied is exactly what is upgraded. (A connection in a
    write transaction cannot be the backup's source: SQLite answers "locked" for ever.)"""
    db_path = Path(db_path)
    folder = db_path.parent / BACKUP_DIR
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    target = folder / f"{db_path.stem}-schema{version}-{stamp}.db"
    n = 1
    while target.exists():
        n += 1
        target = folder / f"{db_path.stem}-schema{version}-{stamp}-{n}.db"
    partial = target.with_name(target.name + ".partial")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        source = sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True,
                                 timeout=10.0)
        try:
            dest = sqlite3.connect(str(partial))
            try:
                source.backup(dest)
            finally:
                dest.close()
        finally:
            source.close()
        os.replace(partial, target)
    except (sqlite3.Error, OSError) as exc:
        try:
            partial.unlink()
        except OSError:
            pass
        why = getattr(exc, "strerror", None) or " ".join(str(exc).split())
        raise RuleStoreError(f"possuggest database {db_path} needs an upgrade (schema {version} "
                             f"to {SCHEMA_VERSION}) but its backup could not be written to "
                             f"{folder}: {why}; nothing was changed") from None
    for old in backups(db_path)[:-keep] if keep > 0 else []:
        try:
            old.unlink()
        except OSError as exc:
            log.warning("old backup %s not removed: %s", old, exc)
    return target


def _damage(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF in (11, 26)          # SQLITE_CORRUPT, SQLITE_NOTADB
    return "malformed" in str(exc) or "not a database" in str(exc)


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error as exc:
            log.warning("rollback failed: %s", exc)


def migrate(conn: sqlite3.Connection, path: Path, ddl: str,
            steps: Sequence[Step] | None = None, keep_backups: int = KEEP_BACKUPS,
            ) -> Upgrade | None:
    """Bring the database on ``conn`` (autocommit mode, no transaction open) to the last
    step's version: an empty one gets ``ddl`` whole; an older one is backed up, then stepped
    forward in one transaction. Returns what was upgraded, or None when nothing needed to be.
    Raises StoreTooNew for a newer database, RuleStoreError when the backup or a step fails
    (the database is then as it was), sqlite3 errors as they come."""
    steps = STEPS if steps is None else steps
    target = steps[-1].version if steps else SCHEMA_VERSION
    if refuse_newer(conn, path, target) == target:
        return None
    t0 = time.monotonic()
    found: int | None = None
    backup: Path | None = None
    conn.execute("BEGIN IMMEDIATE")
    try:
        found = refuse_newer(conn, path, target)     # another process may have done it
        if found is None:
            for statement in ddl_statements(ddl):
                conn.execute(statement)
        elif found < target:
            backup = take_backup(path, found, keep_backups)
            log.info("possuggest database %s: upgrading from schema %d to %d, backup %s",
                     path, found, target, backup)
            for step in steps:
                if found < step.version <= target:
                    log.info("schema %d: %s", step.version, step.what)
                    step.apply(conn, ddl)
        if found != target:
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)",
                         (str(target),))
        conn.execute("COMMIT")
    except RuleStoreError:
        _rollback(conn)
        raise
    except sqlite3.Error as exc:
        _rollback(conn)
        if found is None or _damage(exc):
            raise       # RuleStore names it (a damaged file is moved aside and rebuilt)
        raise RuleStoreError(f"possuggest database {path} could not be upgraded from schema "
                             f"{found} to {target} ({' '.join(str(exc).split())}); it was left "
                             f"as it was" + (f", a copy is in {backup}" if backup else "")
                             ) from exc
    except BaseException:
        _rollback(conn)
        raise
    if found is None or backup is None:
        return None
    seconds = time.monotonic() - t0
    log.info("possuggest database %s upgraded from schema %d to %d in %.2f s", path, found,
             target, seconds)
    return Upgrade(found, target, backup, seconds)


__all__ = ["BACKUP_DIR", "KEEP_BACKUPS", "SCHEMA_VERSION", "STEPS", "Step", "StoreTooNew",
           "Upgrade", "backups", "ddl_statements", "migrate", "refuse_newer", "schema_version",
           "take_backup"]
