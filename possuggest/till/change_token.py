"""Noticing that a till on a database server committed something, without writing to it.

The till watcher polls a *change token* and re-reads the register's open sale only when the
token moved (a SQLite till uses ``PRAGMA data_version``, see reader.py). For a server:

* **PostgreSQL**: the current snapshot, ``pg_current_snapshot()`` (``txid_current_snapshot()``
  before PostgreSQL 13), as text ``xmin:xmax:in-progress``. Its ``xmax``
  (``pg_snapshot_xmax``) moves when a writing transaction starts, and the snapshot as a whole
  moves again when that transaction commits or rolls back (it leaves the in-progress list),
  so the commit itself is seen. It covers the whole server, so a write elsewhere moves it
  too: the open sale is then read again for nothing, which is cheap. Read-only transactions
  (possuggest's own) never move it.
* **A preset's fingerprint query** (the preset's ``change_token``, or ``[till.mapping]
  change_token``: one row, e.g. the newest line id and a count of the open sales' lines),
  run in a fresh read so it sees each commit. It is combined with PostgreSQL's token when
  both exist (till/mapping.py resolves which query applies).
* **Otherwise** (MySQL/MariaDB with no fingerprint): no token; the watcher simply reads the
  open sale on every poll and compares it with the last one.

Each poll's token is read in its own short read-only transaction, rolled back at once.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

# tokens that work on any database of the dialect, read in one short query
_POSTGRES = "SELECT CAST(pg_current_snapshot() AS text)"
_POSTGRES_OLD = "SELECT CAST(txid_current_snapshot() AS text)"     # PostgreSQL 9.4 - 12


def builtin_token_sql(dialect: str, server_version: tuple[Any, ...] | None) -> str | None:
    """The dialect's own change-token query, or None when it has none that sees commits
    (MySQL and MariaDB: their global counters move when rows are written, not committed)."""
    if dialect == "postgresql":
        if server_version and isinstance(server_version[0], int) and server_version[0] < 13:
            return _POSTGRES_OLD
        return _POSTGRES
    return None


class TokenCounter:
    """Turns successive tokens into a number that changes exactly when the token does (the
    watcher compares numbers). A missing token (None) counts as a change every time."""

    def __init__(self) -> None:
        self._last: Hashable | None = None
        self._count = 0

    def advance(self, token: Hashable | None) -> int:
        if token is None or token != self._last:
            self._count += 1
            self._last = token
        return self._count

    def reset(self) -> None:
        self._last = None
        self._count += 1
