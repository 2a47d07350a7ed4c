"""Read-only access to the till database: closed sales for mining, products, the open sale.

The till is opened only as ``file:PATH?mode=ro`` with a busy timeout. Every read is a short
query fetched to the end (large reads go in sale-id chunks), so no transaction or lock is
ever held open on the till between calls.
"""

from __future__ import annotations

import logging
import sqlite3
import time
import urllib.parse
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from possuggest.core.config import TillSettings
from possuggest.core.errors import TillError
from possuggest.core.products import OpenSale, Product
from possuggest.core.progress import CancelledFn, ProgressFn, check_cancelled
from possuggest.core.transactions import Transactions
from possuggest.till.schema import (
    OPEN_SALE_COLUMNS,
    PRODUCT_COLUMNS,
    REFERENCE_OPEN_SALE,
    REFERENCE_PRODUCTS,
    REFERENCE_SALE_LINES,
    SALE_LINE_COLUMNS,
)

log = logging.getLogger(__name__)

_CHUNK_SALES = 200_000
_RETRIES = 3

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


class TillReader:
    """One read-only connection to the till. Use from one thread only (one reader per thread)."""

    def __init__(self, path: str | Path, settings: TillSettings | None = None) -> None:
        self.settings = settings or TillSettings()
        self.path = Path(path)
        m = self.settings.mapping
        self.custom = bool(m.sale_lines or m.products or m.open_sale)
        self.q_lines = m.sale_lines or REFERENCE_SALE_LINES
        self.q_products = m.products or REFERENCE_PRODUCTS
        self.q_open = m.open_sale or REFERENCE_OPEN_SALE
        self._conn: sqlite3.Connection | None = None

    # -- connection -------------------------------------------------------------------------
    def connect(self) -> TillReader:
        """Open and check the till: exists, is SQLite, not locked, mapped columns present."""
        if not self.path.exists():
            raise TillError(f"till database not found: {self.path}")
        if not self.path.is_file():
            raise TillError(f"till database path is not a file: {self.path}")
        timeout = self.settings.busy_timeout_ms / 1000.0
        try:
            conn = sqlite3.connect(ro_uri(self.path), uri=True, timeout=timeout,
                                   isolation_level=None, check_same_thread=True)
        except sqlite3.Error as exc:
            raise TillError(f"till database {self.path} cannot be opened: {exc}") from None
        self._conn = conn
        try:
            self._run(lambda c: c.execute("PRAGMA schema_version").fetchone())
            self.check_columns()
        except TillError:
            self.close()
            raise
        return self

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

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

    def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run a read, retrying a few times while the till holds a write lock."""
        assert self._conn is not None
        for attempt in range(_RETRIES):
            try:
                return fn(self._conn)
            except sqlite3.OperationalError as exc:
                msg = str(exc)
                if "locked" in msg or "busy" in msg:
                    if attempt < _RETRIES - 1:
                        time.sleep(0.05 * (attempt + 1))
                        continue
                    raise TillError(f"till database {self.path} is locked by another program "
                                    f"(waited {self.settings.busy_timeout_ms} ms)") from None
                if "no such table" in msg or "no such column" in msg:
                    raise TillError(f"till database {self.path}: {msg} — map its schema in the "
                                    "config file ([till.mapping])") from None
                raise TillError(f"till database {self.path}: {msg}") from None
            except sqlite3.DatabaseError as exc:
                raise TillError(f"till database {self.path} is not a usable SQLite database: "
                                f"{exc}") from None
        raise AssertionError("unreachable")

    def check_columns(self) -> None:
        """Each of the three queries must return its named columns; name any that are missing."""
        for what, query, needed in (("sale_lines", self.q_lines, SALE_LINE_COLUMNS),
                                    ("products", self.q_products, PRODUCT_COLUMNS),
                                    ("open_sale", self.q_open, OPEN_SALE_COLUMNS)):
            have = self._columns(query)
            missing = [c for c in needed if c not in have]
            if missing:
                raise TillError(f"till query '{what}' lacks column(s): {', '.join(missing)}")

    def _columns(self, query: str) -> set[str]:
        """The (lower-case) column names a mapped query returns."""
        params = {"register": self.settings.register} if ":register" in query else {}

        def probe(c: sqlite3.Connection) -> set[str]:
            cur = c.execute(f"SELECT * FROM ({query}) LIMIT 0", params)
            have = {d[0].lower() for d in cur.description}
            cur.close()
            return have

        return self._run(probe)

    def _fetchall(self, sql: str, params: Mapping[str, Any]) -> list[Any]:
        """Every row of one query (with ``_run``'s retries while the till is locked)."""
        return self._run(lambda c: c.execute(sql, params).fetchall())

    # -- reads ------------------------------------------------------------------------------
    def data_version(self) -> int:
        """``PRAGMA data_version``: changes when another connection commits to the till."""
        return int(self._run(lambda c: c.execute("PRAGMA data_version").fetchone()[0]))

    def latest_closed_at(self) -> str | None:
        row = self._run(lambda c: c.execute(
            f"SELECT MAX(closed_at) FROM ({self.q_lines})").fetchone())
        return row[0] if row else None

    def read_products(self) -> dict[str, Product]:
        rows = self._run(lambda c: c.execute(
            f"SELECT sku, name, category, family, price, cost, stock, active "
            f"FROM ({self.q_products})").fetchall())
        out: dict[str, Product] = {}
        for row in rows:
            if row[0] is not None:
                out[str(row[0])] = Product.from_row(*row)
        return out

    def read_open_sale(self, register: str | None = None) -> OpenSale:
        reg = self.settings.register if register is None else register
        params = {"register": reg} if ":register" in self.q_open else {}
        rows = self._run(lambda c: c.execute(
            f"SELECT sale_id, sku, qty FROM ({self.q_open})", params).fetchall())
        if not rows:
            return OpenSale(None, ())
        sale_id = str(rows[0][0])
        return OpenSale(sale_id, tuple((str(sku), float(qty or 0)) for sid, sku, qty in rows
                                       if str(sid) == sale_id))

    def read_transactions(self, window_days: int | None = None,
                          progress: ProgressFn | None = None,
                          cancelled: CancelledFn | None = None) -> Transactions:
        """Closed, non-void sales in the window ending at the newest sale, as Transactions.

        The window is anchored at the newest closed sale (not the clock), so a history
        exported from a till reads the same on any day.
        """
        since: str | None = None
        if window_days:
            latest = self.latest_closed_at()
            if latest:
                t = parse_time(latest)
                if not np.isnan(t):
                    since = (datetime.fromtimestamp(t) - timedelta(days=window_days)).isoformat(
                        sep=latest[10] if len(latest) > 10 else "T", timespec="seconds")
        base = f"SELECT sale_id, sku, closed_at FROM ({self.q_lines})"
        where = " WHERE closed_at >= :since" if since else ""
        params: dict[str, Any] = {"since": since} if since else {}
        sale_ids: list[np.ndarray] = []
        skus: list[np.ndarray] = []
        closed: list[np.ndarray] = []

        canon: dict[Any, str] = {}     # one str object per distinct sku, not one per line

        def take(rows: list[tuple[Any, Any, Any]]) -> None:
            if rows:
                sid_c, sku_c, closed_c = zip(*rows)
                rows.clear()
                sale_ids.append(np.array(sid_c, dtype=object))
                skus.append(np.array([canon[s] if s in canon else canon.setdefault(s, str(s))
                                      for s in sku_c], dtype=object))
                closed.append(np.array(closed_c, dtype=object))

        lo_hi = None
        if not self.custom:
            lo_hi = self._run(lambda c: c.execute(
                "SELECT MIN(sale_id), MAX(sale_id) FROM sales").fetchone())
        if lo_hi and lo_hi[0] is not None and isinstance(lo_hi[0], int):
            lo, hi = lo_hi
            start = lo - 1
            while start < hi:
                check_cancelled(cancelled, "refresh cancelled while reading sales")
                end = start + _CHUNK_SALES
                # likelihood() tells SQLite the sale-id range is selective: without it the
                # planner walks every closed sale via the (status, register) index for each
                # chunk and sorts the rows in a temp B-tree (2.5x slower on a 1M-sale till)
                q = base + (where + " AND" if where else " WHERE") + \
                    " likelihood(sale_id > :lo, 0.001) AND likelihood(sale_id <= :hi, 0.001)" \
                    " ORDER BY sale_id"
                take(self._fetchall(q, {**params, "lo": start, "hi": end}))
                if progress:
                    progress(min(1.0, (end - lo) / max(1, hi - lo + 1)), "reading sales")
                start = end
        else:
            take(self._fetchall(base + where + " ORDER BY sale_id", params))
        if not sale_ids:
            return Transactions(np.zeros(0, np.int64), np.zeros(0, np.int64),
                                np.zeros(0, dtype=object), 0)
        sid = np.concatenate(sale_ids)
        sku = np.concatenate(skus)
        closed_at = np.concatenate(closed)
        tx = Transactions.from_pairs(sid, sku)
        # one time per basket: parse only the first line's text of each basket
        import pandas as pd
        first = pd.Series(closed_at).groupby(pd.factorize(sid)[0], sort=True).first()
        times = pd.to_datetime(first.values, errors="coerce", format="ISO8601")
        tx.basket_time = (times.values.astype("datetime64[ns]").astype(np.int64) / 1e9)
        tx.basket_time[pd.isna(times)] = np.nan
        log.info("read %d baskets, %d lines, %d items from till (since %s)",
                 tx.n_baskets, len(tx.basket), tx.n_items, since or "the start")
        return tx


def open_till(path: str | Path, settings: TillSettings | None = None) -> TillReader:
    """Open and check a till database read-only; raises TillError with a one-line message."""
    return TillReader(path, settings).connect()
