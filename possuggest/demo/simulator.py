"""The demo's till simulator: rings up realistic sales into the DEMO till database exactly as a
till would (open sale → a line every 1–3 s → closed), so the watcher path runs for real.
Customers sometimes take a suggested item. It refuses to write to anything but the demo store.
"""

from __future__ import annotations

import logging
import random
import sqlite3
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

SampleSale = Callable[[np.random.Generator, datetime], list[tuple[str, float, float]]]


def _now() -> str:
    return datetime.now().isoformat(timespec="seconds")


class TillSimulator:
    """A background thread ringing up sales at one register of the demo till."""

    def __init__(self, path: Path, sample_sale: SampleSale, register: str = "1",
                 seed: int | None = None, line_interval: tuple[float, float] = (1.0, 3.0),
                 pause: tuple[float, float] = (2.0, 5.0), take_suggestion_p: float = 0.35,
                 suggestions: Callable[[], list[str]] | None = None,
                 prices: dict[str, float] | None = None) -> None:
        self.path = Path(path)
        self.sample_sale = sample_sale
        self.register = register
        self.line_interval = line_interval
        self.pause = pause
        self.take_suggestion_p = take_suggestion_p
        self.suggestions = suggestions or (lambda: [])
        self.prices = prices or {}
        self._rng = np.random.default_rng(seed)
        self._rand = random.Random(seed)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="till-simulator", daemon=True)
        self.sales_closed = 0
        self.lines_added = 0
        self.error: str | None = None

    def start(self) -> TillSimulator:
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _wait(self, span: tuple[float, float]) -> bool:
        """Wait a random time in span; True when asked to stop."""
        return self._stop.wait(self._rand.uniform(*span))

    def _run(self) -> None:
        try:
            conn = sqlite3.connect(self.path, timeout=5.0, isolation_level=None)
        except sqlite3.Error as exc:
            self.error = str(exc)
            return
        try:
            conn.execute("UPDATE sales SET status = 'void', closed_at = ? "
                         "WHERE status = 'open' AND register_id = ?", (_now(), self.register))
            while not self._stop.is_set():
                self._ring_one(conn)
                if self._wait(self.pause):
                    break
        except sqlite3.Error as exc:      # e.g. the demo file was deleted under us
            self.error = str(exc)
            log.warning("till simulator stopped: %s", exc)
        finally:
            conn.close()

    def _ring_one(self, conn: sqlite3.Connection) -> None:
        lines = self.sample_sale(self._rng, datetime.now())
        if not lines:
            return
        cashier = f"C{self._rand.randint(1, 10):02d}"
        customer: Any = f"L{self._rand.randint(1, 3000):06d}" if self._rand.random() < 0.25 else None
        cur = conn.execute("INSERT INTO sales (register_id, cashier_id, customer_id, opened_at, "
                           "status) VALUES (?, ?, ?, ?, 'open')",
                           (self.register, cashier, customer, _now()))
        sale_id = cur.lastrowid
        rung: set[str] = set()
        queue = list(lines)
        while queue:
            sku, qty, price = queue.pop(0)
            conn.execute("INSERT INTO sale_lines (sale_id, sku, qty, unit_price, voided) "
                         "VALUES (?, ?, ?, ?, 0)", (sale_id, sku, qty, price))
            rung.add(sku)
            self.lines_added += 1
            if self._wait(self.line_interval):
                conn.execute("UPDATE sales SET status = 'void', closed_at = ? WHERE sale_id = ?",
                             (_now(), sale_id))
                return
            if self._rand.random() < self.take_suggestion_p:
                offered = [s for s in self.suggestions() if s not in rung]
                if offered:
                    pick = offered[0] if self._rand.random() < 0.6 else self._rand.choice(offered)
                    queue.insert(0, (pick, 1.0, self.prices.get(pick, 0.0)))
        conn.execute("UPDATE sales SET status = 'closed', closed_at = ? WHERE sale_id = ?",
                      (_now(), sale_id))
        self.sales_closed += 1
