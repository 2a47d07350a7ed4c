"""The till-database watcher's logic (Qt-free): poll ``PRAGMA data_version`` on a read-only
connection (a server till: its change token, see till/change_token.py) and re-read the
register's open sale when the till has committed something.

It notices the file disappearing or being replaced, reports it, and reconnects by itself
when the file is back. The GUI calls ``poll()`` from a worker thread on a timer, and
``interrupt()`` from any thread to stop it at once (a till query in progress is stopped).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from possuggest.core.config import TillSettings
from possuggest.core.errors import Cancelled, TillError
from possuggest.core.products import OpenSale, Product
from possuggest.till.reader import TillReader

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WatchResult:
    state: str                      # 'ok' | 'missing' | 'locked' | 'error'
    message: str = ""
    sale: OpenSale | None = None    # set when the open sale (may have) changed
    products: dict[str, Product] | None = None   # set when stock/prices were re-read


class TillWatcher:
    """Use from one thread only (it owns its read-only connection)."""

    def __init__(self, path: str | Path, settings: TillSettings | None = None,
                 products_every_s: float = 30.0) -> None:
        self.path = Path(path)
        self.settings = settings or TillSettings()
        self.products_every_s = products_every_s
        self._reader: TillReader | None = None
        self._inode: tuple[int, int] | None = None
        self._version: int | None = None
        self._last_sale: OpenSale | None = None
        self._products_at = 0.0
        self._stopping = threading.Event()
        self.state = "starting"

    def interrupt(self) -> None:
        """Stop from any thread: a till query in progress is stopped at once and later polls
        do nothing (the panel calls this on exit)."""
        self._stopping.set()
        reader = self._reader
        if reader is not None:
            reader.interrupt()

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        self._version = None

    def _file_id(self) -> tuple[int, int] | None:
        if self.settings.url:       # a till on a server has no file: its errors come below
            return (0, 0)
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_dev, st.st_ino)

    def poll(self, force: bool = False) -> WatchResult:
        """One look at the till. ``sale`` is set only when the open sale may have changed."""
        if self._stopping.is_set():
            return WatchResult(self.state)
        fid = self._file_id()
        if fid is None:
            self.close()
            self._last_sale = None
            return self._result("missing", f"till database not found: {self.path}")
        if self._reader is not None and fid != self._inode:
            log.info("till database file was replaced; reconnecting")
            self.close()
        try:
            if self._reader is None:
                self._reader = TillReader(self.path, self.settings,
                                          cancelled=self._stopping.is_set).connect()
                self._inode = fid
                self._version = None
                self._products_at = 0.0
            version = self._reader.data_version()
            products = None
            now = time.monotonic()
            if now - self._products_at >= self.products_every_s:
                products = self._reader.read_products()
                self._products_at = now
            if version == self._version and not force:
                return self._result("ok", products=products)
            self._version = version
            sale = self._reader.read_open_sale()
            changed = sale != self._last_sale or force
            self._last_sale = sale
            return self._result("ok", sale=sale if changed else None, products=products)
        except Cancelled:                    # interrupt(): stopping
            self.close()
            return WatchResult(self.state)
        except TillError as exc:
            self.close()
            msg = str(exc)
            return self._result("locked" if "locked" in msg else "error", msg)

    def _result(self, state: str, message: str = "", sale: OpenSale | None = None,
                products: dict[str, Product] | None = None) -> WatchResult:
        if state != self.state:
            log.info("till watcher: %s %s", state, message)
        self.state = state
        return WatchResult(state, message, sale, products)
